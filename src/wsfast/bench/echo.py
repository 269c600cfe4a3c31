"""Loopback echo: one connection, a server subprocess, messages of 256 B and 64 KiB.

Three patterns: *request/response* (send one message, wait for its echo, repeat), *window*
(keep ``WINDOW`` = 64 messages in flight: a new one goes out as each echo comes back, the load of
a busy server) and *pipelined* (send the messages back to back while a reader takes the echoes).
Each library is measured with its own client against its own server — wsfast, websockets,
aiohttp, picows — and a plain asyncio TCP echo of the same bytes with no WebSocket work
(``tcp (limit)``, reading the cheapest way each event loop offers: see
:func:`~wsfast.bench.echo_server.buffered_reads`) shows the physical limit.
wsfast runs twice: ``wsfast`` with coroutines (``await ws.send()``, ``async for message in ws``,
as websockets and aiohttp), ``wsfast-callback`` with callbacks (``ws.on_message``,
``ws.send_nowait()``, as picows).
Compression is off (picows has none; the other peers' defaults differ).

Two figures per case:

- messages per second seen by the client (request/response on loopback is bound by the kernel's
  wake-up latency, which every library pays alike);
- the server's CPU time per message (``/proc/PID/schedstat``, nanoseconds, of the server
  subprocess), which is what a server's capacity depends on.

``python -m wsfast.bench.echo [--uvloop] [--messages N]`` prints both, with ratios against
picows and websockets measured in the same run; ``workloads()`` gives the same exchanges to
``python -m wsfast bench`` and to ``bench/bench_echo.py`` (pytest-benchmark), tagged slow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .core import Case, Skip, Workload, size_label
from .echo_server import READ_BUFFER_SIZE, buffered_reads

__all__ = ["CLIENTS", "EchoServer", "measure", "workloads"]

SIZES = (256, 64 * 1024)
MODES = ("rr", "window", "pipelined")
#: Messages in flight in the "window" pattern.
WINDOW = 64
#: Messages per timed call of the workloads (per size).
WORKLOAD_MESSAGES = {256: 2000, 64 * 1024: 200}
MAX_SIZE = 64 * 1024 * 1024


def _have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# --- the server subprocess -----------------------------------------------------------------------


def _cpu_ns(pid: int) -> int:
    """CPU time (user + system) of ``pid``'s main thread, in nanoseconds."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class EchoServer:
    """``python -m wsfast.bench.echo_server LIBRARY`` in a subprocess; stopped by :meth:`close`."""

    def __init__(
        self,
        library: str,
        uvloop: bool = False,
        compression: bool = False,
        ping_interval: float | None = None,
    ) -> None:
        command = [sys.executable, "-m", "wsfast.bench.echo_server", library]
        if uvloop:
            command.append("--uvloop")
        if compression:
            command.append("--compression")
        if ping_interval is not None:
            command += ["--ping-interval", str(ping_interval)]
        self.library = library
        # The peers log every aborted connection: their stderr is dropped unless asked for.
        stderr = None if os.environ.get("WSFAST_BENCH_SERVER_STDERR") else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise Skip(f"{library} echo server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"ws://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_ns(self) -> int:
        return _cpu_ns(self.process.pid)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- clients -------------------------------------------------------------------------------------


class Client:
    """An open client connection: ``exchange(mode, message, count)`` and ``close()``."""

    async def exchange(self, mode: str, message: bytes, count: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class _AsyncClient(Client):
    """Clients with ``send``/``recv`` coroutines (wsfast, websockets, aiohttp)."""

    async def send(self, message: bytes) -> None:
        raise NotImplementedError

    async def recv(self) -> Any:
        raise NotImplementedError

    async def exchange(self, mode: str, message: bytes, count: int) -> None:
        send, recv = self.send, self.recv
        if mode == "rr":
            for _ in range(count):
                await send(message)
                await recv()
            return
        window = asyncio.Semaphore(WINDOW) if mode == "window" else None

        async def reader() -> None:
            for _ in range(count):
                await recv()
                if window is not None:
                    window.release()

        task = asyncio.ensure_future(reader())
        for _ in range(count):
            if window is not None:
                await window.acquire()
            await send(message)
        await task


class _Wsfast(_AsyncClient):
    async def open(self, url: str) -> None:
        from wsfast.asyncio import connect

        self.ws = await connect(
            url, compression=None, max_message_size=MAX_SIZE, ping_interval=None
        )
        self.send = self.ws.send  # type: ignore[method-assign]
        self.recv = self.ws.recv  # type: ignore[method-assign]

    async def close(self) -> None:
        await self.ws.close()


class _Websockets(_AsyncClient):
    async def open(self, url: str) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(url, compression=None, max_size=MAX_SIZE, ping_interval=None)
        self.send = self.ws.send  # type: ignore[method-assign]
        self.recv = self.ws.recv  # type: ignore[method-assign]

    async def close(self) -> None:
        await self.ws.close()


class _Aiohttp(_AsyncClient):
    async def open(self, url: str) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url, compress=0, max_msg_size=MAX_SIZE)
        self.send = self.ws.send_bytes  # type: ignore[method-assign,assignment]
        self.recv = self.ws.receive  # type: ignore[method-assign]

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


class _CallbackClient(Client):
    """Callback-driven clients: each echo drives the next send from the read callback."""

    def __init__(self) -> None:
        self._done: asyncio.Future[None] | None = None
        self._remaining = 0
        self._to_send = 0
        self._message = b""

    def _send(self, message: bytes) -> None:
        raise NotImplementedError

    def _on_echo(self, message: object = None) -> None:
        self._remaining -= 1
        if self._to_send:
            self._to_send -= 1
            self._send(self._message)
        if self._remaining == 0 and self._done is not None:
            self._done.set_result(None)

    async def exchange(self, mode: str, message: bytes, count: int) -> None:
        self._done = asyncio.get_running_loop().create_future()
        self._remaining = count
        self._message = message
        first = _in_flight(mode, count)
        self._to_send = count - first
        for _ in range(first):
            self._send(message)
        await self._done


class _WsfastCallback(_CallbackClient):
    """wsfast's callback style: ``ws.on_message`` and ``ws.send_nowait()``."""

    async def open(self, url: str) -> None:
        from wsfast.asyncio import connect

        self.ws = await connect(
            url, compression=None, max_message_size=MAX_SIZE, ping_interval=None
        )
        self._send = self.ws.send_nowait  # type: ignore[method-assign]
        self.ws.on_message = self._on_echo

    async def close(self) -> None:
        await self.ws.close()


class _Picows(_CallbackClient):
    """picows is callback-based: the echo drives the next send from ``on_ws_frame``."""

    async def open(self, url: str) -> None:
        from picows import WSListener, WSMsgType, ws_connect

        client = self

        class Listener(WSListener):  # type: ignore[misc,unused-ignore]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type == WSMsgType.BINARY:
                    client._on_echo()

        self._binary = WSMsgType.BINARY
        self.transport, _ = await ws_connect(Listener, url, max_frame_size=MAX_SIZE)

    def _send(self, message: bytes) -> None:
        self.transport.send(self._binary, message)

    async def close(self) -> None:
        self.transport.send_close()
        self.transport.disconnect()
        await self.transport.wait_disconnected()


def _in_flight(mode: str, count: int) -> int:
    """Messages sent before the first echo is awaited: the rest follow one per echo."""
    if mode == "rr":
        return 1
    if mode == "window":
        return min(WINDOW, count)
    return count


class _Tcp(Client):
    """The physical limit: the same bytes over a plain TCP echo, no WebSocket framing."""

    async def open(self, url: str) -> None:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        loop = asyncio.get_running_loop()
        client = self

        class Reader(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                client._received(len(data))

        class BufferedReader(asyncio.BufferedProtocol):
            buffer = memoryview(bytearray(READ_BUFFER_SIZE))

            def get_buffer(self, sizehint: int) -> memoryview:
                return self.buffer

            def buffer_updated(self, nbytes: int) -> None:
                client._received(nbytes)

        protocol = BufferedReader if buffered_reads(loop) else Reader
        self.transport, _ = await loop.create_connection(protocol, "127.0.0.1", port)
        self._expected = 0
        self._got = 0
        self._size = 0
        self._in_flight = 1
        self._to_send = 0
        self._message = b""
        self._done: asyncio.Future[None] | None = None

    def _received(self, n: int) -> None:
        self._got += n
        # Request/response and window: the next message once a whole echo arrived.
        while self._to_send and self._got + (self._in_flight - 1) * self._size >= self._sent_bytes:
            self._to_send -= 1
            self._sent_bytes += self._size
            self.transport.write(self._message)
        if self._got >= self._expected and self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def exchange(self, mode: str, message: bytes, count: int) -> None:
        self._done = asyncio.get_running_loop().create_future()
        self._got = 0
        self._size = len(message)
        self._expected = count * len(message)
        self._message = message
        first = self._in_flight = _in_flight(mode, count)
        self._to_send = count - first
        self._sent_bytes = first * len(message)
        for _ in range(first):
            self.transport.write(message)
        await self._done

    async def close(self) -> None:
        self.transport.close()


#: Library -> (client class, module that must be importable).
CLIENTS: dict[str, tuple[type[Any], str]] = {
    "wsfast": (_Wsfast, "wsfast.asyncio"),
    "wsfast-callback": (_WsfastCallback, "wsfast.asyncio"),
    "picows": (_Picows, "picows"),
    "websockets": (_Websockets, "websockets"),
    "aiohttp": (_Aiohttp, "aiohttp"),
    "tcp": (_Tcp, "asyncio"),
}


# --- one session: a server subprocess, a client, an event loop -----------------------------------


class Session:
    """A server subprocess and a connected client on a private event loop (uvloop or not)."""

    def __init__(self, library: str, uvloop: bool = False) -> None:
        client_class, module = CLIENTS[library]
        if not _have(module):
            raise Skip(f"{module} not installed")
        if uvloop and not _have("uvloop"):
            raise Skip("uvloop not installed")
        self.loop: asyncio.AbstractEventLoop
        if uvloop:
            import uvloop as uvloop_module

            self.loop = uvloop_module.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.server = EchoServer(library, uvloop=uvloop)
        self.client = client_class()
        try:
            self.loop.run_until_complete(self.client.open(self.server.url))
        except BaseException:
            self.close()
            raise

    def exchange(self, mode: str, message: bytes, count: int) -> None:
        self.loop.run_until_complete(self.client.exchange(mode, message, count))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(asyncio.wait_for(self.client.close(), 5))
        self.server.close()
        self.loop.close()


@dataclass
class Result:
    library: str
    mode: str
    size: int
    messages_per_s: float
    server_cpu_ns: float  # per message


def measure(
    libraries: list[str], uvloop: bool, messages: dict[int, int], repeats: int = 3
) -> list[Result]:
    """Times every library, mode and size; the best of ``repeats`` runs of each.

    Every library's session stays open and the runs are interleaved (a round of each case takes
    every library in turn), so that a burst of load on a shared machine hits them all alike."""
    sessions: dict[str, Session] = {}
    try:
        for library in libraries:
            try:
                sessions[library] = Session(library, uvloop)
            except (Skip, ImportError, SystemExit) as exc:
                print(f"  {library}: skipped ({exc})", file=sys.stderr)
        results = []
        for mode in MODES:
            for size in SIZES:
                count = messages[size]
                message = os.urandom(size)
                best: dict[str, tuple[float, float]] = {}
                for session in sessions.values():
                    session.exchange(mode, message, max(count // 10, 10))  # warm up
                for _ in range(repeats):
                    for library, session in sessions.items():
                        cpu0 = session.server.cpu_ns()
                        t0 = time.perf_counter()
                        session.exchange(mode, message, count)
                        elapsed = time.perf_counter() - t0
                        cpu = (session.server.cpu_ns() - cpu0) / count
                        rate, least_cpu = best.get(library, (0.0, float("inf")))
                        best[library] = (max(rate, count / elapsed), min(least_cpu, cpu))
                for library, (rate, cpu) in best.items():
                    results.append(Result(library, mode, size, rate, cpu))
        return results
    finally:
        for session in sessions.values():
            session.close()


def format_results(results: list[Result], title: str) -> str:
    """One table per (mode, size); each wsfast style's ratios against picows and websockets of
    the same run."""
    lines = [title]
    ours = ("wsfast", "wsfast-callback")
    for mode in MODES:
        for size in SIZES:
            rows = [r for r in results if r.mode == mode and r.size == size]
            if not rows:
                continue
            by_lib = {r.library: r for r in rows}
            lines.append(f"\n{mode} {size_label(size)}")
            lines.append(
                f"  {'library':<16}{'msg/s':>10}{'server CPU µs/msg':>19}"
                f"{'msg/s vs picows':>17}{'vs websockets':>15}{'CPU vs picows':>15}"
            )
            picows, websockets = by_lib.get("picows"), by_lib.get("websockets")
            for r in rows:
                speed_p = speed_w = cpu_p = ""
                if r.library in ours:
                    if picows is not None:
                        speed_p = f"{r.messages_per_s / picows.messages_per_s:.2f}x"
                        if r.server_cpu_ns:
                            cpu_p = f"{picows.server_cpu_ns / r.server_cpu_ns:.2f}x"
                    if websockets is not None:
                        speed_w = f"{r.messages_per_s / websockets.messages_per_s:.2f}x"
                lines.append(
                    f"  {r.library:<16}{r.messages_per_s:>10.0f}{r.server_cpu_ns / 1000:>19.2f}"
                    f"{speed_p:>17}{speed_w:>15}{cpu_p:>15}"
                )
    lines.append(
        "\nRatios for wsfast's two styles (wsfast: coroutines; wsfast-callback: on_message and"
        " send_nowait): msg/s divided by the peer's (>1: faster); 'CPU vs picows': picows' server"
        " CPU per message divided by ours (>1: cheaper). tcp = asyncio TCP echo without WebSocket"
        " work (the limit)."
    )
    return "\n".join(lines)


# --- workloads for python -m wsfast bench / pytest-benchmark -------------------------------------


def _case(name: str, library: str, kind: str, mode: str, size: int, uvloop: bool) -> Case:
    def setup() -> Callable[[], object]:
        if kind == "wsfast":
            from wsfast import _speedups

            if _speedups.NO_EXTENSIONS:
                raise Skip("WSFAST_NO_EXTENSIONS=1")
        session = Session(library, uvloop)
        message = os.urandom(size)
        count = WORKLOAD_MESSAGES[size]

        def run() -> object:
            session.exchange(mode, message, count)
            return None

        run.close = session.close  # type: ignore[attr-defined]
        return run

    return Case(name, setup, kind)


def workloads() -> list[Workload]:
    """Loopback echo workloads; one call = ``WORKLOAD_MESSAGES[size]`` messages echoed."""
    found = []
    for uvloop in (False, True):
        loop_name = "uvloop" if uvloop else "asyncio"
        for mode in MODES:
            for size in SIZES:
                count = WORKLOAD_MESSAGES[size]
                cases = (
                    _case("wsfast", "wsfast", "wsfast", mode, size, uvloop),
                    _case("wsfast on_message", "wsfast-callback", "wsfast", mode, size, uvloop),
                    _case("picows", "picows", "peer", mode, size, uvloop),
                    _case("websockets", "websockets", "peer", mode, size, uvloop),
                    _case("aiohttp", "aiohttp", "peer", mode, size, uvloop),
                    _case("tcp echo (limit)", "tcp", "limit", mode, size, uvloop),
                )
                found.append(
                    Workload(
                        group=f"echo-{mode}-{loop_name}",
                        name=f"echo-{mode}-{loop_name}/{size_label(size)}",
                        cases=cases,
                        bytes_per_call=count * size,
                        items_per_call=count,
                        description=f"loopback echo, one connection, {count} messages of "
                        f"{size_label(size)}, {mode}, {loop_name}; server in a subprocess",
                        tags=frozenset({"slow"}),
                    )
                )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uvloop", action="store_true", help="client and servers on uvloop")
    parser.add_argument(
        "--messages", type=int, default=20000, help="messages per 256 B run (64 KiB: /10)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (best is kept)")
    parser.add_argument(
        "--libraries", default=",".join(CLIENTS), help="comma-separated, of: " + ", ".join(CLIENTS)
    )
    args = parser.parse_args(argv)
    messages = {256: args.messages, 64 * 1024: max(args.messages // 10, 10)}
    libraries = [name.strip() for name in args.libraries.split(",") if name.strip()]
    unknown = sorted(set(libraries) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown libraries: {', '.join(unknown)}")
    from wsfast import implementation

    results = measure(libraries, args.uvloop, messages, args.repeats)
    loop_name = "uvloop" if args.uvloop else "asyncio"
    print(
        format_results(
            results,
            f"Loopback echo, one connection, {loop_name} event loop, wsfast {implementation}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
