"""Hostile peers against a real wsfast.asyncio server on loopback: a byte-at-a-time handshake
(slowloris), a header flood, and a ping flood from a client that never reads its socket.

Every test has an overall timeout; no assertion depends on how fast the machine is (only on the
order of events: the server gave up before the attacker was done).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable
from typing import Any

import pytest

serve = pytest.importorskip("wsfast.asyncio").serve

TEST_TIMEOUT = 60
MiB = 1 << 20
KEY = b"\x01\x02\x03\x04"
REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(bounded())


async def idle_handler(ws: Any) -> None:
    async for _ in ws:
        pass


async def closed_by_server(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass


def test_slowloris_handshake_is_ended_by_the_open_timeout() -> None:
    async def main() -> tuple[int, int]:
        async with serve(idle_handler, "127.0.0.1", 0, open_timeout=0.5) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            closed = asyncio.ensure_future(closed_by_server(reader))
            sent = 0
            for byte in REQUEST:  # one byte every 50 ms: ~8 s for the whole request
                if closed.done():
                    break
                try:
                    writer.write(bytes([byte]))
                    await writer.drain()
                except ConnectionError:
                    break
                sent += 1
                await asyncio.sleep(0.05)
            await closed
            writer.close()
            for _ in range(200):
                if not server.connections:
                    break
                await asyncio.sleep(0.01)
            return sent, len(server.connections)

    sent, remaining = run(main())
    assert sent < len(REQUEST), "the server waited for the whole byte-a-time request"
    assert remaining == 0


def test_header_flood_gets_431_and_is_closed() -> None:
    # The server answers 431 once the head passes 16 KiB, and closes. Its close may reset the
    # connection while our flood is still in flight, which can drop the 431 before we read it:
    # what must hold is that the server gave up before the flood ended (what we got to send by
    # then sat in the kernel's socket buffers, several MiB on loopback, not in the server).
    async def main() -> tuple[bytes, int, int]:
        async with serve(idle_handler, "127.0.0.1", 0) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            response = bytearray()

            async def read_all() -> None:
                try:
                    while chunk := await reader.read(65536):
                        response.extend(chunk)
                except ConnectionError:
                    pass

            reading = asyncio.ensure_future(read_all())
            writer.write(REQUEST[:-2])
            line = b"X-Flood: " + b"f" * 100 + b"\r\n"
            sent = 0
            try:
                for _ in range(10_000):  # up to 10 MiB of header lines
                    if reading.done():
                        break
                    writer.write(line * 10)
                    await writer.drain()
                    sent += len(line) * 10
            except ConnectionError:
                pass
            await reading
            writer.close()
            return bytes(response), sent, len(line) * 10 * 10_000

    response, sent, total = run(main())
    assert response == b"" or response.startswith(b"HTTP/1.1 431 "), response[:80]
    assert sent < total


def ping_frame(payload: bytes) -> bytes:
    masked = bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x89, 0x80 | len(payload)) + KEY + masked


def test_ping_flood_from_a_peer_that_does_not_read_is_bounded() -> None:
    # The client sends pings without ever reading the pongs: once the server's write buffer is
    # full, it must stop reading (backpressure) instead of queueing pongs without bound.
    write_limit = 64 * 1024

    async def main() -> tuple[int, int, int]:
        async with serve(idle_handler, "127.0.0.1", 0, write_limit=write_limit) as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_sendall(sock, REQUEST)
            response = await loop.sock_recv(sock, 4096)
            assert response.startswith(b"HTTP/1.1 101"), response
            batch = ping_frame(b"p" * 125) * 512  # 64 KiB of pings
            sent = 0
            largest = 0
            for _ in range(400):  # up to 26 MiB of pings, 25 MiB of pongs
                try:
                    await asyncio.wait_for(loop.sock_sendall(sock, batch), 2.0)
                except (asyncio.TimeoutError, TimeoutError):
                    break  # the server stopped reading: backpressure reached us
                sent += len(batch)
                for ws in server.connections:
                    if ws.transport is not None:
                        largest = max(largest, ws.transport.get_write_buffer_size())
            for ws in server.connections:
                if ws.transport is not None:
                    largest = max(largest, ws.transport.get_write_buffer_size())
            sock.close()
            return sent, largest, len(batch) * 400

    sent, largest, attempted = run(main())
    assert largest <= write_limit + MiB, f"server write buffer reached {largest} bytes"
    assert sent < attempted, "the server read 26 MiB of pings without applying backpressure"


def test_a_read_of_compressed_bombs_queues_no_more_than_max_queue() -> None:
    # 200 messages that each inflate to 1 MiB (max_message_size, so each one is legal) take
    # ~200 KiB on the wire: a read or two. Inflating a whole read before looking at the queue
    # held 64 MiB per read; the server must stop at max_queue messages plus one inflate budget,
    # keeping the rest compressed, while its handler does not read.
    import tracemalloc
    import zlib

    from wsfast.asyncio import connection as asyncio_connection
    from wsfast.frames import build_frame

    max_queue = 2
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = (compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    frames = build_frame(2, bomb, rsv1=True, mask=True) * 200
    request = REQUEST.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )

    async def main() -> tuple[int, int, int]:
        go = asyncio.Event()
        received: list[int] = []

        async def handler(ws: Any) -> None:
            await go.wait()
            async for message in ws:
                received.append(len(message))

        async with serve(
            handler, "127.0.0.1", 0, max_queue=max_queue, max_message_size=MiB
        ) as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_sendall(sock, request)
            response = await loop.sock_recv(sock, 4096)
            assert response.startswith(b"HTTP/1.1 101"), response
            assert b"permessage-deflate" in response, response
            tracemalloc.start()
            try:
                await loop.sock_sendall(sock, frames)
                [ws] = server.connections
                for _ in range(500):
                    if ws._reading_paused and ws._conn.processing_paused:
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)  # all sent has arrived
                queued = sum(map(len, ws._messages))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            go.set()
            for _ in range(2000):
                if len(received) == 200:
                    break
                await asyncio.sleep(0.01)
            sock.close()
            return queued, peak, len(received)

    queued, peak, count = run(main())
    budget = asyncio_connection._INFLATE_BUDGET
    assert queued <= (max_queue + 1) * MiB, queued
    assert peak <= (max_queue + 1) * MiB + budget + 2 * MiB, f"peak {peak} bytes"
    assert count == 200  # and every message still comes once the handler reads
