"""wsfast.uvicorn.WebSocketProtocol on the paths uvicorn's own tests do not reach.

Over loopback with uvicorn serving the application (``servers.running``), a wsfast client or a
raw sans-IO client (:class:`~wsfast.connection.ClientConnection` over a stream, to send what a
well-behaved client would not), and in-process with a recording transport where the number of
writes and the reading state are the point.
"""

# ruff: noqa: E402  (the imports after importorskip need uvicorn)
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

uvicorn = pytest.importorskip("uvicorn")

from uvicorn.config import Config
from uvicorn.server import ServerState

from wsfast.asyncio import connect
from wsfast.asyncio.client import InvalidStatus
from wsfast.connection import ClientConnection
from wsfast.events import CloseReceived, ConnectionFailed, Ping, Rejected, TextMessage
from wsfast.exceptions import ConnectionClosed
from wsfast.frames import build_frame
from wsfast.uvicorn import (
    INFLATE_BUDGET,
    PENDING_FAILURE_DELAY,
    WebSocketProtocol,
    server_compression,
)

from .servers import echo, echo_disconnects, protocols, running

TIMEOUT = 20


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


class RawClient:
    """A sans-IO client over an asyncio stream: sends what it is told, bytes included."""

    def __init__(self, port: int, **options: Any) -> None:
        self.conn = ClientConnection(f"ws://127.0.0.1:{port}/", **options)
        self.port = port
        self.events: list[Any] = []

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.flush()
        while self.conn.state.name == "CONNECTING":
            await self.read()

    def flush(self) -> None:
        for piece in self.conn.data_to_send():
            self.writer.write(piece)

    async def read(self) -> bool:
        """Reads once; False at the end of the stream."""
        data = await self.reader.read(65536)
        if not data:
            self.conn.receive_eof()
        else:
            self.conn.receive_data(data)
        self.events.extend(self.conn.events())
        self.flush()
        return bool(data)

    async def until_closed(self) -> None:
        while await self.read():
            pass
        self.writer.close()


# --- keepalive -------------------------------------------------------------------------------


def test_keepalive_pings_and_measures_the_round_trip() -> None:
    async def main() -> None:
        async with running(echo, ws_ping_interval=0.05, ws_ping_timeout=5.0) as (server, port):
            async with connect(f"ws://127.0.0.1:{port}/", ping_interval=None):
                for _ in range(400):
                    found = protocols(server)
                    if found and found[0].last_ping_rtt > 0:
                        break
                    await asyncio.sleep(0.01)
                protocol = protocols(server)[0]
                # The wsfast client answered the Ping with the same payload: the round trip
                # was measured and the next Ping is scheduled.
                assert protocol.last_ping_rtt > 0
                assert protocol.ping_timer is not None or protocol.pong_timer is not None
                assert not protocol.transport.is_closing()

    run(main())


def test_keepalive_off_schedules_no_ping() -> None:
    async def main() -> None:
        async with running(echo, ws_ping_interval=None) as (server, port):
            async with connect(f"ws://127.0.0.1:{port}/", ping_interval=None) as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
                protocol = protocols(server)[0]
                assert protocol.ping_timer is None and protocol.pong_timer is None

    run(main())


def test_keepalive_timeout_closes_with_1011() -> None:
    async def main() -> None:
        async with running(echo, ws_ping_interval=0.05, ws_ping_timeout=0.1) as (_, port):
            client = RawClient(port, auto_pong=False)
            await client.open()
            await client.until_closed()
            assert any(type(e) is Ping for e in client.events)
            assert client.conn.close_received == (1011, "keepalive ping timeout")

    run(main())


# --- limits and violations -------------------------------------------------------------------


def test_message_over_ws_max_size_fails_with_1009() -> None:
    echo_disconnects.clear()

    async def main() -> None:
        async with running(echo, ws_max_size=1000) as (_, port):
            async with connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
                await ws.send(b"x" * 1000)  # at the limit: echoed
                assert await ws.recv() == b"x" * 1000
                await ws.send(b"x" * 1001)
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
                assert ws.close_code == 1009

    run(main())
    assert [d["code"] for d in echo_disconnects] == [1009]


