"""wsfast against the other Python WebSocket stacks over loopback: websockets and aiohttp, each as
client of a wsfast server and as server for a wsfast client (the conversation of ``peers.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wsfast.asyncio import connect, serve

from .peers import (
    CLIENT_CLOSE,
    FRAGMENTS,
    MESSAGES,
    SERVER_SIDE_CLOSE,
    RecordingEcho,
    run,
    until,
    wsfast_client_conversation,
)

# --- websockets ------------------------------------------------------------------------------


def test_websockets_client_against_wsfast_server() -> None:
    pytest.importorskip("websockets.asyncio.client")
    from websockets.asyncio.client import connect as ws_connect

    handler = RecordingEcho()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with ws_connect(f"ws://127.0.0.1:{server.port}/") as ws:
                accepted = ws.response.headers["Sec-WebSocket-Extensions"]
                assert accepted.startswith("permessage-deflate")
                for message in MESSAGES:
                    await ws.send(message)
                    assert await ws.recv() == message
                await ws.send(FRAGMENTS)  # websockets sends an iterable as fragments
                assert await ws.recv() == "".join(FRAGMENTS)
                pong = await ws.ping(b"ping from websockets")
                await asyncio.wait_for(pong, 10)
                await ws.close(*CLIENT_CLOSE)
            await until(lambda: handler.close is not None)

    run(main())
    handler.check()
    assert handler.received[-1] == "".join(FRAGMENTS)


def test_wsfast_client_against_websockets_server() -> None:
    pytest.importorskip("websockets.asyncio.server")
    from websockets.asyncio.server import serve as ws_serve

    seen: dict[str, Any] = {}

    async def echo(ws: Any) -> None:
        seen["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        try:
            async for message in ws:
                await ws.send(message)
        finally:
            seen["close"] = (ws.close_code, ws.close_reason)

    async def main() -> None:
        async with ws_serve(echo, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                seen["echoed"] = await wsfast_client_conversation(ws)
            await until(lambda: "close" in seen)

    run(main())
    assert seen["echoed"] == SERVER_SIDE_CLOSE[0]
    assert seen["extensions"].startswith("permessage-deflate")
    assert seen["close"] == SERVER_SIDE_CLOSE


# --- aiohttp ---------------------------------------------------------------------------------


def test_aiohttp_client_against_wsfast_server() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    handler = RecordingEcho()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with aiohttp.ClientSession() as session:
                # compress=15 offers permessage-deflate (aiohttp offers nothing by default).
                async with session.ws_connect(
                    f"ws://127.0.0.1:{server.port}/", compress=15, autoping=True
                ) as ws:
                    assert ws.compress, "aiohttp did not get permessage-deflate"
                    for message in MESSAGES:
                        if isinstance(message, str):
                            await ws.send_str(message)
                            assert await ws.receive_str() == message
                        else:
                            await ws.send_bytes(message)
                            assert await ws.receive_bytes() == message
                    await ws.ping(b"ping from aiohttp")  # the Pong is consumed by autoping
                    await ws.close(code=CLIENT_CLOSE[0], message=CLIENT_CLOSE[1].encode())
            await until(lambda: handler.close is not None)

    run(main())
    handler.check()


def test_wsfast_client_against_aiohttp_server() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    seen: dict[str, Any] = {}

    async def echo(request: Any) -> Any:
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        seen["compress"] = ws.compress
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type is aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        seen["close"] = ws.close_code
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = runner.addresses[0][1]
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                seen["echoed"] = await wsfast_client_conversation(ws)
            await until(lambda: "close" in seen)
        finally:
            await runner.cleanup()

    run(main())
    assert seen["echoed"] == 1000  # aiohttp answers every Close with 1000 rather than echoing
    assert seen["compress"], "aiohttp's server did not accept permessage-deflate"
    assert seen["close"] == SERVER_SIDE_CLOSE[0]
