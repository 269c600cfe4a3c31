"""Extensions of the wsproto-compatible API (``wsproto.extensions``).

:class:`Extension` has wsproto's negotiation methods (``offer`` / ``accept`` / ``finalize``) and
frame hooks; :class:`PerMessageDeflate` (RFC 7692) negotiates exactly like wsproto's and
compresses with zlib. The connection calls the hooks once per whole frame (wsproto may call the
payload hook several times per frame, as pieces of it arrive).
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from typing import Any, overload

from .frame_protocol import CloseReason, Opcode, ParseFailed, RsvBits

_NO_RSV = RsvBits(False, False, False)
_RSV1 = RsvBits(True, False, False)
# RFC 7692 §7.2.1/§7.2.2: a sync flush ends with this empty stored block; the sender strips it
# and the receiver appends it again before inflating the message's last piece.
_SYNC_TAIL = b"\x00\x00\xff\xff"
_DATA_OPCODES = (Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY)


class Extension(ABC):
    """A WebSocket extension (RFC 6455 §9), negotiated during the opening handshake.

    ``proto`` in the frame hooks is the :class:`~.connection.Connection`; its ``client``
    attribute tells the side.
    """

    name: str

    def enabled(self) -> bool:
        """True once negotiated: only enabled extensions see frames."""
        return False

    @abstractmethod
    def offer(self) -> bool | str:
        """Client side: the offer's parameters, True to offer without parameters, False not
        to offer."""

    def accept(self, offer: str) -> bool | str | None:
        """Server side: the response's parameters for the client's ``offer`` (the whole
        header item, name included), True for none, None or False to decline."""
        return None

    def finalize(self, offer: str) -> None:  # noqa: B027 - optional hook, as in wsproto
        """Client side: the server accepted with this header item."""

    def frame_inbound_header(
        self, proto: Any, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        """A frame header arrived; returns the RSV bits this extension accounts for, or a
        close code to fail the connection with."""
        return _NO_RSV

    def frame_inbound_payload_data(self, proto: Any, data: bytes) -> bytes | CloseReason:
        """Transforms received payload data, or returns a close code."""
        return data

    def frame_inbound_complete(self, proto: Any, fin: bool) -> bytes | CloseReason | None:
        """A frame ended: returns bytes to append to its payload, None, or a close code."""
        return None

    def frame_outbound(
        self, proto: Any, opcode: Opcode, rsv: RsvBits, data: bytes, fin: bool
    ) -> tuple[RsvBits, bytes]:
        """Transforms a frame about to be sent: returns its RSV bits and payload."""
        return (rsv, data)


def _check_window_bits(value: int) -> int:
    # RFC 7692 §7.1.2.1: LZ77 window sizes of 2**8 .. 2**15; zlib's raw deflate cannot
    # produce 8, so (like wsproto) 9 .. 15.
    if value < 9 or value > 15:
        raise ValueError("Window size must be between 9 and 15 inclusive")
    return value


def _split_parameters(header_item: str) -> list[tuple[str, str | None]]:
    """``"permessage-deflate; a=1; b"`` -> ``[("a", "1"), ("b", None)]`` (the name dropped)."""
    parameters: list[tuple[str, str | None]] = []
    for part in header_item.split(";")[1:]:
        name, equals, value = part.strip().partition("=")
        parameters.append((name.strip(), value.strip() if equals else None))
    return parameters


class _WindowBits:
    """An attribute holding a base-2 log of an LZ77 window, checked when set (RFC 7692 §7.1.2)."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._attribute = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = "_" + name

    @overload
    def __get__(self, instance: None, owner: type) -> _WindowBits: ...
    @overload
    def __get__(self, instance: object, owner: type) -> int: ...
    def __get__(self, instance: object | None, owner: type) -> _WindowBits | int:
        if instance is None:
            return self
        value: int = getattr(instance, self._attribute)
        return value

    def __set__(self, instance: object, value: int) -> None:
        setattr(instance, self._attribute, _check_window_bits(value))


