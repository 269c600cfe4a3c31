"""The WebSocket connection of the wsproto-compatible API (``wsproto.connection``).

:class:`Connection` speaks the framing protocol once the handshake is over, with wsproto 1.3's
events, states and errors, but parses, unmasks, validates and builds frames in wsfast's compiled
frame core (:class:`wsfast.frames.FrameParser`, :func:`wsfast.frames.build_frame`).

Received data is parsed when it arrives (in :meth:`Connection.receive_data`), and each complete
frame becomes one event; wsproto parses lazily inside ``events()`` and may also report a frame's
payload in pieces as they arrive (``frame_finished=False``). Events, their order and the
resulting states are otherwise the same.
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Generator
from enum import Enum
from typing import TYPE_CHECKING, Any

from wsfast.exceptions import ProtocolError
from wsfast.frames import FrameParser, build_frame

from .events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from .extensions import PerMessageDeflate
from .frame_protocol import (
    LOCAL_ONLY_CLOSE_REASONS,
    MAX_PAYLOAD_NORMAL,
    MAX_PROTOCOL_CLOSE_REASON,
    CloseReason,
    Opcode,
    ParseFailed,
    RsvBits,
)
from .utilities import LocalProtocolError

if TYPE_CHECKING:
    from .extensions import Extension


class ConnectionState(Enum):
    """The state of a connection (RFC 6455 §4 opening and §7 closing handshakes)."""

    #: The opening handshake is in progress.
    CONNECTING = 0
    #: The opening handshake is complete.
    OPEN = 1
    #: The peer sent a close frame; this side has not answered yet.
    REMOTE_CLOSING = 2
    #: This side sent a close frame; the peer has not answered yet.
    LOCAL_CLOSING = 3
    #: The closing handshake is complete (or the transport was lost).
    CLOSED = 4
    #: The server is rejecting the opening handshake (response body under way).
    REJECTING = 5


class ConnectionType(Enum):
    """Which end of the connection this is."""

    #: This side connects to a server.
    CLIENT = 1
    #: This side waits for clients.
    SERVER = 2


#: Module-level alias of :attr:`ConnectionType.CLIENT`, as wsproto has it.
CLIENT = ConnectionType.CLIENT
#: Module-level alias of :attr:`ConnectionType.SERVER`, as wsproto has it.
SERVER = ConnectionType.SERVER

_OPEN = ConnectionState.OPEN
_LOCAL_CLOSING = ConnectionState.LOCAL_CLOSING
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING
_CLOSED = ConnectionState.CLOSED
_CLOSE_REASONS = {reason.value: reason for reason in CloseReason}
_OPCODES = {opcode.value: opcode for opcode in Opcode}
_NO_RSV = RsvBits(False, False, False)
_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


_new_object = object.__new__


def _message(cls: type[Message[Any]], data: Any, message_finished: bool) -> Any:
    """``cls(data, True, message_finished)`` at less than half the cost.

    The events are frozen dataclasses whose generated ``__init__`` sets each field through
    ``object.__setattr__``; filling the instance's ``__dict__`` directly gives the same object
    (equal, same hash and repr) faster. Relies on the event classes having a ``__dict__``
    (they are not slotted).
    """
    event = _new_object(cls)
    fields = event.__dict__
    fields["data"] = data
    fields["frame_finished"] = True
    fields["message_finished"] = message_finished
    return event


def _close_reason(code: int) -> CloseReason | int:
    """The CloseReason member for ``code`` when there is one (wsproto reports members)."""
    return _CLOSE_REASONS.get(code, code)


def _close_payload(code: int | None, reason: str | None) -> bytes:
    """A close frame's payload as wsproto builds it (RFC 6455 §5.5.1)."""
    if code == CloseReason.NO_STATUS_RCVD:
        code = None
    if code is None:
        if reason:
            raise TypeError("cannot specify a reason without a code")
        return b""
    if code in LOCAL_ONLY_CLOSE_REASONS:
        # RFC 6455 §7.4.1: 1005, 1006 and 1015 must not be sent; wsproto sends 1000 instead.
        code = CloseReason.NORMAL_CLOSURE
    payload = int(code).to_bytes(2, "big")
    if reason:
        encoded = reason.encode("utf-8")
        limit = MAX_PAYLOAD_NORMAL - 2  # RFC 6455 §5.5: control payloads are at most 125 bytes
        if len(encoded) > limit:
            # Cut at a code point boundary so that the reason stays valid UTF-8 (§5.5.1).
            encoded = encoded[:limit].decode("utf-8", "ignore").encode("utf-8")
        payload += encoded
    return payload


