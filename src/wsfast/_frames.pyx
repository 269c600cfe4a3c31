# cython: language_level=3
"""WebSocket frame parsing and building (RFC 6455 §5), compiled.

The twin of ``_frames_py.py``; ``_frames.pyi`` documents the shared interface. Both give the same
frames and the same errors (code and reason) for the same bytes, however they are split.

How the parser stays cheap per frame:

* Headers are read with pointer arithmetic straight from the caller's chunk; only the tail of a
  frame that the chunk does not complete is kept (up to 14 header bytes in a fixed array, the
  payload in its final bytes object).
* A payload is unmasked (``xor_mask``) straight from the chunk into the bytes object that becomes
  ``Frame.payload``: one copy. A payload spread over chunks is unmasked piece by piece into a bytes
  object allocated from the header (its size is checked against the limits first).
* Text is validated (``utf8_feed``) right after each piece is unmasked, while it is in cache.
* ``Frame`` is a final cdef class with a freelist, filled field by field without ``__init__``.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.number cimport PyNumber_Index
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy, memmove

from wsfast._kernels cimport (
    NOGIL_MASK,
    SHORT_MASK,
    get_buffer,
    mask_bytes,
    masked_copy,
    read_mask_key,
    utf8_feed,
    wsf_mask_short,
    wsf_utf8_at_boundary,
    wsf_utf8_reset,
    wsf_utf8_state,
    xor_mask,
)

import os

from .exceptions import PayloadTooBig, ProtocolError

# A close frame is parsed once per connection, so C would buy nothing: the twin's close-frame rules
# (RFC 6455 §5.5.1, §7.4) serve both implementations.
from ._frames_py import build_close_payload, is_valid_close_code, parse_close

#: Largest payload of a control frame (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD = 125

cdef enum:
    OP_CONTINUATION = 0
    OP_TEXT = 1
    OP_BINARY = 2
    OP_CLOSE = 8
    CONTROL_MAX = 125
    FLAG_FIN = 0x80
    FLAG_RSV1 = 0x40
    FLAG_RSV2 = 0x20
    FLAG_RSV3 = 0x10
    REPR_PAYLOAD = 32
    # A payload that spans chunks is unmasked into a bytes object of its final size when it is at
    # most this big; beyond, the pieces are kept and joined (no huge allocation from a header alone
    # when the caller set no limit).
    PREALLOCATE_MAX = 16 * 1024 * 1024
    KEY_POOL_SIZE = 4096

cdef uint64_t UNLIMITED = <uint64_t>-1


cdef inline bint _known_opcode(int opcode) noexcept nogil:
    # RFC 6455 §5.2: opcodes 3-7 and 0xB-0xF are reserved.
    return opcode <= 2 or 8 <= opcode <= 10


cdef inline Py_ssize_t _header_size(uint8_t second) noexcept nogil:
    cdef Py_ssize_t size = 2
    cdef uint8_t length7 = second & 0x7F
    if length7 == 126:
        size = 4
    elif length7 == 127:
        size = 10
    if second & 0x80:
        size += 4
    return size


# --- Frame ------------------------------------------------------------------------------------


@cython.final
@cython.freelist(256)
cdef class Frame:
    """One complete, unmasked frame. Immutable; equal when all fields are equal."""

    cdef readonly int opcode
    cdef readonly bint fin
    cdef readonly bint rsv1
    cdef readonly bint rsv2
    cdef readonly bint rsv3
    cdef readonly bytes payload

    def __init__(self, opcode, payload=b"", fin=True, rsv1=False, rsv2=False, rsv3=False):
        if not 0 <= opcode <= 15:
            raise ValueError(f"opcode must be in 0-15, got {opcode}")
        self.opcode = PyNumber_Index(opcode)
        self.payload = payload if PyBytes_CheckExact(payload) else bytes(payload)
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3

    def _key(self):
        return (self.opcode, self.fin, self.rsv1, self.rsv2, self.rsv3, self.payload)

    def __eq__(self, other):
        if type(other) is not Frame:
            return NotImplemented
        cdef Frame o = <Frame>other
        return (self.opcode == o.opcode and self.fin == o.fin and self.rsv1 == o.rsv1
                and self.rsv2 == o.rsv2 and self.rsv3 == o.rsv3 and self.payload == o.payload)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash(self._key())

    def __reduce__(self):
        return (Frame, (self.opcode, self.payload, self.fin, self.rsv1, self.rsv2, self.rsv3))

    def __repr__(self):
        cdef bytes payload = self.payload
        if len(payload) > REPR_PAYLOAD:
            shown = f"{payload[:REPR_PAYLOAD]!r}...({len(payload)} bytes)"
        else:
            shown = repr(payload)
        text = f"Frame(opcode={self.opcode}, payload={shown}, fin={self.fin}"
        if self.rsv1:
            text += ", rsv1=True"
        if self.rsv2:
            text += ", rsv2=True"
        if self.rsv3:
            text += ", rsv3=True"
        return text + ")"


cdef inline Frame _new_frame(uint8_t first, bytes payload):
    cdef Frame frame = Frame.__new__(Frame)
    frame.opcode = first & 0x0F
    frame.fin = (first & FLAG_FIN) != 0
    frame.rsv1 = (first & FLAG_RSV1) != 0
    frame.rsv2 = (first & FLAG_RSV2) != 0
    frame.rsv3 = (first & FLAG_RSV3) != 0
    frame.payload = payload
    return frame


# --- parser -----------------------------------------------------------------------------------


cdef object _error(int code, str reason):
    if code == 1009:
        return PayloadTooBig(reason)
    return ProtocolError(code, reason)


@cython.final
cdef class FrameParser:
    """Streaming RFC 6455 §5.2 frame parser for one direction of one connection.

    See ``_frames.pyi`` for the full contract.
    """

    cdef public bint rsv1_allowed
    cdef bint _server
    cdef bint _validate_utf8
    cdef uint64_t _max_frame
    cdef uint64_t _max_message
    cdef object _error  # None, or (code, reason) once failed

    # Partial header carried over from the previous chunk.
    cdef uint8_t _header[14]
    cdef Py_ssize_t _header_len

    # The current frame (its header has been checked).
    cdef uint8_t _first
    cdef Py_ssize_t _frame_header_size
    cdef uint64_t _length
    cdef uint64_t _got
    cdef bint _masked
    cdef uint8_t _key[4]
    cdef bint _frame_validate
    cdef bint _in_payload
    cdef bytes _payload  # preallocated destination of a payload spanning chunks, or None
    cdef list _parts  # ... or its unmasked pieces when it is too big to preallocate

    # The data message in progress (RFC 6455 §5.4): opcode 0 when none.
    cdef int _message_opcode
    cdef uint64_t _message_size
    cdef bint _message_validate
    cdef wsf_utf8_state _utf8

    # Output of the current feed() call.
    cdef list _frames

    def __init__(self, *, server, max_frame_size=1048576, max_message_size=1048576,
                 rsv1_allowed=False, validate_utf8=True):
        if max_frame_size is not None and max_frame_size < 0:
            raise ValueError("max_frame_size must be >= 0 or None")
        if max_message_size is not None and max_message_size < 0:
            raise ValueError("max_message_size must be >= 0 or None")
        self._server = server
        self._max_frame = UNLIMITED if max_frame_size is None else <uint64_t>max_frame_size
        self._max_message = UNLIMITED if max_message_size is None else <uint64_t>max_message_size
        self.rsv1_allowed = rsv1_allowed
        self._validate_utf8 = validate_utf8
        self._error = None
        self._header_len = 0
        self._in_payload = False
        self._payload = None
        self._parts = None
        self._message_opcode = 0
        self._message_size = 0
        self._message_validate = False
        wsf_utf8_reset(&self._utf8)

    @property
    def server(self):
        return self._server

    @property
    def max_frame_size(self):
        return None if self._max_frame == UNLIMITED else self._max_frame

    @property
    def max_message_size(self):
        return None if self._max_message == UNLIMITED else self._max_message

    @property
    def validate_utf8(self):
        return self._validate_utf8

    @property
    def failed(self):
        return self._error is not None

    @property
    def buffered(self):
        if self._in_payload:
            return self._frame_header_size + self._got
        return self._header_len

    cdef int _fail(self, exc) except -1:
        # A failed parser holds nothing: what it buffered is dropped.
        self._error = (exc.code, exc.reason)
        self._header_len = 0
        self._in_payload = False
        self._payload = None
        self._parts = None
        return 0

    cdef object _raise_failed(self):
        exc = _error(self._error[0], self._error[1])
        exc.frames = []
        raise exc

    # A parser belongs to one connection and direction, but a program that shares one between
    # threads must get garbled frames or errors, never corrupted memory: _parse() keeps offsets
    # into _header and into the payload being filled between statements. With the GIL no other
    # thread runs in between (nothing in _parse() releases it); on free-threaded builds a critical
    # section on the parser serialises feed() instead (it compiles to nothing on other builds).

    def feed(self, data):
        """Consumes ``data``; returns the frames it completes, in order."""
        with cython.critical_section(self):
            return self._feed_frames(data)

    cdef list _feed_frames(self, object data):
        if self._error is not None:
            self._raise_failed()
        cdef list frames = []
        self._frames = frames
        try:
            self._feed(data)
        except ProtocolError as exc:
            self._fail(exc)
            exc.frames = frames
            raise
        finally:
            self._frames = None
        return frames

    cdef int _feed(self, object data) except -1:
        cdef Py_buffer view
        if PyBytes_CheckExact(data):
            # bytes are immutable: read them in place, no buffer export needed.
            return self._parse(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        get_buffer(data, &view, PyBUF_SIMPLE, "data")
        try:
            self._parse(<const uint8_t *>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)
        return 0

    cdef int _parse(self, const uint8_t *data, Py_ssize_t end) except -1:
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t size, take
        cdef uint64_t length
        cdef const uint8_t *header
        while True:
            if self._in_payload:
                take = end - pos
                if take == 0:
                    return 0
                if <uint64_t>take > self._length - self._got:
                    take = <Py_ssize_t>(self._length - self._got)
                self._payload_piece(data + pos, take)
                pos += take
                if self._got == self._length:
                    self._in_payload = False
                    self._complete_buffered()
                continue
            # Header: from the bytes carried over, or straight from this chunk.
            if self._header_len:
                if self._header_len < 2:
                    take = min(2 - self._header_len, end - pos)
                    memcpy(self._header + self._header_len, data + pos, take)
                    self._header_len += take
                    pos += take
                    if self._header_len < 2:
                        return 0
                size = _header_size(self._header[1])
                take = min(size - self._header_len, end - pos)
                memcpy(self._header + self._header_len, data + pos, take)
                self._header_len += take
                pos += take
                if self._header_len < size:
                    return 0
                self._header_len = 0
                header = self._header
            else:
                take = end - pos
                if take < 2 or take < _header_size(data[pos + 1]):
                    if take:
                        memcpy(self._header, data + pos, take)
                        self._header_len = take
                    return 0
                header = data + pos
                size = _header_size(header[1])
                pos += size
            self._check_header(header, size)
            length = self._length
            if length <= <uint64_t>(end - pos):
                # The whole payload is in this chunk: unmask it straight into its final place.
                self._complete_direct(data + pos, <Py_ssize_t>length)
                pos += <Py_ssize_t>length
            else:
                self._start_payload()

    cdef int _check_header(self, const uint8_t *header, Py_ssize_t size) except -1:
        """Checks a complete header, in the order documented in _frames.pyi."""
        cdef uint8_t first = header[0]
        cdef uint8_t second = header[1]
        cdef int opcode = first & 0x0F
        cdef bint control = opcode >= 8
        cdef uint64_t length = second & 0x7F
        cdef uint64_t total
        cdef int i
        if length == 126:
            length = (<uint64_t>header[2] << 8) | header[3]
        elif length == 127:
            length = 0
            for i in range(2, 10):
                length = (length << 8) | header[i]
        if not _known_opcode(opcode):
            raise ProtocolError(1002, f"reserved opcode {opcode}")
        # RFC 6455 §5.2: RSV bits must be 0 unless an extension defines them; only RSV1
        # (permessage-deflate, RFC 7692 §6) is ever negotiated, and only on the first frame of a
        # data message.
        if first & (FLAG_RSV2 | FLAG_RSV3):
            raise ProtocolError(1002, "reserved bits RSV2/RSV3 set")
        if first & FLAG_RSV1:
            if not self.rsv1_allowed:
                raise ProtocolError(1002, "reserved bit RSV1 set without an extension")
            if control or opcode == OP_CONTINUATION:
                raise ProtocolError(1002, "RSV1 set on a control or continuation frame")
        if control:
            # RFC 6455 §5.5: control frames must not be fragmented and carry <= 125 bytes.
            if not first & FLAG_FIN:
                raise ProtocolError(1002, "fragmented control frame")
            if length > CONTROL_MAX:
                raise ProtocolError(1002, f"control frame of {length} bytes (at most 125)")
            # RFC 6455 §5.5.1: a close body starts with a 2-byte code.
            if opcode == OP_CLOSE and length == 1:
                raise ProtocolError(1002, "close frame payload of 1 byte")
        # RFC 6455 §5.1: a client masks every frame, a server none.
        if second & 0x80:
            if not self._server:
                raise ProtocolError(1002, "masked frame from the server")
        elif self._server:
            raise ProtocolError(1002, "unmasked frame from the client")
        # RFC 6455 §5.2: the most significant bit of the 64-bit length must be 0.
        if length >> 63:
            raise ProtocolError(1002, "64-bit payload length with the top bit set")
        # RFC 6455 §5.4: fragmentation.
        if not control:
            if opcode == OP_CONTINUATION:
                if self._message_opcode == 0:
                    raise ProtocolError(1002, "continuation frame without a message")
            elif self._message_opcode != 0:
                raise ProtocolError(1002, "new data frame while a fragmented message is open")
        # RFC 6455 §10.4: limits, decided from the header before any payload is held.
        if length > self._max_frame:
            raise PayloadTooBig(f"frame of {length} bytes exceeds the limit of {self._max_frame}")
        self._frame_validate = False
        if not control:
            if opcode == OP_CONTINUATION:
                total = self._message_size + length
                self._frame_validate = self._message_validate
            else:
                total = length
            if total > self._max_message:
                raise PayloadTooBig(
                    f"message of {total} bytes exceeds the limit of {self._max_message}"
                )
            if opcode != OP_CONTINUATION:
                self._message_opcode = opcode
                # RFC 6455 §5.6 / RFC 7692 §6: uncompressed text is validated here; compressed
                # text only after inflating, by the connection.
                self._message_validate = (
                    opcode == OP_TEXT and self._validate_utf8 and not first & FLAG_RSV1
                )
                if self._message_validate:
                    wsf_utf8_reset(&self._utf8)
                self._frame_validate = self._message_validate
            self._message_size = total
        self._first = first
        self._length = length
        self._frame_header_size = size
        self._masked = (second & 0x80) != 0
        if self._masked:
            memcpy(self._key, header + size - 4, 4)
        return 0

    cdef inline int _unmask(self, uint8_t *dst, const uint8_t *src, Py_ssize_t length,
                            uint64_t offset) except -1:
        if not self._masked:
            memcpy(dst, src, length)
        elif <size_t>length <= SHORT_MASK:
            wsf_mask_short(dst, src, length, self._key, offset & 3)
        else:
            xor_mask(dst, src, length, self._key, offset & 3)
        if self._frame_validate and not utf8_feed(&self._utf8, dst, length):
            raise ProtocolError(1007, "invalid UTF-8 in text message")
        return 0

    cdef int _complete_direct(self, const uint8_t *src, Py_ssize_t length) except -1:
        cdef bytes payload = PyBytes_FromStringAndSize(NULL, length)
        cdef uint8_t *dst = <uint8_t *>PyBytes_AS_STRING(payload)
        self._unmask(dst, src, length, 0)
        return self._finish(payload)

    cdef int _start_payload(self) except -1:
        self._in_payload = True
        self._got = 0
        if self._length <= PREALLOCATE_MAX:
            self._payload = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>self._length)
            self._parts = None
        else:
            self._payload = None
            self._parts = []
        return 0

    cdef int _payload_piece(self, const uint8_t *src, Py_ssize_t length) except -1:
        cdef uint8_t *dst
        cdef bytes piece
        if self._payload is not None:
            dst = <uint8_t *>PyBytes_AS_STRING(self._payload) + self._got
            self._unmask(dst, src, length, self._got)
        else:
            piece = PyBytes_FromStringAndSize(NULL, length)
            self._unmask(<uint8_t *>PyBytes_AS_STRING(piece), src, length, self._got)
            self._parts.append(piece)
        self._got += length
        return 0

    cdef int _complete_buffered(self) except -1:
        cdef bytes payload = self._payload
        if payload is None:
            payload = b"".join(self._parts)
        self._payload = None
        self._parts = None
        return self._finish(payload)

    cdef int _finish(self, bytes payload) except -1:
        cdef uint8_t first = self._first
        cdef int opcode = first & 0x0F
        if opcode == OP_CLOSE:
            parse_close(payload)
        elif opcode < 8 and first & FLAG_FIN:
            # RFC 6455 §5.6: a text message is UTF-8 as a whole; it cannot end mid code point.
            if self._frame_validate and not wsf_utf8_at_boundary(&self._utf8):
                raise ProtocolError(1007, "text message ends inside a UTF-8 sequence")
            self._message_opcode = 0
            self._message_size = 0
            self._message_validate = False
        self._frames.append(_new_frame(first, payload))
        return 0


# --- builder ----------------------------------------------------------------------------------

cdef uint8_t _key_pool[KEY_POOL_SIZE]
cdef Py_ssize_t _key_pos = KEY_POOL_SIZE


# Guards the pool on free-threaded builds (a critical section is free under the GIL), so two
# threads never draw the same key.
cdef list _key_guard = []


cdef int _random_key(uint8_t *out) except -1:
    """4 fresh random bytes (RFC 6455 §5.3: unpredictable), from a pool refilled with
    ``os.urandom`` 1024 keys at a time."""
    global _key_pos
    cdef Py_ssize_t pos
    cdef bytes fresh
    with cython.critical_section(_key_guard):
        pos = _key_pos
        if pos < 0 or pos + 4 > KEY_POOL_SIZE:
            fresh = os.urandom(KEY_POOL_SIZE)
            memcpy(_key_pool, PyBytes_AS_STRING(fresh), KEY_POOL_SIZE)
            pos = 0
        _key_pos = pos + 4
        memcpy(out, _key_pool + pos, 4)
    return 0


def _discard_key_pool():
    """After fork(), the child must not reuse the keys its parent will also use."""
    global _key_pos
    _key_pos = KEY_POOL_SIZE


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_discard_key_pool)


def random_mask_key():
    """4 random bytes for a client frame's mask, from the batched ``os.urandom`` pool."""
    cdef uint8_t key[4]
    _random_key(key)
    return PyBytes_FromStringAndSize(<char *>key, 4)


