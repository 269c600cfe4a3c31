"""WebSocket frames (RFC 6455 §5): the streaming parser and the builder, compiled or pure Python.

``FrameParser(server=...)`` turns bytes received in any pieces into :class:`Frame` objects and
raises :class:`~wsfast.exceptions.ProtocolError` (with the close code to send) at the first
violation; ``build_frame`` / ``build_frame_parts`` / ``build_frame_into`` serialise frames.
See ``_frames.pyi`` for the full contract and ``docs/frames.md`` for a guide.
"""

from __future__ import annotations

from enum import IntEnum

from . import _speedups

_impl = _speedups.load("frames")

Frame = _impl.Frame
FrameParser = _impl.FrameParser
MAX_CONTROL_PAYLOAD: int = _impl.MAX_CONTROL_PAYLOAD
parse_close = _impl.parse_close
build_close_payload = _impl.build_close_payload
is_valid_close_code = _impl.is_valid_close_code
frame_header_size = _impl.frame_header_size
build_frame = _impl.build_frame
build_frame_parts = _impl.build_frame_parts
build_frame_into = _impl.build_frame_into
random_mask_key = _impl.random_mask_key


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455 §5.2); 3-7 and 0xB-0xF are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """Close, ping and pong (RFC 6455 §5.5)."""
        return self.value >= 0x8

    @property
    def is_data(self) -> bool:
        """Continuation, text and binary (RFC 6455 §5.6)."""
        return self.value < 0x8


class CloseCode(IntEnum):
    """Close status codes (RFC 6455 §7.4.1 and the IANA registry)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    #: Reserved: never sent; reported when a close frame has no code (RFC 6455 §7.1.5).
    NO_STATUS_RCVD = 1005
    #: Reserved: never sent; reported when the connection closed without a close frame.
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    #: Reserved: never sent; a TLS handshake failure.
    TLS_HANDSHAKE = 1015


__all__ = [
    "MAX_CONTROL_PAYLOAD",
    "CloseCode",
    "Frame",
    "FrameParser",
    "Opcode",
    "build_close_payload",
    "build_frame",
    "build_frame_into",
    "build_frame_parts",
    "frame_header_size",
    "is_valid_close_code",
    "parse_close",
    "random_mask_key",
]
