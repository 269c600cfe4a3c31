# cython: annotation_typing=False, boundscheck=True, wraparound=True, cdivision=False
"""The permessage-deflate state of one connection (RFC 7692 §7.2): :class:`DeflateCodec`
compresses the messages it sends and inflates the compressed messages it receives.

It is what :meth:`~wsfast.extensions.PerMessageDeflate.accept_offer` and
:meth:`~wsfast.extensions.PerMessageDeflate.accept_response` return, and the public name is
:class:`wsfast.extensions.DeflateCodec`; it lives in a module of its own because it runs for every
compressed message.

One source, two builds, as :mod:`wsfast.connection`: this file is plain Python, and the same file
is compiled by Cython with the types of ``_deflate_codec.pxd``, so that the connection calls
:meth:`~DeflateCodec.compress` and :meth:`~DeflateCodec.decompress` as C methods and the steps
around the backend's calls run no interpreted code. Run uncompiled (``WSFAST_NO_EXTENSIONS=1``),
it is the pure-Python implementation.
"""

from __future__ import annotations

import zlib
from typing import Any

from .deflate import DeflateBackend, default_backend
from .exceptions import PayloadTooBig, ProtocolError

__all__ = ["DeflateCodec"]

# RFC 7692 §7.2.1: the four octets a SYNC_FLUSH ends with, removed by the sender, re-appended here.
_TAIL = b"\x00\x00\xff\xff"
_SYNC_FLUSH = zlib.Z_SYNC_FLUSH

#: Compressed frames up to this size are inflated in one call with the four octets appended.
_JOIN_TAIL_LIMIT = 64 * 1024

#: Output per zlib call while inflating: a bomb costs at most the limit plus one step before 1009.
_INFLATE_STEP = 256 * 1024


def _inflate_into(
    pieces: list[bytes],
    decompressor: Any,
    data: bytes | bytearray | memoryview,
    size: int,
    limit: int | None,
) -> int:
    """Inflates ``data`` in steps of at most ``_INFLATE_STEP`` bytes, appending to ``pieces``;
    returns the message size so far. Past ``limit`` (one byte past it proves the message too big)
    raises PayloadTooBig: a decompression bomb never costs more than limit + one step, instead of
    the twice-the-limit zlib would hold in one call that produced limit + 1 bytes at once."""
    while True:
        step = _INFLATE_STEP if limit is None else min(_INFLATE_STEP, limit + 1 - size)
        chunk = decompressor.decompress(data, step)
        if chunk:
            pieces.append(chunk)
            size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooBig(f"message larger than {limit} bytes once inflated")
        data = decompressor.unconsumed_tail
        if not data and len(chunk) < step:
            return size


def _inflate(decompressor: Any, data: bytes | bytearray | memoryview, limit: int | None) -> bytes:
    """All of ``data`` inflated, as :func:`_inflate_into` from a message size of 0 would: most
    frames inflate in one step, which returns the backend's output as it is (no list, no join)."""
    step = _INFLATE_STEP if limit is None else min(_INFLATE_STEP, limit + 1)
    out: bytes = decompressor.decompress(data, step)
    if len(out) < step and not decompressor.unconsumed_tail:
        return out  # fewer than limit + 1 bytes, and nothing left to inflate
    pieces = [out]
    if limit is not None and len(out) > limit:
        raise PayloadTooBig(f"message larger than {limit} bytes once inflated")
    _inflate_into(pieces, decompressor, decompressor.unconsumed_tail, len(out), limit)
    return b"".join(pieces)


