"""Events of the wsproto-compatible API (``wsproto.events``).

Same classes, fields, defaults and behaviour as wsproto 1.3: frozen dataclasses (equal when their
fields are equal, hashable when their fields are), an abstract :class:`Event` base, and the
``response()`` helpers of :class:`CloseConnection` and :class:`Ping`.

When the real wsproto is already imported when this module is (or after
:func:`register_with_wsproto` is called), each class here is registered as a virtual subclass of
its wsproto namesake, so ``isinstance(event, wsproto.events.TextMessage)`` holds for the events this
module makes and code that checks against wsproto's classes keeps working. (The other direction
cannot be had as well: ``abc`` refuses registration cycles.)
"""

from __future__ import annotations

import sys
from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from .extensions import Extension
    from .typing import Headers


class Event(ABC):  # noqa: B024 - abstract only in name, as in wsproto
    """Base class of every event."""

    __slots__ = ()


@dataclass(frozen=True)
class Request(Event):
    """The opening handshake request (RFC 6455 §4.1).

    A server receives it; a client sends it. ``extensions`` holds the offered extension
    strings when received, and :class:`~.extensions.Extension` objects to offer when sent.
    ``extra_headers`` are the request's other headers (received: all but Host,
    Sec-WebSocket-Extensions and Sec-WebSocket-Protocol).
    """

    host: str
    target: str
    extensions: Sequence[Extension] | Sequence[str] = field(default_factory=list)
    extra_headers: Headers = field(default_factory=list)
    subprotocols: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AcceptConnection(Event):
    """The server accepted the handshake (a server sends it; a client receives it)."""

    subprotocol: str | None = None
    extensions: list[Extension] = field(default_factory=list)
    extra_headers: Headers = field(default_factory=list)


@dataclass(frozen=True)
class RejectConnection(Event):
    """The server refused the handshake with an HTTP response.

    To send a body set ``has_body=True`` (and the Content-Length or Transfer-Encoding header),
    then send :class:`RejectData` events. A client receives ``has_body=True`` followed by
    RejectData events (the last one with ``body_finished=True``), except for a 1xx status
    other than 101.
    """

    status_code: int = 400
    headers: Headers = field(default_factory=list)
    has_body: bool = False


@dataclass(frozen=True)
class RejectData(Event):
    """A piece of the body of a rejection response."""

    data: bytes
    body_finished: bool = True


@dataclass(frozen=True)
class CloseConnection(Event):
    """A close frame (RFC 6455 §5.5.1), sent or received.

    Nothing is sent back automatically: after receiving one, send ``event.response()`` if the
    connection's state is ``REMOTE_CLOSING``.
    """

    code: int
    reason: str | None = None

    def response(self) -> CloseConnection:
        """The close event that answers this one (same code and reason, RFC 6455 §5.5.1)."""
        return CloseConnection(code=self.code, reason=self.reason)


T = TypeVar("T", bytes | bytearray, str)


@dataclass(frozen=True)
class Message(Event, Generic[T]):
    """A piece of a data message (RFC 6455 §5.6).

    ``data`` is one frame's payload (decoded for text). ``message_finished`` is True on the
    last piece of the message; ``frame_finished`` is True when ``data`` ends a frame (always
    True for what this implementation receives: it delivers whole frames).
    """

    data: T
    frame_finished: bool = True
    message_finished: bool = True


@dataclass(frozen=True)
class TextMessage(Message[str]):
    """A piece of a text message; ``data`` is a ``str``."""


@dataclass(frozen=True)
class BytesMessage(Message[bytearray | bytes]):
    """A piece of a binary message; ``data`` is bytes."""


@dataclass(frozen=True)
class Ping(Event):
    """A ping frame (RFC 6455 §5.5.2). Nothing is sent back automatically: send
    ``event.response()``."""

    payload: bytes = b""

    def response(self) -> Pong:
        """The pong that answers this ping, with the same payload (RFC 6455 §5.5.3)."""
        return Pong(payload=self.payload)


@dataclass(frozen=True)
class Pong(Event):
    """A pong frame (RFC 6455 §5.5.3), solicited or not."""

    payload: bytes = b""


_EVENT_CLASSES: tuple[type[Event], ...] = (
    Event,
    Request,
    AcceptConnection,
    RejectConnection,
    RejectData,
    CloseConnection,
    Message,
    TextMessage,
    BytesMessage,
    Ping,
    Pong,
)


def register_with_wsproto() -> bool:
    """Registers these classes as virtual subclasses of the real wsproto's namesakes.

    Called on import when the real wsproto is already imported; call it yourself otherwise (it
    imports the real wsproto). Returns True when the classes were registered, False when the
    real wsproto is missing (or ``wsproto`` resolves to this very package).
    """
    try:
        import wsproto.events as real
    except ImportError:
        return False
    if real is sys.modules[__name__] or not hasattr(real, "Event"):
        return False
    for ours in _EVENT_CLASSES:
        theirs = getattr(real, ours.__name__, None)
        if isinstance(theirs, type) and hasattr(theirs, "register"):
            theirs.register(ours)
    return True


# Only when already imported: importing the real wsproto (and h11) here would slow every import of
# the drop-in down, and would defeat install_as_wsproto().
_real_events = sys.modules.get("wsproto.events")
if _real_events is not None and getattr(_real_events, "__name__", "") == "wsproto.events":
    register_with_wsproto()

__all__ = [
    "AcceptConnection",
    "BytesMessage",
    "CloseConnection",
    "Event",
    "Message",
    "Ping",
    "Pong",
    "RejectConnection",
    "RejectData",
    "Request",
    "TextMessage",
    "register_with_wsproto",
]
