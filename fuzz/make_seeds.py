#!/usr/bin/env python3
"""Writes the small seed corpus ``fuzz/corpus/<target>/`` (a few inputs per harness, kept in git).

Each seed is laid out the way its harness reads it (see ``Provider`` in fuzzlib.py): the leading
bytes pick options, the rest is the stream. Rerun after changing a harness's input layout.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

from wsfast import _frames_py as frames

HERE = Path(__file__).resolve().parent
KEY = b"\x37\xfa\x21\x3d"


def frame(
    opcode: int, payload: bytes, fin: bool = True, masked: bool = True, rsv1: bool = False
) -> bytes:
    return frames.build_frame(
        opcode, payload, fin=fin, rsv1=rsv1, mask=masked, mask_key=KEY if masked else None
    )


def seeds_mask() -> list[bytes]:
    return [
        b"\x00" + KEY + b"\x03\x00" + b"Hello",
        b"\x03" + KEY + b"\x41\x05" + bytes(range(256)) * 2,
        b"\x02" + KEY + b"\x00\x00",
    ]


def seeds_utf8() -> list[bytes]:
    text = "héllo wörld €𝄞 ".encode() * 8
    return [
        b"\x00\x00" + text,
        b"\x02\x00" + b"ascii only, long enough for the wide kernels...." * 3,
        b"\x00\x00" + text[:-2],  # ends inside a code point
        b"\x00\x00" + b"\xed\xa0\x80" + text,  # a surrogate
        b"\x03\x00" + b"\xf4\x90\x80\x80" + text,  # above U+10FFFF
        b"\x00\x00" + b"\xc0\xaf" + text,  # overlong
        b"\x01\x01" + text,  # mostly valid with corruptions
    ]


def seeds_frames() -> list[bytes]:
    # server, max_frame_size, max_message_size, rsv1_allowed, validate_utf8; raw; 8 cut bytes
    server_raw = b"\x01\x00\x00\x01\x01" + b"\x00" + b"\x03\x05\x10\x40\x00\x00\x00\x00"
    client_raw = b"\x00\x00\x00\x00\x01" + b"\x00" + b"\x02\x09\x20\x00\x00\x00\x00\x00"
    stream = (
        frame(0x1, "héllo".encode(), fin=False)
        + frame(0x9, b"ping")
        + frame(0x0, b" world")
        + frame(0x2, bytes(300))
        + frame(0x8, b"\x03\xe8bye")
    )
    return [
        server_raw + stream,
        client_raw + frame(0x1, b"text", masked=False) + frame(0xA, b"", masked=False),
        server_raw + frame(0x1, b"\xce\xba\xe1", fin=False) + frame(0x0, b"\xbd\xb9\xcf\x83"),
        server_raw + frame(0x1, b"x", rsv1=True) + frame(0x0, b"y", rsv1=True),
        # 2**63-1 bytes announced
        server_raw + b"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff" + KEY,
        b"\x01\x07\x07\x01\x01"
        + b"\x01"
        + bytes(8)
        + b"\x81\x05\x00\x01\x02\x03\x04" * 4,  # structured
    ]


def seeds_handshake() -> list[bytes]:
    request = (
        b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; "
        b"client_max_window_bits\r\n\r\n"
    )
    accept = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    response = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    rejection = (
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    cuts = b"\x02\x10\x00\x20\x00\x00\x00\x00"
    return [
        b"\x01\x00" + cuts + request,  # server, raw
        b"\x01\x00" + cuts + request + frame(0x1, b"early"),
        b"\x00\x00" + cuts + b"\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06",  # server, built
        b"\x03\x00" + cuts + response + b"\x81\x02hi",  # client, raw
        b"\x03\x00" + cuts + rejection,
        b"\x02\x00" + cuts + b"\x00\x02\x00\x00\x01\x00\x02\x00",  # client, built
    ]


def seeds_deflate() -> list[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = compressor.compress(b"hello hello hello") + compressor.flush(zlib.Z_SYNC_FLUSH)
    return [
        # limit, takeover, level, wbits, messages; per message: kind, size (2 bytes), data, cuts
        b"\x03\x01\x06\x06\x01"
        + b"\x03"
        + b"\x20\x00"
        + b"the quick brown fox jumps over!!"
        + b"\x01\x05\x00\x00",
        b"\x02\x00\x09\x06\x00" + b"\x01" + b"\x10\x00" + b"abcdefghijklmnop" + b"\x00\x00\x00\x00",
        b"\x05\x01\x01\x00\x00" + b"\x00" + bytes([len(raw), 0]) + raw + b"\x02\x03\x07\x00",
        b"\x04\x00\x06\x06\x00"
        + b"\x02"
        + b"\x30\x00"
        + b"corrupt me " * 4
        + b"xxxx"
        + b"\x07\x00\x00\x00",
    ]


def main() -> None:
    for target, seeds in {
        "mask": seeds_mask(),
        "utf8": seeds_utf8(),
        "frames": seeds_frames(),
        "handshake": seeds_handshake(),
        "deflate": seeds_deflate(),
    }.items():
        folder = HERE / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        for seed in seeds:
            (folder / f"seed-{hashlib.sha1(seed).hexdigest()[:12]}").write_bytes(seed)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
