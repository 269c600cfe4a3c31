# cython: annotation_typing=False, boundscheck=True, wraparound=True, cdivision=False
"""The sans-IO WebSocket protocol (RFC 6455, RFC 7692): bytes in, events and bytes out.

:class:`ServerConnection` and :class:`ClientConnection` hold the state of one connection and do no
I/O: feed what the transport received to :meth:`~Connection.receive_data` (any buffer, e.g. a
memoryview of a reused read buffer: whatever is kept is copied) and :meth:`~Connection.receive_eof`;
take the resulting events from :meth:`~Connection.events` and the bytes to write from
:meth:`~Connection.data_to_send` (a list of pieces for ``transport.writelines``); close the
transport when :attr:`~Connection.should_close_transport` is true.

States (RFC 6455 §4 to §7): CONNECTING (opening handshake) → OPEN → CLOSING (a Close frame was sent
or received) → CLOSED (the transport is closed). Frames are parsed by :mod:`wsfast.frames`; this
module is the state machine around it, one place per rule.

One source, two builds: this file is plain Python, and the same file is compiled by Cython with the
types of ``connection.pxd`` (``cdef class`` attributes, C-level methods), which is what runs when
wsfast is installed with its extensions. Run uncompiled (``WSFAST_NO_EXTENSIONS=1``), it is the
pure-Python implementation; the two cannot drift apart.

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
from typing import Any

from ._deflate_codec import DeflateCodec
from ._state import State
from .events import (
    Accepted,
    BinaryFragment,
    BinaryMessage,
    Closed,
    CloseReceived,
    ConnectionFailed,
    HandshakeFailed,
    Ping,
    Pong,
    Rejected,
    Request,
    TextFragment,
    TextMessage,
)
from .exceptions import InvalidState, PayloadTooBig, ProtocolError
from .extensions import Extension, PerMessageDeflate
from .frames import (
    FrameParser,
    build_close_payload,
    build_frame,
    build_frame_parts,
    parse_close,
)
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
from .utf8 import decode_utf8, utf8_bytes

__all__ = [
    "SPLIT_WRITE_SIZE",
    "ClientConnection",
    "Connection",
    "InvalidState",
    "ServerConnection",
    "State",
]

_OP_CONT = 0x0
_OP_TEXT = 0x1
_OP_BINARY = 0x2
_OP_CLOSE = 0x8
_OP_PING = 0x9
_OP_PONG = 0xA

#: A server's payloads at least this large are sent as (header, payload) pieces instead of one
#: joined frame, so that a large message is not copied once more before ``transport.writelines``.
SPLIT_WRITE_SIZE = 16 * 1024

_utf8_decoder = codecs.getincrementaldecoder("utf-8")

#: Marker for "decide from the connection's configuration" in :meth:`ServerConnection.accept`.
_AUTO: Any = object()


CONNECTING = State.CONNECTING
OPEN = State.OPEN
CLOSING = State.CLOSING
CLOSED = State.CLOSED


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


class Connection:
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
    :meth:`events`.

    **A peer's violation behind complete messages** (RFC 6455 §7.1.7). When the peer breaks the
    protocol, nothing it sent after the violation is processed, but every message that was
    complete before it is delivered, and every Ping before it answered. While such messages
    wait to be taken (in :meth:`events` or the message queue), the failure is pending
    (:attr:`pending_failure`): it takes effect — our Close with the violation's code, then
    :class:`~wsfast.events.ConnectionFailed` — at the first :meth:`events`,
    :meth:`data_to_send` or :meth:`receive_eof` call that finds every message taken, so that
    what the application sends in answer goes out before the Close. An I/O layer bounds the
    wait (the application may never take them) by calling :meth:`fail` with the pending code.

    ``inflate_budget`` (an attribute, None by default): bytes that :meth:`receive_data` may
    inflate in one call. Deflate expands up to about 1 000 times, so one read of 64 KiB can
    hold hundreds of compressed messages — hundreds of MiB once inflated — however small the
    application's queue. With a budget, processing pauses at the first frame boundary past it
    (:attr:`processing_paused`): the frames behind (already received, still compressed, no more
    than what was received) wait until :meth:`resume_processing` is called with room for more,
    typically when the application has taken the messages. New data received meanwhile goes
    behind them.
    """

    __slots__ = (
        "_codec",
        "_events",
        "_held_failure",
        "_held_frames",
        "_inflated",
        "_mask_frames",
        "_msg_buffer",
        "_msg_compressed",
        "_msg_decoder",
        "_msg_fragments",
        "_msg_inflated",
        "_msg_opcode",
        "_out",
        "_parser",
        "_send_compressed",
        "_send_opcode",
        "auto_pong",
        "close_code",
        "close_reason",
        "close_received",
        "close_sent",
        "compression",
        "extensions",
        "inflate_budget",
        "is_client",
        "max_fragments",
        "max_frame_size",
        "max_message_size",
        "message_queue",
        "pending_failure",
        "processing_paused",
        "should_close_transport",
        "state",
        "stream_fragments",
        "subprotocol",
        "text_as_bytes",
    )

    def __init__(
        self,
        *,
        client: bool,
        max_message_size: int | None = 1 << 20,
        max_frame_size: int | None = _AUTO,
        max_fragments: int | None = None,
        auto_pong: bool = True,
        text_as_bytes: bool = False,
        stream_fragments: bool = False,
        compression: PerMessageDeflate | bool | None = True,
    ) -> None:
        #: True on the client side of the connection.
        self.is_client = client
        self._mask_frames = client  # RFC 6455 §5.3: a client masks every frame
        self.state = CONNECTING
        #: Events not yet taken by :meth:`events`.
        self._events: list[Any] = []
        #: Bytes not yet taken by :meth:`data_to_send`.
        self._out: list[Any] = []
        self._parser: Any = None  # the frame parser, from OPEN until a Close is received
        self._codec: DeflateCodec | None = None
        #: (code, reason) of a peer's violation waiting behind messages not yet taken (see the
        #: class docstring); None when there is none.
        self.pending_failure: tuple[int, str] | None = None
        #: Where complete messages go instead of events(), when set (see the class docstring).
        self.message_queue: Any = None
        #: Bytes receive_data() may inflate in one call (see the class docstring); None: no limit.
        self.inflate_budget: int | None = None
        # Frames received but held back, the inflate budget being spent (None when processing
        # is not paused), and the violation the parser found behind them.
        self._held_frames: list[Any] | None = None
        self._held_failure: tuple[int, str] | None = None
        #: True when frames received earlier wait for :meth:`resume_processing`: the
        #: :attr:`inflate_budget` was spent before they could be processed.
        self.processing_paused = False
        self._inflated = 0  # bytes inflated since processing (re)started
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

    def events(self) -> list[Any]:
        """The events produced since the last call, in order (the list is the caller's)."""
        events = self._events
        if not events:
            failure = self.pending_failure
            if failure is None or self.message_queue:
                return []
            self._fail(failure[0], failure[1])
            events = self._events
        self._events = []
        return events

    def data_to_send(self) -> list[Any]:
        """The bytes to write since the last call, as a list of pieces (for
        ``transport.writelines``; ``b"".join()`` them for a single write). A server's large
        payloads are separate pieces, not copies: a bytes-like object the caller passed to a send
        method may be among them, so it must not be modified until written. (A client's frames
        are one piece each: masking copies the payload anyway.)"""
        failure = self.pending_failure
        if failure is not None and not self._events and not self.message_queue:
            self._fail(failure[0], failure[1])
        out = self._out
        if out:
            self._out = []
            return out
        return []

    @property
    def close_handshake_complete(self) -> bool:
        """True when a Close frame was both sent and received (RFC 6455 §7.1.3)."""
        return self.close_sent is not None and self.close_received is not None

    # --- receiving -------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Processes bytes received from the transport (any buffer; it is not kept)."""
        parser = self._parser
        if parser is None:
            if self.state is CONNECTING:
                self._receive_handshake(data)  # type: ignore[attr-defined]  # per role
            # Otherwise: after a Close was received, after a protocol violation (even while its
            # failure is pending), or once CLOSED, whatever arrives is discarded (RFC 6455
            # §5.5.1, §7.1.7).
            return
        if self._held_failure is not None:
            return  # the parser failed behind the held frames: nothing after it counts
        failure: tuple[int, str] | None = None
        try:
            frames = parser.feed(data)
        except ProtocolError as exc:
            # RFC 6455 §7.1.7: nothing after the violation is processed; what was complete
            # before it is still delivered.
            frames = exc.frames  # type: ignore[attr-defined]
            failure = (exc.code, exc.reason)
        held = self._held_frames
        if held is not None:
            # Frames from earlier calls wait: the new ones go behind them.
            self._held_frames = None
            self.processing_paused = False
            held.extend(frames)
            frames = held
        self._process_frames(frames, failure)

    def resume_processing(self) -> None:
        """Processes the frames held back when the :attr:`inflate_budget` was spent, with a
        fresh budget: call it again while :attr:`processing_paused` stays True."""
        frames = self._held_frames
        if frames is None:
            return
        self._held_frames = None
        self.processing_paused = False
        failure = self._held_failure
        self._held_failure = None
        if self._parser is not None:
            self._process_frames(frames, failure)

    def _process_frames(self, frames: list[Any], failure: tuple[int, str] | None) -> None:
        """Frames in order, then ``failure`` (a violation the parser found behind them), until
        the inflate budget is spent: the rest is held back."""
        self._inflated = 0
        events = self._events
        queue = self.message_queue
        budget = self.inflate_budget
        index = 0
        for frame in frames:
            index += 1
            opcode = frame.opcode
            # Whole uncompressed messages in a single frame take the short way. The parser
            # enforces the fragmentation rules (RFC 6455 §5.4), so a text or binary opcode starts
            # a new message, and it validated the UTF-8 of uncompressed text (RFC 6455 §8.1).
            if (opcode == _OP_BINARY or opcode == _OP_TEXT) and frame.fin and not frame.rsv1:
                message: Any = frame.payload
                if opcode == _OP_TEXT and not self.text_as_bytes:
                    message = decode_utf8(message)  # straight to str, by the SIMD kernels
                if queue is not None:
                    queue.append(message)
                elif opcode == _OP_TEXT:
                    events.append(TextMessage(message))
                else:
                    events.append(BinaryMessage(message))
                continue
            self._receive_frame(frame)
            if self._parser is None:
                return  # a Close was received or the connection failed: nothing further
            if budget is not None and self._inflated > budget:
                if index < len(frames) or failure is not None:
                    self._held_frames = frames[index:]
                    self._held_failure = failure
                    self.processing_paused = True
                return
        if failure is not None:
            self._receive_violation(failure[0], failure[1])

    def _receive_frame(self, frame: Any) -> None:
        """Every frame but whole uncompressed single-frame messages."""
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
            self._receive_violation(exc.code, exc.reason)

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
            self._inflated += len(payload)
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
            return payload if self.text_as_bytes else decode_utf8(payload)
        # Inflated text was not seen by the parser's validator: RFC 6455 §8.1 applies to the
        # inflated bytes, and decode_utf8 raises InvalidUTF8 (1007) for them.
        text: str | bytes = utf8_bytes(payload) if self.text_as_bytes else decode_utf8(payload)
        return text

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
            self._out.append(build_frame(_OP_PONG, payload, mask=self._mask_frames))
        self._events.append(Ping(payload))

    def _receive_close(self, payload: bytes) -> None:
        code, reason = parse_close(payload)  # validated by the parser (RFC 6455 §7.4)
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

    def _receive_violation(self, code: int, reason: str) -> None:
        """The peer broke the protocol (RFC 6455 §7.1.7): nothing it sends is processed any more.
        Messages complete before the violation and not taken yet make the failure pending (see
        the class docstring); otherwise the connection fails now."""
        self._parser = None
        self._msg_buffer = None
        if (self._events or self.message_queue) and self.close_sent is None:
            self.pending_failure = (code, reason)
        else:
            self._fail(code, reason)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the WebSocket Connection (RFC 6455 §7.1.7): one Close frame with ``code`` (unless
        one was sent already), nothing further processed, the transport to be closed."""
        self.pending_failure = None
        self._parser = None
        self._msg_buffer = None
        self._held_frames = self._held_failure = None
        self.processing_paused = False
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

        Emits :class:`~wsfast.events.Closed` with the close code (1006 if no Close
        frame was received, RFC 6455 §7.1.5)."""
        while self._held_frames is not None:
            # What arrived before the end is processed first, budget or not.
            self.resume_processing()
        failure = self.pending_failure
        if failure is not None:
            self._fail(failure[0], failure[1])
        if self.state is CLOSED:
            return
        if self.state is CONNECTING:
            self._receive_handshake_eof()  # type: ignore[attr-defined]  # per role
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
            Closed(self.close_code, self.close_reason, self.close_handshake_complete)
        )

    def fail(self, code: int = 1002, reason: str = "") -> None:
        """Fails the connection from the application's side (RFC 6455 §7.1.7): sends a Close
        with ``code`` unless one was sent, stops processing input, asks to close the transport."""
        build_close_payload(code, "")  # ValueError for a code that may not be sent
        if self.state is CONNECTING:
            raise InvalidState("the connection is not open")
        self._fail(code, _fit_reason(reason))

    def _open(self, codec: DeflateCodec | None, rest: bytes) -> None:
        """Enter OPEN: set up the frame parser and process the bytes that followed the head."""
        self._codec = codec
        self.state = OPEN
        self._parser = FrameParser(
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

    def _check_can_send_message(self) -> None:
        if self.state is not OPEN:
            raise InvalidState(f"cannot send a message in state {self.state.name}")
        if self._send_opcode:
            raise InvalidState("a fragmented message is in progress: use send_continuation()")

    def send_text(self, data: str | bytes | bytearray | memoryview, fin: bool = True) -> None:
        """Sends a text message, or the first frame of a fragmented one (``fin=False``; continue
        with :meth:`send_continuation`). ``data`` is a str, or bytes already encoded as UTF-8
        (not validated again)."""
        if self.state is not OPEN or self._send_opcode:
            self._check_can_send_message()
        payload = data.encode("utf-8") if type(data) is str else data
        self._send_data(_OP_TEXT, payload, fin)  # type: ignore[arg-type]

    def send_binary(self, data: bytes | bytearray | memoryview, fin: bool = True) -> None:
        """Sends a binary message, or the first frame of a fragmented one (``fin=False``)."""
        if self.state is not OPEN or self._send_opcode:
            self._check_can_send_message()
        self._send_data(_OP_BINARY, data, fin)

    def send_continuation(
        self, data: str | bytes | bytearray | memoryview, fin: bool = True
    ) -> None:
        """Sends the next frame of the fragmented message started by ``send_text(fin=False)``
        or ``send_binary(fin=False)``; ``fin=True`` ends it (RFC 6455 §5.4)."""
        if self.state is not OPEN:
            raise InvalidState(f"cannot send a message in state {self.state.name}")
        if not self._send_opcode:
            raise InvalidState("no fragmented message in progress")
        payload = data.encode("utf-8") if type(data) is str else data
        self._send_data(_OP_CONT, payload, fin)  # type: ignore[arg-type]

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
        mask = self._mask_frames
        if mask or len(payload) < SPLIT_WRITE_SIZE:
            # One piece: small, or masked (masking copies the payload anyway, RFC 6455 §5.3), so
            # that the header does not go out in a segment of its own. Most messages are one
            # frame: that call passes the fewest keywords, which cost a compiled caller most.
            if fin and not rsv1 and mask:
                frame = build_frame(opcode, payload, mask=True)
            elif fin and not rsv1:
                frame = build_frame(opcode, payload)
            else:
                frame = build_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=mask)
            self._out.append(frame)
        else:
            # A server's large payload: the caller's object itself, after its header.
            self._out.extend(build_frame_parts(opcode, payload, fin=fin, rsv1=rsv1))

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
        self._out.append(build_frame(opcode, data, mask=self._mask_frames))

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
        payload = build_close_payload(code, reason) if code else b""
        self._out.append(build_frame(_OP_CLOSE, payload, mask=self._mask_frames))
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
        Connection.__init__(self, client=False, **options)
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
        Connection.__init__(self, client=True, **options)
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
