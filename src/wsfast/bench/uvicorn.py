"""uvicorn with each of its WebSocket protocols (``--ws``) serving an ASGI echo application.

The peers are uvicorn's own implementations (``websockets-sansio``, its default; ``websockets``;
``wsproto``) and wsfast's :class:`wsfast.uvicorn.WebSocketProtocol`. Every one serves the same
ASGI echo application in a uvicorn subprocess started the same way (uvicorn's defaults for the
loop and the HTTP protocol: uvloop and httptools when they are installed; keepalive pings off;
compression offered by the server, not by the client), and one fixed client — wsfast's asyncio
client in callback style, the cheapest here — talks to each in turn, so that only the server
differs.

Figures, per ``--ws`` class:

- the server's CPU time per message (``/proc/PID/task/*/schedstat``: every thread of the uvicorn
  process), for 256 B binary messages with ``WINDOW`` = 64 in flight
  (*window*) and one at a time (*rr*, request/response);
- messages per second seen by the client;
- the server's memory per idle connection (growth of its resident set while ``IDLE_CONNECTIONS``
  connections are open, each with its application waiting in ``receive()``).

Rounds are interleaved (every class in turn, then again), and the best of each class is kept.
``python -m wsfast.bench.uvicorn [--messages N] [--rounds R]`` prints the table with the ratios
against websockets-sansio; ``workloads()`` gives the same exchanges to ``python -m wsfast bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .core import Case, Skip, Workload, size_label
from .loopback import ServerProcess

__all__ = [
    "IDLE_CONNECTIONS",
    "WINDOW",
    "WS_CLASSES",
    "Result",
    "UvicornServer",
    "echo_app",
    "format_results",
    "main",
    "measure",
    "workloads",
]

#: ``--ws`` values, by the name the reports use; wsfast's class is given by its import path.
WS_CLASSES = {
    "websockets-sansio": "websockets-sansio",
    "websockets": "websockets",
    "wsproto": "wsproto",
    "wsfast": "wsfast.uvicorn:WebSocketProtocol",
}
#: The reference the ratios are taken against: uvicorn's default WebSocket protocol.
REFERENCE = "websockets-sansio"
MODES = ("window", "rr")
#: Messages in flight in the "window" pattern.
WINDOW = 64
SIZE = 256
#: Connections held open for the memory figure.
IDLE_CONNECTIONS = 200
#: Messages per timed call of the workloads.
WORKLOAD_MESSAGES = 2000


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI application every ``--ws`` class serves: accept, echo each message as it came
    (text as text, binary as binary), stop at the disconnect."""
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        data = message.get("bytes")
        if data is not None:
            await send({"type": "websocket.send", "bytes": data})
        else:
            await send({"type": "websocket.send", "text": message["text"]})


# --- the server subprocess -----------------------------------------------------------------------


def _rss_bytes(pid: int) -> int:
    """Resident set size of ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmRSS")


def _serve(ws: str, port: int) -> None:
    """In the subprocess: uvicorn serving :func:`echo_app` with ``--ws ws``, printing
    ``PORT <n>`` once it listens, until stdin closes."""
    import uvicorn

    config = uvicorn.Config(
        echo_app,
        host="127.0.0.1",
        port=port,
        ws=ws,
        lifespan="off",
        log_level="warning",
        ws_ping_interval=None,
        ws_max_size=64 * 1024 * 1024,
    )

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets)  # exits the process if it cannot listen
            print(f"PORT {self.servers[0].sockets[0].getsockname()[1]}", flush=True)

    server = AnnouncingServer(config)

    def stop_when_stdin_closes() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    server.run()


class UvicornServer(ServerProcess):
    """uvicorn serving :func:`echo_app` with one ``--ws`` class, in a subprocess."""

    def __init__(self, name: str) -> None:
        try:
            import uvicorn  # noqa: F401
        except ImportError:
            raise Skip("uvicorn not installed") from None
        self.name = name
        super().__init__(
            "wsfast.bench.uvicorn",
            "--serve",
            WS_CLASSES[name],
            label=f"uvicorn --ws {WS_CLASSES[name]}",
            close_timeout=10,
        )

    def rss(self) -> int:
        """The server's resident set size, in bytes."""
        return _rss_bytes(self.process.pid)


