"""Nothing received intact is lost (RFC 6455 §7.1.7): when the peer breaks the protocol, every
message that was complete before the violation is delivered, in order, every Ping before it is
answered, what the application sends in answer goes out before our Close, and nothing after the
violation is processed; then the connection fails with the violation's code.

Stream-level, on both builds of the sans-IO layer (the ``pair`` fixture), however the stream is cut
into reads, with events and with a message queue.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from violations import VIOLATIONS, frame
from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import BinaryMessage, ConnectionFailed, Ping, TextMessage
from wsfast.frames import FrameParser

Pair = Callable[..., tuple[ClientConnection, ServerConnection]]
#: What may come before the violation: messages (text or binary, whole or fragmented) and Pings.
ITEMS = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=40), st.integers(1, 3)),
        st.tuples(st.just("binary"), st.binary(max_size=40), st.integers(1, 3)),
        st.tuples(st.just("ping"), st.binary(max_size=20), st.just(1)),
    ),
    max_size=8,
)


def encode(items: list[tuple[str, Any, int]]) -> tuple[bytes, list[Any], list[bytes]]:
    """The wire bytes of ``items``, the messages they carry and the Pings' payloads."""
    data = b""
    messages: list[Any] = []
    pings: list[bytes] = []
    for kind, value, pieces in items:
        if kind == "ping":
            data += frame(0x9, value)
            pings.append(value)
            continue
        payload = value.encode() if kind == "text" else value
        messages.append(value)
        opcode = 0x1 if kind == "text" else 0x2
        cut = [len(payload) * i // pieces for i in range(pieces + 1)]
        for i in range(pieces):
            data += frame(opcode if i == 0 else 0x0, payload[cut[i] : cut[i + 1]], i == pieces - 1)
    return data, messages, pings


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=ITEMS,
    violation=st.sampled_from(VIOLATIONS),
    trailer=st.binary(max_size=30),
    cuts=st.lists(st.integers(1, 200), max_size=6),
    queue=st.booleans(),
)
def test_messages_before_any_violation_are_delivered_and_answered(
    pair: Pair,
    items: list[tuple[str, Any, int]],
    violation: tuple[str, bytes, int],
    trailer: bytes,
    cuts: list[int],
    queue: bool,
) -> None:
    _, server = pair(client_options={"compression": None}, server_options={"compression": None})
    data, messages, pings = encode(items)
    _, bad, code = violation
    # What follows the violation (a valid message here) must never be processed.
    stream = data + bad + frame(0x2, b"after the violation") + trailer
    delivered: Any = collections.deque() if queue else None
    server.message_queue = delivered
    events: list[Any] = []
    position = 0
    for size in [*cuts, len(stream)]:
        server.receive_data(stream[position : position + size])
        position += size
        if position >= len(stream):
            break
    # The application takes what was delivered and answers each message with an echo. With a
    # message queue it writes each answer before it takes the next message (as wsfast.asyncio
    # does); with events, messages count as taken once events() returned them: it answers the
    # whole batch, then writes.
    received: list[Any] = []
    wire: list[Any] = []

    def answer(message: Any) -> None:
        received.append(message)
        if type(message) is str:
            server.send_text(message)
        else:
            server.send_binary(message)
        if queue:
            wire.extend(server.data_to_send())

    if queue:
        events += server.events()
        while delivered:
            answer(delivered.popleft())
    else:
        for event in server.events():
            events.append(event)
            if isinstance(event, TextMessage | BinaryMessage):
                answer(event.data)
    wire.extend(server.data_to_send())
    events += server.events()
    parser = FrameParser(server=False, max_frame_size=None, max_message_size=None)
    out = parser.feed(b"".join(bytes(piece) for piece in wire))
    assert received == messages
    assert [event.data for event in events if isinstance(event, Ping)] == pings
    failures = [event for event in events if isinstance(event, ConnectionFailed)]
    assert len(failures) == 1 and failures[0].code == code
    # Pongs and echoes first, in order, then one Close with the violation's code, last.
    assert [f.opcode for f in out if f.opcode == 0xA] == [0xA] * len(pings)
    echoes = [f.payload for f in out if f.opcode in (0x1, 0x2)]
    assert echoes == [m.encode() if type(m) is str else m for m in messages]
    assert out[-1].opcode == 0x8
    assert int.from_bytes(out[-1].payload[:2], "big") == code
    assert server.should_close_transport


def test_the_failure_waits_until_the_last_message_is_taken(pair: Pair) -> None:
    _, server = pair(client_options={"compression": None}, server_options={"compression": None})
    delivered: collections.deque[Any] = collections.deque()
    server.message_queue = delivered
    server.receive_data(b"".join(frame(0x2, bytes([i])) for i in range(3)) + VIOLATIONS[1][1])
    assert server.pending_failure == (1002, "reserved opcode 3")
    for i in range(3):
        server.send_binary(delivered.popleft())
        out = server.data_to_send()
        if i < 2:
            assert server.pending_failure is not None and out == [b"\x82\x01" + bytes([i])]
        else:  # the last answer, then the Close
            assert server.pending_failure is None
            assert out[0] == b"\x82\x01\x02" and out[1][:4] == b"\x88\x13\x03\xea"
