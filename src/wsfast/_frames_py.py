"""WebSocket frame parsing and building (RFC 6455 §5), in pure Python.

The twin of ``_frames.pyx``; ``_frames.pyi`` documents the shared interface. Both give the same
frames and the same errors (code and reason) for the same bytes, however they are split.
Payloads are unmasked with ``wsfast._mask_py``; text is validated with CPython's UTF-8 decoder
(plus a check of the incomplete tail, which the decoder leaves alone, so that validation fails
as early as the C validator does).
"""

from __future__ import annotations

import os
from codecs import utf_8_decode
from operator import index
from threading import Lock
from typing import Final, NoReturn

from . import _mask_py
from ._kernels_py import byte_view
from ._typing import Buffer
from .exceptions import PayloadTooBig, ProtocolError

#: Largest payload of a control frame (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD: Final = 125

_OP_CONTINUATION: Final = 0
_OP_TEXT: Final = 1
_OP_BINARY: Final = 2
_OP_CLOSE: Final = 8
# RFC 6455 §5.2: opcodes 3-7 and 0xB-0xF are reserved.
_KNOWN_OPCODES: Final = frozenset((0, 1, 2, 8, 9, 10))
_REPR_PAYLOAD: Final = 32


class Frame:
    """One complete, unmasked frame. Immutable; equal when all fields are equal."""

    __slots__ = ("_fin", "_opcode", "_payload", "_rsv1", "_rsv2", "_rsv3")

    def __init__(
        self,
        opcode: int,
        payload: Buffer = b"",
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
    ) -> None:
        if not 0 <= opcode <= 15:
            raise ValueError(f"opcode must be in 0-15, got {opcode}")
        self._opcode = index(opcode)
        self._payload = payload if type(payload) is bytes else bytes(payload)
        self._fin = bool(fin)
        self._rsv1 = bool(rsv1)
        self._rsv2 = bool(rsv2)
        self._rsv3 = bool(rsv3)

    @property
    def opcode(self) -> int:
        return self._opcode

    @property
    def payload(self) -> bytes:
        return self._payload

    @property
    def fin(self) -> bool:
        return self._fin

    @property
    def rsv1(self) -> bool:
        return self._rsv1

    @property
    def rsv2(self) -> bool:
        return self._rsv2

    @property
    def rsv3(self) -> bool:
        return self._rsv3

    def _key(self) -> tuple[int, bool, bool, bool, bool, bytes]:
        return (self._opcode, self._fin, self._rsv1, self._rsv2, self._rsv3, self._payload)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Frame:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[type[Frame], tuple[int, bytes, bool, bool, bool, bool]]:
        return (Frame, (self._opcode, self._payload, self._fin, self._rsv1, self._rsv2, self._rsv3))

    def __repr__(self) -> str:
        return _frame_repr(
            self._opcode, self._payload, self._fin, self._rsv1, self._rsv2, self._rsv3
        )


def _frame_repr(opcode: int, payload: bytes, fin: bool, rsv1: bool, rsv2: bool, rsv3: bool) -> str:
    if len(payload) > _REPR_PAYLOAD:
        shown = f"{payload[:_REPR_PAYLOAD]!r}...({len(payload)} bytes)"
    else:
        shown = repr(payload)
    text = f"Frame(opcode={opcode}, payload={shown}, fin={fin}"
    if rsv1:
        text += ", rsv1=True"
    if rsv2:
        text += ", rsv2=True"
    if rsv3:
        text += ", rsv3=True"
    return text + ")"


# The first header byte -> (opcode, fin, rsv1, rsv2, rsv3), for building frames without
# converting each field.
_HEADER_FIELDS: Final = tuple(
    (b & 0x0F, bool(b & 0x80), bool(b & 0x40), bool(b & 0x20), bool(b & 0x10)) for b in range(256)
)
_new_object = object.__new__


