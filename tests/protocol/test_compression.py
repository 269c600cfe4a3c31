"""permessage-deflate on the wire (RFC 7692 §6, §7.2) and interoperability with other sans-IO
implementations (websockets, wsproto) when they are installed."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from types import ModuleType

import pytest
from protocol_helpers import transfer, wire

from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Ping,
    TextFragment,
    TextMessage,
)
from wsfast.extensions import PerMessageDeflate

Pair = Callable[..., tuple[ClientConnection, ServerConnection]]

TEXT = "The quick brown fox jumps over the lazy dog. " * 20


def deflate_pair(
    pair: Pair,
    client: dict[str, object] | None = None,
    server: dict[str, object] | None = None,
    **options: object,
) -> tuple[ClientConnection, ServerConnection]:
    return pair(
        client_options={"compression": PerMessageDeflate(**(client or {})), **options},
        server_options={"compression": PerMessageDeflate(**(server or {})), **options},
    )


CONFIGS = [
    ({}, {}),
    ({"server_no_context_takeover": True}, {}),
    ({"client_no_context_takeover": True}, {}),
    ({}, {"server_no_context_takeover": True, "client_no_context_takeover": True}),
    ({"server_max_window_bits": 9}, {}),
    ({"server_max_window_bits": 12, "client_max_window_bits": 9}, {}),
    ({"client_max_window_bits": True}, {"client_max_window_bits": 10}),
    ({}, {"server_max_window_bits": 10}),
    ({"client_max_window_bits": None}, {}),
]


@pytest.mark.parametrize(("client_config", "server_config"), CONFIGS)
def test_round_trips_every_parameter_combination(
    pair: Pair, client_config: dict[str, object], server_config: dict[str, object]
) -> None:
    client, server = deflate_pair(pair, client_config, server_config)
    assert client.extensions and server.extensions
    assert client.extensions == server.extensions
    messages = [TEXT, TEXT, "short", "", TEXT[::-1], "é" * 1000]
    for message in messages:
        client.send_text(message)
        server.send_text(message)
    assert transfer(client, server) == [TextMessage(m) for m in messages]
    assert transfer(server, client) == [TextMessage(m) for m in messages]
    blob = os.urandom(3000) + bytes(5000)
    for _ in range(3):
        client.send_binary(blob)
        server.send_binary(blob)
    assert transfer(client, server) == [BinaryMessage(blob)] * 3
    assert transfer(server, client) == [BinaryMessage(blob)] * 3


def test_compressed_frames_have_rsv1_on_first_frame_only(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    server.send_text(TEXT)
    frame = wire(server)
    assert frame[0] == 0xC1  # FIN + RSV1 + text (RFC 7692 §6)
    assert len(frame) < len(TEXT)
    server.send_text(TEXT[:300], fin=False)
    server.send_ping(b"p")
    server.send_continuation(TEXT[300:], fin=True)
    data = wire(server)
    assert data[0] == 0x41  # RSV1 + text, not FIN
    client.receive_data(frame + data)
    assert client.events() == [TextMessage(TEXT), Ping(b"p"), TextMessage(TEXT)]


def test_control_frames_are_never_compressed(pair: Pair) -> None:
    _client, server = deflate_pair(pair)
    server.send_ping(b"a" * 100)
    server.send_close(1000, "b" * 100)
    data = wire(server)
    assert data[0] == 0x89 and data[1] == 100 and data[2:102] == b"a" * 100
    assert data[102] == 0x88


def test_threshold_sends_small_messages_uncompressed(pair: Pair) -> None:
    client, server = deflate_pair(pair, server={"compress_threshold": 100})
    server.send_text("x" * 99)
    server.send_text("x" * 100)
    data = wire(server)
    assert data[0] == 0x81 and data[101] == 0xC1
    client.receive_data(data)
    assert client.events() == [TextMessage("x" * 99), TextMessage("x" * 100)]


def test_decompression_bomb_fails_with_1009(pair: Pair, frames_impl: ModuleType) -> None:
    _client, server = deflate_pair(pair, max_message_size=1 << 16)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(bytes(32 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]
    assert len(bomb) < 1 << 16  # passes the wire-size check, inflates past the limit
    server.receive_data(frames_impl.build_frame(2, bomb, rsv1=True, mask=True))
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1009
    data = wire(server)
    assert data[0] == 0x88 and data[2:4] == b"\x03\xf1"  # Close 1009


def test_compressed_message_limit_counts_inflated_size(pair: Pair) -> None:
    client, server = deflate_pair(pair, max_message_size=1000)
    client.send_text("a" * 1000)
    assert transfer(client, server) == [TextMessage("a" * 1000)]
    client.send_text("a" * 600, fin=False)
    client.send_continuation("a" * 401, fin=True)
    [event] = transfer(client, server)
    assert isinstance(event, ConnectionFailed) and event.code == 1009


def test_invalid_utf8_after_inflation_is_1007(pair: Pair, frames_impl: ModuleType) -> None:
    _client, server = deflate_pair(pair)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = (compressor.compress(b"ok \xff") + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    server.receive_data(frames_impl.build_frame(1, payload, rsv1=True, mask=True))
    assert [e.code for e in server.events()] == [1007]  # type: ignore[attr-defined]


def test_corrupt_compressed_data_fails(pair: Pair, frames_impl: ModuleType) -> None:
    _client, server = deflate_pair(pair)
    server.receive_data(frames_impl.build_frame(2, b"\xff\xff\xff", rsv1=True, mask=True))
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1002


def test_rsv1_on_continuation_is_a_protocol_error(pair: Pair, frames_impl: ModuleType) -> None:
    _client, server = deflate_pair(pair)
    data = frames_impl.build_frame(1, b"a", fin=False, mask=True)
    data += frames_impl.build_frame(0, b"b", rsv1=True, mask=True)
    server.receive_data(data)
    assert [e.code for e in server.events()] == [1002]  # type: ignore[attr-defined]


def test_rsv1_on_control_frame_is_a_protocol_error(pair: Pair) -> None:
    _client, server = deflate_pair(pair)
    server.receive_data(b"\xc9\x80\x00\x00\x00\x00")  # ping with RSV1
    assert [e.code for e in server.events()] == [1002]  # type: ignore[attr-defined]


def test_uncompressed_message_with_extension_active(pair: Pair, frames_impl: ModuleType) -> None:
    # RFC 7692 §6: a message with RSV1 clear is not compressed, extension or not.
    _client, server = deflate_pair(pair)
    server.receive_data(frames_impl.build_frame(1, b"plain", mask=True))
    assert server.events() == [TextMessage("plain")]


def test_streamed_compressed_text(pair: Pair) -> None:
    client, server = deflate_pair(pair, stream_fragments=True)
    client.send_text("é" * 100, fin=False)
    client.send_continuation("ü" * 100, fin=True)
    events = transfer(client, server)
    assert all(isinstance(e, TextFragment) for e in events)
    assert "".join(e.data for e in events) == "é" * 100 + "ü" * 100  # type: ignore[attr-defined]


def test_close_with_compression(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    client.send_close(1000, "bye")
    assert transfer(client, server) == [CloseReceived(1000, "bye")]


# --- interoperability with other sans-IO implementations ----------------------------------------


def test_interop_with_websockets_client(frames_impl: ModuleType) -> None:
    pytest.importorskip("websockets")
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.uri import parse_uri

    peer = ClientProtocol(
        parse_uri("ws://example.com/x"),
        extensions=[ClientPerMessageDeflateFactory(client_max_window_bits=True)],
    )
    peer.send_request(peer.connect())
    server = ServerConnection()
    server.receive_data(b"".join(peer.data_to_send()))
    server.events()
    server.accept()
    for piece in server.data_to_send():
        peer.receive_data(bytes(piece))
    assert peer.events_received()[0].status_code == 101  # type: ignore[union-attr]
    for _ in range(3):
        peer.send_text(TEXT.encode())
        server.receive_data(b"".join(peer.data_to_send()))
        assert server.events() == [TextMessage(TEXT)]
        server.send_text(TEXT)
        peer.receive_data(b"".join(server.data_to_send()))
        [frame] = peer.events_received()
        assert frame.data == TEXT.encode()  # type: ignore[union-attr]


def test_interop_with_websockets_server(frames_impl: ModuleType) -> None:
    pytest.importorskip("websockets")
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.server import ServerProtocol

    peer = ServerProtocol(
        extensions=[ServerPerMessageDeflateFactory(server_no_context_takeover=True)]
    )
    client = ClientConnection("ws://example.com/x")
    peer.receive_data(b"".join(client.data_to_send()))
    [request] = peer.events_received()
    peer.send_response(peer.accept(request))  # type: ignore[arg-type]
    client.receive_data(b"".join(peer.data_to_send()))
    [accepted] = client.events()
    assert "server_no_context_takeover" in str(accepted.extensions[0])  # type: ignore[attr-defined]
    for _ in range(3):
        client.send_binary(bytes(2000))
        peer.receive_data(b"".join(bytes(p) for p in client.data_to_send()))
        [frame] = peer.events_received()
        assert frame.data == bytes(2000)  # type: ignore[union-attr]
        peer.send_binary(bytes(3000))
        client.receive_data(b"".join(peer.data_to_send()))
        assert client.events() == [BinaryMessage(bytes(3000))]


def test_interop_with_wsproto_client(frames_impl: ModuleType) -> None:
    pytest.importorskip("wsproto")
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection
    from wsproto.events import Request as WsprotoRequest
    from wsproto.events import TextMessage as WsprotoText
    from wsproto.extensions import PerMessageDeflate as WsprotoDeflate

    peer = WSConnection(ConnectionType.CLIENT)
    data = peer.send(WsprotoRequest(host="example.com", target="/", extensions=[WsprotoDeflate()]))
    server = ServerConnection()
    server.receive_data(data)
    server.events()
    server.accept()
    peer.receive_data(b"".join(server.data_to_send()))
    assert isinstance(next(peer.events()), AcceptConnection)
    for _ in range(3):
        server.send_text(TEXT)
        peer.receive_data(b"".join(server.data_to_send()))
        [message] = list(peer.events())
        assert isinstance(message, WsprotoText) and message.data == TEXT
        server.receive_data(peer.send(WsprotoText(data=TEXT)))
        assert server.events() == [TextMessage(TEXT)]


def test_streamed_compressed_message_limit(pair: Pair) -> None:
    # Streaming keeps no buffer: the inflated size is still counted across fragments.
    client, server = deflate_pair(pair, stream_fragments=True, max_message_size=1000)
    client.send_binary(b"a" * 600, fin=False)
    client.send_continuation(b"a" * 401, fin=True)
    events = transfer(client, server) + server.events()
    assert isinstance(events[-1], ConnectionFailed) and events[-1].code == 1009
    assert sum(len(e.data) for e in events[:-1]) <= 1000  # type: ignore[attr-defined]


def _frame_headers(data: bytes) -> list[int]:
    """First header byte of each (unmasked, short) frame in ``data``."""
    firsts = []
    offset = 0
    while offset < len(data):
        length = data[offset + 1] & 0x7F
        header = 2
        if length == 126:
            length, header = int.from_bytes(data[offset + 2 : offset + 4], "big"), 4
        firsts.append(data[offset])
        offset += header + length
    return firsts


def test_rsv1_never_on_continuation_frames(pair: Pair) -> None:
    # RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
    _, server = deflate_pair(pair)
    server.send_binary(bytes(1000), fin=False)
    server.send_continuation(bytes(1000), fin=False)
    server.send_ping(b"!")
    server.send_continuation(bytes(1000), fin=True)
    assert _frame_headers(wire(server)) == [0x42, 0x00, 0x89, 0x80]


def test_invalid_utf8_in_compressed_fragments_fails_fast(
    pair: Pair, frames_impl: ModuleType
) -> None:
    # The first fragment already holds a byte that can never be UTF-8: fail before the end.
    _, server = deflate_pair(pair)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = compressor.compress(b"ok \xff") + compressor.flush(zlib.Z_SYNC_FLUSH)
    server.receive_data(frames_impl.build_frame(1, first, fin=False, rsv1=True, mask=True))
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1007


@pytest.mark.parametrize(("client_config", "server_config"), CONFIGS)
def test_released_compressor_restarts_a_stream_every_peer_reads(
    pair: Pair, client_config: dict[str, object], server_config: dict[str, object]
) -> None:
    """Freeing the compressor between messages (RFC 7692 §7.2.1: a fresh deflate stream refers
    to no earlier message) keeps every parameter combination working, context takeover or not."""
    client, server = deflate_pair(pair, client_config, server_config)
    agreed = {name for name, _ in server.extensions[0].params}
    for sender, receiver, role in ((server, client, "server"), (client, server, "client")):
        sender.send_text(TEXT)
        assert transfer(sender, receiver) == [TextMessage(TEXT)]
        # With "no context takeover" the compressor is already freed after every message.
        assert sender.release_compressor() is (f"{role}_no_context_takeover" not in agreed)
        assert not sender.release_compressor()  # nothing left to free
        sender.send_text(TEXT)
        sender.send_text(TEXT)  # context takeover again within the new stream
        assert transfer(sender, receiver) == [TextMessage(TEXT), TextMessage(TEXT)]


def test_compressor_is_kept_during_a_fragmented_message(pair: Pair) -> None:
    client, server = deflate_pair(pair)
    server.send_text(TEXT, fin=False)
    assert not server.release_compressor()  # the deflate stream is mid-message
    server.send_continuation(TEXT, fin=True)
    assert transfer(server, client) == [TextMessage(TEXT + TEXT)]
    assert server.release_compressor()
    _plain_client, plain_server = pair()
    assert not plain_server.release_compressor()  # no permessage-deflate: nothing to free
