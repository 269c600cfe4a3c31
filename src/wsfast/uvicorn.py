"""uvicorn's WebSocket protocol on wsfast (``--ws wsfast.uvicorn:WebSocketProtocol``).

:class:`WebSocketProtocol` is a complete uvicorn WebSocket protocol, like uvicorn's own
``websockets-sansio`` and ``wsproto`` implementations, built on wsfast's sans-IO
:class:`~wsfast.connection.ServerConnection`. uvicorn's HTTP protocol (h11 or httptools) hands it
the transport and the upgrade request; it answers the handshake, runs the ASGI application
(WebSocket spec 2.4, with the ``websocket.http.response`` denial extension) and moves messages
between the transport and the application. Select it with any of::

    uvicorn app:app --ws wsfast.uvicorn:WebSocketProtocol
    uvicorn.run(app, ws="wsfast.uvicorn:WebSocketProtocol")
    uvicorn.Config(app, ws=WebSocketProtocol)

uvicorn's options are honoured: ``ws_max_size`` (the largest message, after decompression: a larger
one closes the connection with 1009), ``ws_ping_interval`` / ``ws_ping_timeout`` (keepalive Pings;
no Pong in time closes with 1011), ``ws_per_message_deflate`` (permessage-deflate with a 4 KiB
window and zlib ``mem_level`` 5, as uvicorn's websockets-sansio implementation offers), the
server's default headers (``server``, ``date``) and ``root_path``. Reading stops as soon as a
read leaves messages the application has not taken, and resumes when it has taken them all (as in
uvicorn's websockets-sansio and wsproto implementations), so at most one read's worth of messages
waits: ``ws_max_queue``, which only uvicorn's legacy ``websockets`` implementation uses, is not
needed.

The per-message path is kept to what ASGI requires: the sans-IO layer appends each message's
data (``str`` or ``bytes``) to the queue, :meth:`~WebSocketProtocol.receive` wraps it in the event
dict, and the frames :meth:`~WebSocketProtocol.send` produces while the application still has
messages to take are written together, in one system call, once it has taken them (or at the
latest in the next step of the event loop).

Importing this module imports uvicorn; the rest of wsfast does not.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from typing import Any
from urllib.parse import unquote

from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)

from ._state import State
from .connection import ServerConnection
from .events import CloseReceived, ConnectionFailed, HandshakeFailed, Pong, Request
from .exceptions import InvalidState
from .extensions import PerMessageDeflate
from .http11 import build_rejection_head, check_header

__all__ = [
    "CLOSE_TIMEOUT",
    "INFLATE_BUDGET",
    "PENDING_FAILURE_DELAY",
    "WebSocketProtocol",
    "server_compression",
]

#: uvicorn's TRACE log level (``uvicorn.logging.TRACE_LOG_LEVEL``).
_TRACE = 5

#: Seconds to wait for the peer's Close after ours before closing the transport (RFC 6455 §7.1.1).
CLOSE_TIMEOUT = 10.0

#: Longest wait, in seconds, of a peer's violation behind messages the application has not taken.
PENDING_FAILURE_DELAY = 1.0

#: Bytes one read may inflate before the rest waits, compressed, for the application.
INFLATE_BUDGET = 256 * 1024

# What the application may do next (ASGI WebSocket spec): answer the handshake, go on with a
# denial response it started, exchange messages, or nothing (it closed, or the peer is gone).
_HANDSHAKE = 0
_RESPONDING = 1
_OPEN = 2
_DONE = 3

_CONNECTING = State.CONNECTING


def server_compression() -> PerMessageDeflate:
    """The permessage-deflate settings used when uvicorn's ``ws_per_message_deflate`` is on: a
    4 KiB window (12 bits) for our compressor and, when the client lets us choose, for the
    client's, and zlib ``mem_level`` 5 (those of uvicorn's websockets-sansio implementation)."""
    return PerMessageDeflate(server_max_window_bits=12, client_max_window_bits=12, mem_level=5)


class WebSocketProtocol(asyncio.Protocol):
    """A uvicorn WebSocket protocol on wsfast (see the module docstring).

    uvicorn's HTTP protocol constructs it with ``config``, ``server_state`` and ``app_state``,
    calls :meth:`connection_made` with the transport, then :meth:`data_received` with the
    upgrade request. One instance serves one connection; it registers itself in
    ``server_state.connections`` and its application task in ``server_state.tasks``, so that
    uvicorn's graceful shutdown (:meth:`shutdown`: a Close with 1012) reaches it.
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        #: The uvicorn ``Config``.
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path: str = config.root_path
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers: list[tuple[bytes, bytes]] = server_state.default_headers

        #: The transport, from :meth:`connection_made`.
        self.transport: Any = None
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "ws"
        #: The ASGI scope, once the upgrade request was received.
        self.scope: dict[str, Any] = {}

        compression = server_compression() if config.ws_per_message_deflate else None
        #: The sans-IO connection.
        self.conn = ServerConnection(max_message_size=config.ws_max_size, compression=compression)
        # Deflate expands up to about 1 000 times: one read of compressed messages inflates at
        # most this much before processing waits for the application to take them.
        self.conn.inflate_budget = INFLATE_BUDGET
        # What receive() hands out, in order: the data of messages (str, bytes), appended by the
        # sans-IO layer, and the ASGI events (dicts) of the connection's life.
        self._queue: collections.deque[Any] = collections.deque()
        self.conn.message_queue = self._queue
        self._receive_waiter: asyncio.Future[None] | None = None
        self._phase = _HANDSHAKE
        self._accepted = False
        self._app_closed = False  # the application sent websocket.close
        self._disconnected = False
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._flush_scheduled = False
        self._failure_timer: asyncio.TimerHandle | None = None
        # A denial response (websocket.http.response): status and headers until the head is
        # written, the body buffered when the application gave no Content-Length.
        self._denial: tuple[int, list[tuple[str, str]]] | None = None
        self._denial_body: list[bytes] | None = None

        #: Seconds to wait for the peer's Close after ours (RFC 6455 §7.1.1).
        self.close_timeout = CLOSE_TIMEOUT
        #: The timer that closes the transport if the peer does not answer our Close.
        self.close_timer: asyncio.TimerHandle | None = None
        self.ping_interval: float | None = config.ws_ping_interval
        self.ping_timeout: float | None = config.ws_ping_timeout
        #: The timer of the next keepalive Ping (None when keepalive is off or not started).
        self.ping_timer: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None
        self.pending_ping_payload: bytes | None = None
        #: Loop time of the last keepalive Ping (0.0 before the first).
        self.ping_sent_at = 0.0
        #: Round trip of the last answered keepalive Ping, in seconds.
        self.last_ping_rtt = 0.0

    # --- the transport's side ------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        """Takes the transport uvicorn's HTTP protocol upgraded."""
        self.connections.add(self)
        self.transport = transport
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "wss" if is_ssl(transport) else "ws"
        if self.logger.level <= _TRACE:
            self.logger.log(_TRACE, "%sWebSocket connection made", self._log_prefix())

    def _log_prefix(self) -> str:
        client = self.client
        return f"{client[0]}:{client[1]} - " if client else ""

    def data_received(self, data: bytes) -> None:
        """Feeds the sans-IO connection; hands what it produced to the application."""
        self.conn.receive_data(data)
        self._after_receive()

    def _after_receive(self) -> None:
        conn = self.conn
        events = conn.events()
        if events:
            self._handle_events(events)
        if conn.pending_failure is not None and self._failure_timer is None:
            # The peer broke the protocol behind complete messages (RFC 6455 §7.1.7): they are
            # the application's to take and answer first — the connection fails once it has
            # taken them (the sans-IO layer sees to it), or after PENDING_FAILURE_DELAY.
            self._failure_timer = self.loop.call_later(PENDING_FAILURE_DELAY, self._fail_now)
        queue = self._queue
        if queue:
            waiter = self._receive_waiter
            if waiter is not None:
                self._receive_waiter = None
                if not waiter.done():
                    waiter.set_result(None)
            if not self._reading_paused and self._phase == _OPEN:
                # The application is behind by a read: let TCP flow control slow the peer down.
                self._reading_paused = True
                self.transport.pause_reading()
        self._flush()

    def _handle_events(self, events: list[Any]) -> None:
        for event in events:
            kind = type(event)
            if kind is Pong:
                self._pong_received(event.data)
            elif kind is CloseReceived:
                self._close_received(event.code, event.reason)
            elif kind is ConnectionFailed:
                self._stop_keepalive()
                if self._phase == _OPEN:
                    self._phase = _DONE
                    code, reason = event.code, event.reason
                    self._put({"type": "websocket.disconnect", "code": code, "reason": reason})
            elif kind is Request:
                self._request_received(event)
            elif kind is HandshakeFailed:
                # The sans-IO layer queued the error response (400, 426 ...).
                self._phase = _DONE
            # Ping: the connection queued the Pong (RFC 6455 §5.5.2). Messages that arrive as
            # events (not through the queue) came after the application's Close: discarded.

    def _close_received(self, code: int, reason: str) -> None:
        self._stop_keepalive()
        if self._phase == _OPEN:
            # The peer started the closing handshake; the connection queued our answer.
            self._phase = _DONE
            self._put({"type": "websocket.disconnect", "code": code, "reason": reason})
        # Otherwise this answers our Close: the handshake is complete, the transport closes.
        timer = self.close_timer
        if timer is not None:
            timer.cancel()
            self.close_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport is closed: the application gets ``websocket.disconnect``."""
        self._stop_keepalive()
        code = 1005 if self._accepted else 1006
        self._phase = _DONE
        self._disconnected = True
        self._put({"type": "websocket.disconnect", "code": code})
        self.connections.discard(self)
        if self.logger.level <= _TRACE:
            self.logger.log(_TRACE, "%sWebSocket connection lost", self._log_prefix())
        # A send() waiting for the buffer to drain would wait forever: the loop does not call
        # resume_writing() on a transport lost while paused.
        self._wake_drain()
        for timer in (self.close_timer, self._failure_timer):
            if timer is not None:
                timer.cancel()
        self.close_timer = self._failure_timer = None
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        """The peer closed its side: the transport closes (returns None)."""

    def pause_writing(self) -> None:
        """The transport's buffer is above its high-water mark: ``send()`` waits."""
        self._writing_paused = True

    def resume_writing(self) -> None:
        """The transport's buffer drained: waiting ``send()`` calls go on."""
        self._writing_paused = False
        self._wake_drain()

    def _wake_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a Close with 1012 (Service Restart, RFC 6455 §7.4.1
        registry) on an open connection, 500 to a handshake not answered yet."""
        self._stop_keepalive()
        if self._phase == _OPEN:
            self._phase = _DONE
            self._put({"type": "websocket.disconnect", "code": 1012})
            try:
                self.conn.send_close(1012)
            except InvalidState:
                pass  # the closing handshake is under way
            self._flush()
        elif self._phase == _HANDSHAKE:
            self._send_500_response()
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        self.transport.close()

    # --- the opening handshake -----------------------------------------------------------------

    def _request_received(self, request: Request) -> None:
        raw_path, _, query_string = request.target.partition("?")
        root_path = self.root_path
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers
        ]
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root_path,
            "path": root_path + unquote(raw_path),
            "raw_path": root_path.encode("latin-1") + raw_path.encode("latin-1"),
            "query_string": query_string.encode("latin-1"),
            "headers": headers,
            "subprotocols": list(request.subprotocols),
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self._put({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _accept(self, message: Any) -> None:
        self.logger.info(
            '%s - "WebSocket %s" [accepted]',
            get_client_addr(self.scope),  # type: ignore[arg-type]
            get_path_with_query_string(self.scope),  # type: ignore[arg-type]
        )
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in (*self.default_headers, *(message.get("headers") or ()))
        ]
        if self.transport.is_closing():
            return
        self.conn.accept(subprotocol=message.get("subprotocol"), extra_headers=headers)
        self._phase = _OPEN
        self._accepted = True
        # Frames the client sent right behind its request were processed by accept().
        self._after_receive()
        if self.ping_interval is not None and self.ping_interval > 0:
            self._schedule_ping()

    def _reject_403(self) -> None:
        self.logger.info(
            '%s - "WebSocket %s" 403',
            get_client_addr(self.scope),  # type: ignore[arg-type]
            get_path_with_query_string(self.scope),  # type: ignore[arg-type]
        )
        self._phase = _DONE
        self._app_closed = True
        self._put({"type": "websocket.disconnect", "code": 1006})
        self.conn.reject(403)
        self._flush()
        self.transport.close()

    def _send_500_response(self) -> None:
        conn = self.conn
        if self._phase != _HANDSHAKE or conn.state is not _CONNECTING or conn.request is None:
            return
        self._phase = _DONE
        conn.reject(500, [("Content-Type", "text/plain; charset=utf-8")], b"Internal Server Error")
        self._flush()

    # --- the denial response (ASGI websocket.http.response extension) --------------------------

    def _start_denial(self, message: Any) -> None:
        status = message["status"]
        if not 200 <= status < 600:
            raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in message.get("headers") or ()
        ]
        for name, value in headers:
            check_header(name, value)  # no header injection: ValueError, and a 500 instead
        self.logger.info(
            '%s - "WebSocket %s" %d',
            get_client_addr(self.scope),  # type: ignore[arg-type]
            get_path_with_query_string(self.scope),  # type: ignore[arg-type]
            status,
        )
        self._phase = _RESPONDING
        if any(name.lower() == "content-length" for name, _ in headers):
            # The length is known: the head goes now, the body as it comes.
            self._write(build_rejection_head(status, headers, None))
        else:
            self._denial = (status, headers)
            self._denial_body = []

    def _denial_body_part(self, message: Any) -> None:
        body = bytes(message.get("body", b""))
        more = message.get("more_body", False)
        parts = self._denial_body
        if parts is None:
            if body:
                self._write(body)
        else:
            parts.append(body)
        if more:
            return
        self._end_denial()

    def _end_denial(self) -> None:
        denial, parts = self._denial, self._denial_body
        self._denial = self._denial_body = None
        if denial is not None and parts is not None:
            body = b"".join(parts)
            self._write(build_rejection_head(denial[0], denial[1], len(body)) + body)
        self._phase = _DONE
        self._put({"type": "websocket.disconnect", "code": 1006})
        self.transport.close()

    # --- the application's side ----------------------------------------------------------------

    async def run_asgi(self) -> None:
        """Runs the ASGI application for this connection, then closes the transport (unless the
        closing handshake it started is still under way)."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self._send_500_response()
        else:
            if self._phase == _HANDSHAKE:
                self.logger.error("ASGI callable returned without completing handshake.")
                self._send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self._phase == _RESPONDING and self._denial is not None:
            self._end_denial()  # the application never finished its body: send what it gave
        if self.close_timer is None:
            self._flush()
            self.transport.close()

    async def receive(self) -> Any:
        """ASGI ``receive``: ``websocket.connect``, ``websocket.receive`` (``text`` or
        ``bytes``), ``websocket.disconnect`` (``code``, ``reason``)."""
        queue = self._queue
        while not queue:
            # The application has taken everything: what it sent meanwhile goes out now.
            self._flush()
            waiter = self._receive_waiter
            if waiter is None:
                waiter = self._receive_waiter = self.loop.create_future()
            await waiter
        item = queue.popleft()
        if not queue and self._reading_paused:
            self._resume_reading()
        kind = type(item)
        if kind is str:
            return {"type": "websocket.receive", "text": item}
        if kind is bytes:
            return {"type": "websocket.receive", "bytes": item}
        return item

    def _resume_reading(self) -> None:
        """The application took every queued message: go on with the frames held back when the
        inflate budget was spent, then with reading."""
        conn = self.conn
        while conn.processing_paused:
            conn.resume_processing()
            self._after_receive()
            if self._queue:
                return  # more messages for the application: reading stays paused
        self._reading_paused = False
        if not self._disconnected:
            self.transport.resume_reading()

    async def send(self, message: Any) -> None:
        """ASGI ``send``: ``websocket.accept`` / ``websocket.close`` /
        ``websocket.http.response.start`` before the handshake is answered, then
        ``websocket.send`` and ``websocket.close``, or ``websocket.http.response.body``."""
        while self._writing_paused and not self._disconnected:
            waiter = self._drain_waiter
            if waiter is None:
                waiter = self._drain_waiter = self.loop.create_future()
            await waiter
        if self._disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        phase = self._phase
        if phase == _OPEN:
            if kind == "websocket.send":
                self._send_message(message)
            elif kind == "websocket.close":
                self._close(message)
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.send' or 'websocket.close', "
                    f"but got '{kind}'."
                )
        elif phase == _HANDSHAKE:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self._reject_403()
            elif kind == "websocket.http.response.start":
                self._start_denial(message)
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.accept', 'websocket.close' "
                    f"or 'websocket.http.response.start' but got '{kind}'."
                )
        elif phase == _RESPONDING:
            if kind != "websocket.http.response.body":
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
                )
            self._denial_body_part(message)
        elif not self._app_closed:
            # The peer closed, the connection failed or the server is shutting down: as if the
            # connection were lost.
            raise ClientDisconnected()
        else:
            raise RuntimeError(
                f"Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            )

    def _send_message(self, message: Any) -> None:
        conn = self.conn
        data = message.get("bytes")
        try:
            if data is not None:
                conn.send_binary(data)
            else:
                text = message.get("text")
                if text is None:
                    return
                conn.send_text(text)
        except InvalidState:
            raise ClientDisconnected() from None
        if self._queue:
            # The application has more messages to take (an echo answers a batch): its frames
            # go out together when it has taken them, or in the next step of the loop.
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)
        else:
            self._flush()

    def _close(self, message: Any) -> None:
        if self.transport.is_closing():
            return
        code = message.get("code") or 1000
        reason = message.get("reason") or ""
        try:
            self.conn.send_close(code, reason)
        except InvalidState:
            raise ClientDisconnected() from None
        self._phase = _DONE
        self._app_closed = True
        self._stop_keepalive()
        self._put({"type": "websocket.disconnect", "code": code, "reason": reason})
        # Messages that arrive before the peer's Close are discarded (they come as events).
        conn = self.conn
        conn.message_queue = None
        while conn.processing_paused:
            conn.resume_processing()  # the peer's Close may be among the frames held back
            self._handle_events(conn.events())
        self._flush()
        if self._reading_paused:
            # The peer's Close must still be read.
            self._reading_paused = False
            self.transport.resume_reading()
        if not self.transport.is_closing():
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)

    # --- writing ---------------------------------------------------------------------------------

    def _put(self, event: dict[str, Any]) -> None:
        self._queue.append(event)
        waiter = self._receive_waiter
        if waiter is not None:
            self._receive_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _fail_now(self) -> None:
        """The application left the messages before a peer's violation untaken too long."""
        self._failure_timer = None
        failure = self.conn.pending_failure
        if failure is not None:
            self.conn.fail(failure[0], failure[1])
            self._flush()

    def _flush(self) -> None:
        """Writes what the sans-IO connection has to send; closes the transport when it says."""
        self._flush_scheduled = False
        conn = self.conn
        out = conn.data_to_send()
        if out:
            self._write(out[0] if len(out) == 1 else b"".join(out))
        if conn.should_close_transport:
            # A pending failure may have taken effect just now (see _after_receive).
            events = conn.events()
            if events:
                self._handle_events(events)
            if self._failure_timer is not None:
                self._failure_timer.cancel()
                self._failure_timer = None
            timer = self.close_timer
            if timer is not None:
                timer.cancel()
                self.close_timer = None
            self.transport.close()

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if not transport.is_closing():
            transport.write(data)

    # --- keepalive -------------------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay, self._send_keepalive_ping)

    def _send_keepalive_ping(self) -> None:
        self.ping_timer = None
        if self._phase != _OPEN or self.transport.is_closing():
            return
        # A random payload tells the answer to this Ping from stale or unsolicited Pongs.
        payload = os.urandom(4)
        self.pending_ping_payload = payload
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(payload)
        self._flush()
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.ping_timeout, self._keepalive_timed_out)
        else:
            self._schedule_ping()

    def _pong_received(self, data: bytes) -> None:
        if self.pending_ping_payload is None or bytes(data) != self.pending_ping_payload:
            return
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        self.pending_ping_payload = None
        if self.pong_timer is not None:
            # Without a timeout, the next Ping is already scheduled.
            self.pong_timer.cancel()
            self.pong_timer = None
            self._schedule_ping()

    def _keepalive_timed_out(self) -> None:
        self.pong_timer = None
        self.pending_ping_payload = None
        if self._phase != _OPEN or self.transport.is_closing():
            return
        if self.logger.level <= _TRACE:
            self.logger.log(_TRACE, "%sWebSocket keepalive ping timeout", self._log_prefix())
        # RFC 6455 §7.4.1: 1011, the server cannot go on.
        self._phase = _DONE
        self._put(
            {"type": "websocket.disconnect", "code": 1011, "reason": "keepalive ping timeout"}
        )
        self.conn.fail(1011, "keepalive ping timeout")
        self._flush()
        self.transport.close()

    def _stop_keepalive(self) -> None:
        if self.ping_timer is not None:
            self.ping_timer.cancel()
            self.ping_timer = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
        self.pending_ping_payload = None