def _frame_from_header(first: int, payload: bytes) -> Frame:
    """A Frame from a checked header byte and its payload, without ``__init__``'s conversions."""
    frame = _new_object(Frame)
    frame._opcode, frame._fin, frame._rsv1, frame._rsv2, frame._rsv3 = _HEADER_FIELDS[first]
    frame._payload = payload
    return frame


# --- UTF-8 ------------------------------------------------------------------------------------


def _incomplete_is_valid_prefix(tail: bytes) -> bool:
    """Whether ``tail`` (1-3 bytes the decoder left as incomplete) can still start a code point.

    CPython's decoder leaves some impossible tails pending (ED A0 would be a surrogate); the C
    validator rejects them at once, and so must this twin.
    """
    lead = tail[0]
    if 0xC2 <= lead <= 0xDF:
        need, lo, hi = 1, 0x80, 0xBF
    elif lead == 0xE0:
        need, lo, hi = 2, 0xA0, 0xBF  # no overlong 3-byte forms
    elif lead == 0xED:
        need, lo, hi = 2, 0x80, 0x9F  # no surrogates U+D800-U+DFFF
    elif 0xE1 <= lead <= 0xEF:
        need, lo, hi = 2, 0x80, 0xBF
    elif lead == 0xF0:
        need, lo, hi = 3, 0x90, 0xBF  # no overlong 4-byte forms
    elif 0xF1 <= lead <= 0xF3:
        need, lo, hi = 3, 0x80, 0xBF
    elif lead == 0xF4:
        need, lo, hi = 3, 0x80, 0x8F  # nothing above U+10FFFF
    else:
        return False
    if len(tail) > need:
        return False
    for byte in tail[1:]:
        if not lo <= byte <= hi:
            return False
        lo, hi = 0x80, 0xBF
    return True


class _Utf8Validator:
    """Incremental, fail-fast UTF-8 validation (RFC 3629, as RFC 6455 §8.1 requires)."""

    __slots__ = ("tail",)

    def __init__(self) -> None:
        self.tail = b""

    def feed(self, data: bytes) -> bool:
        """False as soon as the input so far cannot be a prefix of valid UTF-8."""
        if self.tail:
            data = self.tail + data
        elif data.isascii():
            return True
        try:
            _, consumed = utf_8_decode(data, "strict", False)
        except UnicodeDecodeError:
            return False
        tail = data[consumed:]
        if tail and not _incomplete_is_valid_prefix(tail):
            return False
        self.tail = tail
        return True

    def at_boundary(self) -> bool:
        return not self.tail


# --- close frames -----------------------------------------------------------------------------


def is_valid_close_code(code: int) -> bool:
    """True for close codes a peer may send (RFC 6455 §7.4.1, §7.4.2, IANA registry):
    1000-1003, 1007-1014 and 3000-4999. 1004-1006 and 1015 are reserved, never on the wire."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def parse_close(payload: Buffer) -> tuple[int, str]:
    """Returns (code, reason) of a close frame's payload; ``(1005, "")`` when it is empty.

    Raises ProtocolError: 1002 for a 1-byte payload or a code not allowed on the wire
    (RFC 6455 §5.5.1, §7.4), 1007 for a reason that is not UTF-8 (RFC 6455 §5.5.1).
    """
    data = payload if type(payload) is bytes else bytes(payload)
    length = len(data)
    if length == 0:
        return 1005, ""  # RFC 6455 §7.1.5: no status code present
    if length == 1:
        raise ProtocolError(1002, "close frame payload of 1 byte")
    code = (data[0] << 8) | data[1]
    if not is_valid_close_code(code):
        raise ProtocolError(1002, f"invalid close code {code}")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(1007, "close reason is not valid UTF-8") from None
    return code, reason


def build_close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame (RFC 6455 §5.5.1).

    ValueError for a code that may not be sent (RFC 6455 §7.4) or a payload longer than 125 bytes.
    """
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent")
    payload = code.to_bytes(2, "big") + reason.encode("utf-8")
    if len(payload) > MAX_CONTROL_PAYLOAD:
        raise ValueError(
            f"close reason too long: {len(payload)} bytes of payload, at most 125 allowed"
        )
    return payload


