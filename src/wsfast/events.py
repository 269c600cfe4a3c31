"""Events produced by the sans-IO protocol layer (:mod:`wsfast.connection`).

Every event is a small immutable object with ``__slots__``: fields are set once by the
constructor, assignment raises :class:`AttributeError`, and events compare equal when they have
the same type and fields. They cost about as much as a plain slotted object to create, which
matters on the hot path (one event per message).

Opening handshake (RFC 6455 §4):

- :class:`Request` — server side: a valid Upgrade request; call ``accept()`` or ``reject()``.
- :class:`Accepted` — client side: the server answered 101 and the response was valid.
- :class:`Rejected` — client side: the server answered with another status (and a body).
- :class:`HandshakeFailed` — the handshake was invalid; the connection is done.

Data transfer (RFC 6455 §5, §6):

- :class:`TextMessage`, :class:`BinaryMessage` — a complete message.
- :class:`TextFragment`, :class:`BinaryFragment` — one piece of a message, when streaming.
- :class:`Ping`, :class:`Pong` — control frames.

Closing (RFC 6455 §7):

- :class:`CloseReceived` — the peer sent a Close frame (its code and reason).
- :class:`ConnectionFailed` — we failed the connection (protocol error: we sent ``code``).
- :class:`Closed` — the transport is closed and so is the connection (``code`` 1006 when no Close
  was received). Not to be confused with the exception :class:`wsfast.exceptions.ConnectionClosed`,
  which the I/O layer raises when the application uses a closed connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .extensions import Extension
    from .http11 import Headers

__all__ = [
    "Accepted",
    "BinaryFragment",
    "BinaryMessage",
    "CloseReceived",
    "Closed",
    "ConnectionFailed",
    "Event",
    "HandshakeFailed",
    "Ping",
    "Pong",
    "Rejected",
    "Request",
    "TextFragment",
    "TextMessage",
]


class Event:
    """Base class of every event: slotted, immutable, compared by type and fields."""

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        parts = []
        for name in self.__match_args__:
            value = getattr(self, name)
            if isinstance(value, (bytes, bytearray, str)) and len(value) > 64:
                text = f"<{type(value).__name__} of {len(value)}>"
            else:
                text = repr(value)
            parts.append(f"{name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[type[Event], tuple[Any, ...]]:
        return (type(self), self._fields())


# --- data transfer -------------------------------------------------------------------------------


class TextMessage(Event):
    """A complete text message (RFC 6455 §5.6, opcode 0x1).

    ``data`` is a ``str``, or the validated UTF-8 ``bytes`` when the connection was created with
    ``text_as_bytes=True`` (saves decoding when the application forwards the bytes).
    """

    __slots__ = ("data",)
    __match_args__ = ("data",)
    data: str | bytes

    def __init__(self, data: str | bytes) -> None:
        _set_text_data(self, data)


class BinaryMessage(Event):
    """A complete binary message (RFC 6455 §5.6, opcode 0x2). ``data`` is ``bytes``."""

    __slots__ = ("data",)
    __match_args__ = ("data",)
    data: bytes

    def __init__(self, data: bytes) -> None:
        _set_binary_data(self, data)


class TextFragment(Event):
    """A piece of a text message, delivered as it arrives (``stream_fragments=True``).

    ``data`` is the decoded text of this piece (``str``; a code point split across frames is
    carried to the next piece), or validated ``bytes`` with ``text_as_bytes=True`` (then a piece
    may end inside a code point). ``first`` marks the first piece of a message, ``last`` the
    final one. Small messages that arrive in a single frame are still delivered as
    :class:`TextMessage`.
    """

    __slots__ = ("data", "first", "last")
    __match_args__ = ("data", "first", "last")
    data: str | bytes
    first: bool
    last: bool

    def __init__(self, data: str | bytes, first: bool, last: bool) -> None:
        _set_tf_data(self, data)
        _set_tf_first(self, first)
        _set_tf_last(self, last)


class BinaryFragment(Event):
    """A piece of a binary message, delivered as it arrives (``stream_fragments=True``)."""

    __slots__ = ("data", "first", "last")
    __match_args__ = ("data", "first", "last")
    data: bytes
    first: bool
    last: bool

    def __init__(self, data: bytes, first: bool, last: bool) -> None:
        _set_bf_data(self, data)
        _set_bf_first(self, first)
        _set_bf_last(self, last)


class Ping(Event):
    """A Ping frame (RFC 6455 §5.5.2); ``data`` is its application data (≤ 125 bytes).

    With ``auto_pong=True`` (the default) the connection has already queued the Pong.
    """

    __slots__ = ("data",)
    __match_args__ = ("data",)
    data: bytes

    def __init__(self, data: bytes) -> None:
        _set_ping_data(self, data)


class Pong(Event):
    """A Pong frame (RFC 6455 §5.5.3); ``data`` is its application data."""

    __slots__ = ("data",)
    __match_args__ = ("data",)
    data: bytes

    def __init__(self, data: bytes) -> None:
        _set_pong_data(self, data)


# --- closing -------------------------------------------------------------------------------------


class CloseReceived(Event):
    """The peer sent a Close frame (RFC 6455 §5.5.1).

    ``code`` is 1005 when the frame had no payload (RFC 6455 §7.1.5). If we had not sent a Close
    yet, the connection has queued the echo of the code (RFC 6455 §5.5.1, §7.1.2).
    """

    __slots__ = ("code", "reason")
    __match_args__ = ("code", "reason")
    code: int
    reason: str

    def __init__(self, code: int, reason: str = "") -> None:
        _set_cr_code(self, code)
        _set_cr_reason(self, reason)


class ConnectionFailed(Event):
    """We failed the connection (RFC 6455 §7.1.7) because the peer broke the protocol.

    A Close frame with ``code`` (1002, 1007, 1009 ...) and ``reason`` is queued; nothing received
    after the error is processed, and the transport should be closed once the data is written.
    """

    __slots__ = ("code", "reason")
    __match_args__ = ("code", "reason")
    code: int
    reason: str

    def __init__(self, code: int, reason: str) -> None:
        _set_cf_code(self, code)
        _set_cf_reason(self, reason)


class Closed(Event):
    """The transport is closed (``receive_eof()``): the connection is CLOSED (RFC 6455 §7.1.4).

    ``code``/``reason`` are those of the Close frame received, 1005 for an empty one, and 1006
    when the transport closed without any Close frame (RFC 6455 §7.1.5). ``clean`` is true when
    the closing handshake completed (Close sent and received) before the transport closed.
    """

    __slots__ = ("clean", "code", "reason")
    __match_args__ = ("code", "reason", "clean")
    code: int
    reason: str
    clean: bool

    def __init__(self, code: int, reason: str = "", clean: bool = False) -> None:
        _set_cc_code(self, code)
        _set_cc_reason(self, reason)
        _set_cc_clean(self, clean)


# --- opening handshake ---------------------------------------------------------------------------


class Request(Event):
    """Server side: the client's opening handshake request, validated (RFC 6455 §4.2.1).

    ``target`` is the request-target (path and query), ``host`` the Host header, ``origin`` the
    Origin header or None, ``subprotocols`` the offered subprotocols in the client's order,
    ``extensions`` the offered extensions (name and parameters, in order), ``headers`` every
    header. Answer with ``ServerConnection.accept()`` or ``ServerConnection.reject()``.
    """

    __slots__ = ("extensions", "headers", "host", "origin", "subprotocols", "target")
    __match_args__ = ("target", "headers", "host", "origin", "subprotocols", "extensions")
    target: str
    headers: Headers
    host: str
    origin: str | None
    subprotocols: tuple[str, ...]
    extensions: tuple[Extension, ...]

    def __init__(
        self,
        target: str,
        headers: Headers,
        host: str,
        origin: str | None,
        subprotocols: tuple[str, ...],
        extensions: tuple[Extension, ...],
    ) -> None:
        for name, value in (
            ("target", target),
            ("headers", headers),
            ("host", host),
            ("origin", origin),
            ("subprotocols", subprotocols),
            ("extensions", extensions),
        ):
            object.__setattr__(self, name, value)

    @property
    def path(self) -> str:
        """The path part of ``target`` (without the query)."""
        return self.target.partition("?")[0]


class Accepted(Event):
    """Client side: the server accepted the connection (101, validated per RFC 6455 §4.2.2).

    ``subprotocol`` is the subprotocol the server selected (or None), ``extensions`` the
    extensions in use with their agreed parameters, ``headers`` the response headers.
    """

    __slots__ = ("extensions", "headers", "subprotocol")
    __match_args__ = ("subprotocol", "extensions", "headers")
    subprotocol: str | None
    extensions: tuple[Extension, ...]
    headers: Headers

    def __init__(
        self, subprotocol: str | None, extensions: tuple[Extension, ...], headers: Headers
    ) -> None:
        object.__setattr__(self, "subprotocol", subprotocol)
        object.__setattr__(self, "extensions", extensions)
        object.__setattr__(self, "headers", headers)


class Rejected(Event):
    """Client side: the server answered the handshake with a status other than 101.

    ``status`` and ``reason`` come from the status line, ``headers`` and ``body`` from the rest of
    the response (the body is read per Content-Length, chunked coding, or up to the end of the
    transport, and bounded). The connection is over: close the transport.
    """

    __slots__ = ("body", "headers", "reason", "status")
    __match_args__ = ("status", "reason", "headers", "body")
    status: int
    reason: str
    headers: Headers
    body: bytes

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "body", body)


class HandshakeFailed(Event):
    """The opening handshake failed (RFC 6455 §4.1 / §4.2).

    Server side: the request was invalid; an error response with ``status`` (400, 403, 405,
    426 ...) explaining ``reason`` is queued. Client side: the 101 response was invalid (``status``
    is the status received). Either way the transport should be closed.
    """

    __slots__ = ("reason", "status")
    __match_args__ = ("status", "reason")
    status: int
    reason: str

    def __init__(self, status: int, reason: str) -> None:
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "reason", reason)


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


# The slot descriptors' setters bypass ``Event.__setattr__`` (which forbids assignment) at the cost
# of one C call per field: the hot-path events stay as cheap as plain slotted objects.
_set_text_data = _slot_setter(TextMessage, "data")
_set_binary_data = _slot_setter(BinaryMessage, "data")
_set_tf_data = _slot_setter(TextFragment, "data")
_set_tf_first = _slot_setter(TextFragment, "first")
_set_tf_last = _slot_setter(TextFragment, "last")
_set_bf_data = _slot_setter(BinaryFragment, "data")
_set_bf_first = _slot_setter(BinaryFragment, "first")
_set_bf_last = _slot_setter(BinaryFragment, "last")
_set_ping_data = _slot_setter(Ping, "data")
_set_pong_data = _slot_setter(Pong, "data")
_set_cr_code = _slot_setter(CloseReceived, "code")
_set_cr_reason = _slot_setter(CloseReceived, "reason")
_set_cf_code = _slot_setter(ConnectionFailed, "code")
_set_cf_reason = _slot_setter(ConnectionFailed, "reason")
_set_cc_code = _slot_setter(Closed, "code")
_set_cc_reason = _slot_setter(Closed, "reason")
_set_cc_clean = _slot_setter(Closed, "clean")
