"""A Starlette WebSocket endpoint end to end: uvicorn with wsfast's protocol, a wsfast client.

Starlette's ``WebSocket`` drives the ASGI messages the way FastAPI's does (FastAPI's WebSocket
is Starlette's), so this is what most users' applications send and expect.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from wsfast.asyncio import connect
from wsfast.exceptions import ConnectionClosed, InvalidStatus

from .servers import running

TIMEOUT = 30


class Recorder:
    """What the endpoints saw."""

    def __init__(self) -> None:
        self.disconnect: tuple[int, str | None] | None = None
        self.query: dict[str, str] = {}


def make_app(seen: Recorder) -> Starlette:
    async def reverse(websocket: WebSocket) -> None:
        seen.query = dict(websocket.query_params)
        await websocket.accept(subprotocol="reverse.v1")
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message["code"], message.get("reason"))
                if message.get("text") is not None:
                    await websocket.send_text(message["text"][::-1])
                else:
                    await websocket.send_bytes(message["bytes"][::-1])
        except WebSocketDisconnect as exc:
            seen.disconnect = (exc.code, exc.reason)

    async def closes(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"bye": True})
        await websocket.close(code=4321, reason="done here")

    async def refuses(websocket: WebSocket) -> None:
        await websocket.close(code=1008)  # before accept: HTTP 403

    async def denies(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("members only", status_code=401))

    return Starlette(
        routes=[
            WebSocketRoute("/reverse", reverse),
            WebSocketRoute("/closes", closes),
            WebSocketRoute("/refuses", refuses),
            WebSocketRoute("/denies", denies),
        ]
    )


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


def test_starlette_endpoint_echoes_and_sees_the_clients_close() -> None:
    seen = Recorder()

    async def main() -> None:
        async with running(make_app(seen)) as (_, port):
            url = f"ws://127.0.0.1:{port}/reverse?room=7"
            async with connect(url, subprotocols=["reverse.v1"]) as ws:
                assert ws.subprotocol == "reverse.v1"
                assert [e.name for e in ws.extensions] == ["permessage-deflate"]
                for text in ("hello", "", "héllo wörld 😀", "x" * 100_000):
                    await ws.send(text)
                    assert await ws.recv() == text[::-1]
                await ws.send(bytes(range(256)))
                assert await ws.recv() == bytes(range(256))[::-1]
                await ws.close(4001, "client says bye")
            for _ in range(200):
                if seen.disconnect is not None:
                    break
                await asyncio.sleep(0.01)

    run(main())
    assert seen.query == {"room": "7"}
    assert seen.disconnect == (4001, "client says bye")


def test_starlette_close_after_accept_reaches_the_client() -> None:
    async def main() -> None:
        async with running(make_app(Recorder())) as (_, port):
            async with connect(f"ws://127.0.0.1:{port}/closes") as ws:
                assert await ws.recv() == '{"bye":true}'
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
                assert (ws.close_code, ws.close_reason) == (4321, "done here")

    run(main())


def test_starlette_close_before_accept_is_403_and_denial_response_is_sent() -> None:
    async def main() -> None:
        async with running(make_app(Recorder())) as (_, port):
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"ws://127.0.0.1:{port}/refuses")
            assert refused.value.status == 403
            with pytest.raises(InvalidStatus) as denied:
                await connect(f"ws://127.0.0.1:{port}/denies")
            assert denied.value.status == 401
            assert denied.value.body == b"members only"
            assert denied.value.headers["Content-Type"].startswith("text/plain")

    run(main())
