"""The connection state machine (RFC 6455 §5-§7): messages, control frames, closing, failures.

Every test runs with both twins of the frame parser (the ``pair``/``frames_impl`` fixtures).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from protocol_helpers import transfer, wire

from wsfast.connection import ClientConnection, InvalidState, ServerConnection, State
from wsfast.events import (
    BinaryFragment,
    BinaryMessage,
    Closed,
    CloseReceived,
    ConnectionFailed,
    Ping,
    Pong,
    TextFragment,
    TextMessage,
)

Pair = Callable[..., tuple[ClientConnection, ServerConnection]]

NO_COMPRESSION = {"client_options": {"compression": None}}


def plain(pair: Pair, **options: object) -> tuple[ClientConnection, ServerConnection]:
    """An open pair without compression and with the same options on both sides."""
    return pair(
        client_options={"compression": None, **options},
        server_options={"compression": None, **options},
    )


def client_frame(frames: ModuleType, opcode: int, payload: bytes = b"", **flags: bool) -> bytes:
    """A frame as a client sends it (masked)."""
    return frames.build_frame(opcode, payload, mask=True, **flags)  # type: ignore[no-any-return]


# --- data transfer ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_round_trip_sizes(pair: Pair, size: int) -> None:
    client, server = plain(pair)
    text = "é" * (size // 2) + "a" * (size % 2)
    client.send_text(text)
    assert transfer(client, server) == [TextMessage(text)]
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    server.send_binary(data)
    assert transfer(server, client) == [BinaryMessage(data)]


def test_client_frames_are_masked_server_frames_are_not(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_binary(b"abc")
    frame = wire(client)
    assert frame[1] & 0x80 and len(frame) == 2 + 4 + 3  # RFC 6455 §5.3
    server.send_binary(b"abc")
    assert wire(server) == b"\x82\x03abc"  # RFC 6455 §5.1: a server never masks


def test_send_text_accepts_encoded_bytes(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_text("ü".encode())
    assert transfer(client, server) == [TextMessage("ü")]


def test_text_as_bytes(pair: Pair) -> None:
    client, server = plain(pair, text_as_bytes=True)
    client.send_text("héllo")
    assert transfer(client, server) == [TextMessage("héllo".encode())]


def test_large_payload_is_a_separate_piece(pair: Pair) -> None:
    client, server = plain(pair)
    payload = bytes(100_000)
    server.send_binary(payload)
    pieces = server.data_to_send()
    assert len(pieces) == 2 and pieces[1] is payload  # header + payload, no copy
    client.receive_data(b"".join(pieces))
    assert client.events() == [BinaryMessage(payload)]


@pytest.mark.parametrize("size", [10, 20_000, 300_000])
def test_a_client_sends_a_frame_in_one_piece(pair: Pair, size: int) -> None:
    # Masking copies the payload anyway (RFC 6455 §5.3): header and masked payload together, so
    # that the header does not leave in a TCP segment of its own.
    client, server = plain(pair)
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    client.send_binary(payload)
    pieces = client.data_to_send()
    assert len(pieces) == 1
    server.receive_data(pieces[0])
    assert server.events() == [BinaryMessage(payload)]


def test_receive_from_a_reused_buffer(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_text("first")
    client.send_text("second")
    data = wire(client)
    buffer = bytearray(len(data))
    for i in range(len(data)):
        buffer[0] = data[i]
        server.receive_data(memoryview(buffer)[:1])
        buffer[0] = 0  # the parser must have copied what it keeps
    assert server.events() == [TextMessage("first"), TextMessage("second")]


def test_events_and_data_to_send_are_drained(pair: Pair) -> None:
    client, _server = plain(pair)
    assert client.events() == [] and client.data_to_send() == []
    client.send_text("x")
    assert len(client.data_to_send()) == 1 and client.data_to_send() == []


# --- fragmentation (RFC 6455 §5.4) ---------------------------------------------------------


def test_fragmented_send_and_reassembly(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_text("Hel", fin=False)
    client.send_ping(b"in between")  # RFC 6455 §5.4: control frames may be injected
    client.send_continuation("lo ", fin=False)
    client.send_continuation(b"w\xc3", fin=False)  # a code point split across frames
    client.send_continuation(b"\xb6rld", fin=True)
    events = transfer(client, server)
    assert events == [Ping(b"in between"), TextMessage("Hello wörld")]
    assert transfer(server, client) == [Pong(b"in between")]


def test_fragmented_send_rules(pair: Pair) -> None:
    client, _ = plain(pair)
    with pytest.raises(InvalidState):
        client.send_continuation(b"x")  # no message in progress
    client.send_binary(b"a", fin=False)
    with pytest.raises(InvalidState):
        client.send_text("b")  # RFC 6455 §5.4: no interleaving of messages
    with pytest.raises(InvalidState):
        client.send_binary(b"b")
    client.send_continuation(b"c", fin=True)
    client.send_text("ok")


def test_fragment_frames_on_the_wire(pair: Pair) -> None:
    _client, server = plain(pair)
    server.send_text("ab", fin=False)
    server.send_continuation("cd", fin=True)
    assert wire(server) == b"\x01\x02ab\x80\x02cd"


def test_stream_fragments(pair: Pair) -> None:
    client, server = plain(pair, stream_fragments=True)
    client.send_text("whole")
    client.send_text("a", fin=False)
    client.send_continuation(b"\xc3", fin=False)
    client.send_continuation(b"\xa9", fin=True)
    client.send_binary(b"x", fin=False)
    client.send_continuation(b"y", fin=True)
    assert transfer(client, server) == [
        TextMessage("whole"),
        TextFragment("a", True, False),
        TextFragment("", False, False),  # the split code point waits for its end
        TextFragment("é", False, True),
        BinaryFragment(b"x", True, False),
        BinaryFragment(b"y", False, True),
    ]


def test_max_fragments(pair: Pair) -> None:
    client, server = plain(pair, max_fragments=3)
    client.send_binary(b"1", fin=False)
    client.send_continuation(b"2", fin=False)
    client.send_continuation(b"3", fin=True)
    assert transfer(client, server) == [BinaryMessage(b"123")]
    client.send_binary(b"1", fin=False)
    for piece in (b"2", b"3"):
        client.send_continuation(piece, fin=False)
    client.send_continuation(b"4", fin=True)
    events = transfer(client, server)
    assert events == [ConnectionFailed(1009, "message in more than 3 frames")]


# --- control frames (RFC 6455 §5.5) ------------------------------------------------------------


def test_ping_pong(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_ping(b"x" * 125)
    assert transfer(client, server) == [Ping(b"x" * 125)]
    assert transfer(server, client) == [Pong(b"x" * 125)]  # RFC 6455 §5.5.2: same data
    server.send_pong(b"unsolicited")  # RFC 6455 §5.5.3
    assert transfer(server, client) == [Pong(b"unsolicited")]
    assert wire(client) == b""  # a Pong is not answered


def test_auto_pong_off(pair: Pair) -> None:
    client, server = plain(pair, auto_pong=False)
    client.send_ping(b"p")
    assert transfer(client, server) == [Ping(b"p")]
    assert wire(server) == b""


def test_control_payload_limit(pair: Pair) -> None:
    client, _ = plain(pair)
    with pytest.raises(ValueError):
        client.send_ping(b"x" * 126)
    with pytest.raises(ValueError):
        client.send_pong(b"x" * 126)
    with pytest.raises(ValueError):
        client.send_close(1000, "é" * 62)  # 124 bytes of reason


# --- closing (RFC 6455 §7) ------------------------------------------------------------------


def test_client_initiated_close(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_close(1001, "going")
    assert client.state is State.CLOSING and client.close_sent == (1001, "going")
    with pytest.raises(InvalidState):
        client.send_text("too late")  # RFC 6455 §5.5.1
    with pytest.raises(InvalidState):
        client.send_close()
    assert transfer(client, server) == [CloseReceived(1001, "going")]
    # RFC 6455 §5.5.1: the server echoes the status code; §7.1.1: the server closes TCP first.
    assert server.state is State.CLOSING and server.close_sent == (1001, "")
    assert server.should_close_transport and server.close_handshake_complete
    assert transfer(server, client) == [CloseReceived(1001, "")]
    assert client.close_handshake_complete and not client.should_close_transport
    server.receive_eof()
    client.receive_eof()
    assert server.events() == [Closed(1001, "going", True)]
    assert client.events() == [Closed(1001, "", True)]
    assert client.state is State.CLOSED and client.should_close_transport
    assert (client.close_code, server.close_code) == (1001, 1001)


def test_server_initiated_close(pair: Pair) -> None:
    client, server = plain(pair)
    server.send_close(4000, "app")
    assert not server.should_close_transport  # waits for the client's Close
    assert transfer(server, client) == [CloseReceived(4000, "app")]
    assert transfer(client, server) == [CloseReceived(4000, "")]
    assert server.should_close_transport


def test_empty_close_is_1005_and_echoed_empty(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_close(None)
    data = wire(client)
    assert data[:2] == b"\x88\x80" and len(data) == 6  # FIN + close, masked, empty
    server.receive_data(data)
    assert server.events() == [CloseReceived(1005, "")]
    assert wire(server) == b"\x88\x00"  # RFC 6455 §7.4.1: 1005 is never sent
    assert server.close_code == 1005


def test_messages_after_our_close_are_still_delivered(pair: Pair) -> None:
    client, server = plain(pair)
    server.send_text("in flight")
    client.send_close()
    assert transfer(server, client) == [TextMessage("in flight")]
    with pytest.raises(InvalidState):
        client.send_ping()  # nothing after our Close (RFC 6455 §5.5.1)


def test_no_pong_after_our_close(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_close()
    wire(client)
    server.send_ping(b"late")
    assert transfer(server, client) == [Ping(b"late")]
    assert wire(client) == b""


def test_data_after_close_is_discarded(pair: Pair, frames_impl: ModuleType) -> None:
    _client, server = plain(pair)
    data = client_frame(frames_impl, 8, b"\x03\xe8") + client_frame(frames_impl, 1, b"ignored")
    server.receive_data(data)
    assert server.events() == [CloseReceived(1000, "")]
    server.receive_data(client_frame(frames_impl, 1, b"ignored too"))
    assert server.events() == []


def test_eof_without_close_is_1006(pair: Pair) -> None:
    client, server = plain(pair)
    client.send_text("partial", fin=False)
    transfer(client, server)
    server.receive_eof()
    assert server.events() == [Closed(1006, "", False)]
    assert server.state is State.CLOSED and server.close_code == 1006
    assert server.should_close_transport
    with pytest.raises(InvalidState):
        server.send_text("x")
    server.receive_data(b"\x81\x00")
    server.receive_eof()
    assert server.events() == []


def test_send_close_code_validation(pair: Pair) -> None:
    client, _ = plain(pair)
    for code in (999, 1004, 1005, 1006, 1015, 5000):
        with pytest.raises(ValueError):
            client.send_close(code)
    with pytest.raises(ValueError):
        client.send_close(None, "reason without code")


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])
def test_valid_close_codes_are_echoed(pair: Pair, code: int) -> None:
    client, server = plain(pair)
    client.send_close(code)
    assert transfer(client, server) == [CloseReceived(code, "")]
    assert transfer(server, client) == [CloseReceived(code, "")]


# --- failing the connection (RFC 6455 §7.1.7) -------------------------------------------------


def close_code_of(data: bytes) -> int:
    assert data[0] == 0x88, data
    return int.from_bytes(data[2:4], "big")


@pytest.mark.parametrize(
    ("frame_args", "code"),
    [
        ((3, b""), 1002),  # reserved opcode (RFC 6455 §5.2)
        ((0xB, b""), 1002),  # reserved control opcode
        ((1, b"x", {"rsv1": True}), 1002),  # RSV1 without an extension (RFC 6455 §5.2)
        ((1, b"x", {"rsv2": True}), 1002),
        ((1, b"x", {"rsv3": True}), 1002),
        ((0, b"x"), 1002),  # continuation without a message (RFC 6455 §5.4)
        ((9, b"x", {"fin": False}), 1002),  # fragmented control frame (RFC 6455 §5.5)
        ((8, b"\x03"), 1002),  # 1-byte close payload (RFC 6455 §5.5.1)
        ((8, b"\x03\xed"), 1002),  # close code 1005 on the wire (RFC 6455 §7.4.1)
        ((8, b"\x03\xe7"), 1002),  # close code 999
        ((8, b"\x03\xe8\xff"), 1007),  # close reason not UTF-8
        ((1, b"\xff"), 1007),  # text not UTF-8 (RFC 6455 §8.1)
        ((1, b"\xed\xa0\x80"), 1007),  # surrogate
    ],
)
def test_protocol_errors(
    pair: Pair, frames_impl: ModuleType, frame_args: tuple[object, ...], code: int
) -> None:
    _client, server = plain(pair)
    opcode, payload = frame_args[0], frame_args[1]
    flags = frame_args[2] if len(frame_args) > 2 else {}
    if opcode >= 8 and not flags.get("fin", True):  # type: ignore[union-attr]
        # The builder refuses to make an invalid control frame: craft it.
        data = bytes([opcode, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload  # type: ignore[arg-type]
    elif opcode in (3, 0xB):
        data = bytes([0x80 | opcode, 0x80]) + b"\x00\x00\x00\x00"  # type: ignore[operator]
    else:
        data = client_frame(frames_impl, opcode, payload, **flags)  # type: ignore[arg-type]
    server.receive_data(data)
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == code
    assert close_code_of(wire(server)) == code
    assert server.state is State.CLOSING and server.should_close_transport
    # Nothing further is processed, nothing more is sent.
    server.receive_data(client_frame(frames_impl, 9, b"ping"))
    assert server.events() == [] and wire(server) == b""
    with pytest.raises(InvalidState):
        server.send_text("x")


def test_unmasked_frame_to_server(pair: Pair) -> None:
    _, server = plain(pair)
    server.receive_data(b"\x81\x02hi")  # RFC 6455 §5.1: clients MUST mask
    assert [type(e) for e in server.events()] == [ConnectionFailed]
    assert close_code_of(wire(server)) == 1002


def test_masked_frame_to_client(pair: Pair) -> None:
    client, _ = plain(pair)
    client.receive_data(b"\x81\x82\x00\x00\x00\x00hi")  # RFC 6455 §5.1: servers MUST NOT mask
    [event] = client.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1002
    data = wire(client)
    assert data[0] == 0x88 and data[1] & 0x80  # the client's Close is masked
    assert client.should_close_transport


def test_new_message_inside_a_fragmented_one(pair: Pair, frames_impl: ModuleType) -> None:
    _, server = plain(pair)
    server.receive_data(client_frame(frames_impl, 1, b"a", fin=False))
    server.receive_data(client_frame(frames_impl, 2, b"b"))
    assert [e.code for e in server.events()] == [1002]  # type: ignore[attr-defined]


def test_invalid_utf8_across_fragments(pair: Pair, frames_impl: ModuleType) -> None:
    _, server = plain(pair)
    server.receive_data(client_frame(frames_impl, 1, b"ok\xc3", fin=False))
    server.receive_data(client_frame(frames_impl, 0, b"(", fin=True))
    assert [e.code for e in server.events()] == [1007]  # type: ignore[attr-defined]


def test_message_too_big(pair: Pair) -> None:
    client, server = plain(pair, max_message_size=1000)
    client.send_binary(b"x" * 1000)
    assert transfer(client, server) == [BinaryMessage(b"x" * 1000)]
    client.send_binary(b"x" * 600, fin=False)
    client.send_continuation(b"x" * 401, fin=True)
    [event] = transfer(client, server)
    assert isinstance(event, ConnectionFailed) and event.code == 1009
    assert close_code_of(wire(server)) == 1009


def test_frames_before_an_error_in_the_same_chunk_are_delivered(
    pair: Pair, frames_impl: ModuleType
) -> None:
    # Autobahn 3.2 / 4.1.3 style: a message, then a reserved opcode, in one read. The message is
    # delivered, the application's answer to it goes out, then our Close (strict behaviour).
    _, server = plain(pair)
    data = client_frame(frames_impl, 1, b"hello") + b"\x85\x80\x00\x00\x00\x00"
    data += client_frame(frames_impl, 9, b"not processed")
    server.receive_data(data)
    assert server.events() == [TextMessage("hello")]
    assert server.state is State.OPEN and not server.should_close_transport
    server.send_text("hello")
    out = server.data_to_send()
    assert out[0] == b"\x81\x05hello" and close_code_of(out[1]) == 1002 and len(out) == 2
    assert server.should_close_transport and server.state is State.CLOSING
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1002


def test_deferred_failure_applies_on_next_events_call(pair: Pair, frames_impl: ModuleType) -> None:
    _, server = plain(pair)
    server.receive_data(client_frame(frames_impl, 2, b"a") + b"\x85\x80\x00\x00\x00\x00")
    assert server.events() == [BinaryMessage(b"a")]
    [event] = server.events()
    assert isinstance(event, ConnectionFailed)
    assert close_code_of(wire(server)) == 1002


def test_deferred_failure_then_eof(pair: Pair, frames_impl: ModuleType) -> None:
    _, server = plain(pair)
    server.receive_data(client_frame(frames_impl, 2, b"a") + b"\x85\x80\x00\x00\x00\x00")
    server.receive_eof()
    events = server.events()
    assert [type(e) for e in events] == [BinaryMessage, ConnectionFailed, Closed]


def test_deferred_failure_after_application_close(pair: Pair, frames_impl: ModuleType) -> None:
    _, server = plain(pair)
    server.receive_data(client_frame(frames_impl, 2, b"a") + b"\x85\x80\x00\x00\x00\x00")
    server.events()
    server.send_close(1001)
    out = server.data_to_send()
    assert len(out) == 1 and close_code_of(out[0]) == 1001  # one Close only
    assert server.should_close_transport


def test_application_fail(pair: Pair) -> None:
    client, server = plain(pair)
    server.fail(1008, "policy " * 40)
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1008
    data = wire(server)
    assert close_code_of(data) == 1008 and len(data) == 2 + 125
    assert server.should_close_transport
    with pytest.raises(ValueError):
        client.fail(1005)


def test_failure_then_eof(pair: Pair) -> None:
    _, server = plain(pair)
    server.receive_data(b"\x81\x02hi")
    server.receive_eof()
    events = server.events()
    assert isinstance(events[0], ConnectionFailed)
    assert events[1] == Closed(1006, "", False)


def test_client_uses_a_fresh_mask_key_per_frame(pair: Pair) -> None:
    # RFC 6455 §5.3: the masking key MUST be unpredictable, a fresh one for each frame.
    client, _ = plain(pair)
    keys = set()
    for _ in range(20):
        client.send_binary(b"same payload")
        frame = wire(client)
        keys.add(frame[2:6])
    assert len(keys) == 20
