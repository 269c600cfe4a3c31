# cython: language_level=3
"""UTF-8 validation of text messages (RFC 6455 §5.6, §8.1; RFC 3629), compiled.

The twin of ``_utf8_py.py``; ``_utf8.pyi`` documents the shared interface. The work is done by the
C kernels in ``csrc/utf8_*.c`` (scalar, SSE4, AVX2, AVX-512, NEON), chosen at import from the
CPU's features, capped by the ``WSFAST_SIMD`` environment variable.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

import os

from wsfast.exceptions import InvalidUTF8

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

cdef extern from "cpu.h":
    const char *wsf_simd_level_name(int level)
    int wsf_cpu_max_level()

cdef extern from "utf8.h":
    ctypedef struct wsf_utf8_state:
        uint64_t offset
        uint64_t error_offset
        uint8_t need
        uint8_t lo
        uint8_t hi
        uint8_t failed
    void wsf_utf8_reset(wsf_utf8_state *s) nogil
    int wsf_utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t len) nogil
    int wsf_utf8_at_boundary(const wsf_utf8_state *s) nogil
    int wsf_utf8_select(int level)
    int wsf_utf8_level()

__all__ = [
    "InvalidUTF8",
    "Utf8Validator",
    "available_simd_levels",
    "decode_utf8",
    "invalid_utf8_offset",
    "set_simd_level",
    "simd_level",
    "utf8_bytes",
    "validate_utf8",
]

# Above this size the kernel runs long enough (tens of microseconds) for a GIL release to pay.
cdef enum:
    NOGIL_THRESHOLD = 262144


cdef int _get_buffer(object obj, Py_buffer *view) except -1:
    """PyObject_GetBuffer with the errors both twins raise: TypeError for a non-buffer or a
    non-contiguous buffer."""
    if not PyObject_CheckBuffer(obj):
        raise TypeError(f"data must be a bytes-like object, not {type(obj).__name__}")
    try:
        PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)
    except BufferError:
        raise TypeError("data must be a contiguous buffer") from None
    return 0


cdef inline int _feed(wsf_utf8_state *s, const uint8_t *data, size_t length) noexcept:
    cdef int ok
    if length >= NOGIL_THRESHOLD:
        with nogil:
            ok = wsf_utf8_feed(s, data, length)
        return ok
    return wsf_utf8_feed(s, data, length)


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
    _get_buffer(data, &view)
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


# --- decoding: the str built by our kernels -----------------------------------------------------

# The decoders' lookup tables are built on the first call: here, while the import runs alone.
wsf_utf8_decoder_for(0)


cdef inline void _transcode_into(const wsf_utf8_decoder *decoder, const uint8_t *data,
                                 size_t length, void *out, int kind, size_t chars,
                                 int *ok) noexcept nogil:
    if kind == 1:
        ok[0] = decoder.to_ucs1(data, length, <uint8_t *>out, chars)
    elif kind == 2:
        ok[0] = decoder.to_ucs2(data, length, <uint16_t *>out, chars)
    else:
        ok[0] = decoder.to_ucs4(data, length, <uint32_t *>out, chars)


cdef object _build_str(const uint8_t *data, Py_ssize_t length):
    """The str of ``data`` in CPython's own storage (1, 2 or 4 bytes a character, as
    ``bytes.decode`` would choose), or None if ``data`` is not complete, valid UTF-8.

    A first pass counts the characters and finds the largest byte, which fixes the kind; the
    str is allocated once and a second pass transcodes into it, validating as it goes
    (csrc/utf8_decode.h). Large inputs run both passes without the GIL: the str is not shared
    with anyone until it is returned."""
    cdef const wsf_utf8_decoder *decoder
    cdef wsf_utf8_shape shape
    cdef bint large = length >= NOGIL_THRESHOLD
    cdef int ok = 1, kind
    cdef void *out
    if length == 0:
        return ""
    decoder = wsf_utf8_decoder_for(wsf_utf8_level())
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


cdef object _decode(const uint8_t *data, Py_ssize_t length):
    cdef long long offset
    result = _build_str(data, length)
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
    return _build_str(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


def decode_utf8(data):
    """Returns ``data`` (any contiguous buffer) decoded as a str; raises InvalidUTF8 (close code
    1007, with the offset of the first invalid byte) if it is not complete, valid UTF-8.

    The str is ``bytes.decode``'s, in the same storage, built by our transcoding kernels."""
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        return _decode(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    _get_buffer(data, &view)
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
        _get_buffer(data, &view)
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


# --- SIMD level ------------------------------------------------------------------------------

# Level names on both architectures; a level above what the CPU supports is capped to it.
_LEVEL_NUMBERS = {"scalar": 0, "sse2": 1, "sse4": 1, "neon": 1, "avx2": 2, "avx512": 3}


def available_simd_levels():
    """The levels this CPU can run, narrowest first (``"scalar"`` is always there)."""
    return [wsf_simd_level_name(level).decode() for level in range(wsf_cpu_max_level() + 1)]


def simd_level():
    """The name of the kernel level in use: ``"scalar"``, ``"sse2"`` (the SSSE3/SSE4.1 kernel),
    ``"avx2"``, ``"avx512"`` or ``"neon"``."""
    return wsf_simd_level_name(wsf_utf8_level()).decode()


def set_simd_level(name):
    """Uses the widest kernel not above ``name`` that this CPU supports; returns its name.

    Unknown names raise ValueError; a level above the CPU's is capped, so any known name is safe.
    """
    if name not in _LEVEL_NUMBERS:
        raise ValueError(
            f"unknown SIMD level {name!r}; expected one of {', '.join(_LEVEL_NUMBERS)}"
        )
    wsf_utf8_select(_LEVEL_NUMBERS[name])
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
