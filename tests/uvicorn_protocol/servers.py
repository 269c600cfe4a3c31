"""uvicorn serving an ASGI application with wsfast's protocol, in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from wsfast.uvicorn import WebSocketProtocol


@contextlib.asynccontextmanager
async def running(app: Any, **options: Any) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """uvicorn serving ``app`` on a free loopback port with :class:`WebSocketProtocol`;
    yields the server and its port, and shuts it down (gracefully) on exit."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "ws": WebSocketProtocol,
        "lifespan": "off",
        "log_level": "warning",
    }
    settings.update(options)
    server = uvicorn.Server(uvicorn.Config(app, **settings))
    task = asyncio.ensure_future(server.serve())
    try:
        for _ in range(1000):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        port: int = server.servers[0].sockets[0].getsockname()[1]
        yield server, port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def protocols(server: uvicorn.Server) -> list[WebSocketProtocol]:
    """The WebSocket connections the server holds."""
    return [c for c in server.server_state.connections if isinstance(c, WebSocketProtocol)]


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI echo application that records the disconnect event in ``echo.disconnects``."""
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            echo_disconnects.append(message)
            return
        await send({**message, "type": "websocket.send"})


#: The disconnect events :func:`echo` received, in order.
echo_disconnects: list[dict[str, Any]] = []
