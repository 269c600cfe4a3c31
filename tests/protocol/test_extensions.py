"""Sec-WebSocket-Extensions (RFC 6455 §9.1); permessage-deflate negotiation and codec (RFC 7692)."""

from __future__ import annotations

import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsfast.deflate import get_deflate_backend
from wsfast.exceptions import NegotiationError, PayloadTooBig, ProtocolError
from wsfast.extensions import (
    DeflateCodec,
    Extension,
    PerMessageDeflate,
    format_extensions,
    parse_extensions,
)

# --- RFC 6455 §9.1 header syntax ------------------------------------------------------------


def test_parse_extensions() -> None:
    parsed = parse_extensions(
        [
            'permessage-deflate; client_max_window_bits; server_max_window_bits="10" , x-foo',
            "x-bar;a=1;b",
        ]
    )
    assert parsed == (
        Extension(
            "permessage-deflate",
            (("client_max_window_bits", None), ("server_max_window_bits", "10")),
        ),
        Extension("x-foo"),
        Extension("x-bar", (("a", "1"), ("b", None))),
    )


def test_parse_extensions_skips_empty_elements() -> None:
    assert parse_extensions([" , x ,, "]) == (Extension("x"),)
    assert parse_extensions([]) == ()


def test_quoted_values_are_unescaped() -> None:
    assert parse_extensions(['x; a="1\\5"']) == (Extension("x", (("a", "15"),)),)


@pytest.mark.parametrize(
    "value",
    ["x;", "x; =1", "x; a=", 'x; a="1', 'x; a="a b"', "x y", "x; a=b c", '"x"', "x; a=@", "x;;a"],
)
def test_parse_extensions_rejects(value: str) -> None:
    with pytest.raises(NegotiationError):
        parse_extensions([value])


def test_format_extensions_round_trip() -> None:
    extensions = (
        Extension("permessage-deflate", (("server_no_context_takeover", None),)),
        Extension("x", (("a", "1"),)),
    )
    header = format_extensions(extensions)
    assert header == "permessage-deflate; server_no_context_takeover, x; a=1"
    assert parse_extensions([header]) == extensions


# --- negotiation: client offers ---------------------------------------------------------------


def test_default_offer() -> None:
    assert str(PerMessageDeflate().offer()) == "permessage-deflate; client_max_window_bits"


def test_full_offer() -> None:
    config = PerMessageDeflate(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=12,
    )
    assert str(config.offer()) == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=12"
    )


