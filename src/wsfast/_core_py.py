"""The per-message path, pure Python: twin of the compiled ``wsfast._core`` (same interface).

Two base classes hold what runs for every message, and nothing else:

- :class:`ConnectionCore`, base of the sans-IO :class:`wsfast.connection.Connection`: receiving
  bytes (the frame parser, then whole single-frame messages to the message queue or the
  events), taking events and bytes to write, and sending a small unfragmented message.
- :class:`ProtocolCore`, base of the asyncio :class:`wsfast.asyncio.WebSocket`: the transport's
  read callbacks, handing messages to the application, ``send_nowait()`` and writing.

Everything else (the handshake, control frames, fragments, compression, closing, flow control,
timers) lives in the subclasses and is reached through the hooks named below, which the subclasses
override. The compiled twin is the same code with typed attributes: in CPython most of the cost of
a small message was the interpreter running these dozen methods.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Iterable
from typing import Any

from ._state import State
from .events import BinaryMessage, TextMessage
from .exceptions import ConnectionClosed, ConnectionClosedOK, ProtocolError
from .frames import build_frame

__all__ = ["ConnectionCore", "ProtocolCore"]

_OPEN = State.OPEN
_CONNECTING = State.CONNECTING
_CLOSED = State.CLOSED
_OP_TEXT = 0x1
_OP_BINARY = 0x2

#: Payloads at least this large are sent as (header, payload) pieces instead of one joined frame,
#: so that a large message is not copied once more before ``transport.writelines``.
SPLIT_WRITE_SIZE = 16 * 1024

#: Where writelines() is not vectored: pieces up to this size in all are joined into one write.
JOIN_LIMIT = 256 * 1024
#: Beyond JOIN_LIMIT, pieces at least this large are written on their own, never joined (copied).
LARGE_PIECE = 16 * 1024
#: Coalesced frames are written once this many are queued.
MAX_PENDING_PIECES = 256

logger = logging.getLogger("wsfast.asyncio")


class ConnectionCore:
    """The per-message part of :class:`wsfast.connection.Connection` (see there)."""

    __slots__ = (
        "_backlog",
        "_backlog_failure",
        "_batch_inflated",
        "_codec",
        "_deferred_failure",
        "_events",
        "_mask_frames",
        "_out",
        "_parser",
        "_send_opcode",
        "inflate_budget",
        "message_queue",
        "should_close_transport",
        "state",
        "text_as_bytes",
    )

    state: State
    _events: list[Any]
    _out: list[Any]
    _parser: Any
    _codec: Any
    _deferred_failure: tuple[int, str] | None
    message_queue: Any
    inflate_budget: int | None
    _backlog: list[Any] | None
    _backlog_failure: tuple[int, str] | None
    _batch_inflated: int
    text_as_bytes: bool
    _send_opcode: int
    _mask_frames: bool
    should_close_transport: bool

    # --- taking results --------------------------------------------------------------------

    def events(self) -> list[Any]:
        """The events produced since the last call, in order (the list is the caller's)."""
        if self._deferred_failure is not None and not self._events and not self.message_queue:
            self._apply_deferred_failure()
        events = self._events
        if events:
            self._events = []
        else:
            events = []
        return events

    def data_to_send(self) -> list[Any]:
        """The bytes to write since the last call, as a list of pieces (for
        ``transport.writelines``; ``b"".join()`` them for a single write). A server's large
        payloads are separate pieces, not copies: a bytes-like object the caller passed to a send
        method may be among them, so it must not be modified until written. (A client's frames
        are one piece each: masking copies the payload anyway.)"""
        if self._deferred_failure is not None:
            self._apply_deferred_failure()
        out = self._out
        if out:
            self._out = []
        else:
            out = []
        return out

    @property
    def failure_pending(self) -> bool:
        """True when the peer broke the protocol behind complete messages not yet taken: the
        connection fails (Close frame, :class:`~wsfast.events.ConnectionFailed`) at the next
        :meth:`data_to_send`, at :meth:`events` once the messages are taken, or at
        :meth:`receive_eof`, so that answers to those messages can go out first. Data received
        meanwhile is discarded without ending the wait."""
        return self._deferred_failure is not None

    @property
    def backlogged(self) -> bool:
        """True when frames received earlier wait for :meth:`process_backlog`: the
        :attr:`inflate_budget` of the last call was spent before they could be processed."""
        return self._backlog is not None

    # --- receiving -------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Processes bytes received from the transport (any buffer; it is not kept)."""
        parser = self._parser
        if parser is None:
            if self.state is _CONNECTING:
                self._receive_handshake(data)
            # Otherwise: after a Close was received, after a protocol error (even while its
            # failure waits for the messages before it to be taken), or once CLOSED, whatever
            # arrives is discarded (RFC 6455 §5.5.1, §7.1.7).
            return
        if self._backlog_failure is not None:
            return  # the parser failed behind the backlog: nothing after the error counts
        failure: tuple[int, str] | None = None
        try:
            frames = parser.feed(data)
        except ProtocolError as exc:
            # Deliver what was complete before the violation, then fail the connection.
            frames = list(getattr(exc, "frames", ()))
            failure = (exc.code, exc.reason)
        backlog = self._backlog
        if backlog is not None:
            # Frames from earlier calls wait: the new ones go behind them.
            self._backlog = None
            backlog.extend(frames)
            frames = backlog
        self._process_frames(frames, failure)

    def process_backlog(self) -> None:
        """Processes the frames :meth:`receive_data` held back (see :attr:`inflate_budget`),
        with a fresh budget: call it again while :attr:`backlogged` stays True."""
        frames = self._backlog
        if frames is None:
            return
        self._backlog = None
        failure = self._backlog_failure
        self._backlog_failure = None
        if self._parser is not None:
            self._process_frames(frames, failure)

    def _process_frames(self, frames: Any, failure: tuple[int, str] | None) -> None:
        """Frames in order, then ``failure`` (a violation the parser found behind them), until
        the inflate budget is spent: the rest is kept as the backlog."""
        self._batch_inflated = 0
        events = self._events
        queue = self.message_queue
        budget = self.inflate_budget
        remaining = iter(frames)
        for frame in remaining:
            opcode = frame.opcode
            # Fast path: a whole uncompressed message in a single frame. The parser enforces the
            # fragmentation rules (RFC 6455 §5.4), so a text/binary opcode here starts a new
            # message, and validated the UTF-8 of uncompressed text (RFC 6455 §8.1).
            if (opcode == _OP_BINARY or opcode == _OP_TEXT) and frame.fin and not frame.rsv1:
                message: Any = frame.payload
                if opcode == _OP_TEXT and not self.text_as_bytes:
                    message = message.decode("utf-8")
                if queue is not None:
                    queue.append(message)
                elif opcode == _OP_TEXT:
                    events.append(TextMessage(message))
                else:
                    events.append(BinaryMessage(message))
            else:
                self._receive_frame(frame)
                if self._parser is None:
                    return  # a Close was received or the connection failed: nothing further
                if budget is not None and self._batch_inflated > budget:
                    rest = list(remaining)
                    if rest or failure is not None:
                        self._backlog = rest
                        self._backlog_failure = failure
                    return
        if failure is not None:
            self._fail_received(*failure)

    # --- sending ---------------------------------------------------------------------------

    def send_text(self, data: str | bytes | bytearray | memoryview, fin: bool = True) -> None:
        """Sends a text message, or the first frame of a fragmented one (``fin=False``; continue
        with :meth:`send_continuation`). ``data`` is a str, or bytes already encoded as UTF-8
        (not validated again)."""
        if self.state is not _OPEN or self._send_opcode:
            self._check_can_send_message()
        payload = data.encode("utf-8") if type(data) is str else data
        if fin and self._codec is None and (self._mask_frames or len(payload) < SPLIT_WRITE_SIZE):
            # Fast path: an uncompressed message in one frame, built in one piece when it is
            # small or masked (a client copies the payload anyway).
            self._out.append(build_frame(_OP_TEXT, payload, mask=self._mask_frames))
            return
        self._send_data(_OP_TEXT, payload, fin)

    def send_binary(self, data: bytes | bytearray | memoryview, fin: bool = True) -> None:
        """Sends a binary message, or the first frame of a fragmented one (``fin=False``)."""
        if self.state is not _OPEN or self._send_opcode:
            self._check_can_send_message()
        if fin and self._codec is None and (self._mask_frames or len(data) < SPLIT_WRITE_SIZE):
            self._out.append(build_frame(_OP_BINARY, data, mask=self._mask_frames))
            return
        self._send_data(_OP_BINARY, data, fin)

    # --- hooks: the rest of the protocol, in the subclass -----------------------------------

    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> None:
        raise NotImplementedError

    def _receive_frame(self, frame: Any) -> None:
        """Every frame but whole uncompressed single-frame messages."""
        raise NotImplementedError

    def _fail_received(self, code: int, reason: str) -> None:
        raise NotImplementedError

    def _apply_deferred_failure(self) -> None:
        raise NotImplementedError

    def _check_can_send_message(self) -> None:
        """Raises InvalidState unless a new message may be sent."""
        raise NotImplementedError

    def _send_data(self, opcode: int, payload: Any, fin: bool) -> None:
        """Sends a frame of a data message: compressed, fragmented or large ones."""
        raise NotImplementedError


class ProtocolCore:
    """The per-message part of :class:`wsfast.asyncio.WebSocket` (see there)."""

    __slots__ = (
        "_conn",
        "_dispatching",
        "_failure_timer",
        "_loop",
        "_max_queue",
        "_messages",
        "_on_message",
        "_pending",
        "_read_view",
        "_reading_paused",
        "_recv_waiter",
        "_rx_seen",
        "_sent_since_recv",
        "_transport",
        "_tx_seen",
        "_vectored_writes",
        "_writing_paused",
    )

    _conn: Any
    _loop: Any
    _transport: Any
    _read_view: memoryview | None
    _messages: Any
    _on_message: Any
    _dispatching: bool
    _pending: list[Any] | None
    _reading_paused: bool
    _writing_paused: bool
    _rx_seen: bool
    _tx_seen: bool
    #: True when the transport's writelines() writes the pieces without joining them (one
    #: system call): the selector transport since CPython 3.12, uvloop's.
    _vectored_writes: bool
    _max_queue: int | None
    _recv_waiter: Any
    _failure_timer: Any
    #: True from a send() to the next recv(): a second send() in a row coalesces.
    _sent_since_recv: bool

    # --- the transport's read callbacks -----------------------------------------------------

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

    def _after_receive(self) -> None:
        """Hands over what the sans-IO layer produced, writes its answers (Pongs, Close)."""
        conn = self._conn
        events = conn.events()
        if events:
            self._process_events(events)
        elif self._messages:
            if self._on_message is not None:
                self._dispatch_messages()
            else:
                self._messages_arrived()
        if conn.backlogged:
            self._backlogged()
        if self._messages and conn.failure_pending:
            # The peer broke the protocol behind complete messages: let the application take
            # and answer them first (see _defer_failure()).
            self._defer_failure()
            return
        out = conn.data_to_send()
        if out:
            self._write(out)
            if self._writing_paused:
                self._limit_auto_backlog(out)
        if conn.should_close_transport:
            self._close_transport()

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

    async def recv(self) -> str | bytes:
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
            if conn.close_received is not None or conn.state is _CLOSED:
                # RFC 6455 §5.5.1: nothing follows the peer's Close.
                raise await self._recv_closed()
            if self._recv_waiter is not None:
                raise RuntimeError("recv() is already being awaited by another task")
            if self._failure_timer is not None:
                # Every message received before the peer's protocol error was taken: fail now.
                self._failure_timer.cancel()
                self._flush_deferred_failure()
                continue
            if self._pending is not None:
                self._write([])  # the batch is answered: write it before waiting
            waiter = self._recv_waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._recv_waiter = None
        message: str | bytes = messages.popleft()
        if self._reading_paused:
            self._maybe_resume_reading()
        return message

    async def __anext__(self) -> str | bytes:
        """``async for message in ws``: ends when the connection closes normally, raises
        :class:`ConnectionClosedError` when it closes with an error."""
        messages = self._messages
        if messages and not self._reading_paused:
            self._sent_since_recv = False
            message: str | bytes = messages.popleft()  # fast path: no extra coroutine
            return message
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

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

    # --- sending ----------------------------------------------------------------------------

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
            self._close_transport()  # a failure was waiting behind the answered messages
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
            self._check_can_send_nowait()
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
        elif self._vectored_writes:
            transport.writelines(pieces)
            # CPython 3.12/3.13's selector transport does not check its high-water mark in
            # writelines() (write() does): without this, pause_writing() never comes and send()
            # would buffer without bound. The check is idempotent; other transports lack it.
            check = getattr(transport, "_maybe_pause_protocol", None)
            if check is not None:
                check()
        elif sum(map(len, pieces)) <= JOIN_LIMIT:
            # writelines() would join the pieces anyway. A write per piece would cost a system
            # call each, and send the header of a large frame in a TCP segment of its own (one
            # more wake-up for the peer): the copy costs less.
            transport.write(b"".join(pieces))
        else:
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

    # --- hooks: the rest of the protocol, in the subclass -----------------------------------

    def _process_events(self, events: list[Any]) -> None:
        raise NotImplementedError

    def _pause_reading(self) -> None:
        raise NotImplementedError

    async def _recv_closed(self) -> ConnectionClosed:
        """recv() after the peer's Close: the exception to raise, once the connection closed."""
        raise NotImplementedError

    def _flush_deferred_failure(self) -> None:
        raise NotImplementedError

    async def _send_closed(self) -> ConnectionClosed:
        """send() after the close: the exception to raise, with the final close code."""
        raise NotImplementedError

    async def _send_fragments(self, fragments: Any) -> None:
        raise NotImplementedError

    async def _drain(self) -> None:
        raise NotImplementedError

    def _closed_exception(self) -> ConnectionClosed:
        raise NotImplementedError

    def _backlogged(self) -> None:
        raise NotImplementedError

    def _defer_failure(self) -> None:
        """The peer broke the protocol behind messages the application has not taken yet."""
        raise NotImplementedError

    def _limit_auto_backlog(self, out: list[Any]) -> None:
        raise NotImplementedError

    def _close_transport(self) -> None:
        raise NotImplementedError

    def _maybe_resume_reading(self) -> None:
        raise NotImplementedError

    def _check_can_send_nowait(self) -> None:
        """Raises the exception for a send in a state other than OPEN."""
        raise NotImplementedError

    def fail(self, code: int = 1011, reason: str = "") -> None:
        raise NotImplementedError