class Connection:
    """The framing protocol of one open WebSocket connection (after the opening handshake).

    ``extensions`` are the negotiated extensions (only the enabled ones take part);
    ``trailing_data`` is what arrived right after the handshake and is processed at once.
    """

    # The frame core: wsfast's compiled parser and builder (or their pure-Python twins under
    # WSFAST_NO_EXTENSIONS=1). Class attributes so that a subclass may swap them (benchmarks).
    _FrameParser = FrameParser
    _build_frame = staticmethod(build_frame)

    def __init__(
        self,
        connection_type: ConnectionType,
        extensions: list[Extension] | None = None,
        trailing_data: bytes = b"",
    ) -> None:
        self.client = connection_type is ConnectionType.CLIENT
        self._state = _OPEN
        self._events: deque[Event] = deque()
        self._extensions = [ext for ext in extensions or () if ext.enabled()]
        # permessage-deflate alone (the usual case) takes a direct path instead of the hooks.
        self._deflate: PerMessageDeflate | None = None
        if len(self._extensions) == 1 and type(self._extensions[0]) is PerMessageDeflate:
            self._deflate = self._extensions[0]
        self._incoming_compressed = False  # RSV1 of the message being received
        # wsproto sets no size limits; RSV1 may mark compressed messages once an extension is
        # enabled (RFC 7692 §6), and the extensions' hooks then check each frame's RSV bits.
        self._parser = self._FrameParser(
            server=not self.client,
            max_frame_size=None,
            max_message_size=None,
            rsv1_allowed=bool(self._extensions),
            validate_utf8=True,
        )
        # False once a close frame arrived or the peer broke the protocol: like wsproto, what
        # follows is not parsed.
        self._reading = True
        self._incoming_opcode = 0  # opcode of the fragmented message being received, or 0
        self._text_decoder: Any = None  # incremental UTF-8 decoder of a fragmented text message
        self._outgoing_opcode = 0  # opcode of the fragmented message being sent, or 0
        self.receive_data(trailing_data)

    @property
    def state(self) -> ConnectionState:
        """The connection's :class:`ConnectionState`."""
        return self._state

    # -- sending -----------------------------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """The bytes to send to the peer for ``event`` (a Message, Ping, Pong or
        CloseConnection). LocalProtocolError if the event cannot be sent in this state."""
        state = self._state
        cls = type(event)
        if (
            (cls is BytesMessage or cls is TextMessage)
            and state is _OPEN
            and not self._extensions
            and not self._outgoing_opcode
            and event.message_finished  # type: ignore[attr-defined]
        ):
            # The common case, a whole message and no extension, without the general checks
            # (isinstance on these ABC-derived classes is comparatively slow).
            data = event.data  # type: ignore[attr-defined]
            data_type = type(data)
            if data_type is bytes:
                frame: bytes = self._build_frame(0x2, data, fin=True, mask=self.client)
                return frame
            if data_type is str:
                frame = self._build_frame(0x1, data.encode("utf-8"), fin=True, mask=self.client)
                return frame
        if isinstance(event, Message):
            if state is _OPEN:
                return self._send_data(event.data, event.message_finished)
        elif isinstance(event, Ping):
            if state is _OPEN:
                return self._frame(0x9, event.payload, True)
        elif isinstance(event, Pong):
            if state is _OPEN:
                return self._frame(0xA, event.payload, True)
        elif isinstance(event, CloseConnection):
            if state is _OPEN or state is _REMOTE_CLOSING:
                data = self._frame(0x8, _close_payload(event.code, event.reason), True)
                self._state = _CLOSED if state is _REMOTE_CLOSING else _LOCAL_CLOSING
                return data
        else:
            translated = _from_real_wsproto(event)
            if translated is not None:
                return self.send(translated)
        raise LocalProtocolError(f"Event {event} cannot be sent in state {state}.")

    def _send_data(self, data: bytes | bytearray | memoryview | str, fin: bool) -> bytes:
        if isinstance(data, (bytes, bytearray, memoryview)):
            opcode = 0x2
        elif isinstance(data, str):
            opcode = 0x1
            data = data.encode("utf-8")
        else:
            raise TypeError("Must provide bytes or text")
        # RFC 6455 §5.4: a fragmented message's later frames are continuation frames.
        in_progress = self._outgoing_opcode
        if in_progress:
            if in_progress != opcode:
                raise TypeError("Data type mismatch inside message")
            opcode = 0x0
        if fin:
            self._outgoing_opcode = 0
        elif not in_progress:
            self._outgoing_opcode = opcode
        return self._frame(opcode, data, fin)

    def _frame(self, opcode: int, payload: Any, fin: bool) -> bytes:
        if not self._extensions:
            # RFC 6455 §5.3: a client masks every frame with a fresh key; a server never does.
            frame: bytes = self._build_frame(opcode, payload, fin=fin, mask=self.client)
            return frame
        deflate = self._deflate
        if deflate is not None:
            if opcode >= 0x8:  # RFC 7692 §6.1: control frames are not compressed
                frame = self._build_frame(opcode, payload, fin=fin, mask=self.client)
                return frame
            # RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
            frame = self._build_frame(
                opcode,
                deflate._deflate_frame(self.client, payload, fin),
                fin=fin,
                rsv1=opcode != 0x0,
                mask=self.client,
            )
            return frame
        rsv = _NO_RSV
        data = bytes(payload)
        for extension in reversed(self._extensions):
            rsv, data = extension.frame_outbound(self, _OPCODES[opcode], rsv, data, fin)
        frame = self._build_frame(
            opcode,
            data,
            fin=fin,
            rsv1=rsv[0],
            rsv2=rsv[1],
            rsv3=rsv[2],
            mask=self.client,
        )
        return frame

    # -- receiving ---------------------------------------------------------------------------

    def receive_data(self, data: bytes | None) -> None:
        """Processes bytes received from the peer; ``None`` means the transport closed.

        Read the resulting events with :meth:`events`. LocalProtocolError once CLOSED.
        """
        if data is None:
            # RFC 6455 §7.1.5: closed without a close frame -> close code 1006.
            self._events.append(CloseConnection(code=CloseReason.ABNORMAL_CLOSURE))
            self._state = _CLOSED
            return
        state = self._state
        if state is _OPEN or state is _LOCAL_CLOSING:
            if not (self._reading and data):
                return
            if self._extensions or self._incoming_opcode:
                self._parse(data)
                return
            try:
                frames = self._parser.feed(data)
            except ProtocolError as exc:
                self._deliver(getattr(exc, "frames", None) or [], exc)
                return
            if len(frames) == 1:
                # The common case: one whole data frame, no extension, no fragmented message.
                frame = frames[0]
                if frame.fin:
                    opcode = frame.opcode
                    if opcode == 0x2:
                        self._events.append(_message(BytesMessage, frame.payload, True))
                        return
                    if opcode == 0x1:
                        text = frame.payload.decode("utf-8")  # validated by the parser
                        self._events.append(_message(TextMessage, text, True))
                        return
            self._deliver(frames, None)
        elif state is _CLOSED:
            raise LocalProtocolError("Connection already closed.")
        # REMOTE_CLOSING: the peer sent its close frame; anything after it is ignored.

    def _parse(self, data: bytes) -> None:
        try:
            frames = self._parser.feed(data)
        except ProtocolError as exc:
            self._deliver(getattr(exc, "frames", None) or [], exc)
        else:
            self._deliver(frames, None)

    def _deliver(self, frames: list[Any], error: ProtocolError | None) -> None:
        """Appends the events of ``frames``, then the failure ``error`` if any."""
        append = self._events.append
        try:
            deflate = self._deflate
            if deflate is not None:
                for frame in frames:
                    opcode, payload, fin = frame.opcode, frame.payload, frame.fin
                    if opcode < 0x8:
                        if opcode:
                            # The parser allows RSV1 only on a message's first frame (§6.1).
                            self._incoming_compressed = frame.rsv1
                        if self._incoming_compressed:
                            payload = deflate._inflate_frame(self.client, payload, fin)
                    if not self._frame_event(opcode, payload, fin):
                        return
            elif self._extensions:
                for frame in frames:
                    if not self._frame_event(
                        frame.opcode, self._inbound_via_extensions(frame), frame.fin
                    ):
                        return
            else:
                for frame in frames:
                    opcode = frame.opcode
                    if opcode == 0x2 and frame.fin and not self._incoming_opcode:
                        append(_message(BytesMessage, frame.payload, True))
                    elif not self._frame_event(opcode, frame.payload, frame.fin):
                        return
        except ParseFailed as exc:
            self._fail(exc.code, str(exc))
            return
        if error is not None:
            self._fail(_close_reason(error.code), error.reason)

    def _fail(self, code: CloseReason | int, reason: str) -> None:
        # wsproto reports a protocol violation as a CloseConnection event carrying the close
        # code to send, leaves the state alone, and parses nothing more.
        self._reading = False
        self._events.append(CloseConnection(code=code, reason=reason))

    def _frame_event(self, opcode: int, payload: bytes, fin: bool) -> bool:
        """Appends the event for one whole frame; False when nothing more is to be read."""
        append = self._events.append
        if opcode == 0x0:
            opcode = self._incoming_opcode
            if fin:
                self._incoming_opcode = 0
        elif opcode < 0x8 and not fin:
            self._incoming_opcode = opcode
        if opcode == 0x2:
            append(_message(BytesMessage, payload, fin))
        elif opcode == 0x1:
            decoder = self._text_decoder
            if decoder is None and fin:
                text = _decode_utf8(payload)
            else:
                if decoder is None:
                    decoder = self._text_decoder = _Utf8Decoder()
                try:
                    text = decoder.decode(payload, fin)
                except UnicodeDecodeError as exc:
                    # RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection (1007).
                    raise ParseFailed(str(exc), CloseReason.INVALID_FRAME_PAYLOAD_DATA) from None
                if fin:
                    self._text_decoder = None
            append(_message(TextMessage, text, fin))
        elif opcode == 0x9:
            append(Ping(payload))
        elif opcode == 0xA:
            append(Pong(payload))
        else:  # 0x8, close: the parser already checked its length, code and UTF-8 reason
            if payload:
                code = int.from_bytes(payload[:2], "big")
                reason_code = _CLOSE_REASONS.get(code)
                if reason_code is None and code <= MAX_PROTOCOL_CLOSE_REASON:
                    # RFC 6455 §7.4.2: 1000-2999 are reserved for this RFC and its extensions;
                    # like wsproto, only the codes it names are accepted (1014 is refused).
                    raise ParseFailed("CLOSE with unknown reserved code")
                event = CloseConnection(reason_code or code, _decode_utf8(payload[2:]))
            else:
                # RFC 6455 §7.1.5: a close frame without a code reports 1005.
                event = CloseConnection(CloseReason.NO_STATUS_RCVD, "")
            self._state = _CLOSED if self._state is _LOCAL_CLOSING else _REMOTE_CLOSING
            self._reading = False
            append(event)
            return False
        return True

    def _inbound_via_extensions(self, frame: Any) -> bytes:
        """Runs a received frame through the enabled extensions' hooks (permessage-deflate
        inflates here); returns the payload to report."""
        opcode = _OPCODES[frame.opcode]
        rsv = RsvBits(frame.rsv1, frame.rsv2, frame.rsv3)
        payload = frame.payload
        claimed = [False, False, False]
        for extension in self._extensions:
            result = extension.frame_inbound_header(self, opcode, rsv, len(payload))
            if not isinstance(result, tuple):
                raise ParseFailed("error in extension", result)
            for index, used in enumerate(result):
                if used:
                    claimed[index] = True
        for found, expected in zip(rsv, claimed, strict=True):
            if found and not expected:
                # RFC 6455 §5.2: an RSV bit no negotiated extension defines fails the connection.
                raise ParseFailed("Reserved bit set unexpectedly")
        for extension in self._extensions:
            transformed = extension.frame_inbound_payload_data(self, payload)
            if isinstance(transformed, int):
                raise ParseFailed("error in extension", transformed)
            payload = transformed
        tail = b""
        for extension in self._extensions:
            completed = extension.frame_inbound_complete(self, frame.fin)
            if isinstance(completed, int):
                raise ParseFailed("error in extension", completed)
            if completed:
                tail += completed
        return bytes(payload + tail) if tail else bytes(payload)

    def events(self) -> Generator[Event, None, None]:
        """Yields the events produced by the data received so far, oldest first."""
        pending = self._events
        while pending:
            yield pending.popleft()


def _decode_utf8(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only reachable for inflated (compressed) text, which the frame parser cannot see.
        raise ParseFailed(str(exc), CloseReason.INVALID_FRAME_PAYLOAD_DATA) from None


def _from_real_wsproto(event: object) -> Event | None:
    """The equivalent of an event made with the real wsproto's classes, or None.

    Lets code that still builds ``wsproto.events`` objects somewhere send them through this
    connection.
    """
    cls = type(event)
    if not cls.__module__.startswith("wsproto"):
        return None
    from . import events as ours

    ours_cls = getattr(ours, cls.__name__, None)
    if not isinstance(ours_cls, type) or ours_cls is cls:
        return None
    import dataclasses

    if not dataclasses.is_dataclass(event):
        return None
    values = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    try:
        return ours_cls(**values)  # type: ignore[no-any-return]
    except TypeError:
        return None


__all__ = ["CLIENT", "SERVER", "Connection", "ConnectionState", "ConnectionType"]
