"""Load: many concurrent loopback connections, each exchanging many messages of mixed sizes with a
wsfast echo server. No message may be lost, altered or reordered, no error may occur, and the
process's memory must come back flat once the connections are gone (no leak per connection or per
message). The rate is printed (messages/s, each message counted once, its echo not counted).

Sized for CI by default; the full size of issue 9 (1 000 connections x 1 000 messages) is::

    WSFAST_LOAD_CONNECTIONS=1000 WSFAST_LOAD_MESSAGES=1000 \\
        python -m pytest tests/hardening/test_load.py -s -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import resource
import time
from collections.abc import Callable
from typing import Any

import pytest

wsfast_asyncio = pytest.importorskip("wsfast.asyncio")

CONNECTIONS = int(os.environ.get("WSFAST_LOAD_CONNECTIONS", "20"))
MESSAGES = int(os.environ.get("WSFAST_LOAD_MESSAGES", "50"))
#: Rounds of the whole load; the first warms up the allocator, RSS must not grow after the second.
ROUNDS = max(2, int(os.environ.get("WSFAST_LOAD_ROUNDS", "3")))
# Mixed sizes: mostly small, some medium, a few large (cycled by message number).
SIZES = (0, 1, 17, 125, 126, 1000, 40, 65535, 65536, 3000, 200, 250_000)
MiB = 1 << 20


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (AttributeError, OSError):
        return None  # not glibc


#: glibc keeps freed memory in its arenas (thousands of connections leave many partly used
#: pages behind); giving it back before measuring makes RSS follow live memory rather than the
#: allocator's high-water mark, so a leak is not hidden in that noise, nor noise taken for one.
malloc_trim = _malloc_trim()


def rss() -> int:
    gc.collect()
    if malloc_trim is not None:
        malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def message(connection: int, number: int) -> str | bytes:
    size = SIZES[(connection + number) % len(SIZES)]
    head = f"{connection}:{number}:".encode()
    body = (head * (size // len(head) + 1))[:size]
    return body.decode() if number % 2 else body


async def echo(ws: Any) -> None:
    async for data in ws:
        await ws.send(data)


async def client(uri: str, connection: int) -> int:
    async with wsfast_asyncio.connect(uri, max_message_size=MiB) as ws:

        async def sender() -> None:
            for number in range(MESSAGES):
                await ws.send(message(connection, number))

        sending = asyncio.ensure_future(sender())
        for number in range(MESSAGES):
            received = await ws.recv()
            assert received == message(connection, number), (connection, number)
        await sending
    return MESSAGES


async def round_(port: int) -> int:
    uri = f"ws://127.0.0.1:{port}/"
    results = await asyncio.gather(*(client(uri, c) for c in range(CONNECTIONS)))
    return sum(results)


@pytest.mark.slow
def test_many_connections_many_messages() -> None:
    cpu_before = time.process_time()

    async def main() -> tuple[int, float, list[int]]:
        memory = []
        async with wsfast_asyncio.serve(
            echo, "127.0.0.1", 0, backlog=4096, max_message_size=MiB
        ) as server:
            total = 0
            elapsed = 0.0
            for _ in range(ROUNDS):
                started = time.perf_counter()
                total += await round_(server.port)
                elapsed += time.perf_counter() - started
                for _ in range(100):
                    if not server.connections:
                        break
                    await asyncio.sleep(0.01)
                assert not server.connections
                gc.collect()
                memory.append(rss())
        return total, elapsed, memory

    total, elapsed, memory = asyncio.run(main())
    cpu = time.process_time() - cpu_before
    assert total == ROUNDS * CONNECTIONS * MESSAGES
    # Server and clients share this process: messages per CPU second is the figure that does not
    # depend on how busy the machine is.
    print(
        f"\nload: {CONNECTIONS} connections x {MESSAGES} messages x {ROUNDS} rounds: "
        f"{total / elapsed:,.0f} messages/s wall, {total / cpu:,.0f} per CPU second; "
        f"RSS after each round (MiB): {[round(m / MiB, 1) for m in memory]}"
    )
    # Flat: the later rounds add no more than allocator noise (a leak of even 100 bytes per
    # message would add several MiB at full size). The first round warms the allocator up, so the
    # baseline is the second round's RSS when there are three or more, else the first's.
    baseline = memory[1] if len(memory) > 2 else memory[0]
    assert memory[-1] - baseline < 16 * MiB, memory
