# cython: language_level=3
"""wsaccel's classes (``XorMaskerSimple``, ``XorMaskerNull``, ``createXorMasker``,
``Utf8Validator``) on wsfast's C kernels, compiled.

The twin of ``_wsaccel_compat_py.py``; ``_wsaccel_compat.pyi`` documents the shared interface and
the behaviour of wsaccel 0.6.7 that both reproduce. Masking uses the kernels of ``csrc/mask_*.c``
(RFC 6455 §5.3), validation those of ``csrc/utf8_*.c`` (RFC 6455 §8.1), both through
``wsfast._kernels`` (whose SIMD level applies here too).
"""

from cpython.buffer cimport (
    PyBUF_FORMAT,
    PyBUF_STRIDES,
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
from libc.stdint cimport uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from wsfast._kernels cimport masked_copy, utf8_feed, wsf_utf8_reset, wsf_utf8_state

# wsaccel's DFA (its states and transitions) is the twin's: only the validation runs in C here.
from wsfast._wsaccel_compat_py import _STATE_RANGES, _lead_bits, _next_state

cdef enum:
    # Below this size the kernel finishes faster than a GIL release and re-acquire would.
    NOGIL_THRESHOLD = 65536


# --- buffers ---------------------------------------------------------------------------------

cdef class _ByteView:
    """The bytes of an argument that wsaccel declares ``const unsigned char[:]``: a 1-D buffer of
    unsigned bytes (format ``B`` or ``c``), contiguous or strided (then gathered into a copy)."""

    cdef Py_buffer view
    cdef bint held
    cdef const uint8_t *data
    cdef Py_ssize_t length
    cdef uint8_t *gathered

    def __dealloc__(self):
        if self.gathered != NULL:
            free(self.gathered)
        if self.held:
            PyBuffer_Release(&self.view)


cdef inline bint _unsigned_byte_format(const char *fmt) noexcept:
    if fmt == NULL:
        return True
    if fmt[0] in b"@=<>!":
        fmt += 1
    return (fmt[0] == b"B" or fmt[0] == b"c") and fmt[1] == 0


cdef int _open(_ByteView bv, object obj) except -1:
    cdef Py_ssize_t i, stride
    cdef const uint8_t *src
    if not PyObject_CheckBuffer(obj):
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'")
    PyObject_GetBuffer(obj, &bv.view, PyBUF_STRIDES | PyBUF_FORMAT)
    bv.held = True
    if bv.view.ndim != 1:
        raise ValueError(
            f"Buffer has wrong number of dimensions (expected 1, got {bv.view.ndim})"
        )
    if bv.view.itemsize != 1 or not _unsigned_byte_format(bv.view.format):
        fmt = bv.view.format.decode("ascii", "replace") if bv.view.format != NULL else "B"
        raise ValueError(f"Buffer dtype mismatch, expected 'const unsigned char' but got {fmt!r}")
    bv.length = bv.view.shape[0]
    stride = bv.view.strides[0]
    if stride == 1 or bv.length <= 1:
        bv.data = <const uint8_t *>bv.view.buf
        return 0
    # A strided view (memoryview[::2] ...): gather it once, then mask or validate the copy.
    bv.gathered = <uint8_t *>malloc(bv.length)
    if bv.gathered == NULL:
        raise MemoryError()
    src = <const uint8_t *>bv.view.buf
    for i in range(bv.length):
        bv.gathered[i] = src[i * stride]
    bv.data = bv.gathered
    return 0


# --- xormask ---------------------------------------------------------------------------------

cdef class _XorMasker:
    """What wsaccel's two maskers share: ``pointer()`` counts the bytes processed."""

    cdef Py_ssize_t ptr

    def pointer(self):
        """The number of bytes processed since creation or the last ``reset()``."""
        return self.ptr

    def reset(self):
        """Sets ``pointer()`` back to 0 (for XorMaskerSimple: starts again at key octet 0)."""
        self.ptr = 0


cdef class XorMaskerNull(_XorMasker):
    """wsaccel's ``XorMaskerNull``: ``process(data)`` returns ``data`` itself, unmasked, and
    counts its length in ``pointer()``."""

    def __init__(self, mask=None):
        self.ptr = 0

    def process(self, data):
        """Returns ``data`` unchanged (the same object)."""
        self.ptr += len(data)
        return data


cdef class XorMaskerSimple(_XorMasker):
    """wsaccel's ``XorMaskerSimple``: XOR-masks (RFC 6455 §5.3) successive chunks of one payload
    with a 4-byte key, continuing the key phase from chunk to chunk."""

    cdef uint8_t mask[4]

    def __init__(self, mask):
        cdef _ByteView bv
        if PyBytes_CheckExact(mask):
            if PyBytes_GET_SIZE(mask) != 4:
                raise ValueError("mask should be 4byte.")
            memcpy(self.mask, PyBytes_AS_STRING(mask), 4)
        else:
            bv = _ByteView.__new__(_ByteView)
            _open(bv, mask)
            if bv.length != 4:
                raise ValueError("mask should be 4byte.")
            memcpy(self.mask, bv.data, 4)
        self.ptr = 0

    def process(self, data):
        """Returns the next chunk ``data`` masked, as new bytes (``b""`` for None, as wsaccel)."""
        cdef _ByteView bv
        cdef bytes out
        cdef Py_ssize_t length
        if PyBytes_CheckExact(data):
            # bytes are immutable: their memory needs no buffer export, even without the GIL.
            length = PyBytes_GET_SIZE(data)
            out = masked_copy(<const uint8_t *>PyBytes_AS_STRING(data), length, self.mask,
                              self.ptr & 3)
        elif data is None:
            return b""
        else:
            # The export pins the memory (a bytearray cannot resize while it is held).
            bv = _ByteView.__new__(_ByteView)
            _open(bv, data)
            length = bv.length
            out = masked_copy(bv.data, length, self.mask, self.ptr & 3)
        self.ptr += length
        return out


def createXorMasker(mask, len=None):
    """wsaccel's factory: an ``XorMaskerSimple(mask)``; ``len`` (a payload length hint) is ignored."""
    return XorMaskerSimple(mask)


# --- utf8validator ---------------------------------------------------------------------------

# wsaccel numbers the states of its DFA (Hoehrmann's "Flexible and Economical UTF-8 Decoder"):
# 0 accept, 1 reject, then a state per set of bytes the next continuation byte may be. wsfast's
# validator keeps the same facts as (need, lo, hi); these tables, filled from the twin's
# _STATE_RANGES, translate one into the other.
cdef uint8_t _STATE_NEED[9]
cdef uint8_t _STATE_LO[9]
cdef uint8_t _STATE_HI[9]
for _number, (_need, _lo, _hi) in enumerate(_STATE_RANGES):
    _STATE_NEED[_number], _STATE_LO[_number], _STATE_HI[_number] = _need, _lo, _hi


cdef int _state_number(const wsf_utf8_state *s) noexcept:
    if s.failed:
        return 1
    if s.need == 0:
        return 0
    if s.need == 1:
        return 2
    if s.need == 2:
        return 4 if s.lo == 0xA0 else (5 if s.hi == 0x9F else 3)
    return 6 if s.lo == 0x90 else (8 if s.hi == 0x8F else 7)


cdef class Utf8Validator:
    """wsaccel's incremental UTF-8 validator (RFC 3629, as RFC 6455 §8.1 requires of text).

    ``validate(chunk)`` returns ``(valid, ends_on_code_point, current_index, total_index)``; see
    ``_wsaccel_compat.pyi`` for the exact rules, which follow wsaccel 0.6.7.
    """

    UTF8_ACCEPT = 0
    UTF8_REJECT = 1

    cdef wsf_utf8_state s
    cdef public Py_ssize_t i
    cdef public int codepoint

    def __init__(self):
        self.reset()

    @property
    def state(self):
        """wsaccel's DFA state: 0 accept, 1 reject, 2-8 inside a multi-byte sequence."""
        return _state_number(&self.s)

    @state.setter
    def state(self, int value):
        if value < 0 or value > 8:
            raise ValueError(f"Utf8Validator state must be 0-8, got {value}")
        self.s.failed = value == 1
        self.s.need = _STATE_NEED[value]
        self.s.lo = _STATE_LO[value]
        self.s.hi = _STATE_HI[value]

    def reset(self):
        """Starts a new message: accept state, ``i`` and ``codepoint`` 0."""
        wsf_utf8_reset(&self.s)
        self.codepoint = 0
        self.i = 0

    def decode(self, int b):
        """Feeds one octet (an int 0-255); returns the new state (0 when ``codepoint`` holds a
        complete code point, 1 on invalid UTF-8, another number when more octets are needed)."""
        cdef int state = _state_number(&self.s)
        if b < 0 or b > 255:
            raise ValueError(f"decode() takes an octet 0-255, got {b}")
        if state != 0:
            self.codepoint = <int>((b & 0x3F) | (<unsigned int>self.codepoint << 6))
        else:
            self.codepoint = _lead_bits(b)
        state = _next_state(state, b)
        self.state = state
        return state

    def __reduce__(self):
        return _restore_validator, (type(self), self.state, self.i, self.codepoint)

    def validate(self, buf):
        """Validates the next chunk: ``(valid, ends_on_code_point, current_index, total_index)``."""
        cdef _ByteView bv
        cdef const uint8_t *data
        cdef Py_ssize_t length, index
        cdef int ok
        if PyBytes_CheckExact(buf):
            data = <const uint8_t *>PyBytes_AS_STRING(buf)
            length = PyBytes_GET_SIZE(buf)
        else:
            if buf is None:
                raise TypeError("'NoneType' is not iterable")
            bv = _ByteView.__new__(_ByteView)
            _open(bv, buf)
            data = bv.data
            length = bv.length
        if self.s.failed:
            # wsaccel: a rejected validator stays rejected at the first byte of every chunk.
            if length == 0:
                return True, False, 0, self.i
            return False, False, 0, self.i
        # offset 0: error_offset is then the index within this chunk.
        self.s.offset = 0
        if length >= NOGIL_THRESHOLD:
            # bytes are immutable and other buffers are pinned by their export.
            with nogil:
                ok = utf8_feed(&self.s, data, length)
        else:
            ok = utf8_feed(&self.s, data, length)
        if ok:
            self.i += length
            return True, self.s.need == 0, length, self.i
        index = <Py_ssize_t>self.s.error_offset
        self.i += index
        return False, False, index, self.i


def _restore_validator(cls, state, i, codepoint):
    """Unpickles a Utf8Validator: its state number, ``i`` and ``codepoint`` are all there is."""
    validator = cls()
    validator.state = state
    validator.i = i
    validator.codepoint = codepoint
    return validator


def _valid_prefix(buf):
    """True if ``buf`` is valid UTF-8 so far (a truncated last code point passes): what
    websocket-client's ``validate_utf8`` computes as ``Utf8Validator().validate(buf)[0]``."""
    cdef wsf_utf8_state s
    cdef _ByteView bv
    if PyBytes_CheckExact(buf):
        wsf_utf8_reset(&s)
        return utf8_feed(&s, <const uint8_t *>PyBytes_AS_STRING(buf),
                         PyBytes_GET_SIZE(buf)) != 0
    if buf is None:
        raise TypeError("'NoneType' is not iterable")
    bv = _ByteView.__new__(_ByteView)
    _open(bv, buf)
    wsf_utf8_reset(&s)
    return utf8_feed(&s, bv.data, bv.length) != 0
