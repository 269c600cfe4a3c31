"""Over real sockets, in both styles of the asyncio API (``async for`` + ``send()``, and
``on_message`` + ``send_nowait()``): a peer sends messages and Pings, then breaks the protocol.
Every message before the violation is echoed, in order, both Pings are answered, and then one
Close with the violation's code ends the connection (RFC 6455 §7.1.7); nothing after the violation
is processed. In one write, and with the violation in a later write.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from violations import VIOLATIONS, frame
from wsfast.asyncio import serve
from wsfast.frames import FrameParser

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
MESSAGES = [b"one", "two", b"three", "four", b"five"]


async def coroutine_echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


async def callback_echo(ws: Any) -> None:
    ws.on_message = ws.send_nowait
    await ws.wait_closed()


def exchange(port: int, first: bytes, second: bytes) -> list[Any]:
    """Sends the handshake, ``first``, then ``second`` a moment later; returns the frames
    received until the server closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(REQUEST)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        rest = head.split(b"\r\n\r\n", 1)[1]
        sock.sendall(first)
        if second:
            sock.settimeout(0.2)
            received = rest
            try:
                received += sock.recv(65536)
            except TimeoutError:
                pass
            rest = received
            sock.settimeout(10)
            sock.sendall(second)
        data = rest
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    parser = FrameParser(server=False, max_frame_size=None, max_message_size=None)
    return parser.feed(data)


@pytest.mark.parametrize("split", [False, True], ids=["one write", "violation later"])
@pytest.mark.parametrize(
    "handler", [coroutine_echo, callback_echo], ids=["coroutines", "callbacks"]
)
@pytest.mark.parametrize("violation", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_everything_before_the_violation_is_answered(
    handler: Any, violation: tuple[str, bytes, int], split: bool
) -> None:
    _, bad, code = violation
    good = b""
    for i, message in enumerate(MESSAGES):
        if isinstance(message, str):
            good += frame(0x1, message.encode())
        else:
            good += frame(0x2, message)
        if i in (1, 3):
            good += frame(0x9, b"ping %d" % i)
    after = frame(0x2, b"after the violation")

    async def main() -> list[Any]:
        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            first, second = (good, bad + after) if split else (good + bad + after, b"")
            return await asyncio.to_thread(exchange, server.port, first, second)

    frames = asyncio.run(main())
    echoes = [f.payload.decode() if f.opcode == 1 else f.payload for f in frames if f.opcode < 3]
    assert echoes == MESSAGES
    assert [f.payload for f in frames if f.opcode == 0xA] == [b"ping 1", b"ping 3"]
    assert frames[-1].opcode == 0x8
    assert int.from_bytes(frames[-1].payload[:2], "big") == code
    assert [f.opcode for f in frames].count(0x8) == 1


def test_an_application_that_does_not_take_the_messages_does_not_hold_the_connection() -> None:
    # The violation's failure waits for the messages before it at most PENDING_FAILURE_DELAY.
    async def idle(ws: Any) -> None:
        await asyncio.sleep(30)

    async def main() -> tuple[list[Any], float]:
        async with serve(idle, "127.0.0.1", 0, compression=None, close_timeout=1) as server:
            loop = asyncio.get_running_loop()
            start = loop.time()
            stream = frame(0x2, b"never taken") + VIOLATIONS[1][1]
            frames = await asyncio.to_thread(exchange, server.port, stream, b"")
            return frames, loop.time() - start

    frames, elapsed = asyncio.run(main())
    assert [f.opcode for f in frames] == [0x8]
    assert int.from_bytes(frames[0].payload[:2], "big") == 1002
    assert elapsed < 10  # bounded by the delay, not by the handler's 30 s
