"""The callback style of wsfast.asyncio: ``ws.on_message`` and ``ws.send_nowait()``, over real
loopback sockets (and the sans-IO ``message_queue`` it stands on)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from wsfast.asyncio import ConnectionClosed, ConnectionClosedError, connect, serve
from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import BinaryMessage, ConnectionFailed, Ping, TextMessage
from wsfast.frames import build_frame

TEST_TIMEOUT = 30


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(bounded())


def uri(server: Any) -> str:
    return f"ws://127.0.0.1:{server.port}/"


async def callback_echo(ws: Any) -> None:
    ws.on_message = ws.send_nowait
    await ws.wait_closed()


async def until(predicate: Any, steps: int = 2000) -> None:
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


# --- sans-IO: message_queue ----------------------------------------------------------------------


def open_pair(**options: Any) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection("ws://x/", compression=None)
    server = ServerConnection(**options)
    server.receive_data(b"".join(client.data_to_send()))
    server.events()
    server.accept()
    client.receive_data(b"".join(server.data_to_send()))
    client.events()
    return client, server


def test_message_queue_takes_messages_and_leaves_control_events() -> None:
    client, server = open_pair(compression=None)
    queue: list[Any] = []
    server.message_queue = queue
    client.send_text("héllo")
    client.send_ping(b"p")
    client.send_binary(b"\x00\x01")
    client.send_text("in", fin=False)  # a fragmented message goes the slow path
    client.send_continuation(" two", fin=True)
    server.receive_data(b"".join(client.data_to_send()))
    assert queue == ["héllo", b"\x00\x01", "in two"]
    events = server.events()
    assert [type(e) for e in events] == [Ping]
    assert not any(isinstance(e, (TextMessage, BinaryMessage)) for e in events)


def test_without_message_queue_messages_are_events() -> None:
    client, server = open_pair(compression=None)
    client.send_binary(b"x")
    server.receive_data(b"".join(client.data_to_send()))
    assert server.events() == [BinaryMessage(b"x")]


def test_failure_behind_queued_messages_waits_until_they_are_taken() -> None:
    client, server = open_pair(compression=None)
    queue: list[Any] = []
    server.message_queue = queue
    client.send_text("first")
    bad = build_frame(0x1, b"x", rsv2=True, mask=True)  # RSV2 without an extension: 1002
    server.receive_data(b"".join(client.data_to_send()) + bad)
    assert queue == ["first"]
    assert server.pending_failure is not None
    assert server.events() == []  # the message is not taken yet: no failure so far
    queue.clear()
    server.send_text("answer")
    out = b"".join(server.data_to_send())  # the answer, then the Close 1002
    assert out.index(b"answer") < out.index(b"\x88")
    assert not server.pending_failure is not None
    assert any(isinstance(e, ConnectionFailed) and e.code == 1002 for e in server.events())


def test_data_behind_a_deferred_failure_is_discarded_and_does_not_end_the_wait() -> None:
    # Autobahn case 3.3: a message, a frame with RSV bits, then a Ping in a later read. The Ping
    # is not answered (RFC 6455 §7.1.7: nothing after the violation is processed) and the
    # failure still waits for the message to be taken, so the answer goes out before the Close.
    client, server = open_pair(compression=None)
    queue: list[Any] = []
    server.message_queue = queue
    client.send_text("Hello, world!")
    bad = build_frame(0x1, b"Hello, world!", rsv2=True, rsv3=True, mask=True)
    server.receive_data(b"".join(client.data_to_send()) + bad)
    assert server.pending_failure is not None
    server.receive_data(build_frame(0x9, b"", mask=True))  # the Ping, in a later read
    assert server.pending_failure is not None
    assert server.events() == []
    assert queue == ["Hello, world!"]
    queue.clear()
    server.send_text("Hello, world!")
    out = b"".join(server.data_to_send())
    assert out.index(b"Hello, world!") < out.index(b"\x88")  # the echo, then the Close 1002
    assert b"\x8a" not in out  # no Pong
    events = server.events()
    assert any(isinstance(e, ConnectionFailed) and e.code == 1002 for e in events)


# --- asyncio: on_message / send_nowait -----------------------------------------------------------


def test_callback_echo_server_answers_in_order() -> None:
    async def main() -> None:
        async with serve(callback_echo, "127.0.0.1", 0, compression=None) as server:
            async with connect(uri(server), compression=None) as ws:
                for i in range(200):
                    await ws.send(f"message {i}" if i % 2 else i.to_bytes(2, "big"))
                for i in range(200):
                    assert await ws.recv() == (f"message {i}" if i % 2 else i.to_bytes(2, "big"))

    run(main())


def test_callback_echo_with_compression_and_fragments() -> None:
    async def main() -> None:
        async with serve(callback_echo, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                big = "x" * 100_000
                await ws.send(big)
                await ws.send(["frag", "mented"])
                assert await ws.recv() == big
                assert await ws.recv() == "fragmented"

    run(main())


def test_callback_style_takes_a_burst_of_compressed_messages_one_budget_at_a_time() -> None:
    """A burst of well-compressed messages arrives in a read or two: on_message gets them all, in
    order, while the sans-IO layer inflates one budget's worth at a time."""
    size = 100_000
    sent = [(f"message {n} " * size)[:size] for n in range(200)]

    async def main() -> None:
        received: list[Any] = []
        backlogged: list[bool] = []
        done = asyncio.get_running_loop().create_future()

        async def handler(ws: Any) -> None:
            def on_message(message: Any) -> None:
                received.append(message)
                # True while frames of the same read wait: it was not inflated all at once.
                backlogged.append(ws._conn.processing_paused)
                if len(received) == len(sent) and not done.done():
                    done.set_result(None)

            ws.on_message = on_message
            await done

        async with serve(handler, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                for message in sent:
                    await ws.send(message)
                await done
        assert received == sent
        assert any(backlogged)

    run(main())


def test_client_callback_receives_and_send_nowait_bursts_are_coalesced() -> None:
    async def main() -> None:
        received: list[Any] = []
        done = asyncio.get_running_loop().create_future()

        def on_message(message: Any) -> None:
            received.append(message)
            if len(received) == 500 and not done.done():
                done.set_result(None)

        async with serve(callback_echo, "127.0.0.1", 0, compression=None) as server:
            async with connect(uri(server), compression=None) as ws:
                writes: list[int] = []
                transport = ws.transport
                original_write, original_writelines = transport.write, transport.writelines

                def write(data: Any) -> None:
                    writes.append(1)
                    original_write(data)

                def writelines(pieces: Any) -> None:
                    writes.append(1)
                    original_writelines(pieces)

                transport.write, transport.writelines = write, writelines
                ws.on_message = on_message
                for i in range(500):
                    ws.send_nowait(i.to_bytes(2, "big"))
                # Queued until the end of this step of the loop (or every 256 frames).
                assert len(writes) == 500 // 256
                await done
                assert received == [i.to_bytes(2, "big") for i in range(500)]
                assert 1 <= len(writes) <= 5  # 500 sends, a handful of writes
                with pytest.raises(RuntimeError):
                    await ws.recv()  # not while on_message is set

    run(main())


def test_setting_on_message_delivers_queued_messages_first_and_none_restores_recv() -> None:
    async def main() -> None:
        async def handler(ws: Any) -> None:
            for i in range(5):
                await ws.send(str(i))
            await ws.wait_closed()

        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            async with connect(uri(server), compression=None, max_queue=None) as ws:
                await until(lambda: len(ws._messages) >= 3)
                assert await ws.recv() == "0"
                got: list[Any] = []

                def take_two(message: Any) -> None:
                    got.append(message)
                    if len(got) == 2:
                        ws.on_message = None  # back to recv() for the rest

                ws.on_message = take_two
                await until(lambda: len(got) == 2)
                assert got == ["1", "2"]
                assert await ws.recv() == "3"
                assert await ws.recv() == "4"

    run(main())


def test_callback_exception_fails_the_connection_with_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(ws: Any) -> None:
        def on_message(message: Any) -> None:
            raise ValueError("boom")

        ws.on_message = on_message
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            async with connect(uri(server), compression=None) as ws:
                await ws.send("hello")
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.code == 1011

    with caplog.at_level(logging.ERROR, logger="wsfast.asyncio"):
        run(main())
    assert "on_message callback failed" in caplog.text


def test_send_nowait_after_close_raises_and_rejects_other_types() -> None:
    async def main() -> None:
        async with serve(callback_echo, "127.0.0.1", 0, compression=None) as server:
            ws = await connect(uri(server), compression=None)
            with pytest.raises(TypeError):
                ws.send_nowait(12)  # type: ignore[arg-type]
            await ws.close()
            with pytest.raises(ConnectionClosed):
                ws.send_nowait("too late")

    run(main())


def test_callback_echo_to_a_peer_that_does_not_read_stops_reading() -> None:
    """Answers queued by a callback while the peer does not read them are bounded: the server
    stops reading (TCP then slows the peer down) instead of buffering every echo."""

    async def main() -> None:
        connections: list[Any] = []

        async def handler(ws: Any) -> None:
            connections.append(ws)
            await callback_echo(ws)

        async with serve(
            handler, "127.0.0.1", 0, compression=None, write_limit=16 * 1024
        ) as server:
            ws = await connect(uri(server), compression=None, max_queue=1)
            payload = b"\x02" * 64 * 1024
            ws.transport.pause_reading()  # the client never reads its echoes

            async def flood() -> None:
                while True:
                    await ws.send(payload)

            task = asyncio.ensure_future(flood())
            await until(lambda: bool(connections) and connections[0]._reading_paused_by_writes)
            await asyncio.sleep(0.2)
            buffered = connections[0].transport.get_write_buffer_size()
            assert buffered < 4 * 1024 * 1024  # 256 KiB limit + what one read answered
            task.cancel()
            ws.abort()

    run(main())
