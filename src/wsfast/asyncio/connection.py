"""The asyncio WebSocket connection, shared by clients and servers: a thin layer over the sans-IO
:mod:`wsfast.connection`.

:class:`WebSocket` is at once the ``asyncio.BufferedProtocol`` of the transport and the object the
application uses (``await ws.send()``, ``await ws.recv()``, ``async for message in ws``), so that
a connection costs as few Python objects as possible (servers hold thousands).

Reading: the event loop reads straight into a buffer shared by every connection of the thread
(``get_buffer``/``buffer_updated`` run back to back in one loop step, so no connection can see
another's bytes; the proactor loop, which keeps the buffer across steps, gets one per connection),
and the bytes go to the compiled frame parser without a copy. Messages wait in a queue of at most
``max_queue``; when it is full the transport stops reading, which lets TCP flow control slow the
peer down.

Writing: a server's large frames go to the transport as (header, payload) pieces without copying
the payload where ``writelines()`` is vectored (asyncio since 3.12, uvloop), joined into one write
up to 256 KiB elsewhere; ``send()`` waits (drains) while the transport's buffer is above
``write_limit``.

What runs for every message (the read callbacks, ``recv()``, ``async for``, ``send()``,
``send_nowait()``, the callback dispatch and the writes) is in the base class
:class:`~wsfast._core_py.ProtocolCore`: compiled (``wsfast._core``) or its pure-Python twin. It
calls the sans-IO connection's own compiled core directly. This module holds the rest: opening
and closing, timers, keepalive, flow control, fragments, errors.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from .. import _speedups
from ..connection import ClientConnection, InvalidState, ServerConnection, State
from ..events import (
    CloseReceived,
    ConnectionFailed,
    Ping,
    Pong,
)
from ..events import (
    ConnectionClosed as ConnectionClosedEvent,
)
from ..exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    WebSocketError,
)
from ..http11 import Headers

if TYPE_CHECKING:
    from .._core_py import ProtocolCore
else:
    ProtocolCore = _speedups.load("core").ProtocolCore

__all__ = [
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "Data",
    "InvalidHandshake",
    "InvalidStatus",
    "WebSocket",
]

Data = str | bytes

_OPEN = State.OPEN
_CLOSING = State.CLOSING
_CLOSED = State.CLOSED
_CONNECTING = State.CONNECTING

#: Size of the read buffer shared by the connections of one thread.
READ_BUFFER_SIZE = 256 * 1024
#: Size of a per-connection read buffer (proactor loops only).
OWN_READ_BUFFER_SIZE = 64 * 1024

#: Close codes after which a closed connection counts as closed normally (RFC 6455 §7.4.1).
_OK_CODES = frozenset({1000, 1001, 1005})

#: Longest delay of a protocol failure behind messages the application has not taken yet.
_DEFERRED_FAILURE_DELAY = 1.0


class InvalidHandshake(WebSocketError):
    """The opening handshake failed (RFC 6455 §4): invalid response, or connection lost."""


class InvalidStatus(InvalidHandshake):
    """The server answered the opening handshake with ``status`` instead of 101; ``headers``
    and ``body`` are those of its response."""

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        super().__init__(f"server rejected the WebSocket connection: HTTP {status} {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class _ThreadBuffer(threading.local):
    """The read buffer shared by the connections of the current thread."""

    def __init__(self) -> None:
        self.view: memoryview | None = None

    def get(self) -> memoryview:
        view = self.view
        if view is None:
            view = self.view = memoryview(bytearray(READ_BUFFER_SIZE))
        return view


_thread_buffer = _ThreadBuffer()

logger = logging.getLogger("wsfast.asyncio")


#: The selector transport's writelines() writes with one sendmsg() since CPython 3.12 (it joined
#: the pieces before).
_SELECTOR_WRITELINES_VECTORED = sys.version_info >= (3, 12)


def _writes_vectored(transport: Any) -> bool:
    """True when ``transport.writelines()`` writes its pieces without joining them: asyncio's
    transports since 3.12, uvloop's."""
    return _SELECTOR_WRITELINES_VECTORED or type(transport).__module__.startswith("uvloop.")


