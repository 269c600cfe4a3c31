"""Memory per idle WebSocket connection on the server, for wsfast and its peers.

``python bench/memory_per_connection.py [--connections 2000] [--libraries wsfast,websockets,...]``

For each library, an echo server runs in a subprocess (``wsfast.bench.echo_server``, with
permessage-deflate negotiated, except picows which has none). This script opens ``--connections``
connections to it, each sending one small message the way a browser does (compressed, masked)
and reading its echo, then leaves them idle and reads the server's resident memory
(``VmRSS`` in ``/proc/PID/status``). The figure is (RSS with the idle connections - RSS before) /
connections, after a warm-up that pays the one-time costs (imports, the shared read buffer).

The client is a minimal raw-socket client in this process, the same for every server, so that
only the server's memory is measured. It answers the server's Pings, as a browser does.

``--idle SECONDS`` measures again after the connections stayed idle that long, the servers
sending keepalive Pings every third of it (wsfast frees an idle connection's compressor on that
clock: compare ``--message-size 1000``, where the echo is compressed, with and without it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import re
import signal
import sys
import time
import zlib

from wsfast.bench.echo import EchoServer
from wsfast.bench.echo_server import run as run_loop

MESSAGE = b'{"type": "hello", "id": 1}'


def make_message(size: int) -> bytes:
    """A JSON-like text message of ``size`` bytes (compressible, like real traffic)."""
    if size <= len(MESSAGE):
        return MESSAGE[:size]
    body = b", ".join(b'"field%d": %d' % (i, i * 7) for i in range(size // 8))
    return (b"{" + body)[: size - 1] + b"}"


def rss_bytes(pid: int) -> int:
    """The server's resident memory, after it handed free heap pages back (SIGUSR1: every echo
    server calls malloc_trim; memory freed by a library then shows, whoever the library is)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.3)
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _masked_frame(payload: bytes, rsv1: bool, opcode: int = 0x1) -> bytes:
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    first = 0x80 | opcode | (0x40 if rsv1 else 0)
    if len(payload) < 126:
        return bytes([first, 0x80 | len(payload)]) + key + masked
    assert len(payload) < 65536
    return bytes([first, 0x80 | 126]) + len(payload).to_bytes(2, "big") + key + masked


def _frame_size(data: bytes) -> int:
    """Size of the (unmasked, server) frame at the start of ``data``, as far as known."""
    length = data[1] & 0x7F
    if length == 126:
        return 4 + int.from_bytes(data[2:4], "big") if len(data) >= 4 else 1 << 30
    return 2 + length


class RawClient(asyncio.Protocol):
    """Handshake, one message, wait for the echo; then stay idle, answering Pings."""

    def __init__(
        self, port: int, compression: bool, done: asyncio.Future[None], message: bytes
    ) -> None:
        self.port = port
        self.message = message
        self.compression = compression
        self.done = done
        self.buffer = b""
        self.opened = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET / HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.compression:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.opened:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.done.set_exception(RuntimeError(head.decode(errors="replace")))
                return
            self.opened = True
            self.buffer = rest
            text = head.decode("latin-1").lower()
            deflate = "permessage-deflate" in text
            if deflate:
                match = re.search(r"client_max_window_bits=(\d+)", text)
                bits = int(match.group(1)) if match else 15
                compressor = zlib.compressobj(6, zlib.DEFLATED, -max(bits, 9))
                payload = compressor.compress(self.message) + compressor.flush(zlib.Z_SYNC_FLUSH)
                assert self.transport is not None
                self.transport.write(_masked_frame(payload[:-4], rsv1=True))
            else:
                assert self.transport is not None
                self.transport.write(_masked_frame(self.message, rsv1=False))
        while len(self.buffer) >= 2 and len(self.buffer) >= _frame_size(self.buffer):
            size = _frame_size(self.buffer)
            opcode = self.buffer[0] & 0x0F
            header = 4 if self.buffer[1] & 0x7F == 126 else 2
            payload, self.buffer = self.buffer[header:size], self.buffer[size:]
            if opcode == 0x9 and self.transport is not None:  # Ping: Pong (RFC 6455 §5.5.2)
                self.transport.write(_masked_frame(payload, rsv1=False, opcode=0xA))
            elif opcode in (0x1, 0x2) and not self.done.done():
                self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("closed before the echo"))


async def open_connections(
    port: int, count: int, compression: bool, message: bytes
) -> list[asyncio.Transport]:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.Transport] = []
    batch = 250
    for start in range(0, count, batch):
        futures = []
        for _ in range(min(batch, count - start)):
            done: asyncio.Future[None] = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda done=done: RawClient(port, compression, done, message), "127.0.0.1", port
            )
            transports.append(transport)  # type: ignore[arg-type]
            futures.append(done)
        await asyncio.wait_for(asyncio.gather(*futures), 60)
    return transports


async def measure(
    library: str, count: int, compression: bool, message: bytes, idle: float
) -> tuple[float, int, float | None]:
    """(RSS per connection, RSS in all, RSS per connection after ``idle`` seconds or None)."""
    compression = compression and library != "picows"
    server = EchoServer(library, compression=compression, ping_interval=idle / 3 if idle else None)
    try:
        warm = await open_connections(server.port, 50, compression, message)
        for transport in warm:
            transport.abort()
        await asyncio.sleep(0.5)
        before = rss_bytes(server.pid)
        transports = await open_connections(server.port, count, compression, message)
        await asyncio.sleep(1.0)  # let the server settle (handlers parked in recv)
        after = rss_bytes(server.pid)
        after_idle = None
        if idle:
            await asyncio.sleep(idle)
            after_idle = (rss_bytes(server.pid) - before) / count
        for transport in transports:
            transport.abort()
        return (after - before) / count, after, after_idle
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--libraries", default="wsfast,websockets,aiohttp,picows")
    parser.add_argument("--no-compression", action="store_true")
    parser.add_argument(
        "--message-size", type=int, default=len(MESSAGE), help="bytes of the one message sent"
    )
    parser.add_argument(
        "--idle", type=float, default=0.0, help="measure again after this many idle seconds"
    )
    args = parser.parse_args(argv)
    message = make_message(args.message_size)
    print(
        f"Server RSS per idle connection, {args.connections} connections, one "
        f"{'compressed ' if not args.no_compression else ''}message of {len(message)} bytes each"
    )
    results = {}
    for library in [name.strip() for name in args.libraries.split(",") if name.strip()]:
        started = time.perf_counter()
        try:
            per_connection, total, after_idle = run_loop(
                measure(library, args.connections, not args.no_compression, message, args.idle),
                False,
            )
        except Exception as exc:  # a peer that is missing or fails is reported, not fatal
            print(f"  {library:<11} failed: {type(exc).__name__}: {exc}")
            continue
        results[library] = per_connection
        deflate = "no deflate" if library == "picows" or args.no_compression else "deflate"
        print(
            f"  {library:<11} {per_connection / 1024:7.1f} KiB/connection  ({deflate}; server RSS "
            f"{total / 2**20:.0f} MiB; {time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        if after_idle is not None:
            print(f"  {'':<11} {after_idle / 1024:7.1f} KiB/connection after {args.idle:g} s idle")
    if "wsfast" in results:
        ours = results["wsfast"]
        for library, value in results.items():
            if library != "wsfast" and ours > 0:
                print(f"  {library} uses {value / ours:.2f}x wsfast's memory per connection")
    return 0


if __name__ == "__main__":
    sys.exit(main())
