# cython: language_level=3, binding=False
"""XOR masking of WebSocket payloads (RFC 6455 §5.3), compiled.

The twin of ``_mask_py.py``; ``_mask.pyi`` documents the shared interface. The work is done by the
C kernels in ``csrc/mask_*.c`` (word-at-a-time, SSE2, AVX2, AVX-512, NEON), chosen at import from
the CPU's features, capped by the ``WSFAST_SIMD`` environment variable.
"""

from cpython.buffer cimport (
    PyBUF_SIMPLE,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyObject_CheckBuffer,
    PyObject_GetBuffer,
)
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_CheckExact, PyByteArray_GET_SIZE
from libc.stdint cimport uint8_t
from libc.string cimport memcpy

import os

cdef extern from "cpu.h":
    const char *wsf_simd_level_name(int level)
    int wsf_cpu_max_level()

cdef extern from "mask.h":
    void wsf_mask(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                  size_t phase) nogil
    void wsf_mask_short(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                        size_t phase) nogil
    int wsf_mask_select(int level)
    int wsf_mask_level()

# Below this size the kernel finishes faster than a GIL release and re-acquire would.
cdef enum:
    NOGIL_THRESHOLD = 65536

cdef extern from *:
    """
    /* With the GIL, a bytearray cannot change under us while we mask it without a buffer export.
     * Free-threaded builds have no such guarantee, so they always take the export. */
    #ifdef Py_GIL_DISABLED
    #define WSF_BYTEARRAY_FAST_PATH 0
    #else
    #define WSF_BYTEARRAY_FAST_PATH 1
    #endif
    """
    bint WSF_BYTEARRAY_FAST_PATH


cdef inline int _read_key(object key, uint8_t *out) except -1:
    cdef Py_buffer view
    if PyBytes_CheckExact(key):
        if PyBytes_GET_SIZE(key) != 4:
            raise ValueError(f"mask key must be 4 bytes, got {PyBytes_GET_SIZE(key)}")
        memcpy(out, PyBytes_AS_STRING(key), 4)
        return 0
    if not PyObject_CheckBuffer(key):
        raise TypeError(f"mask key must be a bytes-like object, not {type(key).__name__}")
    _get_buffer(key, &view, PyBUF_SIMPLE, "mask key")
    try:
        if view.len != 4:
            raise ValueError(f"mask key must be 4 bytes, got {view.len}")
        memcpy(out, view.buf, 4)
    finally:
        PyBuffer_Release(&view)
    return 0


cdef int _get_buffer(object obj, Py_buffer *view, int flags, str what) except -1:
    """PyObject_GetBuffer, with the errors both twins raise: TypeError for a non-buffer, a
    non-contiguous buffer, or (flags asking for PyBUF_WRITABLE) a read-only one."""
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


cdef inline void _mask_maybe_nogil(uint8_t *dst, const uint8_t *src, size_t length,
                                   const uint8_t *key, size_t phase) noexcept:
    if length <= 16:
        wsf_mask_short(dst, src, length, key, phase)
    elif length >= NOGIL_THRESHOLD:
        with nogil:
            wsf_mask(dst, src, length, key, phase)
    else:
        wsf_mask(dst, src, length, key, phase)


cdef bytes _mask_copy(object data, const uint8_t *key, size_t phase, size_t *length_out):
    cdef Py_buffer view
    cdef bytes out
    cdef Py_ssize_t length
    if PyBytes_CheckExact(data):
        # bytes are immutable: no buffer export needed, even without the GIL.
        length = PyBytes_GET_SIZE(data)
        out = PyBytes_FromStringAndSize(NULL, length)
        _mask_maybe_nogil(<uint8_t *>PyBytes_AS_STRING(out),
                          <const uint8_t *>PyBytes_AS_STRING(data), length, key, phase)
        length_out[0] = length
        return out
    _get_buffer(data, &view, PyBUF_SIMPLE, "data")
    try:
        out = PyBytes_FromStringAndSize(NULL, view.len)
        _mask_maybe_nogil(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>view.buf,
                          view.len, key, phase)
        length_out[0] = view.len
    finally:
        PyBuffer_Release(&view)
    return out


