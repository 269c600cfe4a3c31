"""Stream-level differential test: the same byte streams, valid and mutated, fed to a connection
running on the compiled hot paths and to one running on their pure-Python twins, must produce the
same events, the same queued messages, the same bytes to send (echoes, pongs, close frames) and
the same close codes, however the stream is cut into reads.

The Python build is the source of :mod:`wsfast.connection` executed as Python, on the frame
functions of ``wsfast._frames_py``; everything else (events, handshake, permessage-deflate) is
shared.
"""

from __future__ import annotations

import struct
import zlib
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsfast.connection
from twins import connection_build
from wsfast import _speedups
from wsfast.events import BinaryMessage, TextMessage

KEY = b"\x0f\xf0\x3c\xc3"
REQUEST = (
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)
DEFLATE = b"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"


@pytest.fixture(scope="module")
def twins() -> tuple[ModuleType, ModuleType]:
    if _speedups.NO_EXTENSIONS:
        pytest.skip("WSFAST_NO_EXTENSIONS=1: no compiled build to compare with")
    return connection_build("compiled"), connection_build("python")


def test_the_python_build_really_runs_python(twins: tuple[ModuleType, ModuleType]) -> None:
    fast, slow = twins
    assert fast is wsfast.connection
    assert fast.FrameParser.__module__ == "wsfast._frames"
    assert slow.FrameParser.__module__ == "wsfast._frames_py"
    assert fast.__file__.endswith((".so", ".pyd"))
    assert slow.__file__.endswith("connection.py")
    assert slow.Connection is not fast.Connection


def encode(opcode: int, payload: bytes, fin: bool, rsv1: bool, masked: bool) -> bytes:
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    mask_bit = 0x80 if masked else 0
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if not masked:
        return header + payload
    return header + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def run(
    module: ModuleType,
    deflate: bool,
    pieces: list[bytes],
    options: dict[str, Any],
    queue: bool = False,
    echo: bool = False,
) -> Any:
    """The trace of a server connection fed ``pieces``: after each read, its events, the
    messages it queued (``queue``: a message queue is set, as the asyncio layer does), the bytes
    it has to send (with an echo of every message when ``echo``), its state and close code."""
    conn = module.ServerConnection(**options)
    conn.receive_data(REQUEST + (DEFLATE if deflate else b"") + b"\r\n")
    conn.events()
    conn.accept()
    conn.data_to_send()
    if queue:
        conn.message_queue = []
    trace: list[Any] = []

    def step() -> None:
        events = conn.events()
        messages = [e.data for e in events if isinstance(e, (TextMessage, BinaryMessage))]
        if queue:
            messages += conn.message_queue
            events.append(list(conn.message_queue))
            conn.message_queue.clear()
        if echo:
            for message in messages:
                if conn.state is not module.State.OPEN:
                    break
                if isinstance(message, str):
                    conn.send_text(message)
                elif isinstance(message, bytes):
                    conn.send_binary(message)
        trace.append((events, b"".join(conn.data_to_send()), conn.state, conn.close_code))

    for piece in pieces:
        conn.receive_data(memoryview(piece))
        step()
    conn.receive_eof()
    step()
    return trace


text = st.text(max_size=40).map(lambda s: s.encode())
frame_strategy = st.tuples(
    st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x1, 0x2, 0x3, 0xB]),
    st.one_of(
        text,
        st.binary(max_size=40),
        st.sampled_from([b"\x03\xe8", b"\x03\xe8ok", b"\x03", b"\xff\xff"]),
    ),
    st.booleans(),  # fin
    st.sampled_from([False, False, False, True]),  # rsv1
    st.sampled_from([True, True, True, False]),  # masked
    st.booleans(),  # deflate the payload (when rsv1)
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(frame_strategy, max_size=12),
    deflate=st.booleans(),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    max_message_size=st.sampled_from([1 << 20, 1 << 20, 64, 10]),
    max_fragments=st.sampled_from([None, None, 3]),
    stream_fragments=st.booleans(),
    text_as_bytes=st.booleans(),
    queue=st.booleans(),
    echo=st.booleans(),
)
def test_same_stream_same_events(
    twins: tuple[ModuleType, ModuleType],
    frames: list[tuple[int, bytes, bool, bool, bool, bool]],
    deflate: bool,
    edits: list[tuple[int, int]],
    cuts: list[int],
    max_message_size: int,
    max_fragments: int | None,
    stream_fragments: bool,
    text_as_bytes: bool,
    queue: bool,
    echo: bool,
) -> None:
    stream = bytearray()
    for opcode, payload, fin, rsv1, masked, compress in frames:
        if rsv1 and compress:
            payload = deflated(payload)
        stream += encode(opcode, payload, fin or opcode >= 8, rsv1, masked)
    for position, value in edits:
        if stream:
            stream[position % len(stream)] = value
    data = bytes(stream)
    points = sorted(cut % (len(data) + 1) for cut in cuts)
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    options = {
        "max_message_size": max_message_size,
        "max_fragments": max_fragments,
        "stream_fragments": stream_fragments,
        "text_as_bytes": text_as_bytes,
    }
    fast, slow = twins
    assert run(fast, deflate, pieces, options, queue, echo) == run(
        slow, deflate, pieces, options, queue, echo
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=4),
    deflate=st.booleans(),
)
def test_same_garbage_same_verdict(
    twins: tuple[ModuleType, ModuleType], data: bytes, cuts: list[int], deflate: bool
) -> None:
    points = sorted(cut % (len(data) + 1) for cut in cuts)
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    fast, slow = twins
    assert run(fast, deflate, pieces, {}) == run(slow, deflate, pieces, {})
