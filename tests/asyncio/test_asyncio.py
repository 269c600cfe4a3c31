"""wsfast.asyncio over real loopback sockets: messages, closing, flow control, timeouts, TLS.

Every test runs its own event loop (``asyncio.run``) with an overall timeout, on ephemeral ports.
The suite runs against whichever twins are loaded (compiled, or WSFAST_NO_EXTENSIONS=1).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from wsfast.asyncio import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    connect,
    serve,
)
from wsfast.asyncio import connection as asyncio_connection
from wsfast.extensions import PerMessageDeflate

#: Upper bound of one test; a hang fails the test instead of the whole run.
TEST_TIMEOUT = 30


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(bounded())


async def echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


def uri(server: Any, path: str = "/") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def until(predicate: Callable[[], bool], steps: int = 2000) -> None:
    """Yields to the loop until ``predicate()`` holds (bounded by steps, not by a clock)."""
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


# --- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["deflate", None])
def test_echo_text_and_binary(compression: Any) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=compression) as server:
            async with connect(uri(server), compression=compression) as ws:
                for message in ["hello", "é" * 1000, b"", b"\x00\xff" * 50_000, "x" * 300_000]:
                    await ws.send(message)
                    reply = await ws.recv()
                    assert type(reply) is type(message)
                    assert reply == message
                names = [ext.name for ext in ws.extensions]
                assert names == (["permessage-deflate"] if compression else [])

    run(main())


def test_default_server_compression_parameters() -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                (agreed,) = ws.extensions
                params = dict(agreed.params)
                assert params["server_max_window_bits"] == "12"
                assert params["client_max_window_bits"] == "12"
                await ws.send("z" * 10_000)
                assert await ws.recv() == "z" * 10_000

    run(main())


def test_fragmented_send_from_iterables() -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                await ws.send(["ab", "cd", "é"])
                assert await ws.recv() == "abcdé"

                async def parts() -> Any:
                    for i in range(3):
                        yield bytes([i]) * 5000

                await ws.send(parts())
                assert await ws.recv() == b"\x00" * 5000 + b"\x01" * 5000 + b"\x02" * 5000

    run(main())


def test_many_concurrent_connections_share_the_read_buffer() -> None:
    """Connections of one loop read into one shared buffer: interleaved partial frames of many
    connections must each reassemble to their own messages."""

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=None) as server:

            async def client(n: int) -> None:
                async with connect(uri(server), compression=None) as ws:
                    for size in (10, 70_000, 300_000):
                        payload = os.urandom(size)
                        await ws.send(payload)
                        assert await ws.recv() == payload, n

            await asyncio.gather(*(client(n) for n in range(20)))

    run(main())


def test_ping_resolves_on_pong() -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                latency = await ws.ping()
                assert latency >= 0
                latency = await ws.ping(b"custom")
                assert latency >= 0
                assert not ws._pings  # every waiter was resolved and removed

    run(main())


# --- handshake ---------------------------------------------------------------------------------


def test_subprotocol_headers_and_path() -> None:
    seen: dict[str, Any] = {}

    async def handler(ws: Any) -> None:
        seen["path"] = ws.path
        seen["token"] = ws.request_headers.get("X-Token")
        seen["subprotocol"] = ws.subprotocol
        await ws.send("ok")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, subprotocols=["v2", "v1"]) as server:
            async with connect(
                uri(server, "/room?id=7"),
                subprotocols=["v1", "v2"],
                additional_headers={"X-Token": "secret"},
            ) as ws:
                assert ws.subprotocol == "v2"
                assert await ws.recv() == "ok"

    run(main())
    assert seen == {"path": "/room?id=7", "token": "secret", "subprotocol": "v2"}


def test_origin_policy() -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, origins=["https://good.example"]) as server:
            async with connect(uri(server), origin="https://good.example") as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
            with pytest.raises(InvalidStatus) as info:
                await connect(uri(server), origin="https://evil.example")
            assert info.value.status == 403
            assert server.connections == set() or all(not ws.open for ws in server.connections)

    run(main())


def test_process_request_can_answer_with_http() -> None:
    async def process_request(ws: Any, request: Any) -> Any:
        await asyncio.sleep(0)
        if request.path == "/health":
            return 200, [("Content-Type", "text/plain")], b"healthy\n"
        return None

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, process_request=process_request) as server:
            with pytest.raises(InvalidStatus) as info:
                await connect(uri(server, "/health"))
            assert info.value.status == 200
            assert info.value.body == b"healthy\n"
            async with connect(uri(server, "/chat")) as ws:
                await ws.send("through")
                assert await ws.recv() == "through"

    run(main())


def test_not_a_websocket_server() -> None:
    async def http_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(http_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(InvalidHandshake):
                await connect(f"ws://127.0.0.1:{port}/")

    run(main())


def test_open_timeouts() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client gives up
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(TimeoutError):
                await connect(f"ws://127.0.0.1:{port}/", open_timeout=0.2)

        # Server side: a client that connects and never sends its request is dropped.
        async with serve(echo, "127.0.0.1", 0, open_timeout=0.2) as ws_server:
            reader, writer = await asyncio.open_connection("127.0.0.1", ws_server.port)
            assert await reader.read() == b""  # the server closed the connection
            writer.close()

    run(main())


# --- closing -----------------------------------------------------------------------------------


def test_close_codes_and_normal_end_of_iteration() -> None:
    closed: dict[str, Any] = {}

    async def handler(ws: Any) -> None:
        with pytest.raises(ConnectionClosedError):  # 4000 is not a normal closure
            async for message in ws:
                await ws.send(message)
        closed["server"] = (ws.close_code, ws.close_reason)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            ws = await connect(uri(server))
            await ws.send("one")
            assert await ws.recv() == "one"
            await ws.close(4000, "bye")
            # RFC 6455 §7.1.5/§7.1.6: the code and reason are those of the Close *received*: the
            # server echoed the code, without a reason.
            assert ws.close_code == 4000
            assert ws.close_reason == ""
            with pytest.raises(ConnectionClosed):
                await ws.send("after close")
            await until(lambda: "server" in closed)

    run(main())
    assert closed["server"] == (4000, "bye")


def test_server_initiated_close_reaches_client() -> None:
    async def handler(ws: Any) -> None:
        await ws.close(1008, "policy")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.code == 1008
                assert info.value.reason == "policy"
                assert ws.close_code == 1008

    run(main())


def test_normal_close_ends_iteration_without_error() -> None:
    async def handler(ws: Any) -> None:
        await ws.send("last")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                received = [message async for message in ws]
                assert received == ["last"]
                assert ws.close_code == 1000
                with pytest.raises(ConnectionClosedOK):
                    await ws.recv()

    run(main())


def test_lost_connection_is_1006() -> None:
    result: dict[str, Any] = {}

    async def handler(ws: Any) -> None:
        try:
            await ws.recv()
        except ConnectionClosedError as exc:
            result["code"] = exc.code

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            ws = await connect(uri(server))
            ws.abort()
            await ws.wait_closed()
            assert ws.close_code == 1006
            await until(lambda: "code" in result)

    run(main())
    assert result["code"] == 1006


def test_handler_exception_closes_with_1011() -> None:
    async def handler(ws: Any) -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            async with connect(uri(server)) as ws:
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.code == 1011

    run(main())


def test_server_shutdown_closes_connections_with_1001_and_waits_for_handlers() -> None:
    handlers_done: list[int] = []

    async def handler(ws: Any) -> None:
        try:
            async for message in ws:
                await ws.send(message)
        finally:
            await asyncio.sleep(0.01)  # cleanup work the server must wait for
            handlers_done.append(ws.close_code)

    async def main() -> None:
        server = await serve(handler, "127.0.0.1", 0)
        address = uri(server)
        clients = [await connect(address) for _ in range(5)]
        for ws in clients:
            await ws.send("x")
            assert await ws.recv() == "x"
        server.close()
        await server.wait_closed()
        assert handlers_done == [1001] * 5
        for ws in clients:
            with pytest.raises(ConnectionClosedOK):
                await ws.recv()
            assert ws.close_code == 1001
        with pytest.raises(OSError):  # no longer listening
            await connect(address)

    run(main())


# --- flow control and keepalive ------------------------------------------------------------------


def test_reading_pauses_when_the_queue_is_full_and_resumes() -> None:
    state: dict[str, Any] = {}
    release = asyncio.Event

    async def main() -> None:
        go = release()

        async def handler(ws: Any) -> None:
            state["ws"] = ws
            await go.wait()
            state["messages"] = [await ws.recv() for _ in range(50)]

        async with serve(handler, "127.0.0.1", 0, max_queue=4, compression=None) as server:
            async with connect(uri(server), compression=None) as ws:
                for i in range(50):
                    await ws.send(f"m{i}")
                await until(lambda: "ws" in state and state["ws"]._reading_paused)
                assert len(state["ws"]._messages) <= 50
                go.set()
                await until(lambda: "messages" in state)
                assert state["messages"] == [f"m{i}" for i in range(50)]
                assert not state["ws"]._reading_paused

    run(main())


@pytest.mark.parametrize("max_queue", [16, 1])
def test_a_burst_of_compressed_messages_queues_no_more_than_max_queue(max_queue: int) -> None:
    """300 text messages of 100 kB compress to a few hundred bytes each: the whole burst fits in
    one or two reads. The queue must still stop near max_queue (one inflate budget past it at
    most), not hold every message of the read, and every message must then come, in order."""
    size = 100_000
    sent = [(f"message {n} " * size)[:size] for n in range(300)]
    state: dict[str, Any] = {}

    async def main() -> None:
        go = asyncio.Event()

        async def handler(ws: Any) -> None:
            state["ws"] = ws
            await go.wait()
            state["messages"] = [await ws.recv() for _ in range(len(sent))]

        async with serve(handler, "127.0.0.1", 0, max_queue=max_queue) as server:
            async with connect(uri(server)) as ws:
                for message in sent:
                    await ws.send(message)
                await until(lambda: "ws" in state and state["ws"]._reading_paused)
                await asyncio.sleep(0.1)  # everything sent has had time to arrive
                queued = state["ws"]._messages
                budget = asyncio_connection._INFLATE_BUDGET
                assert len(queued) <= max_queue + budget // size + 1, len(queued)
                assert state["ws"]._conn.processing_paused  # the rest waits, still compressed
                go.set()
                await until(lambda: "messages" in state)
                assert state["messages"] == sent
                assert not state["ws"]._reading_paused and not state["ws"]._conn.processing_paused

    run(main())


def test_send_waits_while_the_peer_does_not_read() -> None:
    async def main() -> None:
        go = asyncio.Event()
        got: list[int] = []

        async def handler(ws: Any) -> None:
            await go.wait()
            async for message in ws:
                got.append(len(message))

        size, count = 1 << 20, 48
        async with serve(
            handler, "127.0.0.1", 0, max_queue=1, compression=None, max_message_size=size
        ) as server:
            async with connect(uri(server), compression=None, write_limit=16 * 1024) as ws:
                payload = b"\x01" * size

                async def sender() -> None:
                    for _ in range(count):
                        await ws.send(payload)

                task = asyncio.ensure_future(sender())
                await until(lambda: ws._writing_paused and ws._drain_waiter is not None)
                assert not task.done()  # blocked in drain, not buffering 48 MiB
                go.set()
                await task
                await until(lambda: len(got) == count)

    run(main())


def test_keepalive_timeout_fails_the_connection() -> None:
    async def main() -> None:
        async def handler(ws: Any) -> None:
            await asyncio.sleep(TEST_TIMEOUT)  # never reads: its transport stops reading

        async with serve(
            handler, "127.0.0.1", 0, max_queue=1, compression=None, close_timeout=0.2
        ) as server:
            ws = await connect(
                uri(server),
                compression=None,
                ping_interval=0.05,
                ping_timeout=0.1,
                close_timeout=0.2,
            )
            # Fill the server's queue so that it stops reading (and answering pings).
            for _ in range(20):
                await ws.send(b"\x00" * 100_000)
            with pytest.raises(ConnectionClosedError) as info:
                while True:
                    await ws.recv()
            assert info.value.sent == (1011, "keepalive ping timeout")

    run(main())


def test_keepalive_pings_keep_a_live_connection_open() -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, ping_interval=0.02, ping_timeout=0.5) as server:
            async with connect(uri(server), ping_interval=0.02, ping_timeout=0.5) as ws:
                for _ in range(10):
                    await asyncio.sleep(0.02)
                    await ws.send("still here")
                    assert await ws.recv() == "still here"
                assert ws.open

    run(main())


def test_idle_connection_gives_its_compressor_back() -> None:
    """A connection that sent nothing for a whole ping interval frees its deflate compressor;
    the next compressed message starts a new stream and still arrives intact."""
    text = "compressible text, " * 500

    async def main() -> None:
        connections: list[Any] = []

        async def handler(ws: Any) -> None:
            connections.append(ws)
            await echo(ws)

        async with serve(handler, "127.0.0.1", 0, ping_interval=0.02, ping_timeout=1) as server:
            async with connect(uri(server), ping_interval=None) as ws:
                await ws.send(text)
                assert await ws.recv() == text
                codec = connections[0]._conn._codec
                assert codec is not None and codec._compressor is not None
                await until(lambda: codec._compressor is None)
                await ws.send(text[::-1])
                assert await ws.recv() == text[::-1]

    run(main())


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_wss(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async with serve(echo, "localhost", 0, ssl=server_context) as server:
            async with connect(f"wss://localhost:{server.port}/", ssl=client_context) as ws:
                for message in ["secure", b"\x00" * 200_000]:
                    await ws.send(message)
                    assert await ws.recv() == message

    run(main())


def test_thread_read_buffer_is_reused() -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server:
            a = await connect(uri(server))
            b = await connect(uri(server))
            assert a._read_view is b._read_view  # one buffer per thread, not per connection
            await a.close()
            await b.close()

    run(main())
    assert asyncio_connection._thread_buffer.view is not None


def test_deflate_settings_are_configurable() -> None:
    async def main() -> None:
        config = PerMessageDeflate(server_no_context_takeover=True, mem_level=4)
        async with serve(echo, "127.0.0.1", 0, compression=config) as server:
            async with connect(uri(server)) as ws:
                (agreed,) = ws.extensions
                assert "server_no_context_takeover" in dict(agreed.params)
                await ws.send("abc" * 1000)
                assert await ws.recv() == "abc" * 1000

    run(main())


def test_answers_to_a_batch_of_messages_are_coalesced_into_few_writes() -> None:
    """Messages that arrive in one read are answered with one write (one system call), not one
    write per message; order is kept."""
    writes: list[int] = []

    async def handler(ws: Any) -> None:
        transport = ws.transport
        original_write, original_writelines = transport.write, transport.writelines

        def write(data: Any) -> None:
            writes.append(1)
            original_write(data)

        def writelines(pieces: Any) -> None:
            writes.append(1)
            original_writelines(pieces)

        transport.write, transport.writelines = write, writelines
        await echo(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
            async with connect(uri(server), compression=None, max_queue=None) as ws:
                for i in range(100):
                    ws._conn.send_binary(i.to_bytes(2, "big") * 100)
                ws.transport.write(b"".join(ws._conn.data_to_send()))  # all 100 frames in one write
                for i in range(100):
                    assert await ws.recv() == i.to_bytes(2, "big") * 100
        assert 1 <= len(writes) <= 10

    run(main())


def test_messages_before_a_protocol_error_are_answered_before_the_close() -> None:
    """A valid message and a broken frame in one read: the handler's answer to the message goes
    out before the server's Close 1002 (Autobahn's strict behaviour, e.g. case 3.2)."""
    from wsfast.frames import build_frame

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=None) as server:
            ws = await connect(uri(server), compression=None)
            ws._conn.send_text("answer me")
            bad = build_frame(0x1, b"x", rsv2=True, mask=True)  # RSV2 without extension: 1002
            ws.transport.write(b"".join([*ws._conn.data_to_send(), bad]))
            assert await ws.recv() == "answer me"
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.code == 1002

    run(main())


def test_answer_goes_out_before_the_close_when_more_data_follows_the_error() -> None:
    """Autobahn case 3.3: a message and a broken frame in one read, then a Ping in a later read
    while the handler has not taken the message yet. The handler's answer still goes out before
    the Close 1002 (the later read does not cut the wait for the application short)."""
    from wsfast.frames import build_frame

    async def slow_echo(ws: Any) -> None:
        await asyncio.sleep(0.3)  # the Ping arrives before the message is taken
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        async with serve(slow_echo, "127.0.0.1", 0, compression=None) as server:
            ws = await connect(uri(server), compression=None)
            ws._conn.send_text("answer me")
            bad = build_frame(0x1, b"x", rsv2=True, rsv3=True, mask=True)  # 1002
            ws.transport.write(b"".join([*ws._conn.data_to_send(), bad]))
            await asyncio.sleep(0.1)
            ws.transport.write(build_frame(0x9, b"", mask=True))
            assert await ws.recv() == "answer me"
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.code == 1002

    run(main())


def test_on_uvloop() -> None:
    """uvloop calls get_buffer()/buffer_updated() too: echo, batches and flow control there."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, max_queue=2) as server:

            async def client() -> None:
                async with connect(uri(server)) as ws:
                    for size in (10, 70_000, 300_000):
                        payload = os.urandom(size)
                        await ws.send(payload)
                        assert await ws.recv() == payload
                    for i in range(50):
                        await ws.send(f"m{i}")
                    assert [await ws.recv() for _ in range(50)] == [f"m{i}" for i in range(50)]
                    assert await ws.ping() >= 0

            await asyncio.gather(*(client() for _ in range(10)))

    uvloop.run(asyncio.wait_for(main(), TEST_TIMEOUT))