# --- parser -----------------------------------------------------------------------------------


def _header_size(second_byte: int) -> int:
    size = 2
    length7 = second_byte & 0x7F
    if length7 == 126:
        size = 4
    elif length7 == 127:
        size = 10
    if second_byte & 0x80:
        size += 4
    return size


# The second header byte -> the size of the whole header (2-14), looked up once per frame.
_HEADER_SIZES: Final = tuple(_header_size(b) for b in range(256))


def _raise_shared() -> NoReturn:
    # Only this twin can see it: the compiled parse holds the GIL (or a critical section)
    # from start to end, so no other feed() runs in between.
    raise RuntimeError(
        "FrameParser state changed under feed(): one parser fed from several threads"
    )


class FrameParser:
    """Streaming RFC 6455 §5.2 frame parser for one direction of one connection.

    See ``_frames.pyi`` for the full contract.
    """

    __slots__ = (
        "_error",
        "_frame_fin",
        "_frame_first",
        "_frame_got",
        "_frame_header_size",
        "_frame_key",
        "_frame_length",
        "_frame_opcode",
        "_frame_parts",
        "_frame_validate",
        "_in_payload",
        "_masker",
        "_max_frame_size",
        "_max_message_size",
        "_message_opcode",
        "_message_size",
        "_pending",
        "_server",
        "_utf8",
        "_validate_utf8",
        "rsv1_allowed",
    )

    def __init__(
        self,
        *,
        server: bool,
        max_frame_size: int | None = 1048576,
        max_message_size: int | None = 1048576,
        rsv1_allowed: bool = False,
        validate_utf8: bool = True,
    ) -> None:
        if max_frame_size is not None and max_frame_size < 0:
            raise ValueError("max_frame_size must be >= 0 or None")
        if max_message_size is not None and max_message_size < 0:
            raise ValueError("max_message_size must be >= 0 or None")
        self._server = bool(server)
        self._max_frame_size = max_frame_size
        self._max_message_size = max_message_size
        self.rsv1_allowed = bool(rsv1_allowed)
        self._validate_utf8 = bool(validate_utf8)
        self._error: tuple[int, str] | None = None
        # Partial header carried over from the previous chunk.
        self._pending = bytearray()
        # The frame whose payload is being received.
        self._in_payload = False
        self._frame_first = 0
        self._frame_opcode = 0
        self._frame_fin = False
        self._frame_length = 0
        self._frame_got = 0
        self._frame_header_size = 0
        self._frame_key: bytes | None = None
        self._masker: _mask_py.Masker | None = None
        self._frame_parts: list[bytes] = []
        self._frame_validate = False
        # The data message in progress (RFC 6455 §5.4): 0 when none.
        self._message_opcode = 0
        self._message_size = 0
        self._utf8: _Utf8Validator | None = None

    @property
    def server(self) -> bool:
        return self._server

    @property
    def max_frame_size(self) -> int | None:
        return self._max_frame_size

    @property
    def max_message_size(self) -> int | None:
        return self._max_message_size

    @property
    def validate_utf8(self) -> bool:
        return self._validate_utf8

    @property
    def failed(self) -> bool:
        return self._error is not None

    @property
    def buffered(self) -> int:
        if self._in_payload:
            return self._frame_header_size + self._frame_got
        return len(self._pending)

    def _fail(self, exc: ProtocolError) -> None:
        # A failed parser holds nothing: what it buffered is dropped.
        self._error = (exc.code, exc.reason)
        self._pending.clear()
        self._in_payload = False
        self._frame_parts = []
        self._masker = None
        self._utf8 = None

    def _raise_failed(self) -> None:
        assert self._error is not None
        code, reason = self._error
        exc = PayloadTooBig(reason) if code == 1009 else ProtocolError(code, reason)
        exc.frames = []  # type: ignore[attr-defined]
        raise exc

    def feed(self, data: Buffer) -> list[Frame]:
        """Consumes ``data``; returns the frames it completes, in order."""
        if self._error is not None:
            self._raise_failed()
        frames: list[Frame] = []
        try:
            self._parse(data, frames)
        except ProtocolError as exc:
            self._fail(exc)
            exc.frames = frames  # type: ignore[attr-defined]
            raise
        return frames

    # The parse loop. `data` is bytes, or a byte memoryview of the caller's buffer (copied from
    # before anything is kept, so the caller may reuse its buffer).
    def _parse(self, data: Buffer, frames: list[Frame]) -> None:
        if type(data) is not bytes:
            data = byte_view(data, "data")
        end = len(data)
        pos = 0
        header = self._pending
        # Every step below moves `pos` forward or returns. A parser shared between threads is a
        # misuse, but under the GIL this Python code can be interrupted between any two
        # statements, so another feed() may leave _frame_got past _frame_length or a carried
        # header longer than its size: a step that would go backwards raises instead of looping.
        while True:
            if self._in_payload:
                take = min(self._frame_length - self._frame_got, end - pos)
                if take <= 0:
                    if take < 0:
                        _raise_shared()
                    return
                self._payload_piece(data[pos : pos + take])
                pos += take
                if self._frame_got >= self._frame_length:
                    self._in_payload = False
                    parts = self._frame_parts
                    payload = parts[0] if len(parts) == 1 else b"".join(parts)
                    self._frame_parts = []
                    self._complete(payload, frames)
                continue
            # Header: from the carried-over bytes, or straight from this chunk.
            if header:
                if len(header) < 2:
                    take = min(2 - len(header), end - pos)
                    if take < 0:
                        _raise_shared()
                    header += data[pos : pos + take]
                    pos += take
                    if len(header) < 2:
                        return
                size = _HEADER_SIZES[header[1]]
                take = min(size - len(header), end - pos)
                if take < 0:
                    _raise_shared()
                header += data[pos : pos + take]
                pos += take
                if len(header) < size:
                    return
                source = bytes(header)
                header.clear()
                start = 0
            else:
                if end - pos < 2:
                    if end > pos:
                        header += data[pos:end]
                    return
                size = _HEADER_SIZES[data[pos + 1]]
                if end - pos < size:
                    header += data[pos:end]
                    return
                source = data  # type: ignore[assignment]
                start = pos
                pos += size
            length = self._check_header(source, start, size)
            if length <= end - pos:
                # Fast path: the whole payload is in this chunk.
                piece = data[pos : pos + length]
                pos += length
                key = self._frame_key
                if key is not None:
                    piece = _mask_py.mask(piece, key)
                elif type(piece) is not bytes:
                    piece = bytes(piece)
                if self._frame_validate and not self._utf8.feed(piece):  # type: ignore[union-attr]
                    raise ProtocolError(1007, "invalid UTF-8 in text message")
                self._complete(piece, frames)
            else:
                self._in_payload = True
                self._frame_got = 0
                self._frame_parts = []
                key = self._frame_key
                self._masker = _mask_py.Masker(key) if key is not None else None

    def _payload_piece(self, piece: Buffer) -> None:
        masker = self._masker
        chunk = masker.mask(piece) if masker is not None else bytes(piece)
        self._frame_got += len(chunk)
        if self._frame_validate and not self._utf8.feed(chunk):  # type: ignore[union-attr]
            raise ProtocolError(1007, "invalid UTF-8 in text message")
        self._frame_parts.append(chunk)

    def _check_header(self, data: Buffer, start: int, size: int) -> int:
        """Checks the complete header at data[start:start+size]; returns the payload length."""
        first = data[start]
        second = data[start + 1]
        opcode = first & 0x0F
        fin = first & 0x80
        length = second & 0x7F
        if length == 126:
            length = (data[start + 2] << 8) | data[start + 3]
        elif length == 127:
            length = int.from_bytes(data[start + 2 : start + 10], "big")
        if opcode not in _KNOWN_OPCODES:
            raise ProtocolError(1002, f"reserved opcode {opcode}")
        control = opcode >= 8
        # RFC 6455 §5.2: RSV bits must be 0 unless an extension defines them; only RSV1
        # (permessage-deflate, RFC 7692 §6) is ever negotiated, and only on the first frame
        # of a data message.
        if first & 0x30:
            raise ProtocolError(1002, "reserved bits RSV2/RSV3 set")
        if first & 0x40:
            if not self.rsv1_allowed:
                raise ProtocolError(1002, "reserved bit RSV1 set without an extension")
            if control or opcode == _OP_CONTINUATION:
                raise ProtocolError(1002, "RSV1 set on a control or continuation frame")
        if control:
            # RFC 6455 §5.5: control frames must not be fragmented and carry <= 125 bytes.
            if not fin:
                raise ProtocolError(1002, "fragmented control frame")
            if length > MAX_CONTROL_PAYLOAD:
                raise ProtocolError(1002, f"control frame of {length} bytes (at most 125)")
            # RFC 6455 §5.5.1: a close body starts with a 2-byte code.
            if opcode == _OP_CLOSE and length == 1:
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
            if opcode == _OP_CONTINUATION:
                if self._message_opcode == 0:
                    raise ProtocolError(1002, "continuation frame without a message")
            elif self._message_opcode != 0:
                raise ProtocolError(1002, "new data frame while a fragmented message is open")
        limit = self._max_frame_size
        if limit is not None and length > limit:
            raise PayloadTooBig(f"frame of {length} bytes exceeds the limit of {limit}")
        validate = False
        if not control:
            limit = self._max_message_size
            if opcode == _OP_CONTINUATION:
                total = self._message_size + length
                validate = self._utf8 is not None
            else:
                total = length
            if limit is not None and total > limit:
                raise PayloadTooBig(f"message of {total} bytes exceeds the limit of {limit}")
            if opcode != _OP_CONTINUATION:
                self._message_opcode = opcode
                if opcode == _OP_TEXT and self._validate_utf8 and not first & 0x40:
                    self._utf8 = _Utf8Validator()
                    validate = True
                else:
                    self._utf8 = None
            self._message_size = total
        self._frame_first = first
        self._frame_opcode = opcode
        self._frame_fin = bool(fin)
        self._frame_length = length
        self._frame_header_size = size
        self._frame_validate = validate
        self._frame_key = bytes(data[start + size - 4 : start + size]) if second & 0x80 else None
        return length

    def _complete(self, payload: bytes, frames: list[Frame]) -> None:
        opcode = self._frame_opcode
        fin = self._frame_fin
        if opcode == _OP_CLOSE:
            parse_close(payload)
        elif opcode < 8 and fin:
            # RFC 6455 §5.6: a text message is UTF-8 as a whole, so it cannot end mid code point.
            utf8 = self._utf8
            if utf8 is not None and self._frame_validate and not utf8.at_boundary():
                raise ProtocolError(1007, "text message ends inside a UTF-8 sequence")
            self._message_opcode = 0
            self._message_size = 0
            self._utf8 = None
        frames.append(_frame_from_header(self._frame_first, payload))


