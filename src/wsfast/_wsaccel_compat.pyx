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

from wsfast._kernels cimport mask_bytes, utf8_feed, wsf_utf8_reset, wsf_utf8_state

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

cdef class XorMaskerNull:
    """wsaccel's ``XorMaskerNull``: ``process(data)`` returns ``data`` itself, unmasked, and
    counts its length in ``pointer()``."""

    cdef Py_ssize_t ptr

    def __init__(self, mask=None):
        self.ptr = 0

    def pointer(self):
        """The number of bytes processed since creation or the last ``reset()``."""
        return self.ptr

    def reset(self):
        """Sets ``pointer()`` back to 0."""
        self.ptr = 0

    def process(self, data):
        """Returns ``data`` unchanged (the same object)."""
        self.ptr += len(data)
        return data


cdef class XorMaskerSimple:
    """wsaccel's ``XorMaskerSimple``: XOR-masks (RFC 6455 §5.3) successive chunks of one payload
    with a 4-byte key, continuing the key phase from chunk to chunk."""

    cdef Py_ssize_t ptr
    cdef uint8_t mask[4]

    def __init__(self, mask):
        cdef _ByteView bv
        cdef const uint8_t *key
        if PyBytes_CheckExact(mask):
            if PyBytes_GET_SIZE(mask) != 4:
                raise ValueError("mask should be 4byte.")
            key = <const uint8_t *>PyBytes_AS_STRING(mask)
            self.mask[0] = key[0]
            self.mask[1] = key[1]
            self.mask[2] = key[2]
            self.mask[3] = key[3]
        else:
            bv = _ByteView.__new__(_ByteView)
            _open(bv, mask)
            if bv.length != 4:
                raise ValueError("mask should be 4byte.")
            self.mask[0] = bv.data[0]
            self.mask[1] = bv.data[1]
            self.mask[2] = bv.data[2]
            self.mask[3] = bv.data[3]
        self.ptr = 0

    def pointer(self):
        """The number of bytes masked since creation or the last ``reset()``."""
        return self.ptr

    def reset(self):
        """Starts again at key octet 0 (and ``pointer()`` 0)."""
        self.ptr = 0

    def process(self, data):
        """Returns the next chunk ``data`` masked, as new bytes (``b""`` for None, as wsaccel)."""
        cdef _ByteView bv
        cdef bytes out
        cdef Py_ssize_t length
        if PyBytes_CheckExact(data):
            # bytes are immutable: their memory needs no buffer export, even without the GIL.
            length = PyBytes_GET_SIZE(data)
            out = PyBytes_FromStringAndSize(NULL, length)
            mask_bytes(<uint8_t *>PyBytes_AS_STRING(out),
                       <const uint8_t *>PyBytes_AS_STRING(data), length, self.mask, self.ptr & 3)
        elif data is None:
            return b""
        else:
            # The export pins the memory (a bytearray cannot resize while it is held).
            bv = _ByteView.__new__(_ByteView)
            _open(bv, data)
            length = bv.length
            out = PyBytes_FromStringAndSize(NULL, length)
            mask_bytes(<uint8_t *>PyBytes_AS_STRING(out), bv.data, length, self.mask,
                       self.ptr & 3)
        self.ptr += length
        return out


def createXorMasker(mask, len=None):
    """wsaccel's factory: an ``XorMaskerSimple(mask)``; ``len`` (a payload length hint) is ignored."""
    return XorMaskerSimple(mask)


# --- utf8validator ---------------------------------------------------------------------------

# wsaccel numbers the states of its DFA (Hoehrmann's "Flexible and Economical UTF-8 Decoder"):
# 0 accept, 1 reject, then a state per set of bytes the next continuation byte may be. wsfast's
# validator keeps the same facts as (need, lo, hi); these tables translate one into the other.
#                            state:  0     1     2     3     4     5     6     7     8
cdef uint8_t _STATE_NEED[9]
cdef uint8_t _STATE_LO[9]
cdef uint8_t _STATE_HI[9]
_STATE_NEED[:] = [0, 0, 1, 2, 2, 2, 3, 3, 3]
_STATE_LO[:] = [0x80, 0x80, 0x80, 0x80, 0xA0, 0x80, 0x90, 0x80, 0x80]
_STATE_HI[:] = [0xBF, 0xBF, 0xBF, 0xBF, 0xBF, 0x9F, 0xBF, 0xBF, 0x8F]


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


cdef int _lead_state(int b) noexcept:
    """The state after a lead byte ``b`` (RFC 3629 §4: C0, C1 and F5-FF never appear)."""
    if b < 0x80:
        return 0
    if b < 0xC2:
        return 1
    if b < 0xE0:
        return 2
    if b == 0xE0:
        return 4  # E0 A0-BF: no overlong 3-byte forms
    if b == 0xED:
        return 5  # ED 80-9F: no surrogates
    if b < 0xF0:
        return 3
    if b == 0xF0:
        return 6  # F0 90-BF: no overlong 4-byte forms
    if b < 0xF4:
        return 7
    if b == 0xF4:
        return 8  # F4 80-8F: nothing above U+10FFFF
    return 1


cdef int _lead_bits(int b) noexcept:
    """The bits wsaccel's ``decode`` keeps of a byte read in the accept state."""
    if b < 0x80:
        return b
    if b < 0x90:
        return b & 0x7F
    if b < 0xA0:
        return 0
    if b < 0xC0:
        return b & 0x01
    if b < 0xC2:
        return 0
    if b < 0xE0:
        return b & 0x3F
    if b == 0xE0 or b == 0xF0 or b > 0xF4:
        return 0
    if b == 0xED:
        return b & 0x0F
    if b < 0xF0:
        return b & 0x1F
    if b == 0xF4:
        return b & 0x07
    return b & 0x03


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
        cdef int nxt
        if b < 0 or b > 255:
            raise ValueError(f"decode() takes an octet 0-255, got {b}")
        if state != 0:
            self.codepoint = <int>((b & 0x3F) | (<unsigned int>self.codepoint << 6))
        else:
            self.codepoint = _lead_bits(b)
        if state == 0:
            nxt = _lead_state(b)
        elif state == 1 or b < _STATE_LO[state] or b > _STATE_HI[state]:
            nxt = 1
        else:
            nxt = (0, 1, 0, 2, 2, 2, 3, 3, 3)[state]
        self.state = nxt
        return nxt

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