cdef inline void _copy_payload(uint8_t *dst, const uint8_t *src, Py_ssize_t length,
                               const uint8_t *key) noexcept:
    """Masks (key not NULL) or copies a payload being built. The source is immutable bytes or a
    held buffer export and the destination is not shared yet, so big payloads release the GIL."""
    if key != NULL:
        mask_bytes(dst, src, length, key, 0)
    elif length >= NOGIL_MASK:
        with nogil:
            memcpy(dst, src, length)
    else:
        memcpy(dst, src, length)


cdef inline Py_ssize_t _header_size_for(uint64_t length, bint masked) noexcept nogil:
    cdef Py_ssize_t size = 2 if length < 126 else (4 if length < 65536 else 10)
    return size + 4 if masked else size


def frame_header_size(length, mask):
    """Size of the header of a frame with a ``length``-byte payload (2, 4 or 10; +4 if masked)."""
    if length < 0:
        raise ValueError("length must be >= 0")
    return _header_size_for(length, mask)


cdef int _check_frame(int opcode, uint64_t length, bint fin) except -1:
    if not _known_opcode(opcode) or opcode < 0:
        raise ValueError(f"invalid opcode {opcode}")
    if opcode >= 8:
        if not fin:
            raise ValueError("control frames cannot be fragmented (RFC 6455 §5.5)")
        if length > CONTROL_MAX:
            raise ValueError(f"control frame payload of {length} bytes (at most 125)")
    return 0


