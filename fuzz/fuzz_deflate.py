"""Fuzzes permessage-deflate inflation (RFC 7692 §7.2.2) under a message size limit.

The input picks a limit, context takeover or not, and a few messages, each in frames whose data is
either deflated fuzz bytes (a valid stream, sometimes corrupted or cut short) or raw fuzz bytes.
``DeflateCodec.decompress`` is called per frame with the remaining budget, as the connection does.

Checks: only ProtocolError (1002, corrupt data) or PayloadTooBig (1009) escape; a frame never
yields more than the remaining budget; an accepted message equals what an unbounded reference
inflater makes of the same bytes, and a 1009 is only raised when the reference produces more than
the limit; a valid message that fits round-trips.

    python fuzz/run.py deflate --seconds 60     # see docs/hardening.md
"""

from __future__ import annotations

import zlib
from types import ModuleType

from fuzzlib import Checker, Provider, main, split

HOT_PATHS: tuple[str, ...] = ()
TAIL = b"\x00\x00\xff\xff"
LIMITS = (0, 1, 100, 1000, 1 << 16, 1 << 20)


def reference_inflate(data: bytes, limit: int) -> bytes | None:
    """Up to limit+1 bytes of the inflated message, None if the data is corrupt before that."""
    inflater = zlib.decompressobj(-15)
    try:
        return inflater.decompress(data + TAIL, limit + 1)
    except zlib.error:
        return None


def make_checker(compiled: dict[str, ModuleType], python: dict[str, ModuleType]) -> Checker:
    from wsfast.exceptions import PayloadTooBig, ProtocolError
    from wsfast.extensions import DeflateCodec

    def check(data: bytes) -> None:
        source = Provider(data)
        limit = source.pick(LIMITS)
        takeover = source.boolean()
        codec = DeflateCodec(reset_decompressor=not takeover)
        compressor = zlib.compressobj(source.int_in(0, 9), zlib.DEFLATED, -source.int_in(9, 15))
        # False once a message that was not made by our compressor got through: with context
        # takeover, the inflater's window then no longer matches the compressor's.
        in_sync = True
        produced_before = False
        for _ in range(source.int_in(1, 4)):
            kind = source.int_in(0, 5)
            plain = source.take(source.int_in(0, 4000))
            if kind == 0:  # raw fuzz bytes as the compressed data
                wire = plain
            else:
                if not takeover:
                    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
                if kind == 1:  # highly compressible: a small input inflating far past the limit
                    plain = plain * source.int_in(1, 300)
                wire = compressor.compress(plain) + compressor.flush(zlib.Z_SYNC_FLUSH)
                wire = wire[:-4] if wire.endswith(TAIL) else wire
                if kind == 2 and wire:  # one corrupted byte
                    position = source.int_in(0, len(wire) - 1)
                    wire = (
                        wire[:position]
                        + bytes([wire[position] ^ (source.byte() | 1)])
                        + wire[position + 1 :]
                    )
            frames = split(wire, Provider(source.take(4)).cuts(len(wire), 3))
            produced = bytearray()
            try:
                for index, frame in enumerate(frames):
                    fin = index == len(frames) - 1
                    out = codec.decompress(memoryview(frame), fin, limit - len(produced))
                    assert len(out) <= limit - len(produced)
                    produced += out
            except PayloadTooBig as exc:
                assert exc.code == 1009
                fresh = not takeover or (in_sync and not produced_before)
                if kind not in (0, 2) and fresh:
                    reference = reference_inflate(wire, limit)
                    assert reference is None or len(reference) > limit
                return  # the connection is failed: no further message
            except ProtocolError as exc:
                assert exc.code == 1002 and type(exc) is ProtocolError
                return
            if kind not in (0, 2) and (in_sync or not takeover):
                # A valid message inflates exactly to what was deflated.
                assert bytes(produced) == plain
            if kind in (0, 2):
                in_sync = False
            produced_before = True

    return check


if __name__ == "__main__":
    main(make_checker, HOT_PATHS)