# --- builder ----------------------------------------------------------------------------------

_KEY_POOL_SIZE: Final = 4096  # 1024 keys per os.urandom call
_key_pool = b""
_key_pos = 0
_key_lock = Lock()


def random_mask_key() -> bytes:
    """4 random bytes for a client frame's mask (RFC 6455 §5.3: unpredictable, fresh per frame),
    drawn from a pool refilled with ``os.urandom`` 1024 keys at a time."""
    global _key_pool, _key_pos
    with _key_lock:
        pos = _key_pos
        if pos + 4 > len(_key_pool):
            _key_pool = os.urandom(_KEY_POOL_SIZE)
            pos = 0
        _key_pos = pos + 4
        return _key_pool[pos : pos + 4]


def _discard_key_pool() -> None:
    """After fork(), the child must not reuse the keys its parent will also use."""
    global _key_pool, _key_pos, _key_lock
    _key_pool, _key_pos, _key_lock = b"", 0, Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_discard_key_pool)


def frame_header_size(length: int, mask: bool) -> int:
    """Size of the header of a frame with a ``length``-byte payload (2, 4 or 10; +4 if masked)."""
    if length < 0:
        raise ValueError("length must be >= 0")
    size = 2 if length < 126 else 4 if length < 65536 else 10
    return size + 4 if mask else size


