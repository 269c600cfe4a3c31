"""wsfast.broadcast.Broadcast, the sans-IO building block of a broadcast: one message to
connections of every kind (uncompressed, compressing without context takeover in several groups,
with context takeover, client side), each receiving exactly the message; frames shared where the
bytes can be (RFC 7692 §7.1.1.1, §7.2.1), never for masked frames (RFC 6455 §5.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from protocol_helpers import transfer

from wsfast import deflate
from wsfast.broadcast import Broadcast
from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import BinaryMessage, TextMessage
from wsfast.extensions import PerMessageDeflate

Pair = Callable[..., tuple[ClientConnection, ServerConnection]]

#: name -> (client's PerMessageDeflate or None, server's PerMessageDeflate or None)
GROUPS: dict[str, tuple[Any, Any]] = {
    "uncompressed": (None, None),
    "server refuses compression": (PerMessageDeflate(), None),
    "no takeover, 4 KiB window": (
        PerMessageDeflate(),
        PerMessageDeflate(server_no_context_takeover=True, server_max_window_bits=12),
    ),
    "no takeover, 32 KiB window": (
        PerMessageDeflate(server_no_context_takeover=True),
        PerMessageDeflate(),
    ),
    "no takeover, level 1": (
        PerMessageDeflate(),
        PerMessageDeflate(server_no_context_takeover=True, compression_level=1),
    ),
    "context takeover": (PerMessageDeflate(), PerMessageDeflate(server_max_window_bits=12)),
}

MESSAGES: list[str | bytes] = [
    deflate.reference_text(1024, 1).decode(),
    "tiny",  # below compress_threshold: uncompressed for everyone
    deflate.reference_text(20_000, 2),
    deflate.reference_text(1024, 1).decode(),  # again: context takeover shrinks it
    "",
]


def expected(message: str | bytes) -> object:
    return TextMessage(message) if isinstance(message, str) else BinaryMessage(message)


def open_pairs(pair: Pair, copies: int = 2) -> dict[str, list[tuple[Any, Any]]]:
    return {
        name: [
            pair(client_options={"compression": c}, server_options={"compression": s})
            for _ in range(copies)
        ]
        for name, (c, s) in GROUPS.items()
    }


def test_every_group_receives_every_message(pair: Pair) -> None:
    groups = open_pairs(pair)
    for message in MESSAGES:
        prepared = Broadcast(message)
        for pairs in groups.values():
            for _client, server in pairs:
                assert prepared.send_to(server)
        for name, pairs in groups.items():
            for client, server in pairs:
                assert transfer(server, client) == [expected(message)], name


def test_frames_are_built_once_per_group(pair: Pair) -> None:
    groups = open_pairs(pair)
    prepared = Broadcast(MESSAGES[0])
    frames = {
        name: [prepared.frame_for(server) for _client, server in pairs]
        for name, pairs in groups.items()
    }
    # Uncompressed connections all share one frame, whatever they negotiated.
    plain = frames["uncompressed"][0]
    for name in ("uncompressed", "server refuses compression"):
        assert all(frame is plain for frame in frames[name])
    # Each no-takeover group shares one compressed frame of its own (RSV1 set).
    shared = [frames[name][0] for name in GROUPS if name.startswith("no takeover")]
    for name in GROUPS:
        if name.startswith("no takeover"):
            first, second = frames[name]
            assert first is second and first[0] == 0xC1
    assert len({id(frame) for frame in shared}) == 3  # one compression per group
    # Context takeover: each connection compresses its own copy.
    first, second = frames["context takeover"]
    assert first is not second and first[0] == 0xC1
    for name, pairs in groups.items():
        for (client, server), frame in zip(pairs, frames[name], strict=True):
            server._out.append(frame)
            assert transfer(server, client) == [expected(MESSAGES[0])]


def test_client_connections_mask_each_frame(pair: Pair) -> None:
    pairs = [
        pair(
            client_options={"compression": PerMessageDeflate(client_no_context_takeover=True)},
            server_options={"compression": PerMessageDeflate()},
        )
        for _ in range(2)
    ]
    prepared = Broadcast(b"x" * 500)
    first, second = (prepared.frame_for(client) for client, _server in pairs)
    assert first[1] & 0x80 and second[1] & 0x80  # masked (RFC 6455 §5.3)
    assert first[:2] == second[:2] and first[2:6] != second[2:6]  # same header, own keys
    for (client, server), frame in zip(pairs, (first, second), strict=True):
        client._out.append(frame)
        assert transfer(client, server) == [BinaryMessage(b"x" * 500)]


def test_queued_behind_what_the_connection_already_had_to_send(pair: Pair) -> None:
    client, server = pair(
        client_options={"compression": PerMessageDeflate()},
        server_options={"compression": PerMessageDeflate()},
    )
    server.send_text("first")
    assert Broadcast("second").send_to(server)
    server.send_text("third")
    assert transfer(server, client) == [
        TextMessage("first"),
        TextMessage("second"),
        TextMessage("third"),
    ]


def test_connections_that_cannot_take_a_message_are_skipped(pair: Pair) -> None:
    client, server = pair()
    server.send_text("part", fin=False)  # a fragmented message in progress (RFC 6455 §5.4)
    prepared = Broadcast("hello")
    assert prepared.frame_for(server) is None and not prepared.send_to(server)
    server.send_continuation("!", fin=True)
    assert prepared.send_to(server)
    server.send_close(1000)
    assert not prepared.send_to(server)  # no longer OPEN
    transfer(server, client)


def test_only_str_or_bytes_like() -> None:
    with pytest.raises(TypeError):
        Broadcast(42)  # type: ignore[arg-type]
    assert Broadcast(bytearray(b"ab")).payload == b"ab"
    assert Broadcast("é").payload == "é".encode()


def test_compress_threshold_is_respected_within_a_group(pair: Pair) -> None:
    no_takeover = {"server_no_context_takeover": True}
    low, high = (
        pair(
            client_options={"compression": PerMessageDeflate()},
            server_options={
                "compression": PerMessageDeflate(**no_takeover, compress_threshold=threshold)  # type: ignore[arg-type]
            },
        )
        for threshold in (0, 10_000)
    )
    prepared = Broadcast("a" * 500)
    assert prepared.frame_for(low[1])[0] == 0xC1  # compressed (RSV1)
    assert prepared.frame_for(high[1])[0] == 0x81  # under its threshold: sent as it is
    for client, server in (low, high):
        assert prepared.send_to(server)
        assert transfer(server, client) == [TextMessage("a" * 500)]
