"""Frame-level names of the wsproto-compatible API (``wsproto.frame_protocol``).

wsproto parses and builds frames here in pure Python; this drop-in does it in wsfast's compiled
frame core (:mod:`wsfast.frames`), inside :class:`~.connection.Connection`. What remains are the
enumerations, constants and types that code written against wsproto imports from this module.
wsproto's internal ``FrameProtocol`` / ``FrameDecoder`` / ``Buffer`` / ``XorMasker*`` classes
are not provided (see docs/wsproto-compat.md).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from ...exceptions import WebSocketError
from ...frames import CloseCode as _Code
from ...frames import Opcode as _Opcode

# RFC 6455 §5.2: length encodings of the base framing protocol.
PAYLOAD_LENGTH_TWO_BYTE = 126
PAYLOAD_LENGTH_EIGHT_BYTE = 127
MAX_PAYLOAD_NORMAL = 125
MAX_PAYLOAD_TWO_BYTE = 2**16 - 1
MAX_PAYLOAD_EIGHT_BYTE = 2**64 - 1
MAX_FRAME_PAYLOAD = MAX_PAYLOAD_EIGHT_BYTE

# RFC 6455 §5.2: bits of the two first header bytes.
MASK_MASK = 0x80
PAYLOAD_LEN_MASK = 0x7F
FIN_MASK = 0x80
RSV1_MASK = 0x40
RSV2_MASK = 0x20
RSV3_MASK = 0x10
OPCODE_MASK = 0x0F


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455 §5.2): wsfast's table, with wsproto's ``iscontrol()``."""

    CONTINUATION = _Opcode.CONTINUATION.value
    TEXT = _Opcode.TEXT.value
    BINARY = _Opcode.BINARY.value
    CLOSE = _Opcode.CLOSE.value
    PING = _Opcode.PING.value
    PONG = _Opcode.PONG.value

    def iscontrol(self) -> bool:
        """True for close, ping and pong (RFC 6455 §5.5: opcodes with the high bit set)."""
        return bool(self & 0x08)


class CloseReason(IntEnum):
    """Close status codes (RFC 6455 §7.4.1, and 1012/1013 from the IANA registry).

    As in wsproto, 1014 is not a member, and a received close frame carrying a code in
    1000-2999 that is not a member is a protocol error.
    """

    NORMAL_CLOSURE = _Code.NORMAL_CLOSURE.value
    GOING_AWAY = _Code.GOING_AWAY.value
    PROTOCOL_ERROR = _Code.PROTOCOL_ERROR.value
    UNSUPPORTED_DATA = _Code.UNSUPPORTED_DATA.value
    NO_STATUS_RCVD = _Code.NO_STATUS_RCVD.value
    ABNORMAL_CLOSURE = _Code.ABNORMAL_CLOSURE.value
    INVALID_FRAME_PAYLOAD_DATA = _Code.INVALID_FRAME_PAYLOAD_DATA.value
    POLICY_VIOLATION = _Code.POLICY_VIOLATION.value
    MESSAGE_TOO_BIG = _Code.MESSAGE_TOO_BIG.value
    MANDATORY_EXT = _Code.MANDATORY_EXTENSION.value
    INTERNAL_ERROR = _Code.INTERNAL_ERROR.value
    SERVICE_RESTART = _Code.SERVICE_RESTART.value
    TRY_AGAIN_LATER = _Code.TRY_AGAIN_LATER.value
    TLS_HANDSHAKE_FAILED = _Code.TLS_HANDSHAKE.value


#: RFC 6455 §7.4.1: codes an endpoint reports locally but never puts in a close frame.
LOCAL_ONLY_CLOSE_REASONS = (
    CloseReason.NO_STATUS_RCVD,
    CloseReason.ABNORMAL_CLOSURE,
    CloseReason.TLS_HANDSHAKE_FAILED,
)

# RFC 6455 §7.4.2: status code ranges.
MIN_CLOSE_REASON = 1000
MIN_PROTOCOL_CLOSE_REASON = 1000
MAX_PROTOCOL_CLOSE_REASON = 2999
MIN_LIBRARY_CLOSE_REASON = 3000
MAX_LIBRARY_CLOSE_REASON = 3999
MIN_PRIVATE_CLOSE_REASON = 4000
MAX_PRIVATE_CLOSE_REASON = 4999
MAX_CLOSE_REASON = 4999

NULL_MASK = b"\x00\x00\x00\x00"


class ParseFailed(WebSocketError):
    """The peer broke the framing protocol; ``code`` is the close code to fail with.

    wsproto derives it from Exception; here it is also a :class:`wsfast.exceptions.WebSocketError`.
    """

    def __init__(self, msg: str, code: CloseReason = CloseReason.PROTOCOL_ERROR) -> None:
        super().__init__(msg)
        self.code = code


class RsvBits(NamedTuple):
    """The three reserved header bits (RFC 6455 §5.2), as extensions see them."""

    rsv1: bool
    rsv2: bool
    rsv3: bool


class Header(NamedTuple):
    """A parsed frame header (wsproto's shape; not produced by this implementation)."""

    fin: bool
    rsv: RsvBits
    opcode: Opcode
    payload_len: int
    masking_key: bytes | None


class Frame(NamedTuple):
    """A frame or piece of a frame as wsproto's frame layer reports it."""

    opcode: Opcode
    payload: bytes | str | tuple[int, str]
    frame_finished: bool
    message_finished: bool


__all__ = [
    "LOCAL_ONLY_CLOSE_REASONS",
    "CloseReason",
    "Frame",
    "Header",
    "Opcode",
    "ParseFailed",
    "RsvBits",
]