cdef Py_ssize_t _write_header(uint8_t *out, int opcode, uint64_t length, bint fin, bint rsv1,
                              bint rsv2, bint rsv3, const uint8_t *key) noexcept:
    cdef Py_ssize_t size
    cdef int i
    cdef uint8_t mask_bit = 0x80 if key != NULL else 0
    out[0] = (opcode | (FLAG_FIN if fin else 0) | (FLAG_RSV1 if rsv1 else 0)
              | (FLAG_RSV2 if rsv2 else 0) | (FLAG_RSV3 if rsv3 else 0))
    # RFC 6455 §5.2: the minimal number of bytes must be used to encode the length.
    if length < 126:
        out[1] = mask_bit | <uint8_t>length
        size = 2
    elif length < 65536:
        out[1] = mask_bit | 126
        out[2] = (length >> 8) & 0xFF
        out[3] = length & 0xFF
        size = 4
    else:
        out[1] = mask_bit | 127
        for i in range(8):
            out[2 + i] = (length >> (56 - 8 * i)) & 0xFF
        size = 10
    if key != NULL:
        memcpy(out + size, key, 4)
        size += 4
    return size


cdef int _read_mask_key(bint mask, object mask_key, uint8_t *out) except -1:
    """Fills `out` with the key to use; returns 1 if the frame is masked, else 0."""
    if not mask:
        return 0
    if mask_key is None:
        _random_key(out)
    else:
        read_mask_key(mask_key, out)
    return 1


