"""Flow control must never stop two busy wsfast peers: both sending large messages from one
task while reading on another, both write buffers above the high-water mark at once."""

from __future__ import annotations

import asyncio
import os

from wsfast.asyncio import connect, serve

MESSAGES = 300
SIZE = 64 * 1024


async def echo(ws) -> None:  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


def test_pipelined_large_messages_do_not_deadlock() -> None:
    payload = os.urandom(SIZE)

    async def main() -> int:
        async with serve(echo, "127.0.0.1", 0, write_limit=16 * 1024) as server:
            async with connect(
                f"ws://127.0.0.1:{server.port}", write_limit=16 * 1024, compression=None
            ) as ws:

                async def reader() -> int:
                    received = 0
                    for _ in range(MESSAGES):
                        assert await ws.recv() == payload
                        received += 1
                    return received

                task = asyncio.ensure_future(reader())
                for _ in range(MESSAGES):
                    await ws.send(payload)
                return await asyncio.wait_for(task, 60)

    assert asyncio.run(asyncio.wait_for(main(), 90)) == MESSAGES
