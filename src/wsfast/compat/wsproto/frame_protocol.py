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
    """Frame opcodes (RFC 6455 §5.2)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    def iscontrol(self) -> bool:
        """True for close, ping and pong (RFC 6455 §5.5: opcodes with the high bit set)."""
        return bool(self & 0x08)


class CloseReason(IntEnum):
    """Close status codes (RFC 6455 §7.4.1, and 1012/1013 from the IANA registry).

    As in wsproto, 1014 is not a member, and a received close frame carrying a code in
    1000-2999 that is not a member is a protocol error.
    """

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXT = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    TLS_HANDSHAKE_FAILED = 1015


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