def build_frame(int opcode, payload, *, bint fin=True, bint rsv1=False, bint rsv2=False,
                bint rsv3=False, bint mask=False, mask_key=None):
    """One whole frame as bytes (RFC 6455 §5.2); ``mask=True`` for client frames."""
    cdef Py_buffer view
    cdef uint8_t key[4]
    cdef bint masked
    cdef const uint8_t *src
    cdef Py_ssize_t length, size
    cdef bint release = False
    cdef uint8_t *out
    if PyBytes_CheckExact(payload):
        src = <const uint8_t *>PyBytes_AS_STRING(payload)
        length = PyBytes_GET_SIZE(payload)
    else:
        get_buffer(payload, &view, PyBUF_SIMPLE, "payload")
        release = True
        src = <const uint8_t *>view.buf
        length = view.len
    try:
        masked = _read_mask_key(mask, mask_key, key)
        _check_frame(opcode, length, fin)
        size = _header_size_for(length, masked)
        frame = PyBytes_FromStringAndSize(NULL, size + length)
        out = <uint8_t *>PyBytes_AS_STRING(frame)
        _write_header(out, opcode, length, fin, rsv1, rsv2, rsv3, key if masked else NULL)
        _copy_payload(out + size, src, length, key if masked else NULL)
    finally:
        if release:
            PyBuffer_Release(&view)
    return frame


