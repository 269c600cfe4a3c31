"""Reusable pieces of the loopback benchmarks: a server subprocess, its CPU time, one fixed client.

A loopback benchmark measures *servers*. To compare servers like with like, every server is
driven by the same client, :class:`FixedClient`: a plain asyncio protocol that writes one
pre-built masked frame per message (one ``transport.write`` each, never merged into bursts) and
counts the echoed bytes, with no WebSocket library behind it. Whatever one server does
differently from another is then the server's doing.

Two figures per timed call: the wall-clock time (messages per second seen by the client) and the
server's CPU time (:func:`process_cpu_ns`, from ``/proc/PID/task/*/schedstat``), exposed by the
timed callable's ``counters()`` so that the runner keeps it per sample beside the time.

Servers are started once per (library, event loop, options) and shared by every case that needs
them (:class:`ServerPool`): a subprocess start costs a few hundred milliseconds, and a server
serves one connection at a time here, so sharing changes nothing in what is measured. The pool is
emptied at exit.

To add a loopback family (another server, broadcast ...): give ``echo_server.SERVERS`` a server
(or run your own module printing ``PORT <n>`` in a :class:`ServerProcess`), then build cases
with :func:`echo_case`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from .core import Case, Skip
from .echo_server import READ_BUFFER_SIZE, buffered_reads

__all__ = [
    "MODES",
    "SERVERS",
    "EchoServer",
    "FixedClient",
    "ServerPool",
    "ServerProcess",
    "echo_case",
    "process_cpu_ns",
    "reply_size",
]

#: *rr*: request/response, one message in flight; *pipelined*: every message written back to back
#: (one write each) while the echoes are counted as they come.
MODES = ("rr", "pipelined")

KEY = b"\x37\xfa\x21\x3d"
BINARY = 2
#: A masked Close frame with code 1000 (RFC 6455 §5.5.1).
CLOSE_FRAME = b"\x88\x82" + KEY + bytes(a ^ b for a, b in zip(b"\x03\xe8", KEY[:2], strict=True))


def process_cpu_ns(pid: int) -> int:
    """CPU time (user + system) of every thread of process ``pid``, in nanoseconds
    (``/proc/PID/task/*/schedstat``; ``/proc/PID/stat`` in clock ticks where schedstat is off)."""
    total = 0
    found = False
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
                found = True
        except (OSError, ValueError, IndexError):
            continue
    if found:
        return total
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """A server in a subprocess, ``python -m MODULE ARGS...``, that prints ``PORT <n>`` once it
    listens and serves until its stdin closes (so that it never outlives the benchmark).

    The constructor returns once the port is known; a server that exits or prints anything else
    first raises :class:`Skip`. ``process.stdin`` and ``process.stdout`` (text) stay the caller's
    for any further exchange with the server; :meth:`close` closes stdin and waits
    ``close_timeout`` seconds before killing it. With ``quiet``, the server's stderr is dropped
    (the peers log every aborted connection) unless ``WSFAST_BENCH_SERVER_STDERR`` is set.
    """

    def __init__(
        self,
        module: str,
        *args: str,
        label: str | None = None,
        quiet: bool = True,
        close_timeout: float = 5.0,
    ) -> None:
        self.close_timeout = close_timeout
        stderr = (
            None
            if not quiet or os.environ.get("WSFAST_BENCH_SERVER_STDERR")
            else subprocess.DEVNULL
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise Skip(f"{label or module} did not start: {line.strip() or 'no output'}")
        self.port = int(line.split()[1])
        self.url = f"ws://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_ns(self) -> int:
        """The server process's CPU time so far (every thread), in nanoseconds."""
        return process_cpu_ns(self.process.pid)

    def close(self) -> None:
        """Stops the server: closes its stdin, then kills it if it has not exited in time."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(self.close_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class EchoServer(ServerProcess):
    """``python -m wsfast.bench.echo_server LIBRARY`` in a subprocess; stopped by :meth:`close`."""

    def __init__(
        self,
        library: str,
        uvloop: bool = False,
        compression: bool = False,
        ping_interval: float | None = None,
        module: str = "wsfast.bench.echo_server",
    ) -> None:
        args = [library]
        if uvloop:
            args.append("--uvloop")
        if compression:
            args.append("--compression")
        if ping_interval is not None:
            args += ["--ping-interval", str(ping_interval)]
        self.library = library
        super().__init__(module, *args, label=f"{library} echo server")


class ServerPool:
    """Echo servers started on first use and kept until :meth:`close_all` (called at exit)."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, bool], EchoServer] = {}
        self._failed: dict[tuple[str, bool], Skip] = {}

    def get(self, library: str, uvloop: bool) -> EchoServer:
        key = (library, uvloop)
        if key in self._failed:
            raise self._failed[key]
        server = self._servers.get(key)
        if server is None or server.process.poll() is not None:
            try:
                server = self._servers[key] = EchoServer(library, uvloop=uvloop)
            except Skip as exc:
                self._failed[key] = exc
                raise
        return server

    def close_all(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()


SERVERS = ServerPool()
atexit.register(SERVERS.close_all)


def request_frame(size: int) -> bytes:
    """The one masked binary frame of ``size`` random bytes that the client sends, every time."""
    from wsfast import _frames_py

    return bytes(_frames_py.build_frame(BINARY, os.urandom(size), mask=True, mask_key=KEY))


def reply_size(size: int, websocket: bool = True) -> int:
    """Bytes of one echo of a ``size``-byte message: an unmasked frame from a WebSocket server
    (RFC 6455 §5.2: 2, 4 or 10 header bytes), the masked request itself from a TCP echo."""
    if not websocket:
        return len(request_frame(size)) if size > 0 else 0
    return size + (2 if size < 126 else 4 if size < 65536 else 10)


class FixedClient:
    """The one client of every loopback server: one write per message, echoes counted in bytes.

    ``open()`` connects and, for a WebSocket server, sends an opening handshake without
    extensions (so no server compresses) and waits for the 101 response. ``exchange(mode,
    frame, count, reply)`` sends ``count`` copies of ``frame`` and returns once ``count *
    reply`` bytes came back: in "rr", the next copy goes out when the previous echo is complete;
    in "pipelined", all of them are written at once, one write each.
    """

    def __init__(self, websocket: bool = True) -> None:
        self.websocket = websocket
        self._got = 0
        self._expected = 0
        self._reply = 1
        self._to_send = 0
        self._sent = 0
        self._frame = b""
        self._done: asyncio.Future[None] | None = None
        self._header = bytearray()
        self._handshake: asyncio.Future[None] | None = None

    async def open(self, port: int, host: str = "127.0.0.1") -> None:
        loop = asyncio.get_running_loop()
        client = self

        class Reader(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                client._received(data, len(data))

            def connection_lost(self, exc: Exception | None) -> None:
                client._lost(exc)

        class BufferedReader(asyncio.BufferedProtocol):
            buffer = memoryview(bytearray(READ_BUFFER_SIZE))

            def get_buffer(self, sizehint: int) -> memoryview:
                return self.buffer

            def buffer_updated(self, nbytes: int) -> None:
                client._received(self.buffer[:nbytes], nbytes)

            def connection_lost(self, exc: Exception | None) -> None:
                client._lost(exc)

        protocol = BufferedReader if buffered_reads(loop) else Reader
        self.transport, _ = await loop.create_connection(protocol, host, port)
        if self.websocket:
            self._handshake = loop.create_future()
            self.transport.write(
                f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            await asyncio.wait_for(self._handshake, 10)

    def _lost(self, exc: Exception | None) -> None:
        for future in (self._handshake, self._done):
            if future is not None and not future.done():
                future.set_exception(ConnectionError(f"server closed the connection: {exc}"))

    def _received(self, data: Any, n: int) -> None:
        if self._handshake is not None and not self._handshake.done():
            self._header += data
            end = self._header.find(b"\r\n\r\n")
            if end >= 0:
                if not self._header.startswith(b"HTTP/1.1 101"):
                    self._handshake.set_exception(
                        ConnectionError(f"handshake refused: {bytes(self._header[:40])!r}")
                    )
                    return
                n = len(self._header) - end - 4
                self._header.clear()
                self._handshake.set_result(None)
            else:
                return
        self._got += n
        # Request/response: the next message once the previous echo is complete.
        while self._to_send and self._got >= self._sent * self._reply:
            self._to_send -= 1
            self._sent += 1
            self.transport.write(self._frame)
        if self._got >= self._expected and self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def exchange(self, mode: str, frame: bytes, count: int, reply: int) -> None:
        self._done = asyncio.get_running_loop().create_future()
        self._got = 0
        self._reply = reply
        self._expected = count * reply
        self._frame = frame
        first = 1 if mode == "rr" else count
        self._to_send = count - first
        self._sent = first
        write = self.transport.write
        for _ in range(first):
            write(frame)  # one write per message, never merged
        await self._done
        if self._got != self._expected:
            raise AssertionError(f"{self._got} bytes echoed, {self._expected} expected")

    async def close(self) -> None:
        if self.websocket:
            # A Close frame (code 1000, masked), then the connection: every server accepts it.
            with contextlib.suppress(Exception):
                self.transport.write(CLOSE_FRAME)
        self.transport.close()


def new_loop(uvloop: bool) -> asyncio.AbstractEventLoop:
    """A private event loop: uvloop's when asked (skipped if it is not installed)."""
    if uvloop:
        try:
            import uvloop as uvloop_module
        except ImportError:
            raise Skip("uvloop not installed") from None
        return uvloop_module.new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


def echo_case(
    name: str,
    library: str,
    kind: str,
    mode: str,
    size: int,
    count: int,
    uvloop: bool,
    check: Callable[[], None] | None = None,
    pool: ServerPool = SERVERS,
) -> Case:
    """A case timing ``count`` echoes of ``size`` bytes from ``library``'s server (see
    ``echo_server.SERVERS``) to the :class:`FixedClient`, in ``mode``; the timed callable reports
    the server's CPU time (``counters()["server_cpu_ns"]``). ``check`` runs first and may raise
    :class:`Skip` (a peer without its compiled part ...)."""

    def setup() -> Callable[[], object]:
        if check is not None:
            check()
        loop = new_loop(uvloop)
        try:
            server = pool.get(library, uvloop)
            websocket = library != "tcp"
            client = FixedClient(websocket)
            loop.run_until_complete(client.open(server.port))
        except BaseException:
            loop.close()
            raise
        frame = request_frame(size)
        reply = reply_size(size, websocket)
        # A reply's length is known in advance only if the server sends the frame it got back,
        # without compression or extra frames: the first exchange checks it byte for byte.
        loop.run_until_complete(asyncio.wait_for(client.exchange("rr", frame, 1, reply), 10))

        def run() -> object:
            loop.run_until_complete(client.exchange(mode, frame, count, reply))
            return None

        def close() -> None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(client.close(), 5))
            loop.close()

        run.counters = lambda: {"server_cpu_ns": server.cpu_ns()}  # type: ignore[attr-defined]
        run.close = close  # type: ignore[attr-defined]
        return run

    return Case(name, setup, kind)
