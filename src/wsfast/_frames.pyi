"""The shared interface of the frame hot path: ``_frames`` (compiled) and ``_frames_py`` (its twin).

RFC 6455 §5.2 base framing::

     0                   1                   2                   3
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               | Masking-key, if MASK set to 1 |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +

Both implementations accept any contiguous buffer (bytes, bytearray, memoryview ...), give the same
results for the same input however it is split into pieces, and raise the same exceptions:
:class:`wsfast.exceptions.ProtocolError` (``code``, ``reason``) for a peer's protocol violation,
its subclass :class:`wsfast.exceptions.PayloadTooBig` for 1009, ``ValueError``/``TypeError`` for a
local caller's mistake (building an invalid frame).
"""

from typing import Final, final

from wsfast._typing import Buffer

#: Largest payload of a control frame (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD: Final[int]

@final
class Frame:
    """One complete, unmasked frame. Immutable; equal when all fields are equal."""

    @property
    def opcode(self) -> int: ...
    @property
    def fin(self) -> bool: ...
    @property
    def rsv1(self) -> bool: ...
    @property
    def rsv2(self) -> bool: ...
    @property
    def rsv3(self) -> bool: ...
    @property
    def payload(self) -> bytes: ...
    def __init__(
        self,
        opcode: int,
        payload: Buffer = b"",
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
    ) -> None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class FrameParser:
    """Streaming RFC 6455 §5.2 frame parser for one direction of one connection.

    ``server=True`` parses what a client sends: every frame must be masked (RFC 6455 §5.1), and
    is unmasked. ``server=False`` parses what a server sends: no frame may be masked.

    ``max_frame_size`` bounds one frame's payload and ``max_message_size`` the sum of the
    payloads of one (possibly fragmented) data message; both are checked from the frame header,
    before any of the payload is buffered (1009). ``None`` means unlimited.

    ``rsv1_allowed`` is set once permessage-deflate (RFC 7692) is negotiated: RSV1 then marks the
    first frame of a compressed data message, and is still a protocol error (1002) on
    continuation and control frames. RSV2/RSV3 are always errors (no extension uses them).

    ``validate_utf8``: text messages (RFC 6455 §5.6) whose first frame has RSV1 clear are
    validated as their bytes arrive, across fragments, failing fast (1007). Compressed text
    (RSV1 set) is not validated here: the connection validates it after inflating.

    Fragmentation (RFC 6455 §5.4) is enforced: a continuation frame without a message in
    progress, or a new text/binary frame while one is in progress, is a 1002; control frames may
    interleave. Close frames are validated (RFC 6455 §5.5.1, §7.4): a 1-byte payload or a close
    code not allowed on the wire is a 1002, a reason that is not UTF-8 a 1007.

    Header checks run once the whole header (2-14 bytes) has arrived, in this order: reserved
    opcode; RSV bits; control frame not FIN; control frame longer than 125 bytes; close frame of
    length 1; MASK bit against the role; 64-bit length with the top bit set; fragmentation;
    frame size; message size.

    Receiving a non-minimal length encoding is tolerated (RFC 6455 §5.2 binds the sender).

    A parser is fed from one thread at a time. Sharing one between threads garbles the frames
    but never memory: the compiled parser runs each call whole (GIL or critical section); the
    pure-Python twin can be interrupted mid-call and raises RuntimeError when another call has
    moved its state under it, rather than parse backwards.
    """

    rsv1_allowed: bool
    def __init__(
        self,
        *,
        server: bool,
        max_frame_size: int | None = 1048576,
        max_message_size: int | None = 1048576,
        rsv1_allowed: bool = False,
        validate_utf8: bool = True,
    ) -> None: ...
    @property
    def server(self) -> bool: ...
    @property
    def max_frame_size(self) -> int | None: ...
    @property
    def max_message_size(self) -> int | None: ...
    @property
    def validate_utf8(self) -> bool: ...
    def feed(self, data: Buffer) -> list[Frame]:
        """Consumes ``data`` and returns the frames it completes, in order (possibly none).

        Raises ProtocolError (PayloadTooBig for 1009) at the first violation. The frames that
        were completed before the violation in the same call are attached to the exception as
        ``exc.frames`` (a list; the caller may still deliver them). Once failed, the parser stays
        failed: every later call raises an equal error (with ``exc.frames == []``).
        """
    @property
    def buffered(self) -> int:
        """Bytes of the incomplete frame held so far (header and payload); 0 once failed."""
    @property
    def failed(self) -> bool:
        """True once a violation was found."""

def parse_close(payload: Buffer) -> tuple[int, str]:
    """Returns (code, reason) of a close frame's payload; ``(1005, "")`` when it is empty.

    Raises ProtocolError: 1002 for a 1-byte payload or a code not allowed on the wire
    (RFC 6455 §7.4), 1007 for a reason that is not UTF-8.
    """

def build_close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame. ValueError for a code that may not be sent (RFC 6455
    §7.4.1/§7.4.2) or a payload longer than 125 bytes."""

def is_valid_close_code(code: int) -> bool:
    """True for close codes a peer may send: 1000-1003, 1007-1014, 3000-4999."""

def frame_header_size(length: int, mask: bool) -> int:
    """Size of the header of a frame with a ``length``-byte payload (2, 4 or 10, +4 if masked)."""

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
    """One whole frame as bytes, with the minimal length encoding (RFC 6455 §5.2).

    ``mask=True`` (client frames, RFC 6455 §5.3) masks with a fresh random key, or with
    ``mask_key`` (4 bytes) when given. ValueError for an unknown opcode, or a control frame that
    is fragmented or longer than 125 bytes.
    """

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
    """``(header, payload)`` for a vectored write (``transport.writelines``): unmasked, the
    payload is returned as given, without a copy; masked, it is the masked copy (bytes)."""

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
    """Writes the frame into the writable ``buffer`` at ``offset``; returns the bytes written.

    ValueError if it does not fit (nothing is written then); size it with
    ``frame_header_size(len(payload), mask) + len(payload)``.
    """

def random_mask_key() -> bytes:
    """4 random bytes from the batched ``os.urandom`` pool used for client frames."""
