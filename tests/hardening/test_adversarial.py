"""Hostile peers: each attack ends with the right close code or HTTP status, and the memory it
makes wsfast allocate stays within the configured limit plus 1 MiB (measured with tracemalloc,
which sees every Python allocation, zlib's included).

Attacks on the sans-IO layer (:mod:`wsfast.connection`, :mod:`wsfast.frames`,
:mod:`wsfast.extensions`); the ones that need a real socket and a clock (slowloris, a ping flood
from a peer that does not read) are in ``test_adversarial_asyncio.py``.
"""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from twins import twin_fixture
from wsfast.connection import ServerConnection
from wsfast.events import ConnectionFailed, HandshakeFailed, Request, TextMessage
from wsfast.exceptions import PayloadTooBig
from wsfast.extensions import DeflateCodec

frames_impl = twin_fixture("frames")

MiB = 1 << 20
LIMIT = MiB  # the default max_message_size
KEY = b"\xa1\xb2\xc3\xd4"
REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)
DEFLATE_OFFER = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"


def peak_allocated(action: Callable[[], Any]) -> tuple[Any, int]:
    """Runs ``action``; returns its result and the peak of memory it held at once (bytes)."""
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = action()
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    return result, peak


def masked_frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    """A client frame, built here (not by wsfast) so that it can be anything."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, size)
    body = bytes(b ^ KEY[i % 4] for i, b in enumerate(payload)) if size < 4096 else _mask(payload)
    return header + KEY + body


def _mask(payload: bytes) -> bytes:
    key = int.from_bytes((KEY * (len(payload) // 4 + 1))[: len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")


def open_server(deflate: bool = False, **options: Any) -> ServerConnection:
    conn = ServerConnection(**options)
    conn.receive_data(REQUEST + (DEFLATE_OFFER if deflate else b"") + b"\r\n")
    assert [type(e) for e in conn.events()] == [Request]
    conn.accept()
    conn.data_to_send()
    assert conn.extensions if deflate else not conn.extensions
    return conn


def close_code_sent(conn: ServerConnection) -> int:
    """The close code in the Close frame the server sent (it is the last frame written)."""
    out = b"".join(conn.data_to_send())
    assert out[:1] == b"\x88", out[:16]
    return int(struct.unpack("!H", out[2:4])[0])


# --- a header announcing 2**63 - 1 bytes ------------------------------------------------------

HUGE_HEADER = b"\x82\xff" + struct.pack("!Q", (1 << 63) - 1) + KEY


def test_huge_length_fails_with_1009_before_any_payload(frames_impl: ModuleType) -> None:
    parser = frames_impl.FrameParser(server=True)  # default limits: 1 MiB
    with pytest.raises(PayloadTooBig) as info:
        parser.feed(HUGE_HEADER)
    assert info.value.code == 1009


def test_huge_length_without_limit_buffers_only_what_arrived(frames_impl: ModuleType) -> None:
    # No limit configured: the parser must still not allocate for the announced size, only for
    # the bytes that actually arrived.
    parser = frames_impl.FrameParser(server=True, max_frame_size=None, max_message_size=None)
    chunk = bytes(64 * 1024)

    def attack() -> int:
        assert parser.feed(HUGE_HEADER) == []
        for _ in range(16):
            assert parser.feed(chunk) == []
        return int(parser.buffered)

    buffered, peak = peak_allocated(attack)
    assert buffered == len(HUGE_HEADER) + 16 * len(chunk) or buffered == 16 * len(chunk)
    assert peak < 16 * len(chunk) + MiB


def test_huge_length_fails_the_connection_with_1009() -> None:
    conn = open_server()
    _, peak = peak_allocated(lambda: conn.receive_data(HUGE_HEADER + bytes(1000)))
    assert [type(e) for e in conn.events()] == [ConnectionFailed]
    assert conn.close_code is None and close_code_sent(conn) == 1009
    assert conn.should_close_transport
    assert peak < LIMIT + MiB


# --- a 1 GiB permessage-deflate bomb ------------------------------------------------------------


def deflate_bomb(total: int, chunk: int = MiB) -> Iterator[bytes]:
    """Compressed zeros that inflate to ``total`` bytes, produced lazily (about 1/1000 of it)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        out = compressor.compress(zeros)
        if out:
            yield out
    yield compressor.flush(zlib.Z_SYNC_FLUSH)[:-4]


def test_bomb_in_a_few_kib_fails_with_1009_without_inflating_it() -> None:
    # One 8 KiB frame that would inflate to ~8 MiB: the connection stops at limit + 1 bytes.
    conn = open_server(deflate=True)
    bomb = b"".join(deflate_bomb(8 * MiB))
    assert len(bomb) < 10 * 1024
    frame = masked_frame(0x2, bomb, rsv1=True)
    _, peak = peak_allocated(lambda: conn.receive_data(frame))
    assert [type(e) for e in conn.events()] == [ConnectionFailed]
    assert close_code_sent(conn) == 1009
    assert peak < LIMIT + MiB


def test_one_gib_bomb_in_fragments_fails_with_1009() -> None:
    # 1 GiB of zeros, deflated (~1 MiB on the wire), sent as a fragmented message: the connection
    # fails as soon as the inflated size passes the limit, and reads no further.
    conn = open_server(deflate=True)
    # The first 64 frames of the bomb, built beforehand (the attacker's memory is not ours).
    bomb = deflate_bomb(1 << 30)
    pieces = [next(bomb) for _ in range(64)]
    frames = [
        masked_frame(0x2 if i == 0 else 0x0, piece, fin=False, rsv1=i == 0)
        for i, piece in enumerate(pieces)
    ]
    fed = 0

    def attack() -> None:
        nonlocal fed
        for frame, piece in zip(frames, pieces, strict=True):
            conn.receive_data(frame)
            fed += len(piece)
            if conn.should_close_transport:
                return
        raise AssertionError("64 MiB inflated and the connection still open")

    _, peak = peak_allocated(attack)
    assert [type(e) for e in conn.events()] == [ConnectionFailed]
    assert close_code_sent(conn) == 1009
    assert fed < 64 * 1024  # it stopped after the first frames, not at the end of the bomb
    assert peak < LIMIT + MiB


