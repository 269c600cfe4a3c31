# cython: language_level=3, boundscheck=False, wraparound=False
"""The per-message path, compiled: twin of ``wsfast._core_py`` (same interface, see there).

The same methods with typed attributes: most of the cost of a small message in CPython was the
interpreter running them (a dozen calls, each a few dozen attribute loads). The asyncio protocol
calls the sans-IO connection's receiving and sending internals directly (C calls on the typed
``_conn``); the public methods are thin ``def`` wrappers over those. The hooks that the
subclasses override (the handshake, control frames, failures, flow control) stay Python calls:
they run once per connection or once per unusual frame, not once per message.
"""

import logging
from collections.abc import AsyncIterable, Iterable

from cpython.bytes cimport PyBytes_CheckExact
from cpython.list cimport PyList_GET_SIZE

from wsfast._state import State
from wsfast.events import BinaryMessage, TextMessage
from wsfast.exceptions import ConnectionClosed, ConnectionClosedOK, ProtocolError
from wsfast.frames import build_frame

__all__ = ["ConnectionCore", "ProtocolCore"]

cdef object _OPEN = State.OPEN
cdef object _CONNECTING = State.CONNECTING
cdef object _CLOSED = State.CLOSED
cdef enum:
    _OP_TEXT = 0x1
    _OP_BINARY = 0x2

SPLIT_WRITE_SIZE = 16 * 1024
cdef Py_ssize_t _SPLIT_WRITE_SIZE = SPLIT_WRITE_SIZE

JOIN_LIMIT = 256 * 1024
cdef Py_ssize_t _JOIN_LIMIT = JOIN_LIMIT
LARGE_PIECE = 16 * 1024
cdef Py_ssize_t _LARGE_PIECE = LARGE_PIECE
MAX_PENDING_PIECES = 256
cdef Py_ssize_t _MAX_PENDING_PIECES = MAX_PENDING_PIECES

logger = logging.getLogger("wsfast.asyncio")


