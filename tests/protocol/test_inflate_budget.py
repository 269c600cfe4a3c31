"""Connection.inflate_budget: one read of well-compressed messages must not inflate without bound.

Deflate expands up to about 1 000 times, so 64 KiB off the wire can hold hundreds of MiB of
messages. With a budget, receive_data() stops at the first frame boundary past it and keeps the
rest (still compressed) as a backlog that resume_processing() continues, in order, with every rule
(control frames, protocol errors behind the backlog, the end of the stream) applied as if the
data had been processed at once.
"""

from __future__ import annotations

import collections
import tracemalloc
import zlib
from collections.abc import Callable
from types import ModuleType

import pytest
from protocol_helpers import wire

from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import (
    BinaryMessage,
    Closed,
    ConnectionFailed,
    Event,
    Ping,
    TextMessage,
)
from wsfast.extensions import PerMessageDeflate

Pair = Callable[..., tuple[ClientConnection, ServerConnection]]
KiB = 1024
MiB = 1024 * KiB


def deflate_pair(pair: Pair, **options: object) -> tuple[ClientConnection, ServerConnection]:
    return pair(
        client_options={"compression": PerMessageDeflate(), **options},
        server_options={"compression": PerMessageDeflate(), **options},
    )


def messages(count: int, size: int) -> list[str]:
    """Distinct, very compressible text messages."""
    return [(f"message {number} " * size)[:size] for number in range(count)]


def drain(server: ServerConnection) -> tuple[list[Event], int]:
    """Events of receive_data() and of every resume_processing() call after it, and the calls."""
    events = server.events()
    calls = 0
    while server.processing_paused:
        server.resume_processing()
        events += server.events()
        calls += 1
    return events, calls