def _build_header(
    opcode: int,
    length: int,
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    key: bytes | None,
) -> bytes:
    if opcode not in _KNOWN_OPCODES:
        raise ValueError(f"invalid opcode {opcode}")
    if opcode >= 8:
        if not fin:
            raise ValueError("control frames cannot be fragmented (RFC 6455 §5.5)")
        if length > MAX_CONTROL_PAYLOAD:
            raise ValueError(f"control frame payload of {length} bytes (at most 125)")
    first = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0)
    first |= (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0)
    mask_bit = 0x80 if key is not None else 0
    # RFC 6455 §5.2: the minimal number of bytes must be used to encode the length.
    if length < 126:
        header = bytes((first, mask_bit | length))
    elif length < 65536:
        header = bytes((first, mask_bit | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, mask_bit | 127)) + length.to_bytes(8, "big")
    return header + key if key is not None else header


def _mask_key(mask: bool, mask_key: Buffer | None) -> bytes | None:
    if not mask:
        return None
    if mask_key is None:
        return random_mask_key()
    key = bytes(mask_key)
    if len(key) != 4:
        raise ValueError(f"mask key must be 4 bytes, got {len(key)}")
    return key


def build_frame(
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bool = False,
    mask_key: Buffer | None = None,
) -> bytes:
    """One whole frame as bytes (RFC 6455 §5.2); ``mask=True`` for client frames."""
    length = len(payload) if type(payload) is bytes else byte_view(payload, "payload").nbytes
    key = _mask_key(mask, mask_key)
    header = _build_header(opcode, length, fin, rsv1, rsv2, rsv3, key)
    if key is not None:
        return header + _mask_py.mask(payload, key)
    return header + payload