def test_messages_before_a_violation_reach_the_app_then_1002() -> None:
    got: list[dict[str, Any]] = []
    answered: list[BaseException] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            got.append(message)
            if message["type"] == "websocket.disconnect":
                return
            try:
                await send({"type": "websocket.send", "text": message["text"]})
            except OSError as exc:  # uvicorn's ClientDisconnected: the connection failed
                answered.append(exc)

    async def main() -> None:
        async with running(app) as (_, port):
            client = RawClient(port, compression=None)
            await client.open()
            client.conn.send_text("before")
            client.flush()
            # RFC 6455 §5.1: a client frame must be masked; this one is not.
            client.writer.write(build_frame(0x1, b"unmasked"))
            await client.until_closed()
            # RFC 6455 §7.1.7: what was complete before the violation is delivered and may be
            # answered; then our Close with the violation's code.
            events = client.events[1:]  # after Accepted
            assert [type(e) for e in events[:2]] == [TextMessage, CloseReceived], events
            assert events[0].data == "before"
            assert client.conn.close_received is not None
            assert client.conn.close_received[0] == 1002

    run(main())
    assert [m["type"] for m in got] == ["websocket.receive", "websocket.disconnect"]
    assert got[0]["text"] == "before" and got[1]["code"] == 1002
    assert answered == []


def test_a_violation_behind_untaken_messages_fails_after_the_delay() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await asyncio.sleep(TIMEOUT)  # never takes the message

    async def main() -> None:
        protocol, transport, client = await _open_in_process(app)
        client.send_text("before")
        protocol.data_received(b"".join(client.data_to_send()) + build_frame(0x1, b"unmasked"))
        assert not transport.closed  # the message waits for the application
        await asyncio.sleep(PENDING_FAILURE_DELAY + 0.2)
        assert transport.closed
        client.receive_data(b"".join(transport.writes))
        assert [type(e) for e in client.events()] == [CloseReceived]
        for task in protocol.tasks:
            task.cancel()

    run(main())


def test_invalid_upgrade_request_gets_the_sans_io_layers_answer() -> None:
    async def main() -> None:
        async with running(echo) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
            )
            response = await reader.read()
            writer.close()
            # RFC 6455 §4.2.2: an unsupported version gets 426 with the version we speak.
            assert response.startswith(b"HTTP/1.1 426 ")
            assert b"Sec-WebSocket-Version: 13" in response

    run(main())


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_oversized_request_head_gets_431(http: str) -> None:
    pytest.importorskip(http)

    async def main() -> None:
        async with running(echo, http=http) as (_, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                b"Cookie: " + b"x" * 17_000 + b"\r\n\r\n"
            )
            response = await reader.read()
            writer.close()
            # Past wsfast's 16 KiB bound on the head (uvicorn's HTTP layer let it through).
            assert response.startswith(b"HTTP/1.1 431 ")

    run(main())


# --- compression, scope, handshake -----------------------------------------------------------


def test_permessage_deflate_is_negotiated_with_uvicorns_settings() -> None:
    async def main() -> None:
        async with running(echo) as (server, port):
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                [extension] = ws.extensions
                assert extension.name == "permessage-deflate"
                assert ("server_max_window_bits", "12") in extension.params
                text = "compressible " * 2000
                await ws.send(text)
                assert await ws.recv() == text
                assert protocols(server)[0].conn.extensions == ws.extensions

    run(main())
    assert server_compression().mem_level == 5


def test_compression_off_when_ws_per_message_deflate_is_false() -> None:
    async def main() -> None:
        async with running(echo, ws_per_message_deflate=False) as (_, port):
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                assert ws.extensions == ()
                await ws.send("x" * 5000)
                assert await ws.recv() == "x" * 5000

    run(main())


def test_scope_fields_and_subprotocol() -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "chat.v2"})
        await receive()

    async def main() -> None:
        async with running(app, root_path="/api") as (_, port):
            url = f"ws://127.0.0.1:{port}/a%20b/c?x=1&y=%20"
            async with connect(url, subprotocols=["chat.v1", "chat.v2"]) as ws:
                assert ws.subprotocol == "chat.v2"

    run(main())
    [scope] = scopes
    assert scope["type"] == "websocket"
    assert scope["asgi"]["spec_version"] == "2.4"
    assert scope["scheme"] == "ws"
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/a b/c"
    assert scope["raw_path"] == b"/api/a%20b/c"
    assert scope["query_string"] == b"x=1&y=%20"
    assert scope["subprotocols"] == ["chat.v1", "chat.v2"]
    assert scope["client"][0] == "127.0.0.1" and scope["server"][0] == "127.0.0.1"
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert "websocket.http.response" in scope["extensions"]


