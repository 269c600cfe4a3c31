"""Each deflate backend over loopback sockets with real peers: ``python -m wsfast serve
--deflate-backend NAME`` (what tests/autobahn/run.sh can pass, as it can set
``WSFAST_DEFLATE_BACKEND``) with a websockets client, and wsfast's server and client with
aiohttp's (both on zlib)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest

from wsfast import deflate


@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_serve_with_each_backend(backend: str) -> None:
    if backend not in deflate.available_deflate_backends():
        pytest.skip(
            f"deflate backend {backend!r} is not installed: pip install 'wsfast[{backend}]'"
        )
    websockets_client = pytest.importorskip("websockets.asyncio.client")
    process = subprocess.Popen(
        [sys.executable, "-m", "wsfast", "serve", "--port", "0", "--deflate-backend", backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (ws://\S+)", process.stdout.readline())
        assert match

        async def exchange() -> None:
            async with websockets_client.connect(match.group(1), compression="deflate") as ws:
                assert ws.protocol.extensions  # permessage-deflate is in use
                for seed in range(5):
                    text = deflate.reference_text(4096, seed).decode()
                    await ws.send(text)
                    assert await asyncio.wait_for(ws.recv(), 10) == text

        asyncio.run(exchange())
    finally:
        process.kill()
        process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_unknown_backend_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsfast", "serve", "--deflate-backend", "brotli"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_aiohttp_peers_with_each_backend(backend: str) -> None:
    if backend not in deflate.available_deflate_backends():
        pytest.skip(f"deflate backend {backend!r} is not installed: pip install wsfast[{backend}]")
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    from wsfast.asyncio import connect, serve
    from wsfast.extensions import PerMessageDeflate

    texts = [deflate.reference_text(4096, seed).decode() for seed in range(5)]

    async def echo(ws: object) -> None:
        async for message in ws:  # type: ignore[attr-defined]
            await ws.send(message)  # type: ignore[attr-defined]

    async def aiohttp_echo(request: object) -> object:
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)  # type: ignore[arg-type]
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    async def main() -> None:
        # aiohttp's client against wsfast's server on this backend.
        compression = PerMessageDeflate(backend=backend, server_max_window_bits=12)
        async with serve(echo, "127.0.0.1", 0, compression=compression) as server:
            async with aiohttp.ClientSession() as session:
                url = f"ws://127.0.0.1:{server.port}/"
                async with session.ws_connect(url, compress=15) as ws:
                    assert ws.compress  # permessage-deflate is in use
                    for text in texts:
                        await ws.send_str(text)
                        assert (await ws.receive(timeout=10)).data == text
        # wsfast's client on this backend against aiohttp's server.
        app = web.Application()
        app.router.add_get("/", aiohttp_echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            client_compression = PerMessageDeflate(backend=backend)
            async with connect(f"ws://127.0.0.1:{port}/", compression=client_compression) as ws:
                assert ws.extensions
                for text in texts:
                    await ws.send(text)
                    assert await asyncio.wait_for(ws.recv(), 10) == text
        finally:
            await runner.cleanup()

    asyncio.run(main())
