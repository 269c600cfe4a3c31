"""The shared interface of the per-message path: ``_core`` (compiled) and ``_core_py`` (its twin).

:class:`ConnectionCore` is the base of the sans-IO :class:`wsfast.connection.Connection`, and
:class:`ProtocolCore` the base of the asyncio :class:`wsfast.asyncio.WebSocket`. They hold what
runs for every message; the subclasses hold the rest of the protocol and override the hooks
(methods that raise NotImplementedError here). Both twins have the same attributes, methods,
results and exceptions; the compiled one keeps the attributes in C fields.
"""

from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any

from wsfast._state import State

#: Payloads at least this large are sent as (header, payload) pieces, not one joined frame.
SPLIT_WRITE_SIZE: int
#: Where writelines() is not vectored: pieces up to this size in all are joined into one write.
JOIN_LIMIT: int
#: Beyond JOIN_LIMIT, pieces at least this large are written on their own, never joined.
LARGE_PIECE: int
#: Coalesced frames are written once this many are queued.
MAX_PENDING_PIECES: int

class ConnectionCore:
    state: State
    message_queue: Any
    inflate_budget: int | None
    text_as_bytes: bool
    should_close_transport: bool
    _events: list[Any]
    _out: list[Any]
    _parser: Any
    _codec: Any
    _deferred_failure: tuple[int, str] | None
    _backlog: list[Any] | None
    _backlog_failure: tuple[int, str] | None
    _batch_inflated: int
    _send_opcode: int
    _mask_frames: bool

    def events(self) -> list[Any]:
        """The events produced since the last call, in order (the list is the caller's)."""
    def data_to_send(self) -> list[Any]:
        """The bytes to write since the last call, as a list of pieces."""
    @property
    def failure_pending(self) -> bool:
        """True when a protocol failure waits behind complete messages not yet taken."""
    @property
    def backlogged(self) -> bool:
        """True when frames received earlier wait for :meth:`process_backlog`."""
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Processes bytes received from the transport (any buffer; it is not kept)."""
    def process_backlog(self) -> None:
        """Processes the frames :meth:`receive_data` held back, with a fresh budget."""
    def _process_frames(self, frames: Any, failure: tuple[int, str] | None) -> None: ...
    def send_text(self, data: str | bytes | bytearray | memoryview, fin: bool = True) -> None:
        """Sends a text message, or the first frame of a fragmented one (``fin=False``)."""
    def send_binary(self, data: bytes | bytearray | memoryview, fin: bool = True) -> None:
        """Sends a binary message, or the first frame of a fragmented one (``fin=False``)."""
    # Hooks, overridden by the subclass.
    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> None: ...
    def _receive_frame(self, frame: Any) -> None: ...
    def _fail_received(self, code: int, reason: str) -> None: ...
    def _apply_deferred_failure(self) -> None: ...
    def _check_can_send_message(self) -> None: ...
    def _send_data(self, opcode: int, payload: Any, fin: bool) -> None: ...

class ProtocolCore:
    _conn: Any
    _loop: Any
    _transport: Any
    _read_view: memoryview | None
    _messages: Any
    _on_message: Callable[[Any], object] | None
    _pending: list[Any] | None
    _dispatching: bool
    _reading_paused: bool
    _writing_paused: bool
    _rx_seen: bool
    _tx_seen: bool
    _vectored_writes: bool
    _max_queue: int | None
    _recv_waiter: Any
    _failure_timer: Any
    _sent_since_recv: bool

    def get_buffer(self, sizehint: int) -> memoryview: ...
    def buffer_updated(self, nbytes: int) -> None: ...
    def data_received(self, data: bytes) -> None: ...
    def _after_receive(self) -> None:
        """Hands over what the sans-IO layer produced, writes its answers (Pongs, Close)."""
    def _messages_arrived(self) -> None:
        """The sans-IO layer queued messages: hand them to on_message, or wake recv()."""
    async def recv(self) -> str | bytes:
        """The next message: ``str`` for a text message, ``bytes`` for a binary one."""
    async def __anext__(self) -> str | bytes:
        """``async for message in ws``: ends when the connection closes normally."""
    async def send(
        self,
        message: str | bytes | bytearray | memoryview | Iterable[Any] | AsyncIterable[Any],
    ) -> None:
        """Sends a message (an iterable of them: one fragmented message); waits to drain."""
    def _dispatch_messages(self) -> None:
        """Callback style: hands the queued messages to on_message, in order of arrival."""
    def send_nowait(self, message: str | bytes | bytearray | memoryview) -> None:
        """Sends a message without waiting: ``str`` as text, a bytes-like object as binary."""
    def _write(self, pieces: list[Any]) -> None:
        """Writes ``pieces`` now, after any frames queued by :meth:`_write_soon`."""
    def _write_soon(self, pieces: list[Any]) -> None:
        """Queues small frames, written together within this step of the event loop."""
    def _flush_pending(self) -> None: ...
    def _flush(self) -> None:
        """Writes what the sans-IO layer has to send; closes the transport when it says so."""
    # Hooks, overridden by the subclass.
    def _process_events(self, events: list[Any]) -> None: ...
    def _pause_reading(self) -> None: ...
    async def _recv_closed(self) -> Exception: ...
    def _flush_deferred_failure(self) -> None: ...
    async def _send_closed(self) -> Exception: ...
    async def _send_fragments(self, fragments: Any) -> None: ...
    async def _drain(self) -> None: ...
    def _closed_exception(self) -> Exception: ...
    def _backlogged(self) -> None: ...
    def _defer_failure(self) -> None: ...
    def _limit_auto_backlog(self, out: list[Any]) -> None: ...
    def _close_transport(self) -> None: ...
    def _maybe_resume_reading(self) -> None: ...
    def _check_can_send_nowait(self) -> None: ...
    def fail(self, code: int = 1011, reason: str = "") -> None: ...
