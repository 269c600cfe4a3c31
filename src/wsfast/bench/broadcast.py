"""Broadcast: one 1 KiB text message to many loopback connections, server CPU per delivery.

The server runs in a subprocess with ``CONNECTIONS`` connections from raw clients in this
process (they complete the opening handshake, offering permessage-deflate where the case
compresses, and then only read). On each command it broadcasts ``N`` messages of 1 KiB JSON-like
text and waits until every transport's buffer is empty; its CPU time over that span (all of its
threads, ``/proc/PID/task/*/schedstat``) divided by ``N * CONNECTIONS`` is the cost per delivery.

Servers: ``floor`` (wsfast's server, writing one prebuilt frame to every transport: what no
broadcast can beat), ``wsfast`` (:func:`wsfast.asyncio.broadcast`, uncompressed),
``wsfast-deflate:<backend>`` (clients offer ``server_no_context_takeover``: one compression per
message), ``websockets`` and ``websockets-deflate`` (its ``broadcast()``, with its default
compression, context takeover: one compression per connection).

``python -m wsfast.bench.broadcast [--connections N] [--messages N]`` prints the figures and the
ratios (against the floor, and against websockets), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from .core import Case, Skip, Workload
from .loopback import ServerProcess

__all__ = ["SERVERS", "main", "measure", "workloads"]

SERVERS = (
    "floor",
    "wsfast",
    "websockets",
    "wsfast-deflate:zlib",
    "wsfast-deflate:zlib-ng",
    "wsfast-deflate:isal",
    "websockets-deflate",
)
SIZE = 1024


async def _serve(kind: str) -> None:
    from wsfast.deflate import reference_text

    message = reference_text(SIZE, 5).decode()
    connections: list[Any] = []
    loop = asyncio.get_running_loop()
    if kind.startswith("websockets"):
        from websockets.asyncio.server import broadcast as ws_broadcast
        from websockets.asyncio.server import serve as ws_serve

        async def ws_handler(ws: Any) -> None:
            connections.append(ws)
            await ws.wait_closed()

        compression = "deflate" if kind == "websockets-deflate" else None
        server: Any = await ws_serve(
            ws_handler, "127.0.0.1", 0, compression=compression, ping_interval=None
        )
        port = server.sockets[0].getsockname()[1]

        def send() -> None:
            ws_broadcast(connections, message)

        def transports() -> list[Any]:
            return [ws.transport for ws in connections]
    else:
        import wsfast
        from wsfast.asyncio import broadcast, serve
        from wsfast.extensions import PerMessageDeflate
        from wsfast.frames import build_frame

        deflate: PerMessageDeflate | None = None
        if kind.startswith("wsfast-deflate:"):
            wsfast.set_deflate_backend(kind.split(":", 1)[1])
            deflate = PerMessageDeflate(server_max_window_bits=12, mem_level=5)

        async def handler(ws: Any) -> None:
            connections.append(ws)
            await ws.wait_closed()

        server = await serve(
            handler, "127.0.0.1", 0, compression=deflate, ping_interval=None
        ).__aenter__()
        port = server.port
        frame = build_frame(1, message.encode())

        if kind == "floor":

            def send() -> None:
                for ws in connections:
                    ws.transport.write(frame)
        else:

            def send() -> None:
                broadcast(connections, message)

        def transports() -> list[Any]:
            return [ws.transport for ws in connections]

    print(f"PORT {port}", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        count = int(line)
        for _ in range(count):
            send()
            await asyncio.sleep(0)
        while any(t.get_write_buffer_size() for t in transports()):
            await asyncio.sleep(0.001)
        print(f"DONE {len(connections)}", flush=True)


class _Discard(asyncio.Protocol):
    def __init__(self, opened: asyncio.Future[None]) -> None:
        self.opened = opened
        self.head = b""

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.head += data
            if b"\r\n\r\n" in self.head:
                self.opened.set_result(None)


async def _open_clients(port: int, count: int, offer: str | None) -> list[Any]:
    loop = asyncio.get_running_loop()
    transports = []
    for start in range(0, count, 100):
        batch = []
        for _ in range(start, min(start + 100, count)):
            opened: asyncio.Future[None] = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda opened=opened: _Discard(opened),  # type: ignore[misc]
                "127.0.0.1",
                port,
            )
            key = base64.b64encode(os.urandom(16)).decode()
            extension = f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else ""
            transport.write(
                (
                    f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    f"Sec-WebSocket-Version: 13\r\n{extension}\r\n"
                ).encode()
            )
            transports.append(transport)
            batch.append(opened)
        await asyncio.gather(*batch)
    return transports


class _Session:
    def __init__(self, kind: str, loop: asyncio.AbstractEventLoop, connections: int) -> None:
        if kind.startswith("websockets"):
            try:
                import websockets  # noqa: F401
            except ImportError as exc:
                raise Skip("websockets not installed") from exc
        if kind.startswith("wsfast-deflate:"):
            from wsfast import available_deflate_backends

            if kind.split(":", 1)[1] not in available_deflate_backends():
                raise Skip(f"{kind} not installed")
        self.server = ServerProcess(
            "wsfast.bench.broadcast", "--serve", kind, label=f"{kind} server", quiet=False
        )
        offer = None
        if kind.startswith("wsfast-deflate"):
            offer = "permessage-deflate; server_no_context_takeover"
        elif kind == "websockets-deflate":
            offer = "permessage-deflate; client_max_window_bits"
        self.loop = loop
        self.connections = connections
        self.clients = loop.run_until_complete(_open_clients(self.server.port, connections, offer))
        self.broadcast(1)

    def cpu_ns(self) -> int:
        """The server's CPU time so far (every thread), in nanoseconds."""
        return self.server.cpu_ns()

    def broadcast(self, count: int) -> None:
        stdin, stdout = self.server.process.stdin, self.server.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"{count}\n")
        stdin.flush()

        async def wait() -> str:
            return await self.loop.run_in_executor(None, stdout.readline)

        line = self.loop.run_until_complete(wait())
        assert line.split() == ["DONE", str(self.connections)], line

    def close(self) -> None:
        for transport in getattr(self, "clients", ()):
            transport.abort()
        self.server.close()