def test_denial_without_content_length_is_sent_with_one() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"entry"})

    async def main() -> None:
        async with running(app) as (_, port):
            with pytest.raises(InvalidStatus) as caught:
                await connect(f"ws://127.0.0.1:{port}/")
            response = caught.value
            assert response.status == 401
            assert response.headers["Content-Length"] == "8"
            assert response.body == b"no entry"

    run(main())


def test_denial_with_an_injected_header_is_refused() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"x-evil", b"a\r\nSet-Cookie: b")]
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b""})

    async def main() -> None:
        async with running(app) as (_, port):
            client = RawClient(port)
            await client.open()
            rejected = [e for e in client.events if type(e) is Rejected]
            # The headers are checked before anything is sent: the error ends in a 500.
            assert [e.status for e in rejected] == [500]
            assert b"Set-Cookie" not in b"".join(
                f"{n}: {v}".encode() for n, v in rejected[0].headers
            )

    run(main())


# --- flow control and writes, in process -----------------------------------------------------


class RecordingTransport:
    """The transport calls the protocol makes, recorded."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.reading_paused = False
        self.pauses = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 8001)}.get(name)

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading_paused = True
        self.pauses += 1

    def resume_reading(self) -> None:
        self.reading_paused = False


def _connected_in_process(
    app: Any, compression: bool = False
) -> tuple[WebSocketProtocol, RecordingTransport, ClientConnection]:
    """Our protocol serving ``app``, connected to a recording transport, and a sans-IO client
    that has not sent its request yet; with ``compression``, both sides do permessage-deflate."""
    config = Config(
        app=app, ws=WebSocketProtocol, lifespan="off", ws_per_message_deflate=compression
    )
    config.load()
    protocol = WebSocketProtocol(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    client = ClientConnection("ws://127.0.0.1/", compression=True if compression else None)
    protocol.connection_made(transport)
    return protocol, transport, client


async def _send_request(protocol: WebSocketProtocol, client: ClientConnection) -> None:
    """The client's opening handshake to the protocol; the application runs a few steps."""
    protocol.data_received(b"".join(client.data_to_send()))
    for _ in range(20):
        await asyncio.sleep(0)


async def _open_in_process(
    app: Any, compression: bool = False
) -> tuple[WebSocketProtocol, RecordingTransport, ClientConnection]:
    """As :func:`_connected_in_process`, with the handshake done and its response taken."""
    protocol, transport, client = _connected_in_process(app, compression)
    await _send_request(protocol, client)
    client.receive_data(b"".join(transport.writes))
    transport.writes.clear()
    assert client.state.name == "OPEN"
    client.events()  # Accepted
    return protocol, transport, client


def _app_taking_one(got: list[dict[str, Any]]) -> Any:
    """An application that accepts, then puts the next event it receives in ``got``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        got.append(await receive())

    return app


def _held_app(release: asyncio.Event, on_text: Callable[[str, Any], Awaitable[None]]) -> Any:
    """An application that accepts, takes no message until ``release`` is set, then gives each
    text message to ``on_text(text, send)`` until the disconnect."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await release.wait()
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await on_text(message["text"], send)

    return app


def test_a_batch_of_echoes_goes_out_in_one_write_and_reads_pause_meanwhile() -> None:
    release = asyncio.Event()

    async def echo(text: str, send: Any) -> None:
        await send({"type": "websocket.send", "text": text})

    async def main() -> None:
        protocol, transport, client = await _open_in_process(_held_app(release, echo))
        for text in ("one", "two", "three"):
            client.send_text(text)
        protocol.data_received(b"".join(client.data_to_send()))
        # The application has not taken them: reading stops (TCP flow control).
        assert transport.reading_paused and transport.pauses == 1
        release.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not transport.reading_paused  # it took them all
        assert len(transport.writes) == 1  # three echoes, one system call
        client.receive_data(transport.writes[0])
        assert [e.data for e in client.events()] == ["one", "two", "three"]
        protocol.connection_lost(None)
        await asyncio.gather(*protocol.tasks)

    run(main())


