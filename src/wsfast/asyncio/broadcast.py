""":func:`broadcast`: one message to many connections of the asyncio layer, built once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._state import State
from ..broadcast import Broadcast

if TYPE_CHECKING:
    from .connection import WebSocket

__all__ = ["broadcast"]

_OPEN = State.OPEN


def broadcast(
    connections: Iterable[WebSocket], message: str | bytes | bytearray | memoryview
) -> int:
    """Sends ``message`` (``str``: text; bytes-like: binary) to every connection in
    ``connections`` without waiting, and returns to how many it was sent.

    The frame is built once for all connections without compression, compressed once per group
    of identical settings for connections that compress without context takeover, and
    compressed by each connection with context takeover for itself
    (:class:`wsfast.broadcast.Broadcast`).

    **Slow clients are skipped.** A connection whose transport's write buffer is above its
    ``write_limit`` (it is not reading fast enough) does not get the message, nor any broadcast
    message until its buffer drains below the limit: one slow client neither holds up the
    others nor makes the server hold more than ``write_limit`` plus one message for it. A
    connection that is not open, or is in the middle of sending a fragmented message, is
    skipped too. Where every message must arrive, ``await ws.send(message)`` on each
    connection instead (it waits for each buffer to drain).
    """
    prepared = Broadcast(message)
    frame_for = prepared.frame_for
    # The common cases of frame_for(), inlined: the shared uncompressed frame, and the frame
    # of each group of codecs without context takeover.
    plain: Any = None
    shared: dict[Any, Any] = {}
    delivered = 0
    for ws in connections:
        if ws._writing_paused:
            continue  # above its write_limit: skipped (see the docstring)
        transport = ws._transport
        if transport is None or transport.is_closing():
            continue
        conn = ws._conn
        codec = conn._codec
        if conn._mask_frames or conn.state is not _OPEN or conn._send_opcode:
            frame = frame_for(conn)  # client side, or cannot take a message: the general case
            if frame is None:
                continue
        elif codec is None:
            if plain is None:
                plain = frame_for(conn)
            frame = plain
        else:
            # The frame of this codec's group, when it was built for an earlier connection.
            key = codec.shared_key
            frame = None if key is None else shared.get(key)
            if frame is None:
                frame = frame_for(conn)
                if key is not None:
                    shared[key] = frame
        pending = ws._pending
        if pending is not None:
            pending.append(frame)  # behind the small frames queued to go out together
        elif conn._out:
            # Frames queued by send_nowait() in an on_message callback: the message goes
            # behind them, written with them.
            conn._out.append(frame)
            if not ws._dispatching:
                ws._flush()
        else:
            transport.write(frame)
            ws._tx_seen = True
        delivered += 1
    return delivered
