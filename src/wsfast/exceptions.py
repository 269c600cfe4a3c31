"""Exceptions shared by every layer of wsfast, and by both twins of each hot path."""

from __future__ import annotations

__all__ = ["InvalidUTF8", "PayloadTooBig", "ProtocolError", "WebSocketError"]


class WebSocketError(Exception):
    """Base class of the exceptions wsfast raises."""


class ProtocolError(WebSocketError):
    """The peer broke the protocol; the connection must be failed with ``code``.

    ``code`` is the close code to send (RFC 6455 §7.4.1: 1002 protocol error, 1007 invalid data,
    1009 message too big ...) and ``reason`` a short human-readable explanation.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (close code {self.code})"

    def __reduce__(self) -> tuple[type[ProtocolError], tuple[int, str]]:
        return (type(self), (self.code, self.reason))


class PayloadTooBig(ProtocolError):
    """A frame or message is larger than the configured limit (close code 1009)."""

    def __init__(self, reason: str) -> None:
        super().__init__(1009, reason)

    def __reduce__(self) -> tuple[type[PayloadTooBig], tuple[str]]:  # type: ignore[override]
        return (type(self), (self.reason,))


class InvalidUTF8(ProtocolError, ValueError):
    """A text message is not valid UTF-8: fail the connection with close code 1007
    (RFC 6455 §8.1). ``offset`` is the absolute offset of the first invalid byte in the message
    (its length when the message ends inside a code point).

    It is a :class:`~wsfast.exceptions.ProtocolError` (code 1007) and a ValueError.
    """

    def __init__(self, offset: int, reason: str | None = None) -> None:
        if reason is None:
            reason = f"invalid UTF-8 at byte {offset}"
        super().__init__(1007, reason)
        self.offset = offset

    def __reduce__(self) -> tuple[type[InvalidUTF8], tuple[int, str]]:
        return (type(self), (self.offset, self.reason))