cdef class ConnectionCore:
    """The per-message part of :class:`wsfast.connection.Connection` (see there)."""

    cdef public object state
    cdef public list _events
    cdef public list _out
    cdef public object _parser
    cdef public object _codec
    cdef public object _deferred_failure
    cdef public object message_queue
    cdef public object inflate_budget
    cdef public object _backlog
    cdef public object _backlog_failure
    cdef public Py_ssize_t _batch_inflated
    cdef public bint text_as_bytes
    cdef public int _send_opcode
    cdef public bint _mask_frames
    cdef public bint should_close_transport

    # --- taking results --------------------------------------------------------------------

    cdef list _take_events(self):
        if self._deferred_failure is not None and not self._events and not self.message_queue:
            self._apply_deferred_failure()
        cdef list events = self._events
        if PyList_GET_SIZE(events):
            self._events = []
            return events
        return []

    cdef list _take_out(self):
        if self._deferred_failure is not None:
            self._apply_deferred_failure()
        cdef list out = self._out
        if PyList_GET_SIZE(out):
            self._out = []
            return out
        return []

    def events(self):
        """The events produced since the last call, in order (the list is the caller's)."""
        return self._take_events()

    def data_to_send(self):
        """The bytes to write since the last call, as a list of pieces (for
        ``transport.writelines``; ``b"".join()`` them for a single write). A server's large
        payloads are separate pieces, not copies: a bytes-like object the caller passed to a send
        method may be among them, so it must not be modified until written. (A client's frames
        are one piece each: masking copies the payload anyway.)"""
        return self._take_out()

    @property
    def failure_pending(self):
        """True when the peer broke the protocol behind complete messages not yet taken: the
        connection fails (Close frame, :class:`~wsfast.events.ConnectionFailed`) at the next
        :meth:`data_to_send`, at :meth:`events` once the messages are taken, or at
        :meth:`receive_eof`, so that answers to those messages can go out first. Data received
        meanwhile is discarded without ending the wait."""
        return self._deferred_failure is not None

    @property
    def backlogged(self):
        """True when frames received earlier wait for :meth:`process_backlog`: the
        :attr:`inflate_budget` of the last call was spent before they could be processed."""
        return self._backlog is not None

    # --- receiving -------------------------------------------------------------------------

    cdef int _receive(self, object data) except -1:
        parser = self._parser
        if parser is None:
            if self.state is _CONNECTING:
                self._receive_handshake(data)
            # Otherwise: after a Close was received, after a protocol error, or once CLOSED,
            # whatever arrives is discarded (RFC 6455 §5.5.1, §7.1.7).
            return 0
        if self._backlog_failure is not None:
            return 0  # the parser failed behind the backlog: nothing after the error counts
        failure = None
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
        self._process(frames, failure)
        return 0

    def receive_data(self, data):
        """Processes bytes received from the transport (any buffer; it is not kept)."""
        self._receive(data)

    def process_backlog(self):
        """Processes the frames :meth:`receive_data` held back (see :attr:`inflate_budget`),
        with a fresh budget: call it again while :attr:`backlogged` stays True."""
        frames = self._backlog
        if frames is None:
            return
        self._backlog = None
        failure = self._backlog_failure
        self._backlog_failure = None
        if self._parser is not None:
            self._process(frames, failure)

    def _process_frames(self, frames, failure):
        """Frames in order, then ``failure`` (a violation the parser found behind them), until
        the inflate budget is spent: the rest is kept as the backlog."""
        self._process(frames, failure)

    cdef int _process(self, object frames, object failure) except -1:
        cdef int opcode
        cdef list events = self._events
        cdef object queue = self.message_queue
        cdef object budget = self.inflate_budget
        cdef object message
        self._batch_inflated = 0
        remaining = iter(frames)
        for frame in remaining:
            opcode = frame.opcode
            # Fast path: a whole uncompressed message in a single frame (RFC 6455 §5.4: the
            # parser enforces fragmentation, and validated the UTF-8 of uncompressed text, §8.1).
            if (opcode == _OP_BINARY or opcode == _OP_TEXT) and frame.fin and not frame.rsv1:
                message = frame.payload
                if opcode == _OP_TEXT and not self.text_as_bytes:
                    if PyBytes_CheckExact(message):
                        message = (<bytes>message).decode("utf-8")
                    else:
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
                    return 0  # a Close was received or the connection failed
                if budget is not None and self._batch_inflated > budget:
                    rest = list(remaining)
                    if rest or failure is not None:
                        self._backlog = rest
                        self._backlog_failure = failure
                    return 0
        if failure is not None:
            self._fail_received(*failure)
        return 0

    # --- sending ---------------------------------------------------------------------------

    cdef int _send_message(self, int opcode, object data) except -1:
        """send_text()/send_binary() with fin=True; ``data`` is a str for text."""
        if self.state is not _OPEN or self._send_opcode:
            self._check_can_send_message()
        if type(data) is str:
            data = (<str>data).encode("utf-8")
        if self._codec is None and (self._mask_frames or len(data) < _SPLIT_WRITE_SIZE):
            # Fast path: an uncompressed message in one frame, built in one piece when it is
            # small or masked (a client copies the payload anyway).
            self._out.append(build_frame(opcode, data, mask=self._mask_frames))
            return 0
        self._send_data(opcode, data, True)
        return 0

    def send_text(self, data, bint fin=True):
        """Sends a text message, or the first frame of a fragmented one (``fin=False``; continue
        with :meth:`send_continuation`). ``data`` is a str, or bytes already encoded as UTF-8
        (not validated again)."""
        if fin:
            self._send_message(_OP_TEXT, data)
            return
        if self.state is not _OPEN or self._send_opcode:
            self._check_can_send_message()
        self._send_data(_OP_TEXT, (<str>data).encode("utf-8") if type(data) is str else data, False)

    def send_binary(self, data, bint fin=True):
        """Sends a binary message, or the first frame of a fragmented one (``fin=False``)."""
        if fin:
            self._send_message(_OP_BINARY, data)
            return
        if self.state is not _OPEN or self._send_opcode:
            self._check_can_send_message()
        self._send_data(_OP_BINARY, data, False)

    # --- hooks: the rest of the protocol, in the subclass -----------------------------------

    def _receive_handshake(self, data):
        raise NotImplementedError

    def _receive_frame(self, frame):
        """Every frame but whole uncompressed single-frame messages."""
        raise NotImplementedError

    def _fail_received(self, code, reason):
        raise NotImplementedError

    def _apply_deferred_failure(self):
        raise NotImplementedError

    def _check_can_send_message(self):
        """Raises InvalidState unless a new message may be sent."""
        raise NotImplementedError

    def _send_data(self, opcode, payload, fin):
        """Sends a frame of a data message: compressed, fragmented or large ones."""
        raise NotImplementedError


