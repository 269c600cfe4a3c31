"""Helpers shared by the protocol tests: in-memory transfers and opened connection pairs."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import wsfast.connection
from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import Accepted, Event, Request


def wire(source: Any) -> bytes:
    """Everything ``source`` has to send, joined."""
    return b"".join(bytes(piece) for piece in source.data_to_send())


def transfer(source: Any, destination: Any) -> list[Event]:
    """Delivers what ``source`` has to send to ``destination``; returns its new events."""
    data = wire(source)
    if data:
        destination.receive_data(data)
    return destination.events()


def open_pair(
    uri: str = "ws://example.com/chat",
    *,
    client_options: dict[str, Any] | None = None,
    server_options: dict[str, Any] | None = None,
    accept: Callable[[ServerConnection, Request], None] | None = None,
    module: ModuleType = wsfast.connection,
) -> tuple[ClientConnection, ServerConnection]:
    """A client and a server connection of the build ``module``, OPEN, having exchanged the
    opening handshake."""
    client = module.ClientConnection(uri, **(client_options or {}))
    server = module.ServerConnection(**(server_options or {}))
    events = transfer(client, server)
    assert len(events) == 1 and isinstance(events[0], Request), events
    if accept is None:
        server.accept()
    else:
        accept(server, events[0])
    events = transfer(server, client)
    assert len(events) == 1 and isinstance(events[0], Accepted), events
    return client, server