def build_frame_parts(
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bool = False,
    mask_key: Buffer | None = None,
) -> tuple[bytes, Buffer]:
    """``(header, payload)`` for a vectored write; unmasked, the payload is not copied."""
    length = len(payload) if type(payload) is bytes else byte_view(payload, "payload").nbytes
    key = _mask_key(mask, mask_key)
    header = _build_header(opcode, length, fin, rsv1, rsv2, rsv3, key)
    if key is not None:
        return header, _mask_py.mask(payload, key)
    return header, payload


def build_frame_into(
    buffer: Buffer,
    offset: int,
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bool = False,
    mask_key: Buffer | None = None,
) -> int:
    """Writes the frame into the writable ``buffer`` at ``offset``; returns the bytes written."""
    out = byte_view(buffer, "buffer", writable=True)
    view = byte_view(payload, "payload")
    length = view.nbytes
    key = _mask_key(mask, mask_key)
    header = _build_header(opcode, length, fin, rsv1, rsv2, rsv3, key)
    total = len(header) + length
    if offset < 0 or offset + total > out.nbytes:
        raise ValueError(
            f"frame of {total} bytes does not fit in {out.nbytes} bytes at offset {offset}"
        )
    # Copy (or mask) the payload before writing the header: it may lie in `buffer` itself.
    body = _mask_py.mask(view, key) if key is not None else view.tobytes()
    out[offset : offset + len(header)] = header
    start = offset + len(header)
    out[start : start + length] = body
    return total