class DeflateCodec:
    """The negotiated permessage-deflate state of one connection (RFC 7692 §7.2).

    ``compress(data, fin)`` deflates one frame's worth of a message (raw deflate, SYNC_FLUSH; the
    four trailing octets are removed at the end of the message, RFC 7692 §7.2.1) and
    ``decompress(data, fin, limit)`` inflates one frame, re-appending the four octets at the end of
    the message (§7.2.2) and raising :class:`PayloadTooBig` beyond ``limit`` output bytes.
    Contexts are reset after each message when "no context takeover" was agreed.

    ``backend`` (a :class:`~wsfast.deflate.DeflateBackend`; the process default if None) does
    the work. ``shared_key`` (backend, level, memory level, window, threshold, as constructed)
    is what determines this codec's output for a whole message on its own when it resets its
    compressor after each message (no context takeover): codecs with the same key send a
    message as the same bytes, so a broadcast compresses it once per
    key (:mod:`wsfast.broadcast`); None with context takeover.
    """

    __slots__ = (
        "_compress_bits",
        "_compressor",
        "_decompressor",
        "_error",
        "_level",
        "_mem_level",
        "agreed",
        "backend",
        "compress_threshold",
        "reset_compressor",
        "reset_decompressor",
        "shared_key",
    )

    def __init__(
        self,
        *,
        compress_bits: int = 15,
        reset_compressor: bool = False,
        reset_decompressor: bool = False,
        compress_threshold: int = 32,
        compression_level: int = 6,
        mem_level: int = 8,
        backend: DeflateBackend | None = None,
        agreed: Any = None,
    ) -> None:
        self.backend = backend = default_backend() if backend is None else backend
        self._error = backend.error
        self._compress_bits = max(9, compress_bits)
        self._level = compression_level
        self._mem_level = mem_level
        self.reset_compressor = reset_compressor
        self.reset_decompressor = reset_decompressor
        self.compress_threshold = compress_threshold
        if agreed is None:
            from .extensions import Extension  # the header module imports this one

            agreed = Extension("permessage-deflate")
        #: The :class:`~wsfast.extensions.Extension` agreed in the opening handshake.
        self.agreed = agreed
        self._compressor: Any = None
        self._decompressor: Any = None
        # The threshold is part of the key: it decides whether a message is compressed at all.
        self.shared_key: tuple[str, int, int, int, int] | None = (
            (backend.name, compression_level, mem_level, self._compress_bits, compress_threshold)
            if reset_compressor
            else None
        )

    def compress(self, data: bytes | bytearray | memoryview, fin: bool = True) -> bytes:
        """Compresses one frame of a message; ``fin`` marks the last frame."""
        compressor = self._compressor
        if compressor is None:
            compressor = self._compressor = self.backend.compressobj(
                self._level, self._compress_bits, self._mem_level
            )
        head: bytes = compressor.compress(data)
        out: bytes = compressor.flush(_SYNC_FLUSH)
        if head:
            out = head + out
        if fin:
            if out.endswith(_TAIL):
                out = out[:-4]
            if self.reset_compressor:
                self._compressor = None
        return out

    def compress_message(self, data: bytes | bytearray | memoryview) -> bytes:
        """``data`` compressed as a whole message with a fresh compressor of this codec's
        settings, leaving this codec's own compressor alone: what :meth:`compress` produces for
        a one-frame message under "no context takeover"."""
        return self.backend.compress_message(
            bytes(data), self._level, self._compress_bits, self._mem_level
        )

    def release_compressor(self) -> bool:
        """Frees the compressor (its window and hash tables) between messages; the next
        compressed message starts a new one. True if there was one to free.

        Always allowed (RFC 7692 §7.2.1): "no context takeover" only *forbids* a sender to refer
        to earlier messages, and a fresh deflate stream refers to none, so the peer's inflater,
        with or without its own retained window, reads it as usual. The cost is a worse ratio
        for the next message only. Call it only between messages (not while a fragmented
        compressed message is being sent): :meth:`Connection.release_compressor` checks that.
        """
        if self._compressor is None:
            return False
        self._compressor = None
        return True

    def decompress(
        self, data: bytes | bytearray | memoryview, fin: bool, limit: int | None
    ) -> bytes:
        """Inflates one frame of a compressed message, producing at most ``limit`` bytes
        (``None``: unbounded). Raises :class:`PayloadTooBig` (1009) past the limit and
        :class:`ProtocolError` (1002) on corrupt data."""
        decompressor = self._decompressor
        if decompressor is None:
            # Inflating with the largest window is always safe, whatever the peer agreed to.
            decompressor = self._decompressor = self.backend.decompressobj(15)
        try:
            if fin and len(data) <= _JOIN_TAIL_LIMIT:
                # One call instead of two: each costs a fixed set-up (an output buffer, the
                # backend's state), more than copying a small payload once.
                out = _inflate(decompressor, b"".join((data, _TAIL)), limit)
            else:
                pieces: list[bytes] = []
                size = _inflate_into(pieces, decompressor, data, 0, limit)
                if fin:
                    _inflate_into(pieces, decompressor, _TAIL, size, limit)
                out = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        except self._error as exc:
            self._decompressor = None
            raise ProtocolError(1002, f"invalid compressed data: {exc}") from None
        if fin and (self.reset_decompressor or decompressor.eof):
            # A peer that ended its deflate stream (BFINAL) starts a new one with the next message.
            self._decompressor = None
        return out