def test_compressed_flood_inflates_a_budget_at_a_time() -> None:
    got: list[str] = []
    release = asyncio.Event()

    async def keep(text: str, send: Any) -> None:
        got.append(text)

    async def main() -> None:
        app = _held_app(release, keep)
        protocol, transport, client = await _open_in_process(app, compression=True)
        assert client.extensions, "permessage-deflate was not agreed"
        text = "a" * 100_000  # a few hundred bytes once compressed
        for _ in range(20):
            client.send_text(text)
        protocol.data_received(b"".join(client.data_to_send()))
        # 2 MB of text arrived in one read: no more than the budget (and one message) was
        # inflated; the rest waits, compressed, and reading is paused.
        assert 0 < len(protocol._queue) * len(text) <= INFLATE_BUDGET + len(text)
        assert protocol.conn.processing_paused and transport.reading_paused
        release.set()
        for _ in range(200):
            if len(got) == 20:
                break
            await asyncio.sleep(0)
        assert got == [text] * 20
        assert not transport.reading_paused
        protocol.connection_lost(None)
        await asyncio.gather(*protocol.tasks)

    run(main())


def test_send_waits_while_the_transport_is_paused() -> None:
    sent = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": b"late"})
        sent.set()
        await receive()

    async def main() -> None:
        protocol, transport, client = _connected_in_process(app)
        protocol.pause_writing()
        await _send_request(protocol, client)
        assert not sent.is_set()  # accept() itself waited: the buffer is full
        protocol.resume_writing()
        await asyncio.wait_for(sent.wait(), 5)
        client.receive_data(b"".join(transport.writes))
        events = client.events()
        assert events[-1].data == b"late"
        protocol.connection_lost(None)
        await asyncio.gather(*protocol.tasks)

    run(main())


def test_peer_close_answered_and_delivered_in_process() -> None:
    got: list[dict[str, Any]] = []

    async def main() -> None:
        protocol, transport, client = await _open_in_process(_app_taking_one(got))
        client.send_close(4000, "bye")
        protocol.data_received(b"".join(client.data_to_send()))
        await asyncio.gather(*protocol.tasks)
        client.receive_data(b"".join(transport.writes))
        assert [type(e) for e in client.events()] == [CloseReceived]
        assert transport.closed  # RFC 6455 §7.1.1: the server closes the TCP connection

    run(main())
    assert got == [{"type": "websocket.disconnect", "code": 4000, "reason": "bye"}]


def test_keepalive_timeout_in_process_reports_1011_to_the_app() -> None:
    got: list[dict[str, Any]] = []

    async def main() -> None:
        protocol, transport, client = await _open_in_process(_app_taking_one(got))
        protocol.ping_timeout = 0.0
        protocol._send_keepalive_ping()
        await asyncio.sleep(0.01)
        await asyncio.gather(*protocol.tasks)
        client.receive_data(b"".join(transport.writes))
        events = client.events()
        assert type(events[0]) is Ping
        assert type(events[-1]) in (CloseReceived, ConnectionFailed)
        assert transport.closed

    run(main())
    assert got == [
        {"type": "websocket.disconnect", "code": 1011, "reason": "keepalive ping timeout"}
    ]


# --- from uvicorn's command line -------------------------------------------------------------


def test_uvicorn_command_line_with_ws_option(tmp_path: Path) -> None:
    (tmp_path / "echo_app.py").write_text(
        textwrap.dedent(
            """
            async def app(scope, receive, send):
                if scope["type"] != "websocket":
                    return
                await receive()
                await send({"type": "websocket.accept"})
                while True:
                    message = await receive()
                    if message["type"] != "websocket.receive":
                        return
                    await send({"type": "websocket.send", "text": message["text"].upper()})
            """
        )
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "uvicorn", "echo_app:app", "--app-dir", str(tmp_path),
        "--port", str(port), "--ws", "wsfast.uvicorn:WebSocketProtocol", "--lifespan", "off",
    ]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.05)

        async def talk() -> str:
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("hello")
                answer: str = await ws.recv()  # type: ignore[assignment]
                return answer

        assert run(talk()) == "HELLO"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert '"WebSocket /" [accepted]' in stderr
