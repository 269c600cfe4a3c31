"""The sans-IO WebSocket protocol (RFC 6455, RFC 7692): bytes in, events and bytes out.

:class:`ServerConnection` and :class:`ClientConnection` hold the state of one connection and do no
I/O: feed what the transport received to :meth:`~Connection.receive_data` (any buffer, e.g. a
memoryview of a reused read buffer: whatever is kept is copied) and :meth:`~Connection.receive_eof`;
take the resulting events from :meth:`~Connection.events` and the bytes to write from
:meth:`~Connection.data_to_send` (a list of pieces for ``transport.writelines``); close the
transport when :attr:`~Connection.should_close_transport` is true.

States (RFC 6455 §4 to §7): CONNECTING (opening handshake) → OPEN → CLOSING (a Close frame was sent
or received) → CLOSED (the transport is closed). Frames are parsed by the compiled
:mod:`wsfast.frames` parser; this module is the thin state machine around it, one place per rule.

A typical server loop::

    conn = ServerConnection(subprotocols=["chat"])
    conn.receive_data(data)
    for event in conn.events():
        if isinstance(event, Request):
            conn.accept()
        elif isinstance(event, TextMessage):
            conn.send_text(event.data)
    transport.writelines(conn.data_to_send())
    if conn.should_close_transport:
        transport.close()
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import _speedups
from . import frames as _frames
from ._state import State
from .events import (
    Accepted,
    BinaryFragment,
    BinaryMessage,
    CloseReceived,
    ConnectionClosed,
    ConnectionFailed,
    HandshakeFailed,
    Ping,
    Pong,
    Rejected,
    Request,
    TextFragment,
    TextMessage,
)
from .exceptions import PayloadTooBig, ProtocolError, WebSocketError
from .extensions import DeflateCodec, Extension, PerMessageDeflate
from .handshake import (
    HandshakeError,
    OriginPolicy,
    ServerHandshake,
    WebSocketURI,
    build_accept_response,
    build_reject_response,
    build_request,
    generate_key,
    parse_uri,
    select_subprotocol,
    validate_request,
    validate_response,
)
from .http11 import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_HEADERS,
    BodyReader,
    Headers,
    HeadReader,
    HTTPError,
    parse_request_head,
    parse_response_head,
)

__all__ = [
    "ClientConnection",
    "Connection",
    "InvalidState",
    "ServerConnection",
    "State",
]

_FrameParser = _frames.FrameParser
_build_frame = _frames.build_frame
_build_frame_parts = _frames.build_frame_parts
_parse_close = _frames.parse_close
_build_close_payload = _frames.build_close_payload

_OP_CONT = 0x0
_OP_TEXT = 0x1
_OP_BINARY = 0x2
_OP_CLOSE = 0x8
_OP_PING = 0x9
_OP_PONG = 0xA

if TYPE_CHECKING:
    from ._core_py import SPLIT_WRITE_SIZE as _SPLIT_WRITE_SIZE
    from ._core_py import ConnectionCore
else:
    _core = _speedups.load("core")
    ConnectionCore = _core.ConnectionCore
    _SPLIT_WRITE_SIZE = _core.SPLIT_WRITE_SIZE

_utf8_decoder = codecs.getincrementaldecoder("utf-8")

#: Marker for "decide from the connection's configuration" in :meth:`ServerConnection.accept`.
_AUTO: Any = object()


CONNECTING = State.CONNECTING
OPEN = State.OPEN
CLOSING = State.CLOSING
CLOSED = State.CLOSED


class InvalidState(WebSocketError):
    """The operation is not allowed in the connection's current state (e.g. sending a message
    after a Close frame was sent, or ``accept()`` twice)."""


#: ``compression=True``: the default configuration, shared (it is only read).
_DEFAULT_COMPRESSION = PerMessageDeflate()


def _compression_config(value: PerMessageDeflate | bool | None) -> PerMessageDeflate | None:
    if value is True:
        return _DEFAULT_COMPRESSION
    if value is False or value is None:
        return None
    if not isinstance(value, PerMessageDeflate):
        raise TypeError(f"compression must be a PerMessageDeflate, True or None, not {value!r}")
    return value


def _fit_reason(reason: str) -> str:
    # RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of which hold the code.
    encoded = reason.encode("utf-8")
    if len(encoded) <= 123:
        return reason
    return encoded[:123].decode("utf-8", "ignore")


class Connection(ConnectionCore):
    """What client and server connections share: framing, messages, closing.

    Not instantiated directly: see :class:`ServerConnection` and :class:`ClientConnection`.

    Options (keyword-only, both roles):

    - ``max_message_size`` (default 1 MiB, None for no limit): a larger message, counted after
      decompression, fails the connection with 1009 (RFC 6455 §7.4.1). Decompression never
      inflates more than this plus one byte.
    - ``max_frame_size`` (default: ``max_message_size``): a larger frame fails with 1009.
    - ``max_fragments`` (default None): a message in more frames than this fails with 1009.
    - ``auto_pong`` (default True): answer each Ping with a Pong (RFC 6455 §5.5.2).
    - ``text_as_bytes`` (default False): deliver text messages as validated UTF-8 bytes.
    - ``stream_fragments`` (default False): deliver messages that arrive in several frames piece
      by piece (:class:`~wsfast.events.TextFragment` / :class:`~wsfast.events.BinaryFragment`)
      instead of reassembling them; messages in a single frame still come whole.
    - ``compression``: permessage-deflate configuration (:class:`PerMessageDeflate`), True for the
      defaults, None to disable.

    ``message_queue`` (an attribute, None by default): set it to a list or a deque to receive
    the data of complete messages (``str``, or ``bytes``) by ``append()`` instead of as
    :class:`~wsfast.events.TextMessage` / :class:`~wsfast.events.BinaryMessage` events — one
    object fewer per message, for event-loop integrations that queue messages anyway. Messages
    keep their order among themselves; control events, fragments and the close still come from
    :meth:`events`. A protocol failure found behind messages still in the queue waits, as it
    does behind events, until the application takes them (see :attr:`failure_pending`).

    ``inflate_budget`` (an attribute, None by default): bytes that :meth:`receive_data` may
    inflate in one call. Deflate expands up to about 1 000 times, so one read of 64 KiB can
    hold hundreds of compressed messages — hundreds of MiB once inflated — however small the
    application's queue. With a budget, processing stops at the first frame boundary past it;
    the frames behind (already received, still compressed, no more than what was received)
    wait as a backlog (:attr:`backlogged`) until :meth:`process_backlog` is called with room
    for more, typically when the application has taken the messages. New data received
    meanwhile goes behind the backlog.
    """

    is_client: bool = False

    _codec: DeflateCodec | None

    __slots__ = (
        "_msg_buffer",
        "_msg_compressed",
        "_msg_decoder",
        "_msg_fragments",
        "_msg_inflated",
        "_msg_opcode",
        "_send_compressed",
        "auto_pong",
        "close_code",
        "close_reason",
        "close_received",
        "close_sent",
        "compression",
        "extensions",
        "max_fragments",
        "max_frame_size",
        "max_message_size",
        "stream_fragments",
        "subprotocol",
    )

    def __init__(
        self,
        *,
        max_message_size: int | None = 1 << 20,
        max_frame_size: int | None = _AUTO,
        max_fragments: int | None = None,
        auto_pong: bool = True,
        text_as_bytes: bool = False,
        stream_fragments: bool = False,
        compression: PerMessageDeflate | bool | None = True,
    ) -> None:
        self.state = CONNECTING
        self._mask_frames = self.is_client  # RFC 6455 §5.3: a client masks every frame
        #: Events not yet taken by :meth:`events`.
        self._events = []
        #: Bytes not yet taken by :meth:`data_to_send`.
        self._out = []
        self._parser = None  # the frame parser, from OPEN until a Close is received
        self._codec = None
        # A protocol error found behind complete messages not yet taken by events(): see
        # _fail_received().
        self._deferred_failure = None
        #: Where complete messages go instead of events(), when set (see the class docstring).
        self.message_queue = None
        #: Bytes receive_data() may inflate in one call (see the class docstring); None: no limit.
        self.inflate_budget = None
        # Frames received but not processed yet, the budget being spent (None when there are
        # none), and the protocol error the parser found behind them.
        self._backlog = None
        self._backlog_failure = None
        self._batch_inflated = 0  # bytes inflated since receive_data() or process_backlog()
        self.max_message_size = max_message_size
        self.max_frame_size = max_message_size if max_frame_size is _AUTO else max_frame_size
        self.max_fragments = max_fragments
        self.auto_pong = auto_pong
        self.text_as_bytes = text_as_bytes
        self.stream_fragments = stream_fragments
        self.compression = _compression_config(compression)
        #: The subprotocol in use (None when none was agreed), once OPEN.
        self.subprotocol: str | None = None
        #: The extensions in use with their agreed parameters, once OPEN.
        self.extensions: tuple[Extension, ...] = ()
        #: (code, reason) of the Close frame we sent / received, None until then.
        self.close_sent: tuple[int, str] | None = None
        self.close_received: tuple[int, str] | None = None
        #: The WebSocket Connection Close Code and Reason (RFC 6455 §7.1.5, §7.1.6): those of the
        #: Close frame received (1005 for an empty one), 1006 once the transport closed without
        #: one; None while open.
        self.close_code: int | None = None
        self.close_reason: str = ""
        #: True when the application should close the transport (after writing what
        #: data_to_send() returns): the closing handshake is complete on a server (RFC 6455
        #: §7.1.1: the server closes the TCP connection first), the connection failed, the
        #: opening handshake was refused, or the peer closed its side.
        self.should_close_transport = False
        # The message being received: opcode (0 when none), reassembly buffer, ...
        self._msg_opcode = 0
        self._msg_buffer: bytearray | None = None
        self._msg_compressed = False
        self._msg_decoder: Any = None
        self._msg_fragments = 0
        self._msg_inflated = 0  # bytes inflated so far for a compressed message
        # The fragmented message being sent: opcode (0 when none), compressed or not.
        self._send_opcode = 0
        self._send_compressed = False

    # --- taking results --------------------------------------------------------------------

    @property
    def close_handshake_complete(self) -> bool:
        """True when a Close frame was both sent and received (RFC 6455 §7.1.3)."""
        return self.close_sent is not None and self.close_received is not None

    # --- receiving -------------------------------------------------------------------------

    def _receive_frame(self, frame: Any) -> None:
        """Every frame but the fast-path ones: fragments, compressed messages, control frames."""
        opcode = frame.opcode
        try:
            if opcode == _OP_PING:
                self._receive_ping(frame.payload)
            elif opcode == _OP_PONG:
                self._events.append(Pong(frame.payload))
            elif opcode == _OP_CLOSE:
                self._receive_close(frame.payload)
            else:
                self._receive_data_frame(opcode, frame.payload, frame.fin, frame.rsv1)
        except ProtocolError as exc:
            self._fail_received(exc.code, exc.reason)

    def _receive_data_frame(self, opcode: int, payload: bytes, fin: bool, rsv1: bool) -> None:
        if opcode != _OP_CONT:
            # First frame of a message. RFC 7692 §6: RSV1 on the first frame marks a compressed
            # message (the parser only lets RSV1 through when the extension is in use).
            self._msg_opcode = opcode
            self._msg_compressed = rsv1
            self._msg_fragments = 1
            self._msg_inflated = 0
            self._msg_buffer = None
            self._msg_decoder = None
            first = True
        else:
            opcode = self._msg_opcode
            self._msg_fragments += 1
            if self.max_fragments is not None and self._msg_fragments > self.max_fragments:
                raise PayloadTooBig(f"message in more than {self.max_fragments} frames")
            first = False
        buffer = self._msg_buffer
        if self._msg_compressed:
            codec = self._codec
            assert codec is not None  # the parser refuses RSV1 unless compression is agreed
            limit = self.max_message_size
            if limit is not None:
                limit -= self._msg_inflated
            payload = codec.decompress(payload, fin, limit)
            self._msg_inflated += len(payload)
            self._batch_inflated += len(payload)
        if self.stream_fragments and not (first and fin):
            self._deliver_fragment(opcode, payload, first, fin)
            if fin:
                self._msg_opcode = 0
            return
        if self._msg_compressed and opcode == _OP_TEXT and not (first and fin):
            # Inflated text the parser could not see: validate it as it arrives, to fail as
            # soon as it cannot be UTF-8 (RFC 6455 §8.1) rather than after the whole message.
            decoder = self._msg_decoder
            if decoder is None:
                decoder = self._msg_decoder = _utf8_decoder()
            try:
                decoder.decode(payload, fin)
            except UnicodeDecodeError:
                raise ProtocolError(1007, "invalid UTF-8 in text message") from None
        if not fin:
            if buffer is None:
                self._msg_buffer = bytearray(payload)
            else:
                buffer += payload
            return
        if buffer is not None:
            buffer += payload
            payload = bytes(buffer)
        self._msg_buffer = None
        self._msg_opcode = 0
        self._deliver(opcode, self._text(payload) if opcode == _OP_TEXT else payload)

    def _deliver(self, opcode: int, data: str | bytes) -> None:
        """A complete message: to the message queue when one is set, else as an event."""
        queue = self.message_queue
        if queue is not None:
            queue.append(data)
        elif opcode == _OP_TEXT:
            self._events.append(TextMessage(data))
        else:
            self._events.append(BinaryMessage(data))  # type: ignore[arg-type]  # bytes

    def _text(self, payload: bytes) -> str | bytes:
        """A complete text message's data; validates compressed text (RFC 6455 §8.1)."""
        if not self._msg_compressed:
            return payload if self.text_as_bytes else payload.decode("utf-8")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(1007, "invalid UTF-8 in text message") from None
        return payload if self.text_as_bytes else text

    def _deliver_fragment(self, opcode: int, payload: bytes, first: bool, last: bool) -> None:
        if opcode == _OP_BINARY:
            self._events.append(BinaryFragment(payload, first, last))
            return
        decoder = self._msg_decoder
        if decoder is None:
            decoder = self._msg_decoder = _utf8_decoder()
        try:
            # The incremental decoder carries a code point split across frames to the next piece
            # and validates compressed text, which the parser cannot see (RFC 6455 §8.1).
            text = decoder.decode(payload, last)
        except UnicodeDecodeError:
            raise ProtocolError(1007, "invalid UTF-8 in text message") from None
        self._events.append(TextFragment(payload if self.text_as_bytes else text, first, last))

    def _receive_ping(self, payload: bytes) -> None:
        # RFC 6455 §5.5.2: answer with a Pong carrying the same data, as soon as practical, unless
        # a Close was already sent (§5.5.1: nothing follows our Close).
        if self.auto_pong and self.close_sent is None:
            self._out.append(_build_frame(_OP_PONG, payload, mask=self.is_client))
        self._events.append(Ping(payload))

    def _receive_close(self, payload: bytes) -> None:
        code, reason = _parse_close(payload)  # validated by the parser (RFC 6455 §7.4)
        self.close_received = (code, reason)
        self.close_code = code
        self.close_reason = reason
        # RFC 6455 §5.5.1: after a Close, the peer sends no more data; anything that still arrives
        # is discarded.
        self._parser = None
        self._msg_buffer = None
        self.state = CLOSING
        self._events.append(CloseReceived(code, reason))
        if self.close_sent is None:
            # RFC 6455 §5.5.1 / §7.1.2: answer with a Close, echoing the status code (none for an
            # empty Close, whose code 1005 may not be sent, §7.4.1).
            echo = 0 if code == 1005 else code
            self._send_close_frame(echo, "")
        self._after_close_exchange()

    def _after_close_exchange(self) -> None:
        # RFC 6455 §7.1.1: once both Close frames are exchanged, the server closes the TCP
        # connection first; the client waits for that (and applies a timeout of its own).
        if self.close_sent is not None and self.close_received is not None and not self.is_client:
            self.should_close_transport = True

    def _fail_received(self, code: int, reason: str) -> None:
        """The peer broke the protocol. Nothing it sends is processed any more; if messages that
        arrived before the error (in the same read) still wait in the events or the message
        queue, the failure takes effect once they are taken: at the next data_to_send() (so that
        answers the application sends to them go out before our Close), events() or
        receive_eof(). More data from the peer (say, a Ping behind the broken frame in a later
        read) is discarded and does not cut the wait short."""
        self._parser = None
        self._msg_buffer = None
        if (self._events or self.message_queue) and self.close_sent is None:
            self._deferred_failure = (code, reason)
        else:
            self._fail(code, reason)

    def _apply_deferred_failure(self) -> None:
        failure = self._deferred_failure
        self._deferred_failure = None
        if failure is not None:
            self._fail(*failure)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the WebSocket Connection (RFC 6455 §7.1.7): one Close frame with ``code`` (unless
        one was sent already), nothing further processed, the transport to be closed."""
        self._deferred_failure = None
        self._parser = None
        self._msg_buffer = None
        self._backlog = self._backlog_failure = None
        if self.state is CLOSED:
            return
        if self.close_sent is None and self.state is not CONNECTING:
            self._send_close_frame(code, reason)
        if self.state is not CONNECTING:
            self.state = CLOSING
        self.should_close_transport = True
        self._events.append(ConnectionFailed(code, reason))

    def receive_eof(self) -> None:
        """The transport was closed by the peer (or lost): the connection is CLOSED.

        Emits :class:`~wsfast.events.ConnectionClosed` with the close code (1006 if no Close
        frame was received, RFC 6455 §7.1.5)."""
        while self._backlog is not None:
            # What arrived before the end is processed first, budget or not.
            self.process_backlog()
        if self._deferred_failure is not None:
            self._apply_deferred_failure()
        if self.state is CLOSED:
            return
        if self.state is CONNECTING:
            self._receive_handshake_eof()
            if self.state is CLOSED:
                return
        self._parser = None
        self._msg_buffer = None
        self.state = CLOSED
        self.should_close_transport = True
        if self.close_received is None:
            self.close_code = 1006
            self.close_reason = ""
        assert self.close_code is not None
        self._events.append(
            ConnectionClosed(self.close_code, self.close_reason, self.close_handshake_complete)
        )

    def fail(self, code: int = 1002, reason: str = "") -> None:
        """Fails the connection from the application's side (RFC 6455 §7.1.7): sends a Close
        with ``code`` unless one was sent, stops processing input, asks to close the transport."""
        _build_close_payload(code, "")  # ValueError for a code that may not be sent
        if self.state is CONNECTING:
            raise InvalidState("the connection is not open")
        self._fail(code, _fit_reason(reason))

    # --- opening handshake (role-specific) -------------------------------------------------

    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> None:
        raise NotImplementedError

    def _receive_handshake_eof(self) -> None:
        raise NotImplementedError

    def _open(self, codec: DeflateCodec | None, rest: bytes) -> None:
        """Enter OPEN: set up the frame parser and process the bytes that followed the head."""
        self._codec = codec
        self.state = OPEN
        self._parser = _FrameParser(
            server=not self.is_client,
            max_frame_size=self.max_frame_size,
            max_message_size=self._wire_message_limit(codec),
            rsv1_allowed=codec is not None,
        )
        if rest:
            self.receive_data(rest)

    def _wire_message_limit(self, codec: DeflateCodec | None) -> int | None:
        limit = self.max_message_size
        if codec is None or limit is None:
            return limit
        # Deflate can expand incompressible data slightly (5 bytes per 16 KiB stored block);
        # the inflated size is what is checked against the limit.
        return limit + limit // 1024 + 64

    # --- sending ---------------------------------------------------------------------------

    def _check_can_send(self) -> None:
        if self.state is not OPEN:
            raise InvalidState(f"cannot send a message in state {self.state.name}")

    def send_continuation(
        self, data: str | bytes | bytearray | memoryview, fin: bool = True
    ) -> None:
        """Sends the next frame of the fragmented message started by ``send_text(fin=False)``
        or ``send_binary(fin=False)``; ``fin=True`` ends it (RFC 6455 §5.4)."""
        self._check_can_send()
        if not self._send_opcode:
            raise InvalidState("no fragmented message in progress")
        payload = data.encode("utf-8") if type(data) is str else data
        self._send_data(_OP_CONT, payload, fin)  # type: ignore[arg-type]

    def _check_can_send_message(self) -> None:
        self._check_can_send()
        if self._send_opcode:
            raise InvalidState("a fragmented message is in progress: use send_continuation()")

    def _send_data(self, opcode: int, payload: bytes | bytearray | memoryview, fin: bool) -> None:
        codec = self._codec
        rsv1 = False
        if codec is not None:
            if opcode == _OP_CONT:
                compress = self._send_compressed
            else:
                # A fragmented message's size is unknown: compress it whatever its first frame.
                compress = not fin or len(payload) >= codec.compress_threshold
                self._send_compressed = compress
                rsv1 = compress  # RFC 7692 §6.1: RSV1 on the first frame only
            if compress:
                payload = codec.compress(payload, fin)
        if opcode != _OP_CONT:
            self._send_opcode = 0 if fin else opcode
        elif fin:
            self._send_opcode = 0
        if self._mask_frames or len(payload) < _SPLIT_WRITE_SIZE:
            # One piece: small, or masked (a client copies the payload anyway, RFC 6455 §5.3),
            # so that the header does not go out in a segment of its own.
            self._out.append(
                _build_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=self._mask_frames)
            )
        else:
            # A server's large payload: the caller's object itself, after its header.
            self._out.extend(_build_frame_parts(opcode, payload, fin=fin, rsv1=rsv1))

    def release_compressor(self) -> bool:
        """Frees the permessage-deflate compressor's memory while the connection is idle (with
        the default zlib settings, about 256 KiB; with the server defaults of
        :func:`~wsfast.extensions.default_server_compression`, about 30 KiB). The next
        compressed message starts a fresh deflate stream, which any peer reads (RFC 7692
        §7.2.1). Does nothing, and returns False, while a fragmented message is being sent or
        when there is no compressor. (The inflater cannot be freed that way: unless the peer
        agreed to "no context takeover", its next message may refer to the earlier ones.)"""
        codec = self._codec
        if codec is None or self._send_opcode:
            return False
        return codec.release_compressor()

    def send_ping(self, data: bytes | bytearray | memoryview = b"") -> None:
        """Sends a Ping (RFC 6455 §5.5.2); ``data`` is at most 125 bytes."""
        self._send_control(_OP_PING, data)

    def send_pong(self, data: bytes | bytearray | memoryview = b"") -> None:
        """Sends an unsolicited Pong (RFC 6455 §5.5.3); ``data`` is at most 125 bytes."""
        self._send_control(_OP_PONG, data)

    def _send_control(self, opcode: int, data: bytes | bytearray | memoryview) -> None:
        # RFC 6455 §5.5.1: nothing may be sent after our Close.
        if self.state is not OPEN and not (self.state is CLOSING and self.close_sent is None):
            raise InvalidState(f"cannot send a control frame in state {self.state.name}")
        if len(data) > 125:
            raise ValueError("control frame payloads are at most 125 bytes (RFC 6455 §5.5)")
        self._out.append(_build_frame(opcode, data, mask=self.is_client))

    def send_close(self, code: int | None = 1000, reason: str = "") -> None:
        """Starts the closing handshake (RFC 6455 §7.1.2): sends a Close with ``code`` (None for
        a Close without status code) and ``reason`` (at most 123 UTF-8 bytes). The connection is
        CLOSING; received messages are still delivered until the peer's Close arrives."""
        if self.state is not OPEN:
            raise InvalidState(f"cannot send a Close frame in state {self.state.name}")
        if code is None:
            if reason:
                raise ValueError("a Close without a status code cannot carry a reason")
            code = 0
        self._send_close_frame(code, reason)
        self.state = CLOSING

    def _send_close_frame(self, code: int, reason: str) -> None:
        payload = _build_close_payload(code, reason) if code else b""
        self._out.append(_build_frame(_OP_CLOSE, payload, mask=self.is_client))
        self.close_sent = (code or 1005, reason)
        self._send_opcode = 0
        self._after_close_exchange()


