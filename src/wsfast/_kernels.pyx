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
from libc.stdint cimport uint8_t, uint16_t, uint32_t
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
    int wsf_utf8_level()

cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void *PyUnicode_DATA(object text)
    int PyUnicode_KIND(object text)

cdef extern from "utf8_decode.h":
    ctypedef struct wsf_utf8_shape:
        size_t length
        uint8_t max_byte
    ctypedef struct wsf_utf8_decoder:
        void (*measure)(const uint8_t *data, size_t len, wsf_utf8_shape *shape) noexcept nogil
        int (*to_ucs1)(const uint8_t *data, size_t len, uint8_t *out, size_t length) noexcept nogil
        int (*to_ucs2)(const uint8_t *data, size_t len, uint16_t *out, size_t length) noexcept nogil
        int (*to_ucs4)(const uint8_t *data, size_t len, uint32_t *out, size_t length) noexcept nogil
        int level
    const wsf_utf8_decoder *wsf_utf8_decoder_for(int level) noexcept nogil
    uint32_t wsf_utf8_max_char(uint8_t max_byte) noexcept nogil
    enum: WSF_UTF8_MAX_VALID_BYTE

# From this many bytes, decoding to str runs long enough for a GIL release to pay.
cdef enum:
    NOGIL_DECODE = 262144

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


# --- decoding UTF-8 to str -------------------------------------------------------------------

# The decoders of the level in force, chosen by set_simd_level (which also builds their lookup
# tables on its first call, while the import runs alone).
cdef const wsf_utf8_decoder *_decoder = NULL


cdef inline void _transcode_into(const wsf_utf8_decoder *decoder, const uint8_t *data,
                                 size_t length, void *out, int kind, size_t chars,
                                 int *ok) noexcept nogil:
    if kind == 1:
        ok[0] = decoder.to_ucs1(data, length, <uint8_t *>out, chars)
    elif kind == 2:
        ok[0] = decoder.to_ucs2(data, length, <uint16_t *>out, chars)
    else:
        ok[0] = decoder.to_ucs4(data, length, <uint32_t *>out, chars)


cdef object utf8_build_str(const uint8_t *data, Py_ssize_t length):
    """The str of ``data`` in CPython's own storage (1, 2 or 4 bytes a character, as
    ``bytes.decode`` would choose), or None if ``data`` is not complete, valid UTF-8.

    A first pass counts the characters and finds the largest byte, which fixes the kind; the
    str is allocated once and a second pass transcodes into it, validating as it goes
    (csrc/utf8_decode.h). Large inputs run both passes without the GIL: the str is not shared
    with anyone until it is returned."""
    cdef const wsf_utf8_decoder *decoder = _decoder
    cdef wsf_utf8_shape shape
    cdef bint large = length >= NOGIL_DECODE
    cdef int ok = 1, kind
    cdef void *out
    if length == 0:
        return ""
    if large:
        with nogil:
            decoder.measure(data, length, &shape)
    else:
        decoder.measure(data, length, &shape)
    if shape.max_byte > WSF_UTF8_MAX_VALID_BYTE or shape.length == 0:  # F5-FF, or only 80-BF
        return None
    cdef uint32_t max_char = wsf_utf8_max_char(shape.max_byte)
    result = PyUnicode_New(shape.length, max_char)
    out = PyUnicode_DATA(result)
    if max_char < 0x80:  # all ASCII, hence valid: the bytes are the characters
        if large:
            with nogil:
                memcpy(out, data, length)
        else:
            memcpy(out, data, length)
        return result
    kind = PyUnicode_KIND(result)
    if large:
        with nogil:
            _transcode_into(decoder, data, length, out, kind, shape.length, &ok)
    else:
        _transcode_into(decoder, data, length, out, kind, shape.length, &ok)
    return result if ok else None



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
    global _level, _decoder
    cdef int requested = level_number(name)
    _level = wsf_mask_select(requested)
    wsf_utf8_select(requested)
    _decoder = wsf_utf8_decoder_for(wsf_utf8_level())
    return simd_level()


set_simd_level(environment_level())
