# cython: language_level=3
"""The C-level interface of ``wsfast._kernels``, the one extension that links the SIMD kernels
(``csrc/``) and holds their dispatch state. ``_mask``, ``_utf8``, ``_frames`` and
``_wsaccel_compat`` cimport these functions (Cython passes them between modules as function
pointers), so ``set_simd_level`` reaches every kernel."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint8_t, uint64_t

# Inline helpers from the headers: compiled into each caller, no kernel needed.
cdef extern from "mask.h":
    void wsf_mask_short(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                        size_t phase) noexcept nogil

cdef extern from "utf8.h":
    ctypedef struct wsf_utf8_state:
        uint64_t offset
        uint64_t error_offset
        uint8_t need
        uint8_t lo
        uint8_t hi
        uint8_t failed
    void wsf_utf8_reset(wsf_utf8_state *s) noexcept nogil
    int wsf_utf8_at_boundary(const wsf_utf8_state *s) noexcept nogil

cdef enum:
    # Up to this many bytes, wsf_mask_short (inlined) is cheaper than a call to a kernel.
    SHORT_MASK = 16
    # From this many bytes, masking takes longer than a GIL release and re-acquire.
    NOGIL_MASK = 65536

# dst[i] = src[i] ^ key[(phase + i) % 4] (RFC 6455 §5.3), by the kernel selected.
cdef void xor_mask(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                   size_t phase) noexcept nogil

# Feeds a chunk to an incremental UTF-8 validation (csrc/utf8.h wsf_utf8_feed).
cdef int utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t length) noexcept nogil

# The str of complete, valid UTF-8 data, in CPython's own storage (as bytes.decode builds it),
# transcoded by the decoding kernels (csrc/utf8_decode.h); None when data is not valid UTF-8.
cdef object utf8_build_str(const uint8_t *data, Py_ssize_t length)

# PyObject_GetBuffer, with the TypeErrors every twin raises (``what`` names the argument).
cdef int get_buffer(object obj, Py_buffer *view, int flags, str what) except -1

# Copies a masking key (any buffer of exactly 4 bytes) into out; TypeError or ValueError else.
cdef int read_mask_key(object key, uint8_t *out) except -1


cdef inline void mask_bytes(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                            size_t phase) noexcept:
    """xor_mask for any length: short payloads inline, long ones without the GIL (the caller
    makes sure the memory cannot move: immutable bytes, a held buffer export, its own object)."""
    if length <= SHORT_MASK:
        wsf_mask_short(dst, src, length, key, phase)
    elif length >= NOGIL_MASK:
        with nogil:
            xor_mask(dst, src, length, key, phase)
    else:
        xor_mask(dst, src, length, key, phase)


cdef inline bytes masked_copy(const uint8_t *src, Py_ssize_t length, const uint8_t *key,
                              size_t phase):
    """A new bytes object holding src masked (src must stay put, as for mask_bytes)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, length)
    mask_bytes(<uint8_t *>PyBytes_AS_STRING(out), src, length, key, phase)
    return out