def build_frame_parts(int opcode, payload, *, bint fin=True, bint rsv1=False, bint rsv2=False,
                      bint rsv3=False, bint mask=False, mask_key=None):
    """``(header, payload)`` for a vectored write; unmasked, the payload is not copied."""
    cdef Py_buffer view
    cdef uint8_t key[4]
    cdef uint8_t header[14]
    cdef bint masked
    cdef Py_ssize_t length, size
    cdef bytes masked_payload
    get_buffer(payload, &view, PyBUF_SIMPLE, "payload")
    try:
        length = view.len
        masked = _read_mask_key(mask, mask_key, key)
        _check_frame(opcode, length, fin)
        size = _write_header(header, opcode, length, fin, rsv1, rsv2, rsv3,
                             key if masked else NULL)
        if masked:
            masked_payload = masked_copy(<const uint8_t *>view.buf, length, key, 0)
    finally:
        PyBuffer_Release(&view)
    head = PyBytes_FromStringAndSize(<char *>header, size)
    if masked:
        return head, masked_payload
    return head, payload


def build_frame_into(buffer, Py_ssize_t offset, int opcode, payload, *, bint fin=True,
                     bint rsv1=False, bint rsv2=False, bint rsv3=False, bint mask=False,
                     mask_key=None):
    """Writes the frame into the writable ``buffer`` at ``offset``; returns the bytes written."""
    cdef Py_buffer out_view
    cdef Py_buffer view
    cdef uint8_t key[4]
    cdef bint masked
    cdef Py_ssize_t length, size, total
    cdef uint8_t *out
    cdef const uint8_t *src
    get_buffer(buffer, &out_view, PyBUF_WRITABLE, "buffer")
    try:
        get_buffer(payload, &view, PyBUF_SIMPLE, "payload")
        try:
            length = view.len
            masked = _read_mask_key(mask, mask_key, key)
            _check_frame(opcode, length, fin)
            size = _header_size_for(length, masked)
            total = size + length
            if offset < 0 or offset + total > out_view.len:
                raise ValueError(
                    f"frame of {total} bytes does not fit in {out_view.len} bytes "
                    f"at offset {offset}"
                )
            out = <uint8_t *>out_view.buf + offset
            src = <const uint8_t *>view.buf
            if src < out + total and out < src + length:
                # The payload lies in the destination buffer (a caller building in place):
                # move it first, while the header has not overwritten it, then mask in place.
                memmove(out + size, src, length)
                src = out + size
            _write_header(out, opcode, length, fin, rsv1, rsv2, rsv3, key if masked else NULL)
            if src == out + size:
                if masked:
                    _copy_payload(out + size, src, length, key)
            else:
                _copy_payload(out + size, src, length, key if masked else NULL)
        finally:
            PyBuffer_Release(&view)
    finally:
        PyBuffer_Release(&out_view)
    return total
