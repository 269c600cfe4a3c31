# cython: language_level=3, binding=False
"""XOR masking of WebSocket payloads (RFC 6455 §5.3), compiled.

The twin of ``_mask_py.py``; ``_mask.pyi`` documents the shared interface. The work is done by the
C kernels in ``csrc/mask_*.c`` (word-at-a-time, SSE2, AVX2, AVX-512, NEON), through
``wsfast._kernels``, whose SIMD level this module re-exports.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_CheckExact, PyByteArray_GET_SIZE
from libc.stdint cimport uint8_t

from wsfast._kernels cimport NOGIL_MASK, get_buffer, mask_bytes, masked_copy, read_mask_key

from wsfast._kernels import available_simd_levels, set_simd_level, simd_level

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


cdef bytes _mask_copy(object data, const uint8_t *key, size_t phase, size_t *length_out):
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        # bytes are immutable: no buffer export needed, even without the GIL.
        length_out[0] = PyBytes_GET_SIZE(data)
        return masked_copy(<const uint8_t *>PyBytes_AS_STRING(data), length_out[0], key, phase)
    get_buffer(data, &view, PyBUF_SIMPLE, "data")
    try:
        length_out[0] = view.len
        return masked_copy(<const uint8_t *>view.buf, view.len, key, phase)
    finally:
        PyBuffer_Release(&view)


cdef size_t _mask_inplace(object buffer, const uint8_t *key, size_t phase) except? 0:
    cdef Py_buffer view
    cdef size_t length
    if WSF_BYTEARRAY_FAST_PATH and PyByteArray_CheckExact(buffer):
        length = PyByteArray_GET_SIZE(buffer)
        if length < NOGIL_MASK:
            # Small and the GIL held throughout: skip the buffer export.
            mask_bytes(<uint8_t *>PyByteArray_AS_STRING(buffer),
                       <const uint8_t *>PyByteArray_AS_STRING(buffer), length, key, phase)
            return length
    # The buffer export pins the memory (a bytearray cannot resize while it is held), so the
    # kernel may run without the GIL.
    get_buffer(buffer, &view, PyBUF_WRITABLE, "buffer")
    length = view.len
    mask_bytes(<uint8_t *>view.buf, <const uint8_t *>view.buf, length, key, phase)
    PyBuffer_Release(&view)
    return length


def mask(data, key, /):
    """Returns ``data`` XOR-masked with the 4-byte ``key`` (RFC 6455 §5.3), as new bytes."""
    cdef uint8_t k[4]
    cdef size_t length
    read_mask_key(key, k)
    return _mask_copy(data, k, 0, &length)


def mask_inplace(buffer, key, /):
    """XOR-masks the writable ``buffer`` with the 4-byte ``key`` in place; returns None."""
    cdef uint8_t k[4]
    read_mask_key(key, k)
    _mask_inplace(buffer, k, 0)


cdef class Masker:
    """Masks a payload that arrives in chunks, keeping the key phase from one chunk to the next."""

    cdef uint8_t _key[4]
    cdef size_t _phase

    def __init__(self, key):
        read_mask_key(key, self._key)
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