class ServerConnection(Connection):
    """The server side of a WebSocket connection (RFC 6455 §4.2).

    Feed the client's bytes; a valid Upgrade request produces a :class:`~wsfast.events.Request`
    event, to be answered with :meth:`accept` or :meth:`reject`. An invalid request gets an
    error response (400 with the reason; 405 for a method other than GET; 426 with
    ``Sec-WebSocket-Version: 13`` for another version; 403 for a refused Origin; 431 for an
    oversized head) and a :class:`~wsfast.events.HandshakeFailed` event.

    Options, besides those of :class:`Connection`:

    - ``origins``: the Origin policy (RFC 6455 §10.2): None (any), an iterable of allowed origins
      (include None to allow requests without Origin), or a callable ``origin -> bool``.
    - ``subprotocols``: the subprotocols we support, in our order of preference; ``accept()``
      picks the first one the client offered.
    - ``max_head_size`` / ``max_headers``: bounds on the request head.
    """

    is_client = False

    __slots__ = (
        "_early_data",
        "_handshake",
        "_head_reader",
        "max_headers",
        "origins",
        "request",
        "subprotocols",
    )

    def __init__(
        self,
        *,
        origins: OriginPolicy = None,
        subprotocols: Sequence[str] = (),
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if isinstance(origins, str):
            origins = (origins,)  # one origin, not an iterable of characters
        if origins is not None and not callable(origins):
            origins = frozenset(origins)
        self.origins = origins
        self.subprotocols = tuple(subprotocols)
        self.max_headers = max_headers
        self._head_reader: HeadReader | None = HeadReader(max_head_size)
        self._handshake: ServerHandshake | None = None
        #: The Request event, once a valid request was received.
        self.request: Request | None = None
        self._early_data = bytearray()

    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> None:
        reader = self._head_reader
        if reader is None:
            # The request was received and awaits accept()/reject(): keep what follows (a client
            # may send frames right after its request), bounded.
            self._early_data += data
            if len(self._early_data) > max(self.max_message_size or 0, 1 << 16) + 14:
                self._handshake_failed(400, "too much data before the handshake completed")
            return
        try:
            head = reader.feed(data)
            if head is None:
                return
            request_head = parse_request_head(head, self.max_headers)
            handshake = validate_request(request_head, self.origins)
        except HTTPError as exc:
            self._handshake_failed(exc.status, exc.reason)
            return
        except HandshakeError as exc:
            self._handshake_failed(exc.status, exc.reason, exc.headers)
            return
        self._head_reader = None
        self._early_data += reader.rest
        self._handshake = handshake
        request = Request(
            request_head.target,
            request_head.headers,
            handshake.host,
            handshake.origin,
            handshake.subprotocols,
            handshake.extensions,
        )
        self.request = request
        self._events.append(request)

    def _handshake_failed(
        self, status: int, reason: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._out.append(
            build_reject_response(
                status, headers, f"Failed to open a WebSocket connection: {reason}.\n"
            )
        )
        self._head_reader = None
        self._early_data = bytearray()
        self.state = CLOSED
        self.should_close_transport = True
        self._events.append(HandshakeFailed(status, reason))

    def _receive_handshake_eof(self) -> None:
        self._head_reader = None
        self._early_data = bytearray()

    def accept(
        self,
        *,
        subprotocol: str | None = _AUTO,
        extra_headers: Iterable[tuple[str, str]] | Headers | dict[str, str] = (),
        compression: PerMessageDeflate | bool | None = _AUTO,
    ) -> None:
        """Accepts the request (RFC 6455 §4.2.2): queues the 101 response; the connection is OPEN.

        ``subprotocol``: by default the first of ``subprotocols`` (ours, in order) that the client
        offered; or one of the offered ones, or None. ``compression``: by default the
        connection's; permessage-deflate is used if the client offered acceptable parameters.
        ``extra_headers`` are added to the response (checked against header injection).
        """
        request = self.request
        handshake = self._handshake
        if self.state is not CONNECTING or request is None or handshake is None:
            raise InvalidState("accept() needs a request awaiting an answer")
        if subprotocol is _AUTO:
            subprotocol = select_subprotocol(request.subprotocols, self.subprotocols)
        elif subprotocol is not None and subprotocol not in request.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
        config = self.compression if compression is _AUTO else _compression_config(compression)
        codec = None
        agreed: tuple[Extension, ...] = ()
        if config is not None:
            negotiated = config.negotiate(request.extensions)
            if negotiated is not None:
                response_extension, codec = negotiated
                agreed = (response_extension,)
        self._out.append(
            build_accept_response(
                handshake.key,
                subprotocol=subprotocol,
                extensions=agreed,
                extra_headers=extra_headers,
            )
        )
        self.subprotocol = subprotocol
        self.extensions = agreed
        self._handshake = None
        rest = bytes(self._early_data)
        self._early_data = bytearray()
        self._open(codec, rest)

    def reject(
        self,
        status: int = 403,
        headers: Iterable[tuple[str, str]] | Headers | dict[str, str] = (),
        body: bytes | str = b"",
    ) -> None:
        """Refuses the request with an HTTP response (``status``, ``headers``, ``body``; a str
        body is sent as UTF-8 text). The transport should then be closed."""
        if self.state is not CONNECTING or self.request is None or self._handshake is None:
            raise InvalidState("reject() needs a request awaiting an answer")
        self._out.append(build_reject_response(status, headers, body))
        self._handshake = None
        self._early_data = bytearray()
        self.state = CLOSED
        self.should_close_transport = True


class ClientConnection(Connection):
    """The client side of a WebSocket connection (RFC 6455 §4.1).

    The opening handshake request is queued on construction: write ``data_to_send()`` once the
    transport is connected. A valid 101 response produces :class:`~wsfast.events.Accepted`; any
    other status :class:`~wsfast.events.Rejected` (with the response body); an invalid 101
    :class:`~wsfast.events.HandshakeFailed`.

    ``uri`` is a ``ws://`` or ``wss://`` URI (or a parsed :class:`WebSocketURI`; see
    :attr:`uri` for the host, port and TLS flag to connect with); ``origin``, ``subprotocols``
    (offered, in order of preference) and ``extra_headers`` go into the request; ``key`` is the
    Sec-WebSocket-Key (random by default). ``max_head_size``, ``max_headers`` and
    ``max_body_size`` bound the response.
    """

    is_client = True

    __slots__ = (
        "_body_reader",
        "_head_reader",
        "_rejection",
        "key",
        "max_body_size",
        "max_headers",
        "offered_subprotocols",
        "uri",
    )

    def __init__(
        self,
        uri: str | WebSocketURI,
        *,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        extra_headers: Iterable[tuple[str, str]] | Headers | dict[str, str] = (),
        key: str | None = None,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.uri: WebSocketURI = parse_uri(uri) if isinstance(uri, str) else uri
        self.key = key if key is not None else generate_key()
        self.offered_subprotocols = tuple(subprotocols)
        self.max_headers = max_headers
        self.max_body_size = max_body_size
        self._head_reader: HeadReader | None = HeadReader(max_head_size)
        self._body_reader: BodyReader | None = None
        self._rejection: Any = None
        offers = (self.compression.offer(),) if self.compression is not None else ()
        self._out.append(
            build_request(
                self.uri,
                self.key,
                origin=origin,
                subprotocols=self.offered_subprotocols,
                extensions=offers,
                extra_headers=extra_headers,
            )
        )

    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> None:
        try:
            if self._body_reader is not None:
                if self._body_reader.feed(data):
                    self._rejected()
                return
            reader = self._head_reader
            if reader is None:
                return
            head = reader.feed(data)
            if head is None:
                return
            self._head_reader = None
            response = parse_response_head(head, self.max_headers)
            if response.status != 101:
                # RFC 6455 §4.1: any status other than 101 means the handshake did not complete;
                # report the response, body included, to the application.
                self._rejection = response
                self._body_reader = BodyReader(response, self.max_body_size)
                if self._body_reader.feed(reader.rest):
                    self._rejected()
                return
            subprotocol, extensions, codec = validate_response(
                response,
                self.key,
                subprotocols=self.offered_subprotocols,
                deflate=self.compression,
            )
        except HTTPError as exc:
            self._handshake_failed(exc.status, exc.reason)
            return
        except HandshakeError as exc:
            self._handshake_failed(exc.status, exc.reason)
            return
        self.subprotocol = subprotocol
        self.extensions = extensions
        self._events.append(Accepted(subprotocol, extensions, response.headers))
        self._open(codec, reader.rest)

    def _rejected(self) -> None:
        response = self._rejection
        assert self._body_reader is not None
        body = self._body_reader.body
        self._body_reader = None
        self.state = CLOSED
        self.should_close_transport = True
        self._events.append(Rejected(response.status, response.reason, response.headers, body))

    def _handshake_failed(self, status: int, reason: str) -> None:
        self._head_reader = None
        self._body_reader = None
        self.state = CLOSED
        self.should_close_transport = True
        self._events.append(HandshakeFailed(status, reason))

    def _receive_handshake_eof(self) -> None:
        if self._body_reader is not None:
            self._body_reader.feed_eof()
            self._rejected()
        elif self._head_reader is not None:
            self._handshake_failed(0, "connection closed before the handshake response")
