"""Drive a WebSocket client through ``wstest -m fuzzingserver`` (Autobahn's client tests).

``python tests/autobahn/client_runner.py --url ws://127.0.0.1:9002 [--agent wsfast]``

The protocol of the fuzzing server: ``/getCaseCount`` sends the number of cases as one text message;
``/runCase?case=N&agent=A`` runs case N (1-based), for which the client echoes every message it
receives, text as text and binary as binary, until the server closes; ``/updateReports?agent=A``
writes the reports. ``--library websockets`` runs the same loop with the websockets package, to
check the harness itself against a reference client.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

#: Larger than the largest message of the suite (case 9.1.6/9.2.6: 16 MiB).
MAX_SIZE = 64 * 1024 * 1024


async def _wsfast_echo(url: str) -> None:
    from wsfast.asyncio import connect

    async with connect(url, max_message_size=MAX_SIZE, open_timeout=30) as ws:
        async for message in ws:
            await ws.send(message)


async def _wsfast_recv_one(url: str) -> str:
    from wsfast.asyncio import connect

    async with connect(url) as ws:
        return str(await ws.recv())


async def _websockets_echo(url: str) -> None:
    import websockets
    from websockets.exceptions import ConnectionClosed

    async with websockets.connect(url, max_size=MAX_SIZE, ping_interval=None) as ws:
        try:
            async for message in ws:
                await ws.send(message)
        except ConnectionClosed:
            pass


async def _websockets_recv_one(url: str) -> str:
    import websockets

    async with websockets.connect(url) as ws:
        return str(await ws.recv())


LIBRARIES: dict[str, tuple[Callable[[str], Awaitable[None]], Callable[[str], Awaitable[str]]]] = {
    "wsfast": (_wsfast_echo, _wsfast_recv_one),
    "websockets": (_websockets_echo, _websockets_recv_one),
}


async def run(url: str, agent: str, library: str, cases: list[int] | None) -> int:
    echo, recv_one = LIBRARIES[library]
    count = int(await recv_one(f"{url}/getCaseCount"))
    selected = cases or list(range(1, count + 1))
    print(f"{count} cases; running {len(selected)} with {library} as agent {agent!r}", flush=True)
    errors = 0
    for number in selected:
        started = time.monotonic()
        try:
            await echo(f"{url}/runCase?case={number}&agent={agent}")
        except Exception as exc:
            # The fuzzing server breaks the protocol on purpose; the library must fail the
            # connection cleanly, and wstest records whether it did. Only note it here.
            errors += 1
            print(f"case {number}: {type(exc).__name__}: {exc}", flush=True)
        elapsed = time.monotonic() - started
        if elapsed > 5:
            print(f"case {number}: {elapsed:.1f} s", flush=True)
    await recv_or_close(f"{url}/updateReports?agent={agent}", library)
    print(f"done; {errors} case(s) ended with an exception on the client side", flush=True)
    return 0


async def recv_or_close(url: str, library: str) -> None:
    """Open ``url`` and wait for the server to close (updateReports sends no message)."""
    echo, _ = LIBRARIES[library]
    await echo(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9002", help="wstest fuzzingserver URL")
    parser.add_argument("--agent", default="wsfast", help="agent name in the reports")
    parser.add_argument("--library", choices=sorted(LIBRARIES), default="wsfast")
    parser.add_argument("--case", type=int, action="append", help="run only this case number")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.url, args.agent, args.library, args.case))


if __name__ == "__main__":
    sys.exit(main())
