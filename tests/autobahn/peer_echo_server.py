"""A reference echo server (the websockets package) to check the Autobahn harness itself.

``python tests/autobahn/peer_echo_server.py --port 9001`` — run.sh uses it with ``--target peer``.
"""

from __future__ import annotations

import argparse
import asyncio

MAX_SIZE = 64 * 1024 * 1024


async def echo(ws) -> None:  # type: ignore[no-untyped-def]
    from websockets.exceptions import ConnectionClosed

    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(host: str, port: int) -> None:
    import websockets

    async with websockets.serve(echo, host, port, max_size=MAX_SIZE, ping_interval=None):
        print(f"websockets echo server on ws://{host}:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