def test_messages_in_the_same_read_as_the_handshake_are_answered_before_the_close() -> None:
    """Request, a valid message and a broken frame in one write: the handler starts after the
    handshake, and still answers the message before the server fails the connection."""
    from wsfast.connection import ClientConnection
    from wsfast.events import CloseReceived, TextMessage
    from wsfast.frames import build_frame

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=None) as server:
            client = ClientConnection(uri(server), compression=None)
            request = b"".join(client.data_to_send())
            # Frames a client would send once open: masked text, then RSV2 (a 1002).
            frames = build_frame(0x1, b"early", mask=True) + build_frame(
                0x1, b"x", rsv2=True, mask=True
            )
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request + frames)
            received = await reader.read()  # until the server closes
            writer.close()
            client.receive_data(received)
            events = [e for e in client.events() if isinstance(e, (TextMessage, CloseReceived))]
            assert events == [TextMessage("early"), CloseReceived(1002, events[1].reason)]

    run(main())


def test_client_answers_messages_in_the_same_read_as_the_101_before_failing() -> None:
    """Client side: 101, a message and a broken frame in one read. ``connect()`` returns a few
    loop steps later, and the application's answer still precedes the client's Close 1002."""
    from wsfast.connection import ServerConnection
    from wsfast.events import CloseReceived, TextMessage
    from wsfast.frames import build_frame

    events: list[Any] = []

    async def raw_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ServerConnection(compression=None)
        conn.receive_data(await reader.readuntil(b"\r\n\r\n"))
        conn.events()
        conn.accept()
        response = b"".join(conn.data_to_send())
        frames = build_frame(0x1, b"early") + build_frame(0x1, b"x", rsv2=True)
        writer.write(response + frames)
        while data := await reader.read(65536):
            conn.receive_data(data)
        events.extend(e for e in conn.events() if isinstance(e, (TextMessage, CloseReceived)))
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(raw_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
                with pytest.raises(ConnectionClosedError):
                    async for message in ws:
                        await ws.send(message)
            await until(lambda: len(events) == 2)

    run(main())
    assert events == [TextMessage("early"), CloseReceived(1002, events[1].reason)]


def test_keepalive_tolerates_a_late_pong_while_data_keeps_arriving() -> None:
    """A Pong queued behind a long transfer is late; bytes arriving meanwhile prove the peer
    alive, so the connection fails (1011) only once the peer falls silent."""
    from wsfast.connection import ServerConnection
    from wsfast.frames import build_frame

    count = 20

    async def raw_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ServerConnection(compression=None, auto_pong=False)  # never answers pings
        conn.receive_data(await reader.readuntil(b"\r\n\r\n"))
        conn.events()
        conn.accept()
        writer.write(b"".join(conn.data_to_send()))
        for i in range(count):  # a slow stream: one frame every 30 ms
            writer.write(build_frame(0x1, str(i).encode()))
            await asyncio.sleep(0.03)
        await reader.read()  # then silence until the client gives up
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(raw_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            ws = await connect(
                f"ws://127.0.0.1:{port}/",
                compression=None,
                ping_interval=0.05,
                ping_timeout=0.1,
                close_timeout=0.2,
            )
            received = []
            with pytest.raises(ConnectionClosedError) as info:
                while True:
                    received.append(await ws.recv())
            assert received == [str(i) for i in range(count)]
            assert info.value.sent == (1011, "keepalive ping timeout")

    run(main())
