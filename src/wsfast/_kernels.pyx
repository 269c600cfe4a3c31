# cython: language_level=3
"""The SIMD kernels of every hot path, compiled once, with the one SIMD switch.

The twin of ``_kernels_py.py``; ``_kernels.pyi`` documents the shared interface and
``_kernels.pxd`` the C-level functions that ``_mask``, ``_utf8``, ``_frames`` and
``_wsaccel_compat`` call. This is the only extension that links ``csrc/`` (cpu.c, the mask_*.c
and utf8_*.c kernels and their dispatchers), so the CPU is detected once and one level
selects the masking kernel and the UTF-8 kernel for every module. The level starts as
``WSFAST_SIMD`` asks (``_simd.environment_level``), capped to the CPU.
"""

from cpython.buffer cimport (
    PyBUF_SIMPLE,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyObject_CheckBuffer,
    PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_CheckExact, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t
from libc.string cimport memcpy

from wsfast._simd import environment_level, level_number

cdef extern from "cpu.h":
    const char *wsf_simd_level_name(int level)
    int wsf_cpu_max_level()

cdef extern from "mask.h":
    void wsf_mask(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                  size_t phase) nogil
    int wsf_mask_select(int level)

cdef extern from "utf8.h":
    int wsf_utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t length) nogil
    int wsf_utf8_select(int level)

cdef void xor_mask(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                   size_t phase) noexcept nogil:
    wsf_mask(dst, src, length, key, phase)


cdef int utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t length) noexcept nogil:
    return wsf_utf8_feed(s, data, length)


cdef int get_buffer(object obj, Py_buffer *view, int flags, str what) except -1:
    if not PyObject_CheckBuffer(obj):
        raise TypeError(f"{what} must be a bytes-like object, not {type(obj).__name__}")
    try:
        PyObject_GetBuffer(obj, view, flags)
    except BufferError:
        if flags & PyBUF_WRITABLE:
            raise TypeError(
                f"{what} must be a writable, contiguous buffer, not {type(obj).__name__}"
            ) from None
        raise TypeError(f"{what} must be a contiguous buffer") from None
    return 0


cdef int read_mask_key(object key, uint8_t *out) except -1:
    cdef Py_buffer view
    if PyBytes_CheckExact(key):
        if PyBytes_GET_SIZE(key) != 4:
            raise ValueError(f"mask key must be 4 bytes, got {PyBytes_GET_SIZE(key)}")
        memcpy(out, PyBytes_AS_STRING(key), 4)
        return 0
    get_buffer(key, &view, PyBUF_SIMPLE, "mask key")
    try:
        if view.len != 4:
            raise ValueError(f"mask key must be 4 bytes, got {view.len}")
        memcpy(out, view.buf, 4)
    finally:
        PyBuffer_Release(&view)
    return 0


# --- the SIMD switch -------------------------------------------------------------------------

cdef int _level = 0


def available_simd_levels():
    """The levels this CPU can run, narrowest first (``"scalar"`` is always there)."""
    return [wsf_simd_level_name(level).decode() for level in range(wsf_cpu_max_level() + 1)]


def simd_level():
    """The level every kernel runs at: ``"scalar"``, ``"sse2"``, ``"avx2"``, ``"avx512"`` or
    ``"neon"``."""
    return wsf_simd_level_name(_level).decode()


def set_simd_level(name):
    """Runs every kernel at the widest level not above ``name`` that this CPU supports; returns
    that level's name. ValueError for a name that is not a level."""
    global _level
    cdef int requested = level_number(name)
    _level = wsf_mask_select(requested)
    wsf_utf8_select(requested)
    return simd_level()


set_simd_level(environment_level())
