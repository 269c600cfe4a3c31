"""wsfast on asyncio: :func:`connect` and :func:`serve`, in the style of the websockets package.

::

    from wsfast.asyncio import connect, serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 8765):
        async with connect("ws://127.0.0.1:8765") as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"

The protocol is :mod:`wsfast.connection` (sans-IO); this package only moves bytes, with flow
control both ways, keepalive pings, timeouts and a graceful server shutdown.
"""

from __future__ import annotations

from ..exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
)
from .broadcast import broadcast
from .client import ClientWebSocket, connect
from .connection import Data, WebSocket
from .server import Server, ServerWebSocket, default_server_compression, serve

__all__ = [
    "ClientWebSocket",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "Data",
    "InvalidHandshake",
    "InvalidStatus",
    "Server",
    "ServerWebSocket",
    "WebSocket",
    "broadcast",
    "connect",
    "default_server_compression",
    "serve",
]