def test_codec_never_inflates_past_the_limit() -> None:
    codec = DeflateCodec()
    bomb = b"".join(deflate_bomb(64 * MiB))

    def inflate() -> None:
        with pytest.raises(PayloadTooBig):
            codec.decompress(bomb, True, LIMIT)

    _, peak = peak_allocated(inflate)
    assert peak < LIMIT + MiB


# --- 100 000 empty continuation frames ----------------------------------------------------------

EMPTY_FRAGMENTS = 100_000


def fragment_flood(fin: bool) -> bytes:
    cont = masked_frame(0x0, b"", fin=False)
    return (
        masked_frame(0x1, b"start", fin=False)
        + cont * EMPTY_FRAGMENTS
        + (masked_frame(0x0, b" end", fin=True) if fin else b"")
    )


def test_empty_continuation_flood_stays_small() -> None:
    # Without max_fragments the message is legal: it must cost no memory per empty frame.
    conn = open_server()
    stream = fragment_flood(fin=True)

    def attack() -> None:
        for start in range(0, len(stream), 64 * 1024):
            conn.receive_data(stream[start : start + 64 * 1024])

    _, peak = peak_allocated(attack)
    assert conn.events() == [TextMessage("start end")]
    assert peak < LIMIT + MiB


def test_empty_continuation_flood_hits_max_fragments() -> None:
    conn = open_server(max_fragments=1000)
    stream = fragment_flood(fin=False)

    def attack() -> None:
        for start in range(0, len(stream), 64 * 1024):
            conn.receive_data(stream[start : start + 64 * 1024])

    _, peak = peak_allocated(attack)
    assert [type(e) for e in conn.events()] == [ConnectionFailed]
    assert close_code_sent(conn) == 1009
    assert peak < LIMIT + MiB


def test_empty_continuation_flood_in_the_parser(frames_impl: ModuleType) -> None:
    parser = frames_impl.FrameParser(server=True)
    stream = fragment_flood(fin=True)

    def attack() -> int:
        count = 0
        for start in range(0, len(stream), 64 * 1024):
            count += len(parser.feed(stream[start : start + 64 * 1024]))
        return count

    count, peak = peak_allocated(attack)
    assert count == EMPTY_FRAGMENTS + 2
    assert parser.buffered == 0
    assert peak < LIMIT + MiB


# --- handshake floods -----------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [b"X-Flood: " + b"a" * 1000 + b"\r\n", b"a:\r\n", b"a" * 4096])
def test_endless_request_head_gets_431(piece: bytes) -> None:
    # Header lines (or one endless line) that never end the head: refused once past the head size
    # limit (16 KiB by default), with 431, without keeping more than that.
    conn = ServerConnection()
    conn.receive_data(REQUEST)

    def attack() -> int:
        sent = 0
        while not conn.should_close_transport and sent < 64 * MiB:
            conn.receive_data(piece * 16)
            sent += 16 * len(piece)
        return sent

    sent, peak = peak_allocated(attack)
    events = conn.events()
    assert [type(e) for e in events] == [HandshakeFailed]
    assert events[0].status == 431
    assert b"".join(conn.data_to_send()).startswith(b"HTTP/1.1 431 ")
    assert sent <= 16 * 1024 + 16 * len(piece)
    assert peak < 16 * 1024 + MiB


def test_too_many_header_fields_get_431() -> None:
    conn = ServerConnection(max_head_size=64 * 1024)
    conn.receive_data(REQUEST + b"a: b\r\n" * 1000 + b"\r\n")
    events = conn.events()
    assert [type(e) for e in events] == [HandshakeFailed]
    assert events[0].status == 431


def test_data_flood_before_accept_is_bounded() -> None:
    # A client that floods frames after its request while the application has not answered yet.
    conn = ServerConnection()
    conn.receive_data(REQUEST + b"\r\n")
    assert [type(e) for e in conn.events()] == [Request]

    def attack() -> int:
        sent = 0
        while not conn.should_close_transport and sent < 64 * MiB:
            conn.receive_data(bytes(64 * 1024))
            sent += 64 * 1024
        return sent

    sent, peak = peak_allocated(attack)
    assert [type(e) for e in conn.events()] == [HandshakeFailed]
    assert sent <= LIMIT + 128 * 1024
    assert peak < LIMIT + MiB


# --- control frame floods -------------------------------------------------------------------------


def test_ping_flood_answers_each_ping_and_keeps_nothing_else() -> None:
    # The sans-IO layer queues one Pong per Ping until the application takes them; an application
    # that takes data_to_send() after each read keeps memory flat (the asyncio layer's flow control
    # is tested in test_adversarial_asyncio.py).
    conn = open_server()
    ping = masked_frame(0x9, b"p" * 125)
    reads = 2000
    batch = ping * 50

    def attack() -> int:
        written = 0
        for _ in range(reads):
            conn.receive_data(batch)
            conn.events()
            written += sum(len(piece) for piece in conn.data_to_send())
        return written

    written, peak = peak_allocated(attack)
    assert written == reads * 50 * (2 + 125)
    assert peak < MiB