def _loop_reads_synchronously(loop: asyncio.AbstractEventLoop) -> bool:
    """True when the loop calls get_buffer() and buffer_updated() in the same step (selector
    loops, uvloop); False for the proactor loop, which reads into the buffer in the background."""
    proactor = getattr(asyncio, "ProactorEventLoop", None)
    return proactor is None or not isinstance(loop, proactor)


#: Bytes the protocol may queue on its own (Pongs, a Close) while the peer does not read what we
#: write, before we stop reading from it.
_AUTO_BACKLOG_LIMIT = 256 * 1024

#: Bytes the sans-IO layer may inflate per read before the rest of the read waits as its backlog
#: (Connection.inflate_budget): without it, one 64 KiB read of well-compressed messages queued
#: hundreds of MiB, whatever max_queue said.
_INFLATE_BUDGET = 256 * 1024


class WebSocket(ProtocolCore, asyncio.BufferedProtocol):
    """One WebSocket connection, client or server side.

    Created by :func:`wsfast.asyncio.connect` and :func:`wsfast.asyncio.serve`, not directly.

    - ``await ws.recv()`` returns the next message (``str`` for text, ``bytes`` for binary);
      ``async for message in ws`` iterates until the connection closes normally (and raises
      :class:`ConnectionClosedError` if it closes with an error).
    - ``await ws.send(message)`` sends a ``str`` as text, a bytes-like object as binary, or an
      iterable of them as one fragmented message; it waits while the transport's buffer is full.
    - ``await ws.ping(data)`` sends a Ping and returns the round-trip time when the Pong arrives.
    - ``await ws.close(code, reason)`` performs the closing handshake and waits for the end.
    - Callback style, for the lowest cost per message: ``ws.on_message = callback`` hands each
      message to ``callback(message)`` as soon as it is parsed, in the event loop's read
      callback, instead of queueing it for ``recv()``; ``ws.send_nowait(message)`` sends without
      a coroutine. ``ws.on_message = ws.send_nowait`` is an echo server.
    - ``close_code``/``close_reason`` once closed; ``subprotocol``, ``request_headers``,
      ``response_headers``, ``path``, ``remote_address``.
    """

    _conn: ServerConnection | ClientConnection
    _messages: collections.deque[Data]
    _on_message: Callable[[Data], object] | None

    __slots__ = (
        "__weakref__",
        "_auto_backlog",
        "_close_timer",
        "_closed_waiter",
        "_drain_waiter",
        "_draining_backlog",
        "_keepalive_payload",
        "_keepalive_timer",
        "_lost_exc",
        "_on_open",
        "_open_waiter",
        "_pings",
        "_reading_paused_by_writes",
        "_resume_at",
        "_write_limit",
        "close_timeout",
        "handler_task",
        "ping_interval",
        "ping_timeout",
        "request",
        "response",
        "server",
    )

    def __init__(
        self,
        conn: ServerConnection | ClientConnection,
        *,
        max_queue: int | None = 16,
        write_limit: int = 64 * 1024,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float | None = 10.0,
        on_open: Callable[[WebSocket], None] | None = None,
    ) -> None:
        self._conn = conn
        self._loop = asyncio.get_running_loop()
        self._transport = None
        self._vectored_writes = False
        self._read_view = None
        self._messages = collections.deque()
        # The sans-IO layer appends complete messages here itself (no event object each).
        conn.message_queue = self._messages
        conn.inflate_budget = _INFLATE_BUDGET
        #: True while _maybe_resume_reading() works through the sans-IO layer's backlog.
        self._draining_backlog = False
        self._max_queue = max_queue
        self._resume_at = 0 if max_queue is None else max(max_queue // 4, 0)
        self._reading_paused = False
        self._recv_waiter = None
        self._write_limit = write_limit
        self._writing_paused = False
        self._reading_paused_by_writes = False
        self._auto_backlog = 0
        self._drain_waiter: asyncio.Future[None] | None = None
        #: Small frames queued by _write_soon(), written together (None when there are none).
        self._pending = None
        #: True from a send() to the next recv(): a second send() in a row coalesces.
        self._sent_since_recv = False
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] | None = None
        self._open_waiter: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._failure_timer = None
        self._keepalive_timer: asyncio.TimerHandle | None = None
        self._keepalive_payload: bytes | None = None
        #: Set by every read; cleared when a keepalive Ping is sent.
        self._rx_seen = False
        #: Set by every write; cleared after a keepalive Ping is sent.
        self._tx_seen = False
        self._lost_exc: BaseException | None = None
        self._on_open = on_open
        #: Callback style: takes every message instead of the queue (see :attr:`on_message`).
        self._on_message = None
        #: True while on_message runs: send_nowait() then leaves its frames to the read callback,
        #: which writes the answers to a whole read at once.
        self._dispatching = False
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        #: Server side: the :class:`wsfast.events.Request` event (path, headers, origin ...).
        self.request: Any = None
        #: Client side: the :class:`wsfast.events.Accepted` event (headers, extensions ...).
        self.response: Any = None
        #: Server side: the :class:`~wsfast.asyncio.server.Server`; the handler's task.
        self.server: Any = None
        self.handler_task: asyncio.Task[None] | None = None

    # --- public properties -------------------------------------------------------------------

    @property
    def state(self) -> State:
        """CONNECTING, OPEN, CLOSING or CLOSED (RFC 6455 §4, §7)."""
        return self._conn.state

    @property
    def open(self) -> bool:
        """True while messages can be sent."""
        return self._conn.state is _OPEN

    @property
    def closed(self) -> bool:
        """True once the transport is closed."""
        return self._conn.state is _CLOSED

    @property
    def close_code(self) -> int | None:
        """The close code (RFC 6455 §7.1.5) once the peer's Close arrived or the connection was
        lost (1006); None before."""
        return self._conn.close_code

    @property
    def close_reason(self) -> str | None:
        """The close reason (RFC 6455 §7.1.6); None before the close."""
        return None if self._conn.close_code is None else self._conn.close_reason

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol agreed in the opening handshake, or None."""
        return self._conn.subprotocol

    @property
    def extensions(self) -> tuple[Any, ...]:
        """The extensions in use, with their agreed parameters."""
        return self._conn.extensions

    @property
    def request_headers(self) -> Headers | None:
        """The opening handshake's request headers (server side)."""
        return self.request.headers if self.request is not None else None

    @property
    def response_headers(self) -> Headers | None:
        """The opening handshake's response headers (client side)."""
        return self.response.headers if self.response is not None else None

    @property
    def path(self) -> str | None:
        """The request-target of the opening handshake (server side): path and query."""
        return self.request.target if self.request is not None else None

    @property
    def remote_address(self) -> Any:
        """The peer's address (``transport.get_extra_info("peername")``)."""
        return self._transport.get_extra_info("peername") if self._transport else None

    @property
    def local_address(self) -> Any:
        """Our address (``transport.get_extra_info("sockname")``)."""
        return self._transport.get_extra_info("sockname") if self._transport else None

    @property
    def transport(self) -> Any:
        """The asyncio transport."""
        return self._transport

    # --- protocol callbacks -----------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self._vectored_writes = _writes_vectored(transport)
        if _loop_reads_synchronously(self._loop):
            self._read_view = _thread_buffer.get()
        else:
            self._read_view = memoryview(bytearray(OWN_READ_BUFFER_SIZE))
        transport.set_write_buffer_limits(high=self._write_limit)
        out = self._conn.data_to_send()  # the client's request
        if out:
            self._write(out)

    def _defer_failure(self) -> None:
        """The peer broke the protocol behind complete messages. The sans-IO layer fails the
        connection at the next data_to_send(): let the application take and answer those
        messages first (its sends flush the answers, then our Close; recv() on an empty queue
        flushes the Close), within a bounded delay (RFC 6455 §7.1.7 fails "as soon as
        practical"; Autobahn's strict behaviour echoes them)."""
        if self._failure_timer is None:
            self._failure_timer = self._loop.call_later(
                _DEFERRED_FAILURE_DELAY, self._flush_deferred_failure
            )

    def _backlogged(self) -> None:
        """The read inflated past the budget: stop reading while its rest waits, and go on with
        it at once if the application has room for more messages."""
        self._pause_reading()
        self._maybe_resume_reading()

    def _pause_reading(self) -> None:
        """Stops reading for the application's sake (queue full, or a backlog waits)."""
        if not self._reading_paused:
            self._reading_paused = True
            if not self._reading_paused_by_writes and self._transport is not None:
                self._transport.pause_reading()

    def _limit_auto_backlog(self, out: list[Any]) -> None:
        """Bounds what the protocol itself queues (Pongs, mostly) while the peer does not read.

        Application sends wait for the buffer to drain; automatic Pongs do not. A peer that floods
        us with Pings and never reads would otherwise grow our write buffer without bound. Past
        _AUTO_BACKLOG_LIMIT such bytes, stop reading until the buffer drains: the peer's own TCP
        window then throttles it. Only protocol-generated bytes count, so two peers that both
        send large messages while reading on another task never stop reading each other.
        """
        self._auto_backlog += sum(map(len, out))
        transport = self._transport
        if (
            self._auto_backlog > _AUTO_BACKLOG_LIMIT
            and not self._reading_paused_by_writes
            and transport is not None
        ):
            self._reading_paused_by_writes = True
            if not self._reading_paused:
                transport.pause_reading()

    def eof_received(self) -> bool:
        # The peer closed its side: close ours (no half-open WebSocket connections).
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lost_exc = exc
        conn = self._conn
        conn.receive_eof()
        events = conn.events()
        if events:
            self._process_events(events)
        conn.data_to_send()  # nothing can be written any more
        self._cancel_timers()
        closed = self._closed_exception()
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._pings:
            for future, _ in self._pings.values():
                if not future.done():
                    future.set_exception(closed)
                    future.exception()  # nobody may await it: don't log "never retrieved"
            self._pings = None
        waiter = self._open_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        waiter = self._closed_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._read_view = None
        self._pending = None
        if self.server is not None:
            self.server._connection_lost(self)

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._auto_backlog = 0

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._reading_paused_by_writes:
            self._reading_paused_by_writes = False
            transport = self._transport
            if transport is not None and not self._reading_paused:
                transport.resume_reading()
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # --- events ------------------------------------------------------------------------------

    def _process_events(self, events: list[Any]) -> None:
        """Control and handshake events, then the messages the sans-IO layer queued."""
        messages = self._messages
        for event in events:
            kind = type(event)
            if kind is Ping:
                pass  # the connection queued the Pong (RFC 6455 §5.5.2)
            elif kind is Pong:
                self._pong_received(event.data)
            elif kind is CloseReceived:
                if self._conn.is_client and self.close_timeout is not None:
                    # RFC 6455 §7.1.1: the server closes the TCP connection first; give it time.
                    self._start_close_timer()
            elif kind is ConnectionFailed or kind is ConnectionClosedEvent:
                pass  # seen through the connection's state
            else:
                self._handshake_event(event)
        if messages:
            self._messages_arrived()

    def _handshake_event(self, event: Any) -> None:
        """Opening handshake events: overridden by the client and server subclasses."""

    def _opened(self) -> None:
        """The connection is OPEN: start the keepalive pings."""
        if self.ping_interval is not None:
            self._keepalive_timer = self._loop.call_later(self.ping_interval, self._keepalive)
        waiter = self._open_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._on_open is not None:
            self._on_open(self)

    # --- writing ----------------------------------------------------------------------------

    async def _drain(self) -> None:
        while self._writing_paused and self._conn.state is not _CLOSED:
            waiter = self._drain_waiter
            if waiter is None:
                waiter = self._drain_waiter = self._loop.create_future()
            await waiter

    def _flush_deferred_failure(self) -> None:
        self._failure_timer = None
        self._flush()

    def _close_transport(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            if self._pending is not None:
                self._write([])
            transport.close()
            if self.close_timeout is not None:
                # transport.close() waits for the buffer to drain; a peer that stopped reading
                # must not hold the connection forever.
                self._start_close_timer()

    def _start_close_timer(self) -> None:
        if self._close_timer is None and self.close_timeout is not None:
            self._close_timer = self._loop.call_later(self.close_timeout, self._abort)

    def _abort(self) -> None:
        self._close_timer = None
        if self._transport is not None:
            self._transport.abort()

    def _cancel_timers(self) -> None:
        for timer in (self._close_timer, self._keepalive_timer, self._failure_timer):
            if timer is not None:
                timer.cancel()
        self._close_timer = self._keepalive_timer = self._failure_timer = None

    # --- closed -----------------------------------------------------------------------------

    def _closed_exception(self) -> ConnectionClosed:
        conn = self._conn
        code = conn.close_code if conn.close_code is not None else 1006
        sent = conn.close_sent
        ok = (
            code in _OK_CODES
            and conn.close_received is not None
            and (sent is None or sent[0] in _OK_CODES)
        )
        cls = ConnectionClosedOK if ok else ConnectionClosedError
        exc = cls(code, conn.close_reason, sent)
        if self._lost_exc is not None:
            exc.__cause__ = self._lost_exc
        return exc

    async def wait_closed(self) -> None:
        """Waits until the transport is closed."""
        if self._conn.state is _CLOSED:
            return
        waiter = self._closed_waiter
        if waiter is None:
            waiter = self._closed_waiter = self._loop.create_future()
        await asyncio.shield(waiter)

    # --- receiving --------------------------------------------------------------------------

    async def _recv_closed(self) -> ConnectionClosed:
        if self._conn.state is not _CLOSED:
            await self.wait_closed()
        return self._closed_exception()

    def _maybe_resume_reading(self) -> None:
        """Resumes reading once the application took enough of the queued messages, after
        what is left of the last read (the sans-IO layer's backlog) found room in the queue."""
        if (
            self._reading_paused
            and len(self._messages) <= self._resume_at
            and not self._draining_backlog  # the loop below is already on it
        ):
            conn = self._conn
            if conn.backlogged:
                max_queue = self._max_queue
                self._draining_backlog = True
                try:
                    while conn.backlogged and (
                        max_queue is None or len(self._messages) < max(max_queue, 1)
                    ):
                        conn.process_backlog()
                        self._after_receive()
                finally:
                    self._draining_backlog = False
                if conn.backlogged or len(self._messages) > self._resume_at:
                    return  # the queue filled up again: stay paused
            self._reading_paused = False
            if (
                not self._reading_paused_by_writes  # else resume_writing() resumes reading
                and self._transport is not None
                and self._conn.state is not _CLOSED
            ):
                self._transport.resume_reading()

    @property
    def on_message(self) -> Callable[[Data], object] | None:
        """Callback style: ``callback(message)`` for every message, called from the event loop's
        read callback as soon as the message is complete (messages already queued first, when
        it is set). Meanwhile ``recv()`` and ``async for`` are not available; ``None`` (the
        default) queues messages for them again.

        The callback must not block; it may call :meth:`send_nowait` (the answers to all the
        messages of one read go out in one write), start tasks, or close the connection. If it
        raises, the error is logged and the connection fails with 1011. There is no queue to
        fill in this style: a slow consumer should hand messages to a bounded queue of its own.
        Answers sent from the callback count as bytes the connection queues on its own (as
        Pongs do): while the peer does not read them, reading pauses past 256 KiB, so an echo
        server's memory stays bounded.
        """
        return self._on_message

    @on_message.setter
    def on_message(self, callback: Callable[[Data], object] | None) -> None:
        self._on_message = callback
        if callback is not None and self._messages and not self._dispatching:
            self._dispatch_messages()
            self._flush()

    def __aiter__(self) -> WebSocket:
        return self

    # --- sending ----------------------------------------------------------------------------

    def _check_can_send_nowait(self) -> None:
        if self._conn.state is _CONNECTING:
            raise InvalidState("the opening handshake is not complete")
        raise self._closed_exception()

    async def drain(self) -> None:
        """Waits until the transport's write buffer is below ``write_limit`` (what ``send()``
        does after each message; for bursts of :meth:`send_nowait`)."""
        if self._writing_paused:
            await self._drain()

    async def _send_fragments(self, fragments: Any) -> None:
        conn = self._conn
        first: Any = None

        async def pieces() -> AsyncIterator[Any]:
            if isinstance(fragments, AsyncIterable):
                async for item in fragments:
                    yield item
            else:
                for item in fragments:
                    yield item

        previous: Any = None
        async for item in pieces():
            if previous is not None:
                self._send_fragment(previous, first, fin=False)
                first = False
                self._flush()
                if self._writing_paused:
                    await self._drain()
                if conn.state is not _OPEN:
                    raise await self._send_closed()
            elif first is None:
                first = True
            previous = item
        if previous is None:
            return  # an empty iterable sends nothing
        self._send_fragment(previous, first, fin=True)
        self._flush()
        if self._writing_paused:
            await self._drain()

    def _send_fragment(self, item: Any, first: bool, fin: bool) -> None:
        conn = self._conn
        if not isinstance(item, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"cannot send {type(item).__name__}: str or bytes-like expected")
        if first:
            if isinstance(item, str):
                conn.send_text(item, fin=fin)
            else:
                conn.send_binary(item, fin=fin)
        else:
            conn.send_continuation(item, fin=fin)

    async def _send_closed(self) -> ConnectionClosed:
        """The exception for a send after the close: waits for the closing handshake to end
        (bounded by ``close_timeout``) so that it carries the final close code."""
        if self._conn.state is _CONNECTING:
            raise InvalidState("the opening handshake is not complete")
        if self._conn.state is not _CLOSED:
            self._start_close_timer()
            await self.wait_closed()
        return self._closed_exception()

    async def ping(self, data: str | bytes | None = None) -> float:
        """Sends a Ping (RFC 6455 §5.5.2) and returns the round-trip time, in seconds, once the
        matching Pong arrives (a Pong also answers every earlier Ping). ``data`` (at most 125
        bytes) defaults to 4 random bytes. Raises :class:`ConnectionClosed` if the connection
        closes first."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        pings = self._pings
        if pings is None:
            pings = self._pings = {}
        if data is None:
            data = os.urandom(4)
            while data in pings:
                data = os.urandom(4)
        elif data in pings:
            raise ValueError("a ping with the same data is already waiting for its pong")
        if self._conn.state is not _OPEN:
            raise await self._send_closed()
        self._conn.send_ping(data)
        future: asyncio.Future[float] = self._loop.create_future()
        pings[bytes(data)] = (future, time.monotonic())
        self._flush()
        return await asyncio.shield(future)

    def _pong_received(self, data: bytes) -> None:
        if data == self._keepalive_payload:
            self._keepalive_payload = None
            if self._keepalive_timer is not None:
                self._keepalive_timer.cancel()
            if self.ping_interval is not None and self._conn.state is _OPEN:
                self._keepalive_timer = self._loop.call_later(self.ping_interval, self._keepalive)
        pings = self._pings
        if not pings or data not in pings:
            return  # unsolicited Pong (RFC 6455 §5.5.3): ignored
        now = time.monotonic()
        # RFC 6455 §5.5.3: a Pong may answer only the most recent Ping; so it answers all
        # the Pings sent before the one it matches.
        for key in list(pings):
            future, sent_at = pings.pop(key)
            if not future.done():
                future.set_result(now - sent_at)
            if key == data:
                break

    def _keepalive(self) -> None:
        """Every ``ping_interval``: send a Ping, and fail the connection (1011) if its Pong does
        not come within ``ping_timeout``; free the compressor if nothing was sent since the
        previous Ping."""
        self._keepalive_timer = None
        if self._conn.state is not _OPEN:
            return
        if not self._tx_seen:
            # Nothing sent for a whole interval: give the compressor's memory back (the next
            # compressed message starts a fresh deflate stream, RFC 7692 §7.2.1).
            self._conn.release_compressor()
        payload = os.urandom(4)
        self._keepalive_payload = payload
        self._rx_seen = False
        self._conn.send_ping(payload)
        self._flush()
        self._tx_seen = False
        if self.ping_timeout is not None:
            self._keepalive_timer = self._loop.call_later(
                self.ping_timeout, self._keepalive_timed_out
            )

    def _keepalive_timed_out(self) -> None:
        self._keepalive_timer = None
        if self._rx_seen and self._conn.state is _OPEN and self.ping_timeout is not None:
            # No Pong yet, but bytes keep arriving: the peer is alive, its Pong is queued behind
            # a large message (a 16 MiB message on a slow link takes longer than the timeout).
            self._rx_seen = False
            self._keepalive_timer = self._loop.call_later(
                self.ping_timeout, self._keepalive_timed_out
            )
            return
        if self._conn.state is _OPEN:
            self._conn.fail(1011, "keepalive ping timeout")
            self._flush()
        self._start_close_timer()

    # --- closing ----------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Performs the closing handshake (RFC 6455 §7.1.2) with ``code`` and ``reason``, then
        waits until the transport is closed, at most ``close_timeout`` seconds before aborting
        it. Does nothing if the connection is already closing or closed."""
        conn = self._conn
        if conn.state is _OPEN:
            conn.send_close(code, reason)
            self._flush()
        elif conn.state is _CONNECTING:
            if self._transport is not None:
                self._transport.abort()
        if conn.state is not _CLOSED:
            self._start_close_timer()
            await self.wait_closed()

    def fail(self, code: int = 1011, reason: str = "") -> None:
        """Fails the connection (RFC 6455 §7.1.7): sends a Close with ``code`` and closes the
        transport without waiting for the peer's Close."""
        conn = self._conn
        if conn.state is _OPEN or (conn.state is _CLOSING and conn.close_sent is None):
            conn.fail(code, reason)
            self._flush()
        self._close_transport()

    def abort(self) -> None:
        """Closes the transport at once, without a closing handshake (the close code is 1006)."""
        if self._transport is not None:
            self._transport.abort()

    async def __aenter__(self) -> WebSocket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        role = "client" if self._conn.is_client else "server"
        return f"<wsfast.asyncio.WebSocket {role} {self._conn.state.name}>"


async def wait_for_open(ws: WebSocket, timeout: float | None) -> None:
    """Waits until ``ws`` is OPEN (or closed); aborts the transport after ``timeout`` seconds."""
    if ws._conn.state is not _CONNECTING:
        return
    waiter = ws._open_waiter
    if waiter is None:
        waiter = ws._open_waiter = ws._loop.create_future()
    try:
        await asyncio.wait_for(asyncio.shield(waiter), timeout)
    except asyncio.TimeoutError:
        ws.abort()
        raise