class PerMessageDeflate(Extension):
    """permessage-deflate (RFC 7692), with wsproto's parameters, negotiation and defaults.

    Client side, :meth:`offer` proposes both window sizes (and the no-context-takeover flags
    set here); server side, :meth:`accept` agrees to whatever window sizes the client names and
    adds the flags set here. RFC 7692 §7: compressed messages carry RSV1 on their first frame.
    """

    name = "permessage-deflate"

    DEFAULT_CLIENT_MAX_WINDOW_BITS = 15
    DEFAULT_SERVER_MAX_WINDOW_BITS = 15

    client_max_window_bits = _WindowBits("Base-2 log of the client's compression window (9-15).")
    server_max_window_bits = _WindowBits("Base-2 log of the server's compression window (9-15).")

    def __init__(
        self,
        client_no_context_takeover: bool = False,
        client_max_window_bits: int | None = None,
        server_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
    ) -> None:
        self.client_no_context_takeover = client_no_context_takeover
        self.server_no_context_takeover = server_no_context_takeover
        self._client_max_window_bits = self.DEFAULT_CLIENT_MAX_WINDOW_BITS
        self._server_max_window_bits = self.DEFAULT_SERVER_MAX_WINDOW_BITS
        if client_max_window_bits is not None:
            self.client_max_window_bits = client_max_window_bits
        if server_max_window_bits is not None:
            self.server_max_window_bits = server_max_window_bits
        self._compressor: Any | None = None
        self._decompressor: Any | None = None
        # The frame being received is a data frame (None between frames).
        self._inbound_is_compressible: bool | None = None
        # The message being received is compressed (None between messages): RFC 7692 §6.1
        # flags only a message's first frame with RSV1.
        self._inbound_compressed: bool | None = None
        self._enabled = False

    def enabled(self) -> bool:
        return self._enabled

    def offer(self) -> bool | str:
        items = [
            f"client_max_window_bits={self.client_max_window_bits}",
            f"server_max_window_bits={self.server_max_window_bits}",
        ]
        if self.client_no_context_takeover:
            items.append("client_no_context_takeover")
        if self.server_no_context_takeover:
            items.append("server_no_context_takeover")
        return "; ".join(items)

    def _take_parameters(self, offer: str) -> dict[str, str | None]:
        """Sets the no-context-takeover flags that the header item ``offer`` names; returns its
        window-bits parameters, ``"client"``/``"server"`` -> value (None when it has none)."""
        window_bits: dict[str, str | None] = {}
        for name, value in _split_parameters(offer):
            if name.startswith("client_no_context_takeover"):
                self.client_no_context_takeover = True
            elif name.startswith("server_no_context_takeover"):
                self.server_no_context_takeover = True
            elif name.startswith("client_max_window_bits"):
                window_bits["client"] = value
            elif name.startswith("server_max_window_bits"):
                window_bits["server"] = value
        return window_bits

    def finalize(self, offer: str) -> None:
        window_bits = self._take_parameters(offer)
        if "client" in window_bits:
            self.client_max_window_bits = int(window_bits["client"] or "")
        if "server" in window_bits:
            self.server_max_window_bits = int(window_bits["server"] or "")
        self._enabled = True

    def accept(self, offer: str) -> bool | str | None:
        window_bits = self._take_parameters(offer)
        client_bits: int | None = None
        server_bits: int | None = None
        # RFC 7692 §7.1.2.2: a client may send client_max_window_bits without a value.
        if "client" in window_bits:
            value = window_bits["client"]
            client_bits = self.client_max_window_bits if value is None else int(value)
        if "server" in window_bits:
            value = window_bits["server"]
            server_bits = self.server_max_window_bits if value is None else int(value)
        response: list[str] = []
        if self.client_no_context_takeover:
            response.append("client_no_context_takeover")
        if self.server_no_context_takeover:
            response.append("server_no_context_takeover")
        try:
            if client_bits is not None:
                response.append(f"client_max_window_bits={client_bits}")
                self.client_max_window_bits = client_bits
            if server_bits is not None:
                response.append(f"server_max_window_bits={server_bits}")
                self.server_max_window_bits = server_bits
        except ValueError:
            return None  # a window size zlib cannot honour: decline the offer
        self._enabled = True
        return "; ".join(response)

    # -- frame hooks -------------------------------------------------------------------------

    def frame_inbound_header(
        self, proto: Any, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if rsv.rsv1 and (opcode >= 0x8 or opcode == Opcode.CONTINUATION):
            # RFC 7692 §6.1: RSV1 only on a data message's first frame, never on control frames.
            return CloseReason.PROTOCOL_ERROR
        self._inbound_is_compressible = opcode in _DATA_OPCODES
        if not self._inbound_is_compressible:
            # A control frame, maybe between two fragments of a message (RFC 6455 §5.4): it
            # leaves the message's state alone (wsproto's forgets it, corrupting the message).
            return _RSV1
        if self._inbound_compressed is None:
            self._inbound_compressed = bool(rsv.rsv1)
            if self._inbound_compressed and self._decompressor is None:
                bits = self.server_max_window_bits if proto.client else self.client_max_window_bits
                self._decompressor = zlib.decompressobj(-bits)
        return _RSV1

    def frame_inbound_payload_data(self, proto: Any, data: bytes) -> bytes | CloseReason:
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        try:
            return self._decompressor.decompress(data)  # type: ignore[union-attr, no-any-return]
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA

    def frame_inbound_complete(self, proto: Any, fin: bool) -> bytes | CloseReason | None:
        if not fin:
            return None
        if not self._inbound_is_compressible:
            return None  # a control frame: the message in progress, if any, goes on
        compressed = self._inbound_compressed
        self._inbound_compressed = None
        if not compressed:
            return None
        decompressor = self._decompressor
        assert decompressor is not None
        try:
            tail: bytes = decompressor.decompress(_SYNC_TAIL) + decompressor.flush()
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        # RFC 7692 §7.1.1.1/§7.1.1.2: without context takeover each message starts afresh.
        if self.server_no_context_takeover if proto.client else self.client_no_context_takeover:
            self._decompressor = None
        return tail

    def frame_outbound(
        self, proto: Any, opcode: Opcode, rsv: RsvBits, data: bytes, fin: bool
    ) -> tuple[RsvBits, bytes]:
        if opcode not in _DATA_OPCODES:
            return (rsv, data)  # RFC 7692 §6.1: control frames are never compressed
        if opcode != Opcode.CONTINUATION:
            rsv = RsvBits(True, rsv[1], rsv[2])
        compressor = self._compressor
        if compressor is None:
            bits = self.client_max_window_bits if proto.client else self.server_max_window_bits
            compressor = self._compressor = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits
            )
        out = compressor.compress(data)
        if fin:
            out += compressor.flush(zlib.Z_SYNC_FLUSH)
            out = out[:-4]  # RFC 7692 §7.2.1: drop the trailing 00 00 ff ff
            if self.client_no_context_takeover if proto.client else self.server_no_context_takeover:
                self._compressor = None
        return (rsv, out)

    # -- the connection's direct path (same results as the hooks, fewer Python calls) ----------

    def _inflate_frame(self, client: bool, payload: bytes, fin: bool) -> bytes:
        """The inflated payload of one whole frame of a compressed message (RFC 7692 §7.2.2).

        Raises ParseFailed (1007) when the data is not a valid deflate stream.
        """
        decompressor = self._decompressor
        if decompressor is None:
            bits = self.server_max_window_bits if client else self.client_max_window_bits
            decompressor = self._decompressor = zlib.decompressobj(-bits)
        try:
            data: bytes = decompressor.decompress(payload)
            if fin:
                # Without a max_length, decompress() returns all it can; the tail completes the
                # sync flush the sender stripped.
                data += decompressor.decompress(_SYNC_TAIL)
        except zlib.error as exc:
            raise ParseFailed(
                f"error in extension: {exc}", CloseReason.INVALID_FRAME_PAYLOAD_DATA
            ) from None
        if fin and (self.server_no_context_takeover if client else self.client_no_context_takeover):
            self._decompressor = None
        return data

    def _deflate_frame(self, client: bool, data: Any, fin: bool) -> bytes:
        """The compressed payload of one frame of an outgoing message (RFC 7692 §7.2.1)."""
        compressor = self._compressor
        if compressor is None:
            bits = self.client_max_window_bits if client else self.server_max_window_bits
            compressor = self._compressor = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits
            )
        out: bytes = compressor.compress(data)
        if fin:
            out = (out + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
            if self.client_no_context_takeover if client else self.server_no_context_takeover:
                self._compressor = None
        return out

    def __repr__(self) -> str:
        parts = [f"client_max_window_bits={self.client_max_window_bits}"]
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        return f"<{type(self).__name__} {'; '.join(parts)}>"


#: Extension names this module implements, mapped to their classes.
SUPPORTED_EXTENSIONS = {PerMessageDeflate.name: PerMessageDeflate}

__all__ = ["SUPPORTED_EXTENSIONS", "Extension", "PerMessageDeflate"]
