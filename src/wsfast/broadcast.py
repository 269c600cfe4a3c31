"""One message to many connections, each frame built as few times as possible (sans-IO).

A :class:`Broadcast` holds one message and hands out the bytes each connection must send:

- connections without permessage-deflate (or for which the message is below their
  ``compress_threshold``) share one frame, built once;
- connections whose compressor is reset after every message (no context takeover on the sending
  side, which a server may insist on: RFC 7692 §7.1.1.1) compress a message on its own, so every
  connection with the same backend, level, memory level and window gets the same bytes: the
  message is compressed once per such group (:attr:`~wsfast.extensions.DeflateCodec.shared_key`);
- connections with context takeover compress their own copy with their own compressor (their
  output depends on every earlier message they sent).

A client's frames are masked with a fresh key each (RFC 6455 §5.3), so only the (compressed)
payload is shared between client connections; a server's whole frame is shared.

Any I/O layer broadcasts the same way: either ``prepared.send_to(conn)`` (the frame joins what
``conn.data_to_send()`` returns, in order), or ``prepared.frame_for(conn)`` to write the bytes
itself when nothing else is waiting in the connection's outgoing data.
:func:`wsfast.asyncio.broadcast` is built on it.
"""

from __future__ import annotations

from typing import Any

from ._state import State
from .frames import build_frame

__all__ = ["Broadcast"]

_OPEN = State.OPEN
_OP_TEXT = 1
_OP_BINARY = 2


class Broadcast:
    """One message (``str``: text; bytes-like: binary) prepared for many connections.

    Build one per message; it caches the frames it builds, so it is meant to be used once and
    dropped. Not thread-safe.
    """

    __slots__ = ("_frames", "_opcode", "_payload", "_plain", "_shared")

    def __init__(self, message: str | bytes | bytearray | memoryview) -> None:
        if type(message) is str:
            self._opcode = _OP_TEXT
            self._payload = message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self._opcode = _OP_BINARY
            self._payload = bytes(message)
        else:
            raise TypeError(
                f"cannot broadcast {type(message).__name__}: str or bytes-like expected"
            )
        #: The unmasked, uncompressed frame, built on first need.
        self._plain: bytes | None = None
        #: shared_key -> the message compressed on its own, for codecs without context takeover.
        self._shared: dict[Any, bytes] = {}
        #: shared_key -> the unmasked frame of that compressed payload (server connections).
        self._frames: dict[Any, bytes] = {}

    @property
    def payload(self) -> bytes:
        """The message's payload as sent uncompressed (text encoded as UTF-8)."""
        return self._payload

    def frame_for(self, connection: Any) -> Any:
        """The bytes (a bytes-like object) that carry the message to ``connection`` (a sans-IO
        :class:`~wsfast.connection.Connection`), or None when it cannot take a message now: not
        OPEN, or in the middle of sending a fragmented message of its own (whose frames must not
        be interleaved with another message's, RFC 6455 §5.4).

        With context takeover this advances the connection's compressor: the bytes must then be
        sent, after anything the connection already had to send.
        """
        if connection.state is not _OPEN or connection._send_opcode:
            return None
        payload = self._payload
        codec = connection._codec
        if codec is None or len(payload) < codec.compress_threshold:
            if connection._mask_frames:
                return build_frame(self._opcode, payload, mask=True)
            plain = self._plain
            if plain is None:
                plain = self._plain = build_frame(self._opcode, payload)
            return plain
        key = codec.shared_key
        if key is None:
            # Context takeover: this connection's compressor, its own copy (RFC 7692 §7.2.1).
            compressed = codec.compress(payload, True)
            return build_frame(
                self._opcode, compressed, rsv1=True, mask=bool(connection._mask_frames)
            )
        if connection._mask_frames:
            compressed = self._shared.get(key)
            if compressed is None:
                compressed = self._shared[key] = codec.compress_message(payload)
            return build_frame(self._opcode, compressed, rsv1=True, mask=True)
        frame = self._frames.get(key)
        if frame is None:
            compressed = self._shared.get(key)
            if compressed is None:
                compressed = self._shared[key] = codec.compress_message(payload)
            # RFC 7692 §6.1: RSV1 set on the (only) frame of a compressed message.
            frame = self._frames[key] = build_frame(self._opcode, compressed, rsv1=True)
        return frame

    def send_to(self, connection: Any) -> bool:
        """Queues the message on ``connection``: its frame comes out of
        ``connection.data_to_send()`` after what was already queued. False (nothing queued) when
        the connection cannot take a message now (see :meth:`frame_for`)."""
        frame = self.frame_for(connection)
        if frame is None:
            return False
        connection._out.append(frame)
        return True