cdef class ProtocolCore:
    """The per-message part of :class:`wsfast.asyncio.WebSocket` (see there)."""

    cdef public ConnectionCore _conn
    cdef public object _loop
    cdef public object _transport
    cdef public object _read_view
    cdef public object _messages
    cdef public object _on_message
    cdef public object _pending
    cdef public bint _dispatching
    cdef public bint _reading_paused
    cdef public bint _writing_paused
    cdef public bint _rx_seen
    cdef public bint _tx_seen
    cdef public bint _vectored_writes
    cdef public object _max_queue
    cdef public object _recv_waiter
    cdef public object _failure_timer
    cdef public bint _sent_since_recv

    # --- the transport's read callbacks -----------------------------------------------------

    def get_buffer(self, sizehint):
        view = self._read_view
        assert view is not None
        return view

    def buffer_updated(self, Py_ssize_t nbytes):
        self._rx_seen = True
        self._conn._receive(self._read_view[:nbytes])
        self._after()

    def data_received(self, data):  # for transports that do not buffer-read
        self._rx_seen = True
        self._conn._receive(data)
        self._after()

    def _after_receive(self):
        """Hands over what the sans-IO layer produced, writes its answers (Pongs, Close)."""
        self._after()

    cdef int _after(self) except -1:
        cdef ConnectionCore conn = self._conn
        cdef list events = conn._take_events()
        if PyList_GET_SIZE(events):
            self._process_events(events)
        elif self._messages:
            self._arrived()
        if conn._backlog is not None:
            self._backlogged()
        if conn._deferred_failure is not None and self._messages:
            # The peer broke the protocol behind complete messages: let the application take
            # and answer them first (see _defer_failure()).
            self._defer_failure()
            return 0
        cdef list out = conn._take_out()
        if PyList_GET_SIZE(out):
            self._write_now(out)
            if self._writing_paused:
                self._limit_auto_backlog(out)
        if conn.should_close_transport:
            self._close_transport()
        return 0

    def _messages_arrived(self):
        """The sans-IO layer queued messages: hand them to on_message, or wake recv()."""
        self._arrived()

    cdef int _arrived(self) except -1:
        if self._on_message is not None:
            self._dispatch()
            return 0
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._max_queue is not None and len(self._messages) >= self._max_queue:
            self._pause_reading()
        return 0

    async def recv(self):
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
                self._write_now([])  # the batch is answered: write it before waiting
            waiter = self._recv_waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._recv_waiter = None
        message = messages.popleft()
        if self._reading_paused:
            self._maybe_resume_reading()
        return message

    async def __anext__(self):
        """``async for message in ws``: ends when the connection closes normally, raises
        :class:`ConnectionClosedError` when it closes with an error."""
        messages = self._messages
        if messages and not self._reading_paused:
            self._sent_since_recv = False
            return messages.popleft()  # fast path: no extra coroutine per message
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    def _dispatch_messages(self):
        """Callback style: hands the queued messages to on_message, in order of arrival."""
        self._dispatch()

    cdef int _dispatch(self) except -1:
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
        return 0

    # --- sending ----------------------------------------------------------------------------

    async def send(self, message):
        """Sends a message: ``str`` as text, a bytes-like object as binary; an iterable (or async
        iterable) of them as one fragmented message, one frame per item.

        Waits while the transport's write buffer is above ``write_limit``. Raises
        :class:`ConnectionClosed` once a Close frame was sent or the connection is closed.
        """
        cdef ConnectionCore conn = self._conn
        cdef list out
        if conn.state is not _OPEN:
            raise await self._send_closed()
        if type(message) is str:
            conn._send_message(_OP_TEXT, message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            conn._send_message(_OP_BINARY, message)
        elif isinstance(message, (Iterable, AsyncIterable)):
            await self._send_fragments(message)
            return
        else:
            raise TypeError(f"cannot send {type(message).__name__}: str or bytes-like expected")
        out = conn._take_out()
        if PyList_GET_SIZE(out) != 1 or len(out[0]) >= _LARGE_PIECE:
            self._write_now(out)  # a large message, or a Close behind the message: at once
        elif self._pending is not None or self._messages or self._sent_since_recv:
            # A burst of sends without a recv() between them, or answers to a batch of messages
            # that arrived in one read: coalesce them into one write (see the twin).
            self._write_later(out)
        else:
            # Request/response: the answer goes out at once.
            self._write_now(out)
        self._sent_since_recv = True
        if conn.should_close_transport:
            self._close_transport()  # a failure was waiting behind the answered messages
        elif self._writing_paused:
            await self._drain()
        if conn.state is _CLOSED:
            raise self._closed_exception()

    def send_nowait(self, message):
        """Sends a message without waiting: ``str`` as text, a bytes-like object as binary.

        Called from :attr:`on_message`, the frame joins the answers to the messages of the same
        read, written together; elsewhere, small frames sent in one step of the event loop go
        out together at the end of the step (large ones at once). It never waits for the
        transport's buffer to drain: in a long burst, ``await ws.drain()`` now and then. Raises
        :class:`ConnectionClosed` once a Close frame was sent or the connection is closed.
        """
        cdef ConnectionCore conn = self._conn
        if conn.state is not _OPEN:
            self._check_can_send_nowait()
        if type(message) is str:
            conn._send_message(_OP_TEXT, message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            conn._send_message(_OP_BINARY, message)
        else:
            raise TypeError(f"cannot send {type(message).__name__}: str or bytes-like expected")
        if self._dispatching:
            return  # written by the read callback, with the answers to the whole read
        cdef list out = conn._take_out()
        if PyList_GET_SIZE(out) == 1 and len(out[0]) < _LARGE_PIECE:
            # A burst of sends goes out in one write at the end of this step of the event loop.
            self._write_later(out)
        else:
            self._write_now(out)  # a large message, or a Close behind the message
            if conn.should_close_transport:
                self._close_transport()

    def _write(self, pieces):
        """Writes ``pieces`` now, after any frames queued by :meth:`_write_soon`."""
        self._write_now(pieces)

    cdef int _write_now(self, list pieces) except -1:
        cdef list small
        cdef Py_ssize_t total = 0
        cdef list pending = self._pending
        if pending is not None:
            self._pending = None
            pending.extend(pieces)
            pieces = pending
        transport = self._transport
        if transport is None or transport.is_closing():
            return 0
        self._tx_seen = True
        if PyList_GET_SIZE(pieces) == 1:
            transport.write(pieces[0])
        elif self._vectored_writes:
            transport.writelines(pieces)
            # CPython 3.12/3.13's selector transport does not check its high-water mark in
            # writelines() (write() does): without this, pause_writing() never comes.
            check = getattr(transport, "_maybe_pause_protocol", None)
            if check is not None:
                check()
        else:
            for piece in pieces:
                total += len(piece)
            if total <= _JOIN_LIMIT:
                # writelines() would join them anyway; a write per piece would send the header
                # of a large frame in a TCP segment of its own: the copy costs less.
                transport.write(b"".join(pieces))
                return 0
            # Join the small frames once, and write large payloads without copying them.
            small = []
            for piece in pieces:
                if len(piece) < _LARGE_PIECE:
                    small.append(piece)
                    continue
                if small:
                    transport.write(b"".join(small))
                    small = []
                transport.write(piece)
            if small:
                transport.write(b"".join(small) if len(small) > 1 else small[0])
        return 0

    def _write_soon(self, pieces):
        """Queues small frames while the application is still answering a batch of received
        messages: they go out in one write (one system call) when it runs out of messages
        (``recv()`` would wait), or at the latest in the next step of the event loop."""
        self._write_later(pieces)

    cdef int _write_later(self, list pieces) except -1:
        cdef list pending = self._pending
        if pending is None:
            self._pending = pieces
            self._loop.call_soon(self._flush_pending)
        else:
            pending.extend(pieces)
            if PyList_GET_SIZE(pending) >= _MAX_PENDING_PIECES:
                self._write_now([])
        return 0

    def _flush_pending(self):
        if self._pending is not None:
            self._write_now([])

    def _flush(self):
        """Writes what the sans-IO layer has to send; closes the transport when it says so."""
        cdef ConnectionCore conn = self._conn
        cdef list out = conn._take_out()
        if PyList_GET_SIZE(out):
            self._write_now(out)
        if conn.should_close_transport:
            self._close_transport()

    # --- hooks: the rest of the protocol, in the subclass -----------------------------------

    def _process_events(self, events):
        raise NotImplementedError

    def _pause_reading(self):
        raise NotImplementedError

    async def _recv_closed(self):
        """recv() after the peer's Close: the exception to raise, once the connection closed."""
        raise NotImplementedError

    def _flush_deferred_failure(self):
        raise NotImplementedError

    async def _send_closed(self):
        """send() after the close: the exception to raise, with the final close code."""
        raise NotImplementedError

    async def _send_fragments(self, fragments):
        raise NotImplementedError

    async def _drain(self):
        raise NotImplementedError

    def _closed_exception(self):
        raise NotImplementedError

    def _backlogged(self):
        raise NotImplementedError

    def _defer_failure(self):
        """The peer broke the protocol behind messages the application has not taken yet."""
        raise NotImplementedError

    def _limit_auto_backlog(self, out):
        raise NotImplementedError

    def _close_transport(self):
        raise NotImplementedError

    def _maybe_resume_reading(self):
        raise NotImplementedError

    def _check_can_send_nowait(self):
        """Raises the exception for a send in a state other than OPEN."""
        raise NotImplementedError

    def fail(self, code=1011, reason=""):
        raise NotImplementedError