cdef size_t _mask_inplace(object buffer, const uint8_t *key, size_t phase) except? 0:
    cdef Py_buffer view
    cdef size_t length
    if WSF_BYTEARRAY_FAST_PATH and PyByteArray_CheckExact(buffer):
        length = PyByteArray_GET_SIZE(buffer)
        if length < NOGIL_THRESHOLD:
            # Small and the GIL held throughout: skip the buffer export.
            _mask_maybe_nogil(<uint8_t *>PyByteArray_AS_STRING(buffer),
                              <const uint8_t *>PyByteArray_AS_STRING(buffer), length, key, phase)
            return length
    # The buffer export pins the memory (a bytearray cannot resize while it is held), so the
    # kernel may run without the GIL.
    _get_buffer(buffer, &view, PyBUF_WRITABLE, "buffer")
    length = view.len
    _mask_maybe_nogil(<uint8_t *>view.buf, <const uint8_t *>view.buf, length, key, phase)
    PyBuffer_Release(&view)
    return length


def mask(data, key, /):
    """Returns ``data`` XOR-masked with the 4-byte ``key`` (RFC 6455 §5.3), as new bytes."""
    cdef uint8_t k[4]
    cdef size_t length
    _read_key(key, k)
    return _mask_copy(data, k, 0, &length)


def mask_inplace(buffer, key, /):
    """XOR-masks the writable ``buffer`` with the 4-byte ``key`` in place; returns None."""
    cdef uint8_t k[4]
    _read_key(key, k)
    _mask_inplace(buffer, k, 0)


cdef class Masker:
    """Masks a payload that arrives in chunks, keeping the key phase from one chunk to the next."""

    cdef uint8_t _key[4]
    cdef size_t _phase

    def __init__(self, key):
        _read_key(key, self._key)
        self._phase = 0

    @property
    def key(self):
        """The 4-byte masking key."""
        return PyBytes_FromStringAndSize(<char *>self._key, 4)

    @property
    def phase(self):
        """The key octet (0-3) that the next byte is XORed with."""
        return self._phase

    def mask(self, data):
        """Returns the next chunk ``data`` masked, as new bytes."""
        cdef size_t length
        out = _mask_copy(data, self._key, self._phase, &length)
        self._phase = (self._phase + length) & 3
        return out

    def mask_inplace(self, buffer):
        """Masks the next chunk in the writable ``buffer`` in place."""
        cdef size_t length = _mask_inplace(buffer, self._key, self._phase)
        self._phase = (self._phase + length) & 3

    def reset(self):
        """Starts again at key phase 0 (a new payload with the same key)."""
        self._phase = 0

    def __repr__(self):
        return f"Masker(key={self.key!r}, phase={self._phase})"


# --- SIMD level ------------------------------------------------------------------------------

# Level names on both architectures; a level above what the CPU supports is capped to it.
_LEVEL_NUMBERS = {"scalar": 0, "sse2": 1, "neon": 1, "avx2": 2, "avx512": 3}


def available_simd_levels():
    """The kernels this CPU can run, narrowest first (``"scalar"`` is always there)."""
    return [wsf_simd_level_name(level).decode() for level in range(wsf_cpu_max_level() + 1)]


def simd_level():
    """The name of the kernel in use: ``"scalar"``, ``"sse2"``, ``"avx2"``, ``"avx512"``, ``"neon"``."""
    return wsf_simd_level_name(wsf_mask_level()).decode()


def set_simd_level(name):
    """Uses the widest kernel not above ``name`` that this CPU supports; returns its name.

    Unknown names raise ValueError; a level above the CPU's is capped, so any known name is safe.
    """
    if name not in _LEVEL_NUMBERS:
        raise ValueError(
            f"unknown SIMD level {name!r}; expected one of {', '.join(_LEVEL_NUMBERS)}"
        )
    wsf_mask_select(_LEVEL_NUMBERS[name])
    return simd_level()


def _select_from_environment():
    requested = os.environ.get("WSFAST_SIMD", "").strip().lower()
    try:
        set_simd_level(requested or "avx512")
    except ValueError as exc:
        import warnings

        warnings.warn(f"WSFAST_SIMD ignored: {exc}", RuntimeWarning, stacklevel=2)
        set_simd_level("avx512")


_select_from_environment()
