# cython: annotation_typing=False, boundscheck=True, wraparound=True, cdivision=False
"""The asyncio WebSocket connection, shared by clients and servers: an ``asyncio.BufferedProtocol``
that holds a sans-IO :class:`~wsfast.connection.Connection` and moves bytes for it.

A message's path reads one way: the transport hands bytes to :meth:`WebSocket.buffer_updated`,
which gives them to the connection (``receive_data``); the connection parses them and queues the
messages; the protocol hands those to the application (``recv()``, ``async for``, or the
``on_message`` callback) and writes what the connection answers (``data_to_send``). Nothing in
the connection calls back up into this layer.

:class:`WebSocket` is at once the protocol of the transport and the object the application uses
(``await ws.send()``, ``await ws.recv()``, ``async for message in ws``), so that a connection costs
as few Python objects as possible (servers hold thousands).

Reading: the event loop reads straight into a buffer shared by every connection of the thread
(``get_buffer``/``buffer_updated`` run back to back in one loop step, so no connection can see
another's bytes; the proactor loop, which keeps the buffer across steps, gets one per connection),
and the bytes go to the frame parser without a copy. Messages wait in a queue of at most
``max_queue``; when it is full the transport stops reading, which lets TCP flow control slow the
peer down.

Writing: small frames sent in a burst are joined into one write; a server's large frames go to
the transport as (header, payload) pieces without copying the payload where ``writelines()`` is
vectored and pauses the protocol at the high-water mark (uvloop; asyncio since CPython 3.12.9 and
3.13.2), joined into one write up to 256 KiB elsewhere; ``send()`` waits (drains) while the
transport's buffer is above ``write_limit``. Only the transports' public API is used.

One source, two builds: this file is plain Python, compiled by Cython with the C types of
``connection.pxd`` beside it (the per-message methods become C calls on typed attributes).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

from .._state import State
from ..connection import ClientConnection, ServerConnection
from ..events import CloseReceived, Ping, Pong
from ..exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidState,
)
from ..http11 import Headers

__all__ = [
    "JOIN_LIMIT",
    "LARGE_PIECE",
    "MAX_PENDING_PIECES",
    "PENDING_FAILURE_DELAY",
    "Data",
    "WebSocket",
]

#: A message as the application sends and receives it: ``str`` for text, ``bytes`` for binary.
Data = str | bytes

_OPEN = State.OPEN
_CLOSING = State.CLOSING
_CLOSED = State.CLOSED
_CONNECTING = State.CONNECTING

#: Size of the read buffer shared by the connections of one thread.
READ_BUFFER_SIZE = 256 * 1024
#: Size of a per-connection read buffer (proactor loops only).
OWN_READ_BUFFER_SIZE = 64 * 1024

#: Where writelines() is not vectored: pieces up to this size in all are joined into one write.
JOIN_LIMIT = 256 * 1024
#: Beyond JOIN_LIMIT, pieces at least this large are written on their own, never joined (copied).
LARGE_PIECE = 16 * 1024
#: Coalesced frames are written once this many are queued.
MAX_PENDING_PIECES = 256

#: Close codes after which a closed connection counts as closed normally (RFC 6455 §7.4.1).
_OK_CODES = frozenset({1000, 1001, 1005})

#: Longest wait, in seconds, of a peer's violation behind messages the application has not taken.
PENDING_FAILURE_DELAY = 1.0

#: Bytes written without waiting for the buffer to drain (Pongs, a Close, answers sent from
#: on_message) while the peer does not read, before we stop reading from it.
_UNPACED_LIMIT = 256 * 1024

#: Bytes the sans-IO layer may inflate per read before it pauses processing
#: (Connection.inflate_budget): without it, one 64 KiB read of well-compressed messages could
#: queue hundreds of MiB, whatever max_queue says.
_INFLATE_BUDGET = 256 * 1024


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


def _writelines_pauses() -> bool:
    # CPython's selector transport writes writelines() with one sendmsg() since 3.12, but checked
    # its high-water mark there (pause_writing()) only from 3.12.9 and 3.13.2 on (gh-127655):
    # before, a writer that relies on pause_writing() would buffer without bound.
    version = sys.version_info[:3]
    return version >= (3, 13, 2) or (3, 12, 9) <= version < (3, 13)


_SELECTOR_WRITELINES_OK = _writelines_pauses()


def _writes_vectored(transport: Any) -> bool:
    """True when ``transport.writelines()`` writes its pieces without joining them and pauses the
    protocol at the high-water mark as ``write()`` does: uvloop's transports, and asyncio's
    where :func:`_writelines_pauses`."""
    if type(transport).__module__.startswith("uvloop."):
        return True
    return _SELECTOR_WRITELINES_OK and type(transport).__name__ == "_SelectorSocketTransport"


def _loop_reads_synchronously(loop: asyncio.AbstractEventLoop) -> bool:
    """True when the loop calls get_buffer() and buffer_updated() in the same step (selector
    loops, uvloop); False for the proactor loop, which reads into the buffer in the background."""
    proactor = getattr(asyncio, "ProactorEventLoop", None)
    return proactor is None or not isinstance(loop, proactor)


class _WebSocket:
    """Everything of :class:`WebSocket` but its ``asyncio.BufferedProtocol`` base (which a
    compiled class cannot have: see :class:`WebSocket`)."""

    __slots__ = (
        "__weakref__",
        "_close_timer",
        "_closed_waiter",
        "_conn",
        "_dispatching",
        "_drain_waiter",
        "_failure_timer",
        "_keepalive_payload",
        "_keepalive_timer",
        "_loop",
        "_lost_exc",
        "_max_queue",
        "_messages",
        "_on_message",
        "_on_open",
        "_open_waiter",
        "_pending",
        "_pings",
        "_read_view",
        "_reading_paused",
        "_reading_paused_by_writes",
        "_recv_waiter",
        "_resume_at",
        "_resuming_processing",
        "_rx_seen",
        "_sent_since_recv",
        "_transport",
        "_tx_seen",
        "_unpaced_bytes",
        "_vectored_writes",
        "_write_limit",
        "_writing_paused",
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
        self._transport: Any = None
        #: True when the transport's writelines() is vectored and paces (see _writes_vectored).
        self._vectored_writes = False
        self._read_view: memoryview | None = None
        self._messages: collections.deque[Data] = collections.deque()
        # The sans-IO layer appends complete messages here itself (no event object each).
        conn.message_queue = self._messages
        conn.inflate_budget = _INFLATE_BUDGET
        #: True while _maybe_resume_reading() has the connection resume its processing.
        self._resuming_processing = False
        self._max_queue = max_queue
        self._resume_at = 0 if max_queue is None else max(max_queue // 4, 0)
        self._reading_paused = False
        self._recv_waiter: asyncio.Future[None] | None = None
        self._write_limit = write_limit
        self._writing_paused = False
        self._reading_paused_by_writes = False
        self._unpaced_bytes = 0
        self._drain_waiter: asyncio.Future[None] | None = None
        #: Small frames queued by _write_soon(), written together (None when there are none).
        self._pending: list[Any] | None = None
        #: True from a send() to the next recv(): a second send() in a row coalesces.
        self._sent_since_recv = False
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] | None = None
        self._open_waiter: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._failure_timer: asyncio.TimerHandle | None = None
        self._keepalive_timer: asyncio.TimerHandle | None = None
        self._keepalive_payload: bytes | None = None
        #: Set by every read; cleared when a keepalive Ping is sent.
        self._rx_seen = False
        #: Set by every write; cleared after a keepalive Ping is sent.
        self._tx_seen = False
        self._lost_exc: BaseException | None = None
        self._on_open = on_open
        #: Callback style: takes every message instead of the queue (see :attr:`on_message`).
        self._on_message: Callable[[Data], object] | None = None
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

    # --- the transport's callbacks -----------------------------------------------------------

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

    def get_buffer(self, sizehint: int) -> memoryview:
        view = self._read_view
        assert view is not None
        return view

    def buffer_updated(self, nbytes: int) -> None:
        self._rx_seen = True
        self._conn.receive_data(self._read_view[:nbytes])  # type: ignore[index]
        self._after_receive()

    def data_received(self, data: bytes) -> None:  # for transports that do not buffer-read
        self._rx_seen = True
        self._conn.receive_data(data)
        self._after_receive()

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
        self._unpaced_bytes = 0

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

    # --- what the connection produced ---------------------------------------------------------

    def _after_receive(self) -> None:
        """Hands over what the sans-IO layer produced and writes its answers (Pongs, Close)."""
        conn = self._conn
        events = conn.events()
        if events:
            self._process_events(events)
        elif self._messages:
            self._messages_arrived()
        if conn.processing_paused:
            # The read inflated past the budget: stop reading while its rest waits, and go on
            # with it at once if the application has room for more messages.
            self._pause_reading()
            self._maybe_resume_reading()
        if conn.pending_failure is not None and self._messages and self._failure_timer is None:
            # The peer broke the protocol behind messages the application has not taken: they
            # are its to take and answer first (the connection fails once they are), within a
            # bounded time (RFC 6455 §7.1.7: "as soon as practical").
            self._failure_timer = self._loop.call_later(
                PENDING_FAILURE_DELAY, self._fail_pending_now
            )
        out = conn.data_to_send()
        if out:
            self._write(out)
            if self._writing_paused:
                self._count_unpaced(out)
        if conn.should_close_transport:
            self._close_transport()

    def _process_events(self, events: list[Any]) -> None:
        """Control and handshake events, then the messages the sans-IO layer queued."""
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
            else:
                # The opening handshake's events; ConnectionFailed and the closing are seen
                # through the connection's state.
                self._handshake_event(event)
        if self._messages:
            self._messages_arrived()

    def _handshake_event(self, event: Any) -> None:
        """Opening handshake events: the client and server subclasses act on theirs."""

    def _messages_arrived(self) -> None:
        """The sans-IO layer queued messages: hand them to on_message, or wake recv()."""
        if self._on_message is not None:
            self._dispatch_messages()
            return
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._max_queue is not None and len(self._messages) >= self._max_queue:
            self._pause_reading()

    def _dispatch_messages(self) -> None:
        """Callback style: hands the queued messages to on_message, in order of arrival."""
        messages = self._messages
        self._dispatching = True
        try:
            while messages:
                callback = self._on_message
                if callback is None:
                    break  # the callback unset itself: the rest waits for recv()
                try:
                    callback(messages.popleft())
                except ConnectionClosed:
                    pass  # it answered a message that arrived with the peer's Close: as send()
        except Exception:
            # As for a failing handler: RFC 6455 §7.4.1, 1011 (unexpected condition).
            logger.exception("on_message callback failed")
            messages.clear()
            self.fail(1011, "internal error")
        finally:
            self._dispatching = False
        if self._reading_paused:
            self._maybe_resume_reading()

    def _opened(self) -> None:
        """The connection is OPEN: start the keepalive pings."""
        if self.ping_interval is not None:
            self._keepalive_timer = self._loop.call_later(self.ping_interval, self._keepalive)
        waiter = self._open_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._on_open is not None:
            self._on_open(self)  # type: ignore[arg-type]  # a WebSocket: its only subclass

    # --- flow control ---------------------------------------------------------------------------

    def _pause_reading(self) -> None:
        """Stops reading for the application's sake (queue full, or processing paused)."""
        if not self._reading_paused:
            self._reading_paused = True
            if not self._reading_paused_by_writes and self._transport is not None:
                self._transport.pause_reading()

    def _maybe_resume_reading(self) -> None:
        """Resumes reading once the application took enough of the queued messages, after the
        connection processed what it held back from the last read (its inflate budget)."""
        if (
            self._reading_paused
            and len(self._messages) <= self._resume_at
            and not self._resuming_processing  # the loop below is already on it
        ):
            conn = self._conn
            if conn.processing_paused:
                max_queue = self._max_queue
                self._resuming_processing = True
                try:
                    while conn.processing_paused and (
                        max_queue is None or len(self._messages) < max(max_queue, 1)
                    ):
                        conn.resume_processing()
                        self._after_receive()
                finally:
                    self._resuming_processing = False
                if conn.processing_paused or len(self._messages) > self._resume_at:
                    return  # the queue filled up again: stay paused
            self._reading_paused = False
            if (
                not self._reading_paused_by_writes  # else resume_writing() resumes reading
                and self._transport is not None
                and conn.state is not _CLOSED
            ):
                self._transport.resume_reading()

    def _count_unpaced(self, out: list[Any]) -> None:
        """Bounds what is written without waiting for the buffer to drain while the peer does not
        read (Pongs, mostly, and answers sent from on_message).

        Application sends wait for the buffer to drain; automatic Pongs do not. A peer that floods
        us with Pings and never reads would otherwise grow our write buffer without bound. Past
        _UNPACED_LIMIT such bytes, stop reading until the buffer drains: the peer's own TCP
        window then throttles it. Only these bytes count, so two peers that both send large
        messages while reading on another task never stop reading each other.
        """
        for piece in out:
            self._unpaced_bytes += len(piece)
        transport = self._transport
        if (
            self._unpaced_bytes > _UNPACED_LIMIT
            and not self._reading_paused_by_writes
            and transport is not None
        ):
            self._reading_paused_by_writes = True
            if not self._reading_paused:
                transport.pause_reading()

    # --- receiving ------------------------------------------------------------------------------

    async def recv(self) -> Data:
        """The next message: ``str`` for a text message, ``bytes`` for a binary one.

        Raises :class:`ConnectionClosedOK` or :class:`ConnectionClosedError` once the connection
        is closed and every message received before has been returned.
        """
        if self._on_message is not None:
            raise RuntimeError("recv() is not available while on_message is set")
        self._sent_since_recv = False
        messages = self._messages
        while not messages:
            conn = self._conn
            if conn.pending_failure is not None:
                # Every message received before the peer's violation was taken: fail now.
                self._fail_pending_now()
                continue
            if conn.close_received is not None or conn.state is _CLOSED:
                # RFC 6455 §5.5.1: nothing follows the peer's Close.
                raise await self._recv_closed()
            if self._recv_waiter is not None:
                raise RuntimeError("recv() is already being awaited by another task")
            if self._pending is not None:
                self._write([])  # the batch is answered: write it before waiting
            waiter = self._recv_waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._recv_waiter = None
        message: Data = messages.popleft()
        if self._reading_paused:
            self._maybe_resume_reading()
        return message

    async def __anext__(self) -> Data:
        """``async for message in ws``: ends when the connection closes normally, raises
        :class:`ConnectionClosedError` when it closes with an error."""
        messages = self._messages
        if messages and not self._reading_paused:
            self._sent_since_recv = False
            message: Data = messages.popleft()  # no extra coroutine per message
            return message
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    def __aiter__(self) -> _WebSocket:
        return self

    async def _recv_closed(self) -> ConnectionClosed:
        """recv() after the peer's Close: the exception to raise, once the connection closed."""
        if self._conn.state is not _CLOSED:
            await self.wait_closed()
        return self._closed_exception()

    def _fail_pending_now(self) -> None:
        """Fails the connection with the peer's pending violation (see _after_receive)."""
        timer = self._failure_timer
        self._failure_timer = None
        if timer is not None:
            timer.cancel()
        failure = self._conn.pending_failure
        if failure is not None:
            self._conn.fail(failure[0], failure[1])
        self._flush()

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
        Answers sent from the callback count as bytes written without waiting (as Pongs do):
        while the peer does not read them, reading pauses past 256 KiB, so an echo server's
        memory stays bounded.
        """
        return self._on_message

    @on_message.setter
    def on_message(self, callback: Callable[[Data], object] | None) -> None:
        self._on_message = callback
        if callback is not None and self._messages and not self._dispatching:
            self._dispatch_messages()
            self._flush()

    # --- sending ------------------------------------------------------------------------------

    async def send(
        self,
        message: str | bytes | bytearray | memoryview | Iterable[Any] | AsyncIterable[Any],
    ) -> None:
        """Sends a message: ``str`` as text, a bytes-like object as binary; an iterable (or async
        iterable) of them as one fragmented message, one frame per item.

        Waits while the transport's write buffer is above ``write_limit``. Raises
        :class:`ConnectionClosed` once a Close frame was sent or the connection is closed.
        """
        conn = self._conn
        if conn.state is not _OPEN:
            raise await self._send_closed()
        if type(message) is str:
            conn.send_text(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            conn.send_binary(message)
        elif isinstance(message, (Iterable, AsyncIterable)):
            await self._send_fragments(message)
            return
        else:
            raise TypeError(f"cannot send {type(message).__name__}: str or bytes-like expected")
        out = conn.data_to_send()
        if len(out) != 1 or len(out[0]) >= LARGE_PIECE:
            self._write(out)  # a large message, or a Close behind the message: at once
        elif self._pending is not None or self._messages or self._sent_since_recv:
            # A burst of sends without a recv() between them, or answers to a batch of messages
            # that arrived in one read: coalesce them into one write, flushed when the
            # application waits in recv() or at the end of this step of the loop.
            self._write_soon(out)
        else:
            # Request/response: the answer goes out at once.
            self._write(out)
        self._sent_since_recv = True
        if conn.should_close_transport:
            self._close_transport()  # a failure was pending behind the answered messages
        elif self._writing_paused:
            await self._drain()
        if conn.state is _CLOSED:
            raise self._closed_exception()

    def send_nowait(self, message: str | bytes | bytearray | memoryview) -> None:
        """Sends a message without waiting: ``str`` as text, a bytes-like object as binary.

        Called from :attr:`on_message`, the frame joins the answers to the messages of the same
        read, written together; elsewhere, small frames sent in one step of the event loop go
        out together at the end of the step (large ones at once). It never waits for the
        transport's buffer to drain: in a long burst, ``await ws.drain()`` now and then. Raises
        :class:`ConnectionClosed` once a Close frame was sent or the connection is closed.
        """
        conn = self._conn
        if conn.state is not _OPEN:
            if conn.state is _CONNECTING:
                raise InvalidState("the opening handshake is not complete")
            raise self._closed_exception()
        if type(message) is str:
            conn.send_text(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            conn.send_binary(message)
        else:
            raise TypeError(f"cannot send {type(message).__name__}: str or bytes-like expected")
        if self._dispatching:
            return  # written by the read callback, with the answers to the whole read
        out = conn.data_to_send()
        if len(out) == 1 and len(out[0]) < LARGE_PIECE:
            # A burst of sends goes out in one write at the end of this step of the event loop.
            self._write_soon(out)
        else:
            self._write(out)  # a large message, or a Close behind the message
            if conn.should_close_transport:
                self._close_transport()

    def _write(self, pieces: list[Any]) -> None:
        """Writes ``pieces`` now, after any frames queued by :meth:`_write_soon`."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            pending.extend(pieces)
            pieces = pending
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._tx_seen = True
        if len(pieces) == 1:
            transport.write(pieces[0])
            return
        if self._vectored_writes:
            transport.writelines(pieces)
            return
        total = 0
        for piece in pieces:
            total += len(piece)
        if total <= JOIN_LIMIT:
            # A write per piece would cost a system call each, and send the header of a large
            # frame in a TCP segment of its own (one more wake-up for the peer): the copy costs
            # less.
            transport.write(b"".join(pieces))
            return
        # Join the small frames once, and write large payloads (separate pieces from the
        # sans-IO layer) without copying them.
        small: list[Any] = []
        for piece in pieces:
            if len(piece) < LARGE_PIECE:
                small.append(piece)
                continue
            if small:
                transport.write(b"".join(small))
                small = []
            transport.write(piece)
        if small:
            transport.write(b"".join(small) if len(small) > 1 else small[0])

    def _write_soon(self, pieces: list[Any]) -> None:
        """Queues small frames while the application is still answering a batch of received
        messages: they go out in one write (one system call) when it runs out of messages
        (``recv()`` would wait), or at the latest in the next step of the event loop."""
        pending = self._pending
        if pending is None:
            self._pending = pieces
            self._loop.call_soon(self._flush_pending)
        else:
            pending.extend(pieces)
            if len(pending) >= MAX_PENDING_PIECES:
                self._write([])

    def _flush_pending(self) -> None:
        if self._pending is not None:
            self._write([])

    def _flush(self) -> None:
        """Writes what the sans-IO layer has to send; closes the transport when it says so."""
        conn = self._conn
        out = conn.data_to_send()
        if out:
            self._write(out)
        if conn.should_close_transport:
            self._close_transport()

    async def _drain(self) -> None:
        while self._writing_paused and self._conn.state is not _CLOSED:
            waiter = self._drain_waiter
            if waiter is None:
                waiter = self._drain_waiter = self._loop.create_future()
            await waiter

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
                self._send_fragment(previous, first, False)
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
        self._send_fragment(previous, first, True)
        self._flush()
        if self._writing_paused:
            await self._drain()

    def _send_fragment(self, item: Any, first: bool, fin: bool) -> None:
        conn = self._conn
        if not isinstance(item, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"cannot send {type(item).__name__}: str or bytes-like expected")
        if first:
            if isinstance(item, str):
                conn.send_text(item, fin)
            else:
                conn.send_binary(item, fin)
        else:
            conn.send_continuation(item, fin)

    async def _send_closed(self) -> ConnectionClosed:
        """The exception for a send after the close: waits for the closing handshake to end
        (bounded by ``close_timeout``) so that it carries the final close code."""
        if self._conn.state is _CONNECTING:
            raise InvalidState("the opening handshake is not complete")
        if self._conn.state is not _CLOSED:
            self._start_close_timer()
            await self.wait_closed()
        return self._closed_exception()

    # --- closing --------------------------------------------------------------------------------

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

    async def __aenter__(self) -> _WebSocket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        role = "client" if self._conn.is_client else "server"
        return f"<wsfast.asyncio.WebSocket {role} {self._conn.state.name}>"


class WebSocket(_WebSocket, asyncio.BufferedProtocol):
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

    The event loops recognise a buffered protocol by its class (``asyncio.BufferedProtocol``),
    which a compiled class cannot derive from: the compiled :class:`_WebSocket` holds the code,
    this class adds the base.
    """

    __slots__ = ()


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
