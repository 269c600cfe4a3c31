"""What every interoperability test exchanges with a real peer, and how it finds that peer.

The same conversation runs against each peer, in both roles where the peer has both:

- the messages of :data:`MESSAGES` (text and binary; empty, at the 7-bit/16-bit/64-bit length
  boundaries of RFC 6455 §5.2, compressible and incompressible, multi-byte UTF-8), each echoed back
  intact;
- one fragmented message (RFC 6455 §5.4), echoed back whole;
- a Ping answered by a Pong (§5.5.2);
- a closing handshake with an application close code and reason (§7.4.2), seen by the other side.

permessage-deflate (RFC 7692) must be negotiated in every case: each peer here offers or accepts it.

Peers outside Python (node's ``ws``, a browser) are found on this machine or fetched from their
registry at test time, never vendored. Without them the tests skip, unless
``WSFAST_REQUIRE_PEERS=1`` (as in CI) turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from wsfast.asyncio import WebSocket

#: Upper bound of one interoperability test; a hang fails the test instead of the whole run.
TEST_TIMEOUT = 60


def noise(size: int, seed: int = 6455) -> bytes:
    """Incompressible bytes that JavaScript peers can make too: xorshift32, low byte of each step
    (``node_peer.js`` and ``browser_peer.html`` have the same function)."""
    x = seed
    out = bytearray(size)
    for i in range(size):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


MESSAGES: list[str | bytes] = [
    "hello",
    "",
    b"",
    "x" * 125,  # the longest 7-bit length
    b"y" * 126,  # the shortest 16-bit length
    "héllo wörld, привет, 你好, 😀 " * 400,  # every UTF-8 sequence length, compressible
    bytes(range(256)) * 256,  # 64 KiB, compressible: 64-bit length
    noise(70_000),  # incompressible: the compressor must not grow it past the limit
]

#: Sent as one fragmented message (one frame per piece); echoed back as their concatenation.
FRAGMENTS = ["frag", "mented ", "méssage"]

#: Close codes each direction uses (RFC 6455 §7.4.2: 4000-4999 are the application's).
CLIENT_CLOSE = (4001, "client says bye")
SERVER_SIDE_CLOSE = (4002, "wsfast client says bye")


def require_peer(reason: str) -> None:
    """Skips the test for a missing peer, or fails it when ``WSFAST_REQUIRE_PEERS=1``."""
    if os.environ.get("WSFAST_REQUIRE_PEERS", "") not in ("", "0"):
        pytest.fail(f"{reason} (WSFAST_REQUIRE_PEERS is set)")
    pytest.skip(reason)


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], bool], steps: int = 4000) -> None:
    """Yields to the loop until ``predicate()`` holds (bounded by steps, not by a clock)."""
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


class RecordingEcho:
    """A wsfast server handler that echoes every message and records what the client did."""

    def __init__(self) -> None:
        self.received: list[str | bytes] = []
        self.close: tuple[int | None, str | None] | None = None
        self.extensions: tuple[Any, ...] = ()
        self.request_extensions: str | None = None

    async def __call__(self, ws: WebSocket) -> None:
        self.extensions = ws.extensions
        headers = ws.request_headers
        self.request_extensions = headers.get("Sec-WebSocket-Extensions") if headers else None
        try:
            async for message in ws:
                self.received.append(message)
                await ws.send(message)
        finally:
            # A close code other than 1000/1001 ends the iteration with ConnectionClosedError,
            # as in websockets.
            self.close = (ws.close_code, ws.close_reason)

    def check(self, expected_close: tuple[int, str] = CLIENT_CLOSE) -> None:
        """What every peer client must have done against us."""
        assert [ext.name for ext in self.extensions] == ["permessage-deflate"]
        assert self.received[: len(MESSAGES)] == MESSAGES
        assert self.close == expected_close


async def wsfast_client_conversation(ws: WebSocket) -> int | None:
    """The conversation, from a wsfast client, with a peer server that echoes. Returns the close
    code the server answered with (RFC 6455 §5.5.1: it "typically echos" ours; not all do)."""
    assert [ext.name for ext in ws.extensions] == ["permessage-deflate"]
    for message in MESSAGES:
        await ws.send(message)
        echoed = await ws.recv()
        assert type(echoed) is type(message)
        assert echoed == message, f"{type(message).__name__} of {len(message)} not echoed intact"
    await ws.send(FRAGMENTS)
    assert await ws.recv() == "".join(FRAGMENTS)
    latency = await asyncio.wait_for(ws.ping(b"are you there"), 10)
    assert latency >= 0
    await ws.close(*SERVER_SIDE_CLOSE)
    return ws.close_code