def test_config_validation() -> None:
    for bad in (7, 16, "9"):
        with pytest.raises(ValueError):
            PerMessageDeflate(server_max_window_bits=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PerMessageDeflate(client_max_window_bits=8).offer()  # zlib cannot compress with 8
    with pytest.raises(ValueError):
        PerMessageDeflate(compress_threshold=-1)


# --- negotiation: the server's answer (RFC 7692 §7.1) -----------------------------------------


def offer(header: str) -> Extension:
    [extension] = parse_extensions([header])
    return extension


@pytest.mark.parametrize(
    ("config", "header", "response"),
    [
        ({}, "permessage-deflate", "permessage-deflate"),
        ({}, "permessage-deflate; client_max_window_bits", "permessage-deflate"),
        (
            {"client_max_window_bits": 10},
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=10",
        ),
        (
            {"client_max_window_bits": 12},
            "permessage-deflate; client_max_window_bits=9",
            "permessage-deflate; client_max_window_bits=9",
        ),
        ({"client_max_window_bits": 10}, "permessage-deflate", "permessage-deflate"),
        (
            {},
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            {},
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            {"server_no_context_takeover": True, "client_no_context_takeover": True},
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        *[
            (
                {},
                f"permessage-deflate; server_max_window_bits={bits}",
                f"permessage-deflate; server_max_window_bits={bits}",
            )
            for bits in range(9, 16)
        ],
        (
            {"server_max_window_bits": 11},
            "permessage-deflate; server_max_window_bits=13",
            "permessage-deflate; server_max_window_bits=11",
        ),
        (
            {"server_max_window_bits": 11},
            "permessage-deflate",
            "permessage-deflate; server_max_window_bits=11",
        ),
        (
            {},
            'permessage-deflate; server_max_window_bits="12"',
            "permessage-deflate; server_max_window_bits=12",
        ),
    ],
)
def test_server_accepts_offer(config: dict[str, object], header: str, response: str) -> None:
    accepted = PerMessageDeflate(**config).accept_offer(offer(header))  # type: ignore[arg-type]
    assert accepted is not None
    extension, codec = accepted
    assert str(extension) == response
    assert codec.agreed == extension


@pytest.mark.parametrize(
    "header",
    [
        "permessage-deflate; server_max_window_bits=8",  # zlib cannot honour it
        "permessage-deflate; server_max_window_bits",  # needs a value
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; unknown_parameter",
    ],
)
def test_server_declines_bad_offer(header: str) -> None:
    assert PerMessageDeflate().accept_offer(offer(header)) is None


def test_server_falls_back_to_next_offer() -> None:
    offers = parse_extensions(
        [
            "x-unknown, permessage-deflate; server_max_window_bits=8, "
            "permessage-deflate; server_no_context_takeover, permessage-deflate"
        ]
    )
    accepted = PerMessageDeflate().negotiate(offers)
    assert accepted is not None
    assert str(accepted[0]) == "permessage-deflate; server_no_context_takeover"
    assert PerMessageDeflate().negotiate(offers[:2]) is None


# --- negotiation: the client checks the answer --------------------------------------------------


@pytest.mark.parametrize(
    ("config", "response"),
    [
        ({}, "permessage-deflate"),
        ({}, "permessage-deflate; client_max_window_bits=9"),
        ({}, "permessage-deflate; server_max_window_bits=8"),  # inflating with 8 is fine
        ({}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ({"server_max_window_bits": 10}, "permessage-deflate; server_max_window_bits=10"),
        ({"server_max_window_bits": 10}, "permessage-deflate; server_max_window_bits=9"),
        ({"client_max_window_bits": 12}, "permessage-deflate; client_max_window_bits=11"),
        ({"server_no_context_takeover": True}, "permessage-deflate; server_no_context_takeover"),
    ],
)
def test_client_accepts_response(config: dict[str, object], response: str) -> None:
    codec = PerMessageDeflate(**config).accept_response(offer(response))  # type: ignore[arg-type]
    assert isinstance(codec, DeflateCodec)


@pytest.mark.parametrize(
    ("config", "response"),
    [
        ({}, "permessage-deflate; client_max_window_bits"),  # a response needs the value
        ({}, "permessage-deflate; client_max_window_bits=8"),  # zlib cannot honour it
        ({"client_max_window_bits": None}, "permessage-deflate; client_max_window_bits=10"),
        ({"client_max_window_bits": 10}, "permessage-deflate; client_max_window_bits=11"),
        ({"server_max_window_bits": 10}, "permessage-deflate; server_max_window_bits=11"),
        ({"server_no_context_takeover": True}, "permessage-deflate"),
        ({}, "permessage-deflate; foo"),
        ({}, "permessage-deflate; server_max_window_bits=100"),
        ({}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
    ],
)
def test_client_refuses_response(config: dict[str, object], response: str) -> None:
    with pytest.raises(NegotiationError):
        PerMessageDeflate(**config).accept_response(offer(response))  # type: ignore[arg-type]


# --- the codec (RFC 7692 §7.2) ------------------------------------------------------------------


def test_compress_strips_tail_and_empty_message_is_one_zero_byte(
    codec_class: type[DeflateCodec],
) -> None:
    # The RFC's examples are zlib's bytes; other backends' are checked by round trips
    # (tests/protocol/test_deflate_backends.py).
    zlib_backend = get_deflate_backend("zlib")
    codec = codec_class(backend=zlib_backend)
    assert codec.compress(b"") == b"\x00"
    data = codec.compress(b"Hello")
    assert not data.endswith(b"\x00\x00\xff\xff")
    # RFC 7692 §7.2.3.1: "Hello" compressed without context takeover.
    hello = codec_class(reset_compressor=True, backend=zlib_backend).compress(b"Hello")
    assert hello == bytes.fromhex("f248cdc9c90700")


def test_decompress_rfc_example(codec_class: type[DeflateCodec]) -> None:
    # RFC 7692 §7.2.3.2: the same message twice with context takeover shrinks the second.
    codec = codec_class()
    assert codec.decompress(bytes.fromhex("f248cdc9c90700"), True, None) == b"Hello"
    assert codec.decompress(bytes.fromhex("f200110000"), True, None) == b"Hello"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    st.booleans(),
    st.integers(9, 15),
)
def test_codec_round_trip_across_messages(
    codec_class: type[DeflateCodec], messages: list[bytes], reset: bool, bits: int
) -> None:
    # The receiver resets its context only when the sender agreed to reset its own.
    sender = codec_class(compress_bits=bits, reset_compressor=reset)
    receiver = codec_class(reset_decompressor=reset)
    for message in messages:
        # Fragment each message in two frames.
        half = len(message) // 2
        first = sender.compress(message[:half], False)
        last = sender.compress(message[half:], True)
        out = receiver.decompress(first, False, 1000) + receiver.decompress(last, True, 1000)
        assert out == message


def test_no_context_takeover_makes_messages_independent(codec_class: type[DeflateCodec]) -> None:
    codec = codec_class(reset_compressor=True)
    first = codec.compress(b"repeat repeat repeat")
    second = codec.compress(b"repeat repeat repeat")
    assert first == second
    # A fresh decompressor can inflate the second message alone.
    assert codec_class().decompress(second, True, None) == b"repeat repeat repeat"


def test_window_bits_bound_the_back_references(codec_class: type[DeflateCodec]) -> None:
    # With a 512-byte window (bits 9) the compressor cannot refer 1000 bytes back.
    block = os.urandom(600)
    data = block + block
    small = codec_class(compress_bits=9).compress(data)
    large = codec_class(compress_bits=15).compress(data)
    assert len(large) < 700 < len(small)
    inflater = zlib.decompressobj(-9)
    assert inflater.decompress(small + b"\x00\x00\xff\xff") == data


def test_decompression_bomb_is_bounded(codec_class: type[DeflateCodec]) -> None:
    # 64 MiB of zeros in about 64 KiB (deflate's ratio is at most ~1030:1): inflating must stop
    # at the limit + 1 byte, not inflate the whole message.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(64))
    bomb += compressor.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 128 << 10
    codec = codec_class()
    with pytest.raises(PayloadTooBig) as info:
        codec.decompress(bomb, True, 1 << 16)
    assert info.value.code == 1009


def test_decompress_limit_exact(codec_class: type[DeflateCodec]) -> None:
    payload = codec_class().compress(b"a" * 100)
    assert codec_class().decompress(payload, True, 100) == b"a" * 100
    with pytest.raises(PayloadTooBig):
        codec_class().decompress(payload, True, 99)


def test_decompress_corrupt_data_is_a_protocol_error(codec_class: type[DeflateCodec]) -> None:
    with pytest.raises(ProtocolError) as info:
        codec_class().decompress(b"\xff\xff\xff\xff", True, None)
    assert info.value.code == 1002


def test_peer_ending_its_stream_starts_a_new_one(codec_class: type[DeflateCodec]) -> None:
    # A peer may end a message with a final deflate block (BFINAL): the next message is then a
    # new stream, which the codec must accept.
    codec = codec_class()
    for text in (b"first", b"second"):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = compressor.compress(text) + compressor.flush(zlib.Z_FINISH)
        assert codec.decompress(payload, True, None) == text


@pytest.mark.parametrize("limit", [None, 1 << 20])
def test_decompress_output_of_several_steps(
    codec_class: type[DeflateCodec], limit: int | None
) -> None:
    # A frame inflating to more than one step of output (256 KiB): the steps are joined, and
    # a limit exactly the size passes.
    data = os.urandom(64) * (1 << 14)  # 1 MiB
    payload = codec_class().compress(data)
    assert codec_class().decompress(payload, True, limit) == data
    with pytest.raises(PayloadTooBig):
        codec_class().decompress(payload, True, len(data) - 1)


def test_both_builds_of_the_codec_send_the_same_bytes(codec_class: type[DeflateCodec]) -> None:
    # The compiled and the Python build of one source: same compressed bytes, same inflated ones.
    messages = [os.urandom(8) * n for n in (0, 1, 40, 1000, 5000)] * 2
    ours, reference = codec_class(), DeflateCodec()
    for message in messages:
        payload = ours.compress(message)
        assert payload == reference.compress(message)
        assert ours.decompress(payload, True, None) == message
