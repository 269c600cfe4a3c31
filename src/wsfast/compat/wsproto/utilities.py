"""Exceptions and handshake helpers of the wsproto-compatible API (``wsproto.utilities``)."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ...exceptions import WebSocketError

if TYPE_CHECKING:
    from .events import Event

#: RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing.
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class ProtocolError(WebSocketError):
    """Base class of :class:`LocalProtocolError` and :class:`RemoteProtocolError`.

    wsproto derives it from Exception; here it is also a :class:`wsfast.exceptions.WebSocketError`
    so that one ``except`` catches every error wsfast raises. It is not
    :class:`wsfast.exceptions.ProtocolError` (that one carries a close code)."""


class LocalProtocolError(ProtocolError):
    """This side asked for something the protocol or the connection's state does not allow
    (sending an event in the wrong state, an unexpected subprotocol ...)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow during the opening handshake.

    ``event_hint`` is an event this side may send in answer (usually a
    :class:`~wsfast.compat.wsproto.events.RejectConnection`), or None.
    """

    def __init__(self, message: str, event_hint: Event | None = None) -> None:
        super().__init__(message)
        self.event_hint = event_hint


def normed_header_dict(headers: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Maps each header name to its values joined with ``", "`` (RFC 9110 §5.3 list syntax).

    Names are taken as given (h11 already lower-cases them).
    """
    joined: dict[bytes, bytes] = {}
    for name, value in headers:
        previous = joined.get(name)
        joined[name] = value if previous is None else previous + b", " + value
    return joined


def split_comma_header(value: bytes) -> list[str]:
    """Splits a comma-separated header value into stripped ASCII strings.

    Like wsproto, quoted strings are not understood (a comma inside quotes splits too).
    """
    return [item.decode("ascii").strip() for item in value.split(b",")]


def generate_nonce() -> bytes:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded (RFC 6455 §4.1)."""
    return base64.b64encode(os.urandom(16))


def generate_accept_token(token: bytes) -> bytes:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2 step 5.4)."""
    return base64.b64encode(hashlib.sha1(token + ACCEPT_GUID).digest())


__all__ = [
    "ACCEPT_GUID",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "generate_accept_token",
    "generate_nonce",
    "normed_header_dict",
    "split_comma_header",
]
