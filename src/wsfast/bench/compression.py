"""Compressed echo: permessage-deflate with each deflate backend, against websockets.

A websockets client (context takeover, 16 messages in flight) sends 4 KiB JSON-like texts
(:func:`wsfast.deflate.reference_text`, 64 different ones in turn) to an echo server in a
subprocess; the server's CPU time per message comes from ``/proc/PID/task/*/schedstat`` (all of
its threads: :func:`~wsfast.bench.loopback.process_cpu_ns`), and the bytes on the wire per
message are those the client received (its frames' headers and payloads).
Servers: wsfast with each installed backend (the default settings of
:func:`wsfast.asyncio.serve`: 4 KiB window, memory level 5) and websockets (the same settings,
its defaults).

``python -m wsfast.bench.compression [--messages N]`` prints the figures and the ratios against
websockets, measured in the same run (interleaved rounds, best of five). ``python -m wsfast
bench`` times the same exchanges (``workloads()``, wall-clock per call, tagged slow).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable

from .core import Case, Skip, Workload
from .loopback import ServerProcess

__all__ = ["SERVERS", "main", "measure", "workloads"]

#: Server names: "wsfast:<backend>" for each backend, and "websockets".
SERVERS = ("wsfast:zlib", "wsfast:zlib-ng", "wsfast:isal", "websockets")
IN_FLIGHT = 16
SIZE = 4096


async def _serve(server: str) -> None:
    if server == "websockets":
        from websockets.asyncio.server import serve as ws_serve

        async def ws_echo(ws: object) -> None:
            async for message in ws:  # type: ignore[attr-defined]
                await ws.send(message)  # type: ignore[attr-defined]

        running = await ws_serve(ws_echo, "127.0.0.1", 0, max_size=None, ping_interval=None)
        port = running.sockets[0].getsockname()[1]  # type: ignore[index]
    else:
        import wsfast
        from wsfast.asyncio import default_server_compression, serve

        wsfast.set_deflate_backend(server.split(":", 1)[1])

        async def echo(ws: object) -> None:
            ws.on_message = ws.send_nowait  # type: ignore[attr-defined]
            await ws.wait_closed()  # type: ignore[attr-defined]

        running = await serve(  # type: ignore[assignment]
            echo,
            "127.0.0.1",
            0,
            compression=default_server_compression(),
            max_message_size=None,
            ping_interval=None,
        ).__aenter__()
        port = running.port  # type: ignore[attr-defined]
    print(f"PORT {port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes our stdin


def _start_server(server: str) -> ServerProcess:
    """``server`` in a subprocess (this module with ``--serve``); Skip if its backend is missing."""
    if server.startswith("wsfast:"):
        from wsfast import available_deflate_backends

        if server.split(":", 1)[1] not in available_deflate_backends():
            raise Skip(f"{server} not installed")
    return ServerProcess(
        "wsfast.bench.compression", "--serve", server, label=f"{server} server", quiet=False
    )


async def _exchange(ws: object, messages: list[str], count: int) -> None:
    for i in range(count):
        await ws.send(messages[i % len(messages)])  # type: ignore[attr-defined]
        if i >= IN_FLIGHT:
            await ws.recv()  # type: ignore[attr-defined]
    for _ in range(min(count, IN_FLIGHT)):
        await ws.recv()  # type: ignore[attr-defined]


class _Session:
    def __init__(self, server: str) -> None:
        try:
            from websockets.asyncio.client import connect
        except ImportError as exc:
            raise Skip("websockets not installed") from exc
        self.server = _start_server(server)
        self.loop = asyncio.new_event_loop()
        self.ws = self.loop.run_until_complete(
            connect(self.server.url, compression="deflate", max_size=None, ping_interval=None)
        )
        from wsfast.deflate import reference_text

        self.messages = [reference_text(SIZE, seed).decode() for seed in range(64)]
        self.received = 0
        protocol = self.ws.protocol
        receive_data = protocol.receive_data

        def counting(data: bytes) -> None:
            self.received += len(data)
            receive_data(data)

        protocol.receive_data = counting  # type: ignore[method-assign,assignment]

    def exchange(self, count: int) -> None:
        self.loop.run_until_complete(_exchange(self.ws, self.messages, count))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(asyncio.wait_for(self.ws.close(), 5))
        self.server.close()
        self.loop.close()


def measure(count: int = 2000, repeats: int = 5) -> dict[str, tuple[float, float]]:
    """server -> (server CPU ns per message, bytes written per message); the best of
    ``repeats`` interleaved rounds."""
    sessions: dict[str, _Session] = {}
    try:
        for server in SERVERS:
            try:
                sessions[server] = _Session(server)
            except (Skip, ImportError) as exc:
                print(f"  {server}: skipped ({exc})", file=sys.stderr)
        for session in sessions.values():
            session.exchange(count // 10)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(repeats):
            for server, session in sessions.items():
                cpu0, bytes0 = session.server.cpu_ns(), session.received
                session.exchange(count)
                cpu = (session.server.cpu_ns() - cpu0) / count
                sent = (session.received - bytes0) / count
                least = best.get(server, (float("inf"), sent))[0]
                best[server] = (min(least, cpu), sent)
        return best
    finally:
        for session in sessions.values():
            session.close()


def format_results(results: dict[str, tuple[float, float]]) -> str:
    """The figures and each one's ratio against websockets."""
    reference = results.get("websockets")
    lines = [
        f"compressed echo, {SIZE} B JSON-like text, context takeover, {IN_FLIGHT} in flight",
        f"  {'server':<16}{'CPU µs/msg':>12}{'bytes/msg':>11}{'CPU vs ws':>11}{'bytes vs ws':>13}",
    ]
    for server, (cpu, sent) in results.items():
        cpu_ratio = bytes_ratio = ""
        if reference is not None:
            cpu_ratio = f"{cpu / reference[0]:.2f}x"
            bytes_ratio = f"{sent / reference[1]:.2f}x"
        lines.append(
            f"  {server:<16}{cpu / 1000:>12.1f}{sent:>11.0f}{cpu_ratio:>11}{bytes_ratio:>13}"
        )
    return "\n".join(lines)


def _case(server: str, kind: str, count: int) -> Case:
    def setup() -> Callable[[], object]:
        session = _Session(server)

        def run() -> object:
            session.exchange(count)
            return None

        run.close = session.close  # type: ignore[attr-defined]
        return run

    return Case(server, setup, kind)


def workloads() -> list[Workload]:
    """The compressed echo with each backend and websockets; one call = 500 messages."""
    from wsfast.deflate import deflate_backend

    count = 500
    default = f"wsfast:{deflate_backend()}"  # the headline: what a user gets without choosing

    def kind(server: str) -> str:
        if server == "websockets":
            return "peer"
        return "wsfast" if server == default else "wsfast-setting"

    cases = tuple(_case(s, kind(s), count) for s in SERVERS)
    return [
        Workload(
            group="deflate-echo",
            name="deflate-echo/4KiB",
            cases=cases,
            bytes_per_call=count * SIZE,
            items_per_call=count,
            description="compressed echo of 4 KiB JSON-like text (context takeover, 16 in "
            "flight) from a websockets client; wsfast with each deflate backend; server in a "
            "subprocess",
            tags=frozenset({"slow", "loopback"}),
        )
    ]


def main(argv: list[str] | None = None) -> None:
    """``--serve SERVER`` runs one server (for the benchmark); otherwise measures and prints."""
    parser = argparse.ArgumentParser(prog="python -m wsfast.bench.compression")
    parser.add_argument("--serve", choices=SERVERS)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    started = time.perf_counter()
    print(format_results(measure(args.messages)))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
