"""Every exception wsfast raises, shared by every layer and by both twins of each hot path.

Hierarchy::

    WebSocketError
    ├── ProtocolError                 the peer broke the protocol: fail with close ``code``
    │   ├── PayloadTooBig             a frame or message exceeds the limit (1009)
    │   └── InvalidUTF8 (ValueError)  a text message is not UTF-8 (1007)
    ├── HTTPError (ValueError)        a malformed HTTP message; ``status`` is the answer to send
    ├── HandshakeError                the opening handshake was refused (server side: the response)
    ├── NegotiationError              an extension header does not parse or match the offer
    ├── InvalidHandshake              the opening handshake failed (client side)
    │   └── InvalidStatus             the server answered ``status`` instead of 101
    ├── InvalidState                  the operation is not allowed in the connection's state
    └── ConnectionClosed              the connection is closed: ``code``, ``reason``, ``sent``
        ├── ConnectionClosedOK        closed normally (1000, 1001, 1005)
        └── ConnectionClosedError     closed with an error code, failed or lost (1006)

:class:`ConnectionClosed` is the exception raised by the I/O layer; the sans-IO event that says
the transport closed is :class:`wsfast.events.Closed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .http11 import Headers

__all__ = [
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "HTTPError",
    "HandshakeError",
    "InvalidHandshake",
    "InvalidState",
    "InvalidStatus",
    "InvalidUTF8",
    "NegotiationError",
    "PayloadTooBig",
    "ProtocolError",
    "WebSocketError",
]


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


class HTTPError(WebSocketError, ValueError):
    """The HTTP message is malformed or exceeds a limit; ``status`` is the response to send.

    It is also a ValueError: a malformed message is a bad value.
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class HandshakeError(WebSocketError):
    """The opening handshake failed.

    Server side: ``status`` is the response to send (400, 403, 405, 426 ...) with ``headers``;
    client side: ``status`` is the status received. ``reason`` explains what was wrong.
    """

    def __init__(
        self, reason: str, status: int = 400, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.headers = tuple(headers)

    def __str__(self) -> str:
        return f"{self.reason} (HTTP {self.status})"


class NegotiationError(WebSocketError):
    """An extension header or parameter is malformed, or a response does not match the offer."""


class InvalidHandshake(WebSocketError):
    """The opening handshake failed (RFC 6455 §4): invalid response, or connection lost."""


class InvalidStatus(InvalidHandshake):
    """The server answered the opening handshake with ``status`` instead of 101; ``headers``
    and ``body`` are those of its response."""

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        super().__init__(f"server rejected the WebSocket connection: HTTP {status} {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class InvalidState(WebSocketError):
    """The operation is not allowed in the connection's current state (e.g. sending a message
    after a Close frame was sent, or ``accept()`` twice)."""


class ConnectionClosed(WebSocketError):
    """The connection is closed: raised by ``send()``/``recv()``/``ping()`` after the close.

    ``code``/``reason`` are the WebSocket Connection Close Code and Reason (RFC 6455 §7.1.5,
    §7.1.6): those of the peer's Close frame, 1005 when it had none, 1006 when the connection
    was lost without a closing handshake. ``sent`` is the (code, reason) of our Close, if any.
    """

    def __init__(self, code: int, reason: str, sent: tuple[int, str] | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.sent = sent

    def __str__(self) -> str:
        text = f"connection closed: {self.code}"
        if self.reason:
            text += f" ({self.reason})"
        if self.sent is not None and self.sent[0] != self.code:
            text += f"; sent {self.sent[0]}"
        return text


class ConnectionClosedOK(ConnectionClosed):
    """The connection was closed normally (1000, 1001 or a Close without code, both ways)."""


class ConnectionClosedError(ConnectionClosed):
    """The connection was closed with an error code, failed, or lost (1006)."""
