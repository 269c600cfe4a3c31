# cython: language_level=3
"""UTF-8 validation of text messages (RFC 6455 §5.6, §8.1; RFC 3629), compiled.

The twin of ``_utf8_py.py``; ``_utf8.pyi`` documents the shared interface. The work is done by the
C kernels in ``csrc/utf8_*.c`` (scalar, SSE4, AVX2, AVX-512, NEON), through ``wsfast._kernels``,
whose SIMD level this module re-exports.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t

from wsfast._kernels cimport (
    get_buffer,
    utf8_build_str,
    utf8_feed,
    wsf_utf8_at_boundary,
    wsf_utf8_reset,
    wsf_utf8_state,
)

from wsfast._kernels import available_simd_levels, set_simd_level, simd_level
from wsfast.exceptions import InvalidUTF8

# Above this size the kernel runs long enough (tens of microseconds) for a GIL release to pay.
cdef enum:
    NOGIL_THRESHOLD = 262144


cdef inline int _feed(wsf_utf8_state *s, const uint8_t *data, size_t length) noexcept:
    cdef int ok
    if length >= NOGIL_THRESHOLD:
        with nogil:
            ok = utf8_feed(s, data, length)
        return ok
    return utf8_feed(s, data, length)


cdef inline long long _invalid_offset(const uint8_t *data, size_t length) noexcept:
    """-1 if data is complete, valid UTF-8; else the offset of the first invalid byte, or
    ``length`` when the data ends inside a code point."""
    cdef wsf_utf8_state s
    wsf_utf8_reset(&s)
    if not _feed(&s, data, length):
        return <long long>s.error_offset
    if not wsf_utf8_at_boundary(&s):
        return <long long>length
    return -1


cdef long long _offset_of(object data) except -2:
    cdef Py_buffer view
    cdef long long result
    if PyBytes_CheckExact(data):
        return _invalid_offset(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    get_buffer(data, &view, PyBUF_SIMPLE, "data")
    try:
        result = _invalid_offset(<const uint8_t *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return result


def validate_utf8(data):
    """True if ``data`` (any contiguous buffer) is complete, strictly valid UTF-8."""
    return _offset_of(data) < 0


def invalid_utf8_offset(data):
    """None if ``data`` is complete, valid UTF-8; else the offset of the first invalid byte, or
    ``len(data)`` if the data ends inside a code point."""
    cdef long long offset = _offset_of(data)
    return None if offset < 0 else offset


def utf8_bytes(data):
    """Returns ``data`` as bytes after checking it is valid UTF-8 (the object itself when it is
    already ``bytes``: no copy); raises InvalidUTF8 otherwise."""
    cdef long long offset = _offset_of(data)
    if offset >= 0:
        raise InvalidUTF8(offset)
    return data if PyBytes_CheckExact(data) else bytes(data)


cdef object _decode(const uint8_t *data, Py_ssize_t length):
    cdef long long offset
    result = utf8_build_str(data, length)
    if result is not None:
        return result
    offset = _invalid_offset(data, length)
    if offset < 0:
        # The kernels and the validator disagree, which the tests rule out; should it happen,
        # CPython's decoder has the last word rather than a valid message failing.
        return PyUnicode_DecodeUTF8(<const char *>data, length, "strict")
    raise InvalidUTF8(offset)


def _transcode_utf8(data):
    """For tests: the str built by the transcoding kernels alone, or None where they reject the
    input (no validator, no fallback to CPython's decoder). ``data`` must be bytes."""
    if not PyBytes_CheckExact(data):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    return utf8_build_str(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


def decode_utf8(data):
    """Returns ``data`` (any contiguous buffer) decoded as a str; raises InvalidUTF8 (close code
    1007, with the offset of the first invalid byte) if it is not complete, valid UTF-8.

    The str is ``bytes.decode``'s, in the same storage, built by our transcoding kernels."""
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        return _decode(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    get_buffer(data, &view, PyBUF_SIMPLE, "data")
    try:
        return _decode(<const uint8_t *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef class Utf8Validator:
    """Validates a text message that arrives in chunks, failing at the first byte that can never
    become valid UTF-8 (RFC 6455 §8.1: fail the connection with 1007 as soon as possible)."""

    cdef wsf_utf8_state _state

    def __init__(self):
        wsf_utf8_reset(&self._state)

    cdef int _feed_object(self, object data) except -1:
        cdef Py_buffer view
        if PyBytes_CheckExact(data):
            return _feed(&self._state, <const uint8_t *>PyBytes_AS_STRING(data),
                         PyBytes_GET_SIZE(data))
        get_buffer(data, &view, PyBUF_SIMPLE, "data")
        try:
            return _feed(&self._state, <const uint8_t *>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)

    def feed(self, data):
        """Validates the next chunk; returns True while all input so far is a valid prefix of
        UTF-8. Once invalid, further chunks are ignored and False is returned."""
        return self._feed_object(data) == 1

    def check(self, data):
        """Like :meth:`feed`, but raises InvalidUTF8 instead of returning False."""
        if not self._feed_object(data):
            raise InvalidUTF8(self._state.error_offset)

    def finish(self):
        """Ends the message: True if all input is valid and ends on a code-point boundary. A code
        point left incomplete makes the input invalid, with ``error_offset`` at its end."""
        if not self._state.failed and self._state.need:
            self._state.failed = 1
            self._state.error_offset = self._state.offset
            self._state.need = 0
        return not self._state.failed

    def check_finish(self):
        """Like :meth:`finish`, but raises InvalidUTF8 instead of returning False."""
        if not self.finish():
            raise InvalidUTF8(self._state.error_offset)

    def reset(self):
        """Starts a new message."""
        wsf_utf8_reset(&self._state)

    @property
    def valid(self):
        """True while all input so far is a valid prefix of UTF-8."""
        return not self._state.failed

    @property
    def at_boundary(self):
        """True if all input so far is valid and ends between code points (a message may end)."""
        return wsf_utf8_at_boundary(&self._state) == 1

    @property
    def offset(self):
        """Bytes accepted so far (after a failure: the offset of the first invalid byte)."""
        return self._state.offset

    @property
    def error_offset(self):
        """The absolute offset of the first invalid byte, or None while the input is valid."""
        return self._state.error_offset if self._state.failed else None

    def __repr__(self):
        if self._state.failed:
            return f"Utf8Validator(offset={self._state.offset}, error_offset={self._state.error_offset})"
        return f"Utf8Validator(offset={self._state.offset}, at_boundary={self.at_boundary})"