def measure(connections: int = 1000, messages: int = 20, repeats: int = 3) -> dict[str, float]:
    """server -> its CPU ns per delivery, the best of ``repeats`` interleaved rounds."""
    loop = asyncio.new_event_loop()
    sessions: dict[str, _Session] = {}
    try:
        for kind in SERVERS:
            try:
                sessions[kind] = _Session(kind, loop, connections)
            except (Skip, ImportError) as exc:
                print(f"  {kind}: skipped ({exc})", file=sys.stderr)
        best: dict[str, float] = {}
        for _ in range(repeats):
            for kind, session in sessions.items():
                cpu0 = session.cpu_ns()
                session.broadcast(messages)
                cpu = (session.cpu_ns() - cpu0) / (messages * connections)
                best[kind] = min(best.get(kind, float("inf")), cpu)
        return best
    finally:
        for session in sessions.values():
            session.close()
        loop.close()


def format_results(results: dict[str, float], connections: int) -> str:
    """The figures, with ratios against the floor and against websockets."""
    floor = results.get("floor")
    lines = [
        f"broadcast of {SIZE} B text to {connections} loopback connections",
        f"  {'server':<24}{'CPU µs/delivery':>16}{'vs floor':>10}{'ws / this':>11}",
    ]
    for kind, cpu in results.items():
        peer = results.get("websockets-deflate" if "deflate" in kind else "websockets")
        vs_floor = f"{cpu / floor:.2f}x" if floor else ""
        vs_ws = f"{peer / cpu:.2f}x" if peer else ""
        lines.append(f"  {kind:<24}{cpu / 1000:>16.2f}{vs_floor:>10}{vs_ws:>11}")
    lines.append(
        "vs floor: CPU divided by the floor's (1.00x: as cheap as writing a prebuilt frame); "
        "ws / this: websockets' CPU (compressed or not alike) divided by this one's."
    )
    return "\n".join(lines)


def _case(kind: str, case_kind: str, connections: int, messages: int) -> Case:
    def setup() -> Callable[[], object]:
        loop = asyncio.new_event_loop()
        session = _Session(kind, loop, connections)

        def run() -> object:
            session.broadcast(messages)
            return None

        def close() -> None:
            session.close()
            loop.close()

        run.close = close  # type: ignore[attr-defined]
        return run

    return Case(kind, setup, case_kind)


def workloads() -> list[Workload]:
    """Broadcast to 1000 connections; one call = 10 messages to each."""
    from wsfast.deflate import deflate_backend

    connections, messages = 1000, 10
    default = f"wsfast-deflate:{deflate_backend()}"  # the headline of the compressed family

    def kind(server: str) -> str:
        if server == "floor":
            return "limit"
        if server.startswith("websockets"):
            return "peer"
        if server.startswith("wsfast-deflate:"):
            return "wsfast" if server == default else "wsfast-setting"
        return "wsfast"

    def family(compressed: bool) -> tuple[Case, ...]:
        return tuple(
            _case(server, kind(server), connections, messages)
            for server in SERVERS
            if ("deflate" in server) == compressed
        )

    common = {
        "bytes_per_call": SIZE * connections * messages,
        "items_per_call": connections * messages,
        "tags": frozenset({"slow", "loopback"}),
    }
    return [
        Workload(
            group="broadcast",
            name="broadcast/1KiB-x1000",
            cases=family(compressed=False),
            description="broadcast of 1 KiB text to 1000 loopback connections, uncompressed "
            "(server in a subprocess); floor: one prebuilt frame written to every transport",
            **common,  # type: ignore[arg-type]
        ),
        Workload(
            group="broadcast",
            name="broadcast-deflate/1KiB-x1000",
            cases=family(compressed=True),
            description="the same broadcast compressed: wsfast without server context takeover "
            "(one compression per message), with the default deflate backend and each other "
            "one; websockets with its default compression",
            **common,  # type: ignore[arg-type]
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """``--serve KIND`` runs one server (for the benchmark); otherwise measures and prints."""
    parser = argparse.ArgumentParser(prog="python -m wsfast.bench.broadcast")
    parser.add_argument("--serve", choices=SERVERS)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    started = time.perf_counter()
    print(format_results(measure(args.connections, args.messages), args.connections))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
