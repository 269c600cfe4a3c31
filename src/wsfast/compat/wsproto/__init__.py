"""A drop-in for wsproto 1.3 whose frames go through wsfast's compiled core.

Same modules, classes, events, states and exceptions as wsproto
(``wsfast.compat.wsproto.connection``, ``.events``, ``.extensions``, ``.frame_protocol``,
``.handshake``, ``.typing``, ``.utilities``); switching is a change of import::

    from wsfast.compat.wsproto import WSConnection, ConnectionType
    from wsfast.compat.wsproto.events import TextMessage, CloseConnection

Frame parsing, unmasking, UTF-8 validation, frame building and masking run in
:mod:`wsfast.frames`; the HTTP opening handshake uses h11, as wsproto does. The differences
that remain are listed in docs/wsproto-compat.md.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from .connection import Connection, ConnectionState, ConnectionType
from .handshake import H11Handshake

if TYPE_CHECKING:
    from .events import Event
    from .typing import Headers

#: The wsproto release whose API and behaviour this package reproduces.
__version__ = "1.3.2"


class WSConnection:
    """The local end of a WebSocket connection: the opening handshake, then the frames."""

    def __init__(self, connection_type: ConnectionType) -> None:
        """``connection_type``: :attr:`ConnectionType.CLIENT` or :attr:`ConnectionType.SERVER`."""
        self.client = connection_type is ConnectionType.CLIENT
        self.handshake = H11Handshake(connection_type)
        self.connection: Connection | None = None

    @property
    def state(self) -> ConnectionState:
        """The handshake's state until it succeeds, then the connection's."""
        connection = self.connection
        return self.handshake.state if connection is None else connection.state

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """Server side: start from a request already read by an HTTP server (see
        :meth:`H11Handshake.initiate_upgrade_connection`)."""
        self.handshake.initiate_upgrade_connection(headers, path)

    def send(self, event: Event) -> bytes:
        """The bytes to send to the peer for ``event``; LocalProtocolError if it cannot be
        sent in the current state."""
        connection = self.connection
        if connection is not None:
            return connection.send(event)
        data = self.handshake.send(event)
        self.connection = self.handshake.connection
        return data

    def receive_data(self, data: bytes | None) -> None:
        """Feeds bytes received from the peer (None when the transport closed); read the
        resulting events with :meth:`events`."""
        connection = self.connection
        if connection is not None:
            connection.receive_data(data)
            return
        self.handshake.receive_data(data)
        self.connection = self.handshake.connection

    def events(self) -> Generator[Event, None, None]:
        """A generator of the pending events, oldest first."""
        connection = self.connection
        if connection is not None and not self.handshake._events:
            return connection.events()  # once open: no generator around the connection's
        return self._all_events()

    def _all_events(self) -> Generator[Event, None, None]:
        yield from self.handshake.events()
        connection = self.connection
        if connection is not None:
            yield from connection.events()


#: The submodules that make up wsproto's public layout.
SUBMODULES = (
    "connection",
    "events",
    "extensions",
    "frame_protocol",
    "handshake",
    "typing",
    "utilities",
)


def install_as_wsproto(*, replace: bool = False) -> None:
    """Makes ``import wsproto`` (and its submodules) resolve to this package, in this process.

    For code that imports wsproto itself (uvicorn ``--ws wsproto``, hypercorn, trio-websocket,
    simple-websocket, httpx-ws): call it before that code imports wsproto. If the real wsproto
    was already imported, RuntimeError, unless ``replace=True`` (objects made with the real one
    before then keep their classes).
    """
    import importlib
    import sys

    current = sys.modules.get("wsproto")
    if current is not None and current is not sys.modules[__name__] and not replace:
        raise RuntimeError(
            "the real wsproto is already imported; call install_as_wsproto() earlier, "
            "or pass replace=True"
        )
    sys.modules["wsproto"] = sys.modules[__name__]
    for name in SUBMODULES:
        sys.modules[f"wsproto.{name}"] = importlib.import_module(f"{__name__}.{name}")


__all__ = ("ConnectionType", "WSConnection", "install_as_wsproto")