# --- the fixed client ----------------------------------------------------------------------------


class _Client:
    """wsfast's asyncio client, callback style: each echo that comes back sends the next message
    (window) or the next request (rr)."""

    async def open(self, url: str) -> None:
        from wsfast.asyncio import connect

        self.ws = await connect(url, compression=None, ping_interval=None)

    async def exchange(self, mode: str, message: bytes, count: int) -> None:
        ws = self.ws
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state = {"sent": 0, "received": 0}
        send = ws.send_nowait

        def on_message(_: object) -> None:
            state["received"] += 1
            if state["received"] == count:
                done.set_result(None)
            elif state["sent"] < count:
                state["sent"] += 1
                send(message)

        ws.on_message = on_message
        first = min(WINDOW if mode == "window" else 1, count)
        state["sent"] = first
        for _ in range(first):
            send(message)
        await done
        ws.on_message = None

    async def close(self) -> None:
        await self.ws.close()


class _Session:
    """A uvicorn subprocess and a connected client on a private event loop."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = UvicornServer(name)
        self.client = _Client()
        try:
            self.loop.run_until_complete(self.client.open(self.server.url))
        except BaseException:
            self.close()
            raise

    def exchange(self, mode: str, message: bytes, count: int) -> None:
        self.loop.run_until_complete(self.client.exchange(mode, message, count))

    def idle_memory(self, connections: int) -> float:
        """Server memory per idle connection: resident set growth while ``connections`` more
        are open (after one exchange on each), divided by their number."""
        from wsfast.asyncio import connect

        async def run() -> float:
            before = self.server.rss()
            opened = []
            for _ in range(connections):
                ws = await connect(self.server.url, compression=None, ping_interval=None)
                await ws.send(b"x" * SIZE)
                await ws.recv()
                opened.append(ws)
            await asyncio.sleep(0.2)
            grown = self.server.rss() - before
            await asyncio.gather(*(ws.close() for ws in opened))
            return grown / connections

        return self.loop.run_until_complete(run())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(asyncio.wait_for(self.client.close(), 5))
        self.server.close()
        self.loop.close()


# --- the measurement -----------------------------------------------------------------------------


@dataclass
class Result:
    """The figures of one ``--ws`` class (best of the rounds)."""

    name: str
    cpu_ns: dict[str, float]  # server CPU per message, by mode
    rate: dict[str, float]  # messages per second, by mode
    idle_bytes: float | None  # server memory per idle connection


def measure(
    names: list[str], messages: int, rounds: int = 3, idle: int = IDLE_CONNECTIONS
) -> list[Result]:
    """Every ``--ws`` class of ``names``, every mode, in interleaved rounds; best of each."""
    sessions: dict[str, _Session] = {}
    try:
        for name in names:
            try:
                sessions[name] = _Session(name)
            except Skip as exc:
                print(f"  {name}: skipped ({exc})", file=sys.stderr)
        results = {name: Result(name, {}, {}, None) for name in sessions}
        message = os.urandom(SIZE)
        for session in sessions.values():
            session.exchange("window", message, max(messages // 10, WINDOW))  # warm up
        for _ in range(rounds):
            for mode in MODES:
                for name, session in sessions.items():
                    cpu0 = session.server.cpu_ns()
                    t0 = time.perf_counter()
                    session.exchange(mode, message, messages)
                    elapsed = time.perf_counter() - t0
                    cpu = (session.server.cpu_ns() - cpu0) / messages
                    result = results[name]
                    result.cpu_ns[mode] = min(result.cpu_ns.get(mode, float("inf")), cpu)
                    result.rate[mode] = max(result.rate.get(mode, 0.0), messages / elapsed)
        if idle:
            for name, session in sessions.items():
                results[name].idle_bytes = session.idle_memory(idle)
        return list(results.values())
    finally:
        for session in sessions.values():
            session.close()


def format_results(results: list[Result]) -> str:
    """The table, with each class's ratios against websockets-sansio's figures of the same run
    (CPU and memory: <1 is cheaper; msg/s: >1 is faster)."""
    by_name = {r.name: r for r in results}
    reference = by_name.get(REFERENCE)
    lines = [
        f"uvicorn ASGI echo, {size_label(SIZE)} binary messages, server CPU per message from "
        f"/proc (window = {WINDOW} in flight; rr = request/response)",
        f"  {'--ws':<19}{'window µs/msg':>14}{'ratio':>7}{'window msg/s':>14}"
        f"{'rr µs/msg':>11}{'ratio':>7}{'rr msg/s':>10}{'ratio':>7}"
        f"{'idle KiB/conn':>15}{'ratio':>7}",
    ]
    for r in results:
        row = f"  {r.name:<19}"
        for mode in MODES:
            cpu, rate = r.cpu_ns.get(mode), r.rate.get(mode)
            ref_cpu = reference.cpu_ns.get(mode) if reference else None
            cpu_ratio = f"{cpu / ref_cpu:.2f}" if cpu and ref_cpu else ""
            row += f"{(cpu or 0) / 1000:>{14 if mode == 'window' else 11}.2f}{cpu_ratio:>7}"
            if mode == "window":
                row += f"{rate or 0:>14.0f}"
            else:
                ref_rate = reference.rate.get(mode) if reference else None
                rate_ratio = f"{rate / ref_rate:.2f}" if rate and ref_rate else ""
                row += f"{rate or 0:>10.0f}{rate_ratio:>7}"
        if r.idle_bytes is not None:
            ref_idle = reference.idle_bytes if reference else None
            idle_ratio = f"{r.idle_bytes / ref_idle:.2f}" if ref_idle else ""
            row += f"{r.idle_bytes / 1024:>15.1f}{idle_ratio:>7}"
        lines.append(row)
    lines.append(
        f"ratios: against {REFERENCE} (uvicorn's default) in the same run; CPU and memory <1 is"
        " cheaper, msg/s >1 is faster"
    )
    return "\n".join(lines)


# --- workloads for python -m wsfast bench ---------------------------------------------------------


def _case(name: str, mode: str) -> Case:
    def setup() -> Callable[[], object]:
        if name == "wsfast":
            from wsfast import _speedups

            if _speedups.NO_EXTENSIONS:
                raise Skip("WSFAST_NO_EXTENSIONS=1")
        session = _Session(name)
        message = os.urandom(SIZE)

        def run() -> object:
            session.exchange(mode, message, WORKLOAD_MESSAGES)
            return None

        run.close = session.close  # type: ignore[attr-defined]
        return run

    return Case(f"uvicorn --ws {name}", setup, "wsfast" if name == "wsfast" else "peer")


def workloads() -> list[Workload]:
    """uvicorn ASGI echo workloads; one call = ``WORKLOAD_MESSAGES`` messages echoed."""
    return [
        Workload(
            group=f"uvicorn-{mode}",
            name=f"uvicorn-{mode}/{size_label(SIZE)}",
            cases=tuple(_case(name, mode) for name in WS_CLASSES),
            bytes_per_call=WORKLOAD_MESSAGES * SIZE,
            items_per_call=WORKLOAD_MESSAGES,
            description=f"uvicorn ASGI echo, one connection, {WORKLOAD_MESSAGES} messages of "
            f"{size_label(SIZE)}, {mode}, one fixed client (wsfast); server in a subprocess",
            tags=frozenset({"slow"}),
        )
        for mode in MODES
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m wsfast.bench.uvicorn``: the table; ``--serve WS --port N``: one server."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000, help="messages per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--idle", type=int, default=IDLE_CONNECTIONS, help="idle connections")
    parser.add_argument(
        "--ws", action="append", choices=list(WS_CLASSES), help="classes to run (default: all)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve, args.port)
        return 0
    results = measure(args.ws or list(WS_CLASSES), args.messages, args.rounds, args.idle)
    print(format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