def test_without_a_budget_everything_is_processed_at_once(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    assert server.inflate_budget is None
    sent = messages(50, 32 * KiB)
    for message in sent:
        client.send_text(message)
    server.receive_data(wire(client))
    assert not server.processing_paused
    assert server.events() == [TextMessage(m) for m in sent]


def test_budget_stops_at_the_first_frame_past_it(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    server.inflate_budget = 64 * KiB
    sent = messages(50, 32 * KiB)
    for message in sent:
        client.send_text(message)
    data = wire(client)
    assert len(data) < 64 * KiB  # one read's worth: 1.6 MiB of text
    server.receive_data(data)
    # 32 + 32 KiB is not past the budget; the third message is.
    assert server.events() == [TextMessage(m) for m in sent[:3]]
    assert server.processing_paused
    server.resume_processing()
    assert server.events() == [TextMessage(m) for m in sent[3:6]]
    events, _ = drain(server)
    assert events == [TextMessage(m) for m in sent[6:]]
    assert not server.processing_paused and server.state.name == "OPEN"


def test_backlog_keeps_the_order_of_control_frames_and_new_data(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    server.inflate_budget = 1
    first = messages(4, 1000)
    for message in first[:2]:
        client.send_text(message)
    client.send_ping(b"in between")
    for message in first[2:]:
        client.send_text(message)
    server.receive_data(wire(client))
    assert server.events() == [TextMessage(first[0])]
    assert wire(server) == b""  # the Ping waits in the backlog: no Pong yet
    client.send_binary(b"uncompressed later" * 100)
    later = wire(client)
    server.receive_data(later)  # goes behind the backlog
    events, _ = drain(server)
    assert events == [
        TextMessage(first[1]),
        Ping(b"in between"),
        TextMessage(first[2]),
        TextMessage(first[3]),
        BinaryMessage(b"uncompressed later" * 100),
    ]
    assert wire(server)[:2] == b"\x8a\x0a"  # the Pong, once the Ping was processed


def test_a_protocol_error_behind_the_backlog_waits_for_it(
    pair: Pair, frames_impl: ModuleType
) -> None:
    client, server = deflate_pair(pair)
    server.inflate_budget = 1
    sent = messages(3, 5000)
    for message in sent:
        client.send_text(message)
    # RFC 6455 §5.2: opcodes 3-7 are reserved. FIN + opcode 3, masked, empty (both parser twins:
    # frames_impl).
    reserved_opcode = b"\x83\x80" + bytes(4)
    server.receive_data(wire(client) + reserved_opcode)
    assert server.events() == [TextMessage(sent[0])]
    assert server.processing_paused and server.state.name == "OPEN"
    server.receive_data(b"\x81\x80" + bytes(4))  # after the error: discarded
    events, _ = drain(server)
    assert events[:2] == [TextMessage(sent[1]), TextMessage(sent[2])]
    [failure] = events[2:]
    assert isinstance(failure, ConnectionFailed) and failure.code == 1002
    close = wire(server)
    assert close[0] == 0x88 and close[2:4] == b"\x03\xea"  # Close 1002


def test_end_of_stream_processes_the_backlog_first(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    server.inflate_budget = 1
    sent = messages(5, 2000)
    for message in sent:
        client.send_text(message)
    server.receive_data(wire(client))
    assert server.events() == [TextMessage(sent[0])]
    server.receive_eof()
    events = server.events()
    assert events[:4] == [TextMessage(m) for m in sent[1:]]
    [closed] = events[4:]
    assert isinstance(closed, Closed) and closed.code == 1006
    assert not server.processing_paused


def test_failing_the_connection_drops_the_backlog(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    server.inflate_budget = 1
    for message in messages(5, 2000):
        client.send_text(message)
    server.receive_data(wire(client))
    server.events()
    server.fail(1008, "policy")
    assert not server.processing_paused
    server.resume_processing()  # nothing left: a no-op
    assert [type(e) for e in server.events()] == [ConnectionFailed]


def test_message_queue_with_a_budget(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    queue: collections.deque[str | bytes] = collections.deque()
    server.message_queue = queue
    server.inflate_budget = 10_000
    sent = messages(30, 4000)
    for message in sent:
        client.send_text(message)
    server.receive_data(wire(client))
    assert list(queue) == sent[:3]
    while server.processing_paused:
        before = len(queue)
        server.resume_processing()
        assert len(queue) - before <= 3  # the budget, plus the message that crossed it
    assert list(queue) == sent


def test_a_read_of_bombs_inflates_one_budget_at_a_time(pair: Pair, frames_impl: ModuleType) -> None:
    """60 messages of 1 MiB (each within max_message_size) in 64 KiB of wire: without a budget
    receive_data() holds all 60 MiB at once; with one, no more than the budget plus one message."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = (compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    frame = frames_impl.build_frame(2, bomb, rsv1=True, mask=True)
    data = frame * 60
    assert len(data) < 64 * KiB

    def peak_of(budget: int | None) -> tuple[int, int]:
        _client, server = deflate_pair(pair, max_message_size=MiB)
        server.inflate_budget = budget
        tracemalloc.start()
        try:
            server.receive_data(data)
            count = len(server.events())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return count, peak

    count, peak = peak_of(None)
    assert count == 60 and peak > 50 * MiB
    count, peak = peak_of(256 * KiB)
    assert count == 1  # 1 MiB is past the budget already
    assert peak < 256 * KiB + MiB + MiB  # budget + one message + zlib's working memory


@pytest.mark.parametrize("budget", [0, 1, 4000, 100_000])
def test_any_budget_delivers_the_same_messages(pair: Pair, budget: int) -> None:
    client, server = deflate_pair(pair)
    server.inflate_budget = budget
    sent: list[str | bytes] = []
    for number, message in enumerate(messages(40, 3000)):
        if number % 3:
            client.send_text(message)
            sent.append(message)
        else:
            client.send_binary(message.encode()[: number * 50], fin=False)
            client.send_continuation(b"!" * number)
            sent.append(message.encode()[: number * 50] + b"!" * number)
    data = wire(client)
    for start in range(0, len(data), 700):  # in pieces, as reads come
        server.receive_data(data[start : start + 700])
    events, _ = drain(server)
    received = [e.data for e in events]  # type: ignore[attr-defined]
    assert received == sent
