"""Fuzzes the frame parser (RFC 6455 §5): compiled against the twin, on raw and on structured input.

The input picks a parser configuration (role, limits, RSV1, UTF-8 validation), a stream (raw bytes,
or frames with fuzzed headers: any opcode, flags, length encoding, mask) and the pieces it arrives
in. Both twins must return the same frames, or fail with the same (code, reason) after the same
frames, keep the same number of bytes buffered, and never buffer more than one frame's header plus
``max_frame_size``; a failed parser stays failed.

    python fuzz/run.py frames --seconds 60     # see docs/hardening.md
"""

from __future__ import annotations

import struct
from types import ModuleType
from typing import Any

from fuzzlib import Checker, Provider, main, split

HOT_PATHS = ("frames",)

LIMITS = (None, None, 0, 1, 2, 125, 126, 127, 200, 65535, 65536, 1 << 20)
OPCODES = (0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x0, 0x1, 0x2, 0x3, 0xB, 0xF)


def structured_stream(source: Provider, server: bool) -> bytes:
    """Frames with fuzzed headers: mostly plausible, sometimes anything."""
    out = bytearray()
    while source.remaining() > 2 and len(out) < 1 << 16:
        flags = source.byte()
        opcode = source.pick(OPCODES) if flags & 0x0F != 0x0F else flags & 0x0F
        first = (flags & 0xF0) | opcode
        if flags & 0x08 == 0:  # usually: FIN as fuzzed, no RSV2/RSV3
            first &= 0xCF
        size = source.int_in(0, 300)
        masked = server if source.int_in(0, 7) else not server
        encoding = source.int_in(0, 5)
        mask_bit = 0x80 if masked else 0
        if encoding <= 3 and size < 126:
            header = bytes([first, mask_bit | size])
        elif encoding <= 4 and size < 1 << 16:
            header = bytes([first, mask_bit | 126]) + struct.pack("!H", size)
        else:  # 64-bit length, sometimes huge or with the top bit set
            length = (
                size
                if encoding == 5 and source.boolean()
                else int.from_bytes(source.take(8).ljust(8, b"\0"), "big")
            )
            header = bytes([first, mask_bit | 127]) + struct.pack("!Q", length)
        key = source.take(4).ljust(4, b"\0") if masked else b""
        payload = source.take(size)
        if masked:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        out += header + key + payload
    return bytes(out)


def run(module: ModuleType, pieces: list[bytes], options: dict[str, Any]) -> tuple[Any, ...]:
    parser = module.FrameParser(**options)
    frames: list[tuple[Any, ...]] = []
    limit = options["max_frame_size"]
    for piece in pieces:
        try:
            for frame in parser.feed(memoryview(piece)):
                frames.append(
                    (frame.opcode, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3, frame.payload)
                )
        except Exception as exc:
            assert type(exc).__name__ in ("ProtocolError", "PayloadTooBig"), repr(exc)
            frames.extend((f.opcode, f.fin, f.rsv1, f.rsv2, f.rsv3, f.payload) for f in exc.frames)
            assert parser.failed
            try:
                parser.feed(b"\x81\x00")
            except Exception as again:
                assert (again.code, again.reason, again.frames) == (exc.code, exc.reason, [])
            else:
                raise AssertionError("a failed parser accepted more input") from None
            return frames, (type(exc).__name__, exc.code, exc.reason)
        if limit is not None:
            # Bounded buffering: one header (at most 14 bytes) plus at most one frame's payload.
            assert parser.buffered <= 14 + limit, (parser.buffered, limit)
    return frames, None, parser.buffered


def make_checker(compiled: dict[str, ModuleType], python: dict[str, ModuleType]) -> Checker:
    fast, twin = compiled["frames"], python["frames"]

    def check(data: bytes) -> None:
        source = Provider(data)
        options = {
            "server": source.boolean(),
            "max_frame_size": source.pick(LIMITS),
            "max_message_size": source.pick(LIMITS),
            "rsv1_allowed": source.boolean(),
            "validate_utf8": source.int_in(0, 3) != 0,
        }
        raw = source.int_in(0, 3) == 0
        cut_source = Provider(source.take(8))
        stream = source.rest() if raw else structured_stream(source, options["server"])
        pieces = split(stream, cut_source.cuts(len(stream)))
        expected = run(twin, pieces, options)
        assert run(fast, pieces, options) == expected
        assert run(twin, [stream], options)[:2] == expected[:2]

    return check


if __name__ == "__main__":
    main(make_checker, HOT_PATHS)
