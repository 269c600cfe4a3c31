"""``python -m wsfast serve --deflate-backend NAME`` (what tests/autobahn/run.sh can pass, as it
can set ``WSFAST_DEFLATE_BACKEND``): the echo server compresses with that backend, and a peer
using zlib (websockets) reads it."""

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
            f"deflate backend {backend!r} is NOT installed: pip install 'wsfast[{backend}]'"
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
