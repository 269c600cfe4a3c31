"""wsfast.asyncio.broadcast over loopback sockets: clients of every kind receive identical
messages; a client that stops reading is skipped once its server-side write buffer is above
``write_limit`` (the documented policy), without holding up the others or growing the buffer."""

from __future__ import annotations

import asyncio
from typing import Any

from wsfast import deflate
from wsfast.asyncio import broadcast, connect, serve
from wsfast.extensions import PerMessageDeflate

TEST_TIMEOUT = 60


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(bounded())


async def until(predicate: Any, steps: int = 2000) -> None:
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


def start_server(**options: Any) -> Any:
    connected: list[Any] = []

    async def handler(ws: Any) -> None:
        connected.append(ws)
        await ws.wait_closed()

    return serve(handler, "127.0.0.1", 0, **options), connected


#: What each kind of client offers.
CLIENTS: list[Any] = [
    None,
    "deflate",  # context takeover both ways
    PerMessageDeflate(server_no_context_takeover=True),
    PerMessageDeflate(server_no_context_takeover=True, server_max_window_bits=10),
    PerMessageDeflate(server_no_context_takeover=True),
]


def test_mixed_clients_receive_identical_messages() -> None:
    messages: list[str | bytes] = [
        deflate.reference_text(1024, seed).decode() for seed in range(5)
    ] + [b"\x00" * 3000, "x", deflate.reference_text(100_000, 9)]

    async def main() -> None:
        server_cm, connected = start_server()
        async with server_cm as server:
            url = f"ws://127.0.0.1:{server.port}/"
            clients = [await connect(url, compression=offer) for offer in CLIENTS]
            await until(lambda: len(connected) == len(clients))
            kinds = {str(ws.extensions) for ws in connected}
            assert len(kinds) == 4  # none, takeover, two no-takeover windows
            for message in messages:
                assert broadcast(connected, message) == len(clients)
            for client in clients:
                for message in messages:
                    assert await client.recv() == message
                await client.close()

    run(main())


def test_a_client_that_stops_reading_is_skipped_and_its_buffer_bounded() -> None:
    limit = 32 * 1024
    message = bytes(range(256)) * 256  # 64 KiB, uncompressed
    count = 400  # 25 MiB: far more than the socket buffers hold

    async def main() -> None:
        server_cm, connected = start_server(compression=None, write_limit=limit)
        async with server_cm as server:
            url = f"ws://127.0.0.1:{server.port}/"
            slow = await connect(url, compression=None, max_message_size=None)
            fast = await connect(url, compression=None, max_message_size=None)
            await until(lambda: len(connected) == 2)
            slow_side = next(
                ws for ws in connected if ws.remote_address[1] == slow.local_address[1]
            )
            slow.transport.pause_reading()  # this client stops reading
            received = 0
            delivered = []
            high = 0
            for _ in range(count):
                delivered.append(broadcast(connected, message))
                high = max(high, slow_side.transport.get_write_buffer_size())
                while received < len(delivered) and fast.transport is not None:
                    assert await fast.recv() == message  # the fast client is never held up
                    received += 1
            assert received == count
            assert delivered[0] == 2 and delivered[-1] == 1  # the slow one was skipped later
            # The server holds at most write_limit plus one frame for it.
            assert high <= limit + len(message) + 16
            skipped = delivered.count(1)
            slow.transport.resume_reading()
            for _ in range(count - skipped):
                assert await slow.recv() == message  # what it was sent, in order, intact
            await until(lambda: not slow_side._writing_paused)
            assert broadcast(connected, "again") == 2  # drained: it takes messages again
            assert await slow.recv() == "again" and await fast.recv() == "again"
            await slow.close()
            await fast.close()

    run(main())


def test_broadcast_keeps_the_order_of_messages_sent_without_waiting() -> None:
    async def main() -> None:
        server_cm, connected = start_server()
        async with server_cm as server:
            client = await connect(f"ws://127.0.0.1:{server.port}/")
            await until(lambda: len(connected) == 1)
            [ws] = connected
            ws.send_nowait("first")  # queued to go out at the end of this step of the loop
            assert broadcast(connected, "second") == 1
            ws.send_nowait("third")
            assert [await client.recv() for _ in range(3)] == ["first", "second", "third"]
            await client.close()

    run(main())
