"""Frame parsing and building (RFC 6455 §5), against both twins: ``_frames`` and ``_frames_py``.

Streams are written by an independent encoder (``encode``) that can also write invalid frames,
so the parser is not only checked against the builder. Every small stream is fed split at every
point; the hypothesis tests at the end compare the two twins on random valid and invalid input.
"""

from __future__ import annotations

import array
import os
import pickle
import struct
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twins import load_twin, twin_fixture
from wsfast.exceptions import PayloadTooBig, ProtocolError

impl = twin_fixture("frames")

KEY = b"\x9a\x3c\x01\xf7"

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10


def xor(data: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3 masking, written independently of wsfast (big payloads as one integer XOR)."""
    if len(data) < 1024:
        return bytes(b ^ key[i % 4] for i, b in enumerate(data))
    repeated = (key * (len(data) // 4 + 1))[: len(data)]
    value = int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")
    return value.to_bytes(len(data), "little")


def encode(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = None,
    length: int | None = None,
    form: int | None = None,
) -> bytes:
    """An RFC 6455 §5.2 frame, written by hand. ``length`` overrides the declared length and
    ``form`` (7, 16 or 64) the length encoding, to write frames a correct builder would not."""
    declared = len(payload) if length is None else length
    if form is None:
        form = 7 if declared < 126 else 16 if declared < 65536 else 64
    first = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if key is not None else 0
    if form == 7:
        header = bytes((first, mask_bit | declared))
    elif form == 16:
        header = bytes((first, mask_bit | 126)) + struct.pack("!H", declared)
    else:
        header = bytes((first, mask_bit | 127)) + struct.pack("!Q", declared)
    if key is None:
        return header + payload
    return header + key + xor(payload, key)


def client(opcode: int, payload: bytes = b"", **kwargs: Any) -> bytes:
    """A frame as a client sends it: masked (RFC 6455 §5.1)."""
    return encode(opcode, payload, key=KEY, **kwargs)


def fields(frame: Any) -> tuple[int, bool, bool, bool, bool, bytes]:
    return (frame.opcode, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3, frame.payload)


def run(
    impl: ModuleType, pieces: list[bytes], *, server: bool = True, **options: Any
) -> tuple[list[tuple[Any, ...]], tuple[int, str] | None, int]:
    """Feeds the pieces; returns (frames as tuples, (code, reason) or None, bytes buffered)."""
    parser = impl.FrameParser(server=server, **options)
    frames: list[tuple[Any, ...]] = []
    for piece in pieces:
        try:
            frames += [fields(f) for f in parser.feed(piece)]
        except ProtocolError as exc:
            frames += [fields(f) for f in exc.frames]  # type: ignore[attr-defined]
            return frames, (exc.code, exc.reason), parser.buffered
    return frames, None, parser.buffered


def every_split(stream: bytes) -> list[list[bytes]]:
    """The stream whole, in two pieces at every point, and one byte at a time."""
    splits = [[stream]]
    splits += [[stream[:i], stream[i:]] for i in range(1, len(stream))]
    splits.append([stream[i : i + 1] for i in range(len(stream))])
    return splits


def assert_error(
    impl: ModuleType, stream: bytes, code: int, *, server: bool = True, **options: Any
) -> str:
    """The stream fails with ``code`` however it is split; returns the reason."""
    reasons = set()
    for pieces in every_split(stream):
        _, error, _ = run(impl, pieces, server=server, **options)
        assert error is not None, f"no error for {pieces!r}"
        assert error[0] == code, error
        reasons.add(error[1])
    assert len(reasons) == 1, reasons
    return reasons.pop()


# --- Frame ------------------------------------------------------------------------------------


def test_frame_fields_and_defaults(impl: ModuleType) -> None:
    frame = impl.Frame(TEXT, b"hi")
    assert fields(frame) == (TEXT, True, False, False, False, b"hi")
    assert fields(impl.Frame(CONT, bytearray(b"x"), False, True, True, True)) == (
        CONT,
        False,
        True,
        True,
        True,
        b"x",
    )
    assert type(impl.Frame(BINARY, memoryview(b"ab")).payload) is bytes
    assert impl.Frame(PING).payload == b""


def test_frame_is_immutable_and_comparable(impl: ModuleType) -> None:
    frame = impl.Frame(BINARY, b"abc", fin=False)
    for name in ("opcode", "fin", "rsv1", "rsv2", "rsv3", "payload"):
        with pytest.raises(AttributeError):
            setattr(frame, name, 1)
    assert frame == impl.Frame(BINARY, b"abc", fin=False)
    assert frame != impl.Frame(BINARY, b"abc")
    assert frame != impl.Frame(BINARY, b"abd", fin=False)
    assert frame != (BINARY, b"abc")
    assert hash(frame) == hash(impl.Frame(BINARY, b"abc", fin=False))
    assert pickle.loads(pickle.dumps(frame)) == frame


def test_frame_repr(impl: ModuleType) -> None:
    assert repr(impl.Frame(TEXT, b"hi")) == "Frame(opcode=1, payload=b'hi', fin=True)"
    assert repr(impl.Frame(TEXT, b"x" * 40, fin=False, rsv1=True)) == (
        f"Frame(opcode=1, payload={b'x' * 32!r}...(40 bytes), fin=False, rsv1=True)"
    )


def test_frame_rejects_bad_arguments(impl: ModuleType) -> None:
    with pytest.raises(ValueError):
        impl.Frame(16)
    with pytest.raises(ValueError):
        impl.Frame(-1)
    with pytest.raises(TypeError):
        impl.Frame(TEXT, "text")
    with pytest.raises(TypeError):
        impl.Frame(1.0)


# --- parsing valid streams --------------------------------------------------------------------

VALID_STREAMS = {
    "single text": ([client(TEXT, b"Hello")], [(TEXT, True, False, False, False, b"Hello")]),
    "empty frames": (
        [client(BINARY), client(PING), client(TEXT)],
        [
            (BINARY, True, False, False, False, b""),
            (PING, True, False, False, False, b""),
            (TEXT, True, False, False, False, b""),
        ],
    ),
    "fragmented text with interleaved ping, code point across fragments": (
        [
            client(TEXT, "h\u00e9".encode()[:2], fin=False),
            client(PING, b"p"),
            client(CONT, "h\u00e9".encode()[2:] + b"!", fin=False),
            client(CONT, "\U0001f600".encode(), fin=True),
        ],
        [
            (TEXT, False, False, False, False, b"h\xc3"),
            (PING, True, False, False, False, b"p"),
            (CONT, False, False, False, False, b"\xa9!"),
            (CONT, True, False, False, False, "\U0001f600".encode()),
        ],
    ),
    "binary, pong, close": (
        [client(BINARY, bytes(range(200))), client(PONG, b"x" * 125), client(CLOSE, b"\x03\xe8ok")],
        [
            (BINARY, True, False, False, False, bytes(range(200))),
            (PONG, True, False, False, False, b"x" * 125),
            (CLOSE, True, False, False, False, b"\x03\xe8ok"),
        ],
    ),
    "non-minimal length encodings are tolerated": (
        [client(BINARY, b"abc", form=16), client(TEXT, b"xyz", form=64)],
        [(BINARY, True, False, False, False, b"abc"), (TEXT, True, False, False, False, b"xyz")],
    ),
}


@pytest.mark.parametrize("name", list(VALID_STREAMS))
def test_valid_stream_at_every_split(impl: ModuleType, name: str) -> None:
    frames, expected = VALID_STREAMS[name]
    stream = b"".join(frames)
    for pieces in every_split(stream):
        assert run(impl, pieces) == (expected, None, 0), pieces


def test_client_side_parses_unmasked_frames(impl: ModuleType) -> None:
    stream = encode(TEXT, b"hi", fin=False) + encode(PING, b"") + encode(CONT, b"!")
    expected = [
        (TEXT, False, False, False, False, b"hi"),
        (PING, True, False, False, False, b""),
        (CONT, True, False, False, False, b"!"),
    ]
    for pieces in every_split(stream):
        assert run(impl, pieces, server=False) == (expected, None, 0)


SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("server", [True, False])
def test_payload_sizes(impl: ModuleType, size: int, server: bool) -> None:
    payload = os.urandom(size)
    frame = encode(BINARY, payload, key=KEY if server else None)
    header = frame[: len(frame) - size]
    expected_header = 2 if size < 126 else 4 if size < 65536 else 10
    assert len(header) == expected_header + (4 if server else 0)
    expected = ([(BINARY, True, False, False, False, payload)], None, 0)
    options = {"max_frame_size": None, "max_message_size": None, "server": server}
    assert run(impl, [frame], **options) == expected
    # A few awkward cuts: inside the header, at its end, odd offsets through the payload.
    cuts = sorted({1, len(header) - 1, len(header), len(header) + 1, len(frame) // 3, 7001})
    cuts = [c for c in cuts if 0 < c < len(frame)]
    pieces = [frame[a:b] for a, b in zip([0, *cuts], [*cuts, len(frame)], strict=True)]
    assert run(impl, pieces, **options) == expected
    # And in 4099-byte chunks.
    chunks = [frame[i : i + 4099] for i in range(0, len(frame), 4099)]
    assert run(impl, chunks, **options) == expected


def test_one_mebibyte_at_once(impl: ModuleType) -> None:
    payloads = [os.urandom(n) for n in (1, 70000, 3, 300000, 0, 50)]
    stream = b"".join(client(BINARY, p) for p in payloads)
    parser = impl.FrameParser(server=True)
    frames = parser.feed(stream + b"\x82")  # and the first byte of the next frame
    assert [f.payload for f in frames] == payloads
    assert parser.buffered == 1


def test_buffered_counts_the_incomplete_frame(impl: ModuleType) -> None:
    frame = client(BINARY, b"x" * 300)  # 4-byte header + 4-byte key + 300
    parser = impl.FrameParser(server=True)
    assert parser.feed(frame[:3]) == []
    assert parser.buffered == 3
    assert parser.feed(frame[3:10]) == []
    assert parser.buffered == 10
    assert parser.feed(frame[10:-1]) == []
    assert parser.buffered == len(frame) - 1
    assert len(parser.feed(frame[-1:])) == 1
    assert parser.buffered == 0


@pytest.mark.parametrize(
    "make", [bytes, bytearray, memoryview, lambda b: array.array("B", b), lambda b: b"__" + b]
)
def test_any_buffer_type(impl: ModuleType, make: Any) -> None:
    stream = client(TEXT, b"abc") + client(BINARY, b"\x00" * 200)
    data = make(stream)
    if isinstance(data, bytes) and data.startswith(b"__"):
        data = memoryview(data)[2:]  # a view that does not start at its buffer's start
    frames = impl.FrameParser(server=True).feed(data)
    assert [f.payload for f in frames] == [b"abc", b"\x00" * 200]


def test_payload_does_not_alias_the_callers_buffer(impl: ModuleType) -> None:
    buffer = bytearray(encode(BINARY, b"abcdef"))
    parser = impl.FrameParser(server=False)
    frame = parser.feed(buffer[:4])  # header + 2 bytes: the rest is pending
    assert frame == []
    buffer[2:] = b"XXXXXX"
    rest = bytearray(b"cdef")
    (frame,) = parser.feed(rest)
    rest[:] = b"zzzz"
    whole = bytearray(encode(BINARY, b"123"))
    (other,) = parser.feed(whole)
    whole[:] = b"\x00" * len(whole)
    assert frame.payload == b"abcdef"
    assert other.payload == b"123"


def test_feed_rejects_non_buffers(impl: ModuleType) -> None:
    parser = impl.FrameParser(server=True)
    with pytest.raises(TypeError, match="bytes-like"):
        parser.feed("text")
    with pytest.raises(TypeError, match="contiguous"):
        parser.feed(memoryview(client(TEXT, b"abc") * 2)[::2])
    assert not parser.failed  # a caller's mistake is not the peer's protocol error


def test_frame_bigger_than_the_preallocation_limit(impl: ModuleType) -> None:
    # Above 16 MiB the compiled parser collects the pieces instead of allocating from the header.
    size = 16 * 1024 * 1024 + 5
    payload = bytes(range(256)) * (size // 256) + b"tail!"
    stream = client(BINARY, payload) + client(PING, b"after")
    parser = impl.FrameParser(server=True, max_frame_size=None, max_message_size=None)
    frames = []
    for i in range(0, len(stream), 1 << 20):
        frames += parser.feed(stream[i : i + (1 << 20)])
    assert [f.payload for f in frames] == [payload, b"after"]


def test_rsv1_allowed_on_first_data_frame_only(impl: ModuleType) -> None:
    stream = client(TEXT, b"\xff\xfe", fin=False, rsv=0x40) + client(CONT, b"\xfd")
    expected = [
        (TEXT, False, True, False, False, b"\xff\xfe"),
        (CONT, True, False, False, False, b"\xfd"),
    ]
    for pieces in every_split(stream):
        # Compressed text is validated after inflating, by the connection, not here.
        assert run(impl, pieces, rsv1_allowed=True) == (expected, None, 0)


def test_rsv1_allowed_is_writable(impl: ModuleType) -> None:
    parser = impl.FrameParser(server=True)
    assert parser.rsv1_allowed is False
    parser.rsv1_allowed = True
    (frame,) = parser.feed(client(BINARY, b"z", rsv=0x40))
    assert frame.rsv1


def test_parser_properties(impl: ModuleType) -> None:
    parser = impl.FrameParser(server=False, max_frame_size=None, max_message_size=7)
    assert (parser.server, parser.max_frame_size, parser.max_message_size) == (False, None, 7)
    assert parser.validate_utf8 is True
    assert parser.failed is False
    with pytest.raises(ValueError):
        impl.FrameParser(server=True, max_frame_size=-1)


def test_utf8_validation_can_be_disabled(impl: ModuleType) -> None:
    stream = client(TEXT, b"\xff", fin=False) + client(CONT, b"\xc3")
    frames, error, _ = run(impl, [stream], validate_utf8=False)
    assert error is None
    assert [f[5] for f in frames] == [b"\xff", b"\xc3"]


def test_binary_and_ping_payloads_are_not_validated(impl: ModuleType) -> None:
    stream = client(BINARY, b"\xff") + client(PING, b"\xc3") + client(PONG, b"\xed\xa0\x80")
    assert run(impl, [stream])[1] is None


def test_limits_allow_exact_sizes(impl: ModuleType) -> None:
    stream = client(TEXT, b"a" * 10, fin=False) + client(PING, b"p" * 50) + client(CONT, b"b" * 6)
    frames, error, _ = run(impl, [stream], max_frame_size=50, max_message_size=16)
    assert error is None
    assert len(frames) == 3
    # The next message starts counting from zero.
    stream2 = client(BINARY, b"c" * 16)
    parser = impl.FrameParser(server=True, max_frame_size=50, max_message_size=16)
    parser.feed(stream)
    assert len(parser.feed(stream2)) == 1


# --- violations -------------------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcodes(impl: ModuleType, opcode: int) -> None:
    reason = assert_error(impl, client(opcode, b"ab"), 1002)
    assert str(opcode) in reason


@pytest.mark.parametrize(
    ("rsv", "opcode", "rsv1_allowed"),
    [
        (0x40, TEXT, False),
        (0x20, TEXT, False),
        (0x10, BINARY, False),
        (0x20, TEXT, True),
        (0x10, TEXT, True),
        (0x40, PING, True),
        (0x40, CLOSE, True),
    ],
)
def test_rsv_bits(impl: ModuleType, rsv: int, opcode: int, rsv1_allowed: bool) -> None:
    assert_error(impl, client(opcode, b"", rsv=rsv), 1002, rsv1_allowed=rsv1_allowed)


def test_rsv1_on_continuation(impl: ModuleType) -> None:
    stream = client(TEXT, b"a", fin=False, rsv=0x40) + client(CONT, b"b", rsv=0x40)
    assert_error(impl, stream, 1002, rsv1_allowed=True)


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_control_frame_rules(impl: ModuleType, opcode: int) -> None:
    # RFC 6455 §5.5: not fragmented, at most 125 bytes (however the length is encoded).
    assert_error(impl, client(opcode, b"", fin=False), 1002)
    assert_error(impl, client(opcode, b"\x03\xe8" + b"x" * 124), 1002)
    assert_error(impl, client(opcode, b"", length=126, form=16), 1002)
    assert_error(impl, client(opcode, b"", length=2**40, form=64), 1002)


def test_64_bit_length_with_top_bit(impl: ModuleType) -> None:
    stream = client(BINARY, b"", length=2**63 + 5, form=64)
    reason = assert_error(impl, stream, 1002, max_frame_size=None, max_message_size=None)
    assert "top bit" in reason


def test_mask_bit_against_role(impl: ModuleType) -> None:
    assert "unmasked" in assert_error(impl, encode(TEXT, b"hi"), 1002, server=True)
    assert "masked" in assert_error(impl, client(TEXT, b"hi"), 1002, server=False)


def test_fragmentation_rules(impl: ModuleType) -> None:
    # RFC 6455 §5.4.
    assert_error(impl, client(CONT, b"x"), 1002)
    assert_error(impl, client(TEXT, b"a", fin=False) + client(BINARY, b"b"), 1002)
    assert_error(impl, client(BINARY, b"a", fin=False) + client(TEXT, b"b", fin=False), 1002)
    assert_error(impl, client(TEXT, b"a") + client(CONT, b"b"), 1002)


@pytest.mark.parametrize("size", [101, 70000, 2**62])
def test_frame_too_big_is_decided_from_the_header(impl: ModuleType, size: int) -> None:
    header = client(BINARY, b"", length=size)  # the header alone: no payload sent
    for pieces in every_split(header):
        _, error, _ = run(impl, pieces, max_frame_size=100)
        assert error is not None and error[0] == 1009, error
        assert str(size) in error[1]
    parser = impl.FrameParser(server=True, max_frame_size=100)
    with pytest.raises(PayloadTooBig):
        parser.feed(header)


def test_message_too_big_across_fragments(impl: ModuleType) -> None:
    stream = (
        client(TEXT, b"a" * 60, fin=False)
        + client(PING, b"x" * 100)  # control frames do not count
        + client(CONT, b"b" * 40, fin=False)
        + client(CONT, b"", length=1, form=7)
    )
    reason = assert_error(impl, stream, 1009, max_message_size=100)
    assert "101" in reason


def test_message_limit_is_checked_before_the_payload(impl: ModuleType) -> None:
    parser = impl.FrameParser(server=True, max_frame_size=None, max_message_size=1000)
    parser.feed(client(BINARY, b"a" * 900, fin=False))
    with pytest.raises(PayloadTooBig) as info:
        parser.feed(client(CONT, b"", length=101, form=16)[:8])
    assert info.value.code == 1009


@pytest.mark.parametrize(
    "code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
)
def test_invalid_close_codes(impl: ModuleType, code: int) -> None:
    reason = assert_error(impl, client(CLOSE, struct.pack("!H", code)), 1002)
    assert str(code) in reason
    with pytest.raises(ProtocolError) as info:
        impl.parse_close(struct.pack("!H", code))
    assert info.value.code == 1002
    with pytest.raises(ValueError):
        impl.build_close_payload(code)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4999])
def test_valid_close_codes(impl: ModuleType, code: int) -> None:
    payload = struct.pack("!H", code) + "d\u00e9j\u00e0".encode()
    frames, error, _ = run(impl, [client(CLOSE, payload)])
    assert error is None and frames[0][5] == payload
    assert impl.parse_close(payload) == (code, "d\u00e9j\u00e0")
    assert impl.build_close_payload(code, "d\u00e9j\u00e0") == payload
    assert impl.is_valid_close_code(code)


def test_close_payload_rules(impl: ModuleType) -> None:
    assert_error(impl, client(CLOSE, b"\x03"), 1002)
    assert_error(impl, client(CLOSE, b"\x03\xe8\xff"), 1007)
    assert_error(impl, client(CLOSE, b"\x03\xe8\xe2\x82"), 1007)  # truncated code point
    assert impl.parse_close(b"") == (1005, "")
    assert impl.parse_close(bytearray(b"\x03\xe8")) == (1000, "")
    with pytest.raises(ProtocolError) as info:
        impl.parse_close(b"\x03")
    assert info.value.code == 1002
    with pytest.raises(ProtocolError) as info:
        impl.parse_close(b"\x03\xe8\xc0\xaf")
    assert info.value.code == 1007
    assert len(impl.build_close_payload(1000, "x" * 123)) == 125
    with pytest.raises(ValueError):
        impl.build_close_payload(1000, "x" * 124)


@pytest.mark.parametrize(
    "text",
    [b"\xff", b"a\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"ok\x80"],
)
def test_invalid_text(impl: ModuleType, text: bytes) -> None:
    assert_error(impl, client(TEXT, text), 1007)
    assert_error(impl, client(TEXT, b"", fin=False) + client(CONT, text), 1007)


def test_invalid_text_fails_fast(impl: ModuleType) -> None:
    # RFC 6455 §8.1: fail as soon as the bytes cannot be UTF-8, before the frame is complete.
    frame = client(TEXT, b"abc\xed\xa0" + b"x" * 1000)
    parser = impl.FrameParser(server=True)
    with pytest.raises(ProtocolError) as info:
        parser.feed(frame[:13])  # 8 header bytes + "abc" + ED A0
    assert info.value.code == 1007


def test_text_ending_inside_a_code_point(impl: ModuleType) -> None:
    assert_error(impl, client(TEXT, b"caf\xc3"), 1007)
    assert_error(impl, client(TEXT, b"caf", fin=False) + client(CONT, b"\xe2\x82"), 1007)
    # ... but a fragment may end inside one.
    stream = client(TEXT, b"\xe2", fin=False) + client(CONT, b"\x82", fin=False)
    assert run(impl, [stream])[1] is None


def test_failed_parser_stays_failed(impl: ModuleType) -> None:
    good = client(TEXT, b"one") + client(PING, b"two")
    parser = impl.FrameParser(server=True)
    with pytest.raises(ProtocolError) as info:
        parser.feed(good + client(7, b"bad") + client(TEXT, b"never"))
    assert info.value.code == 1002
    assert [f.payload for f in info.value.frames] == [b"one", b"two"]  # type: ignore[attr-defined]
    assert parser.failed
    for data in (b"", client(TEXT, b"x")):
        with pytest.raises(ProtocolError) as again:
            parser.feed(data)
        assert (again.value.code, again.value.reason) == (info.value.code, info.value.reason)
        assert again.value.frames == []  # type: ignore[attr-defined]
    too_big = impl.FrameParser(server=True, max_frame_size=1)
    for _ in range(2):
        with pytest.raises(PayloadTooBig):
            too_big.feed(client(BINARY, b"ab"))


# --- builder ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_build_frame_matches_the_hand_encoder(impl: ModuleType, size: int) -> None:
    payload = os.urandom(size)
    assert impl.build_frame(BINARY, payload) == encode(BINARY, payload)
    assert impl.build_frame(BINARY, payload, mask=True, mask_key=KEY) == client(BINARY, payload)
    header, body = impl.build_frame_parts(BINARY, payload, mask=True, mask_key=KEY)
    assert header + body == client(BINARY, payload)
    assert impl.frame_header_size(size, True) == len(header)
    assert impl.frame_header_size(size, False) == len(header) - 4


def test_build_frame_flags(impl: ModuleType) -> None:
    frame = impl.build_frame(TEXT, b"x", fin=False, rsv1=True, rsv2=True, rsv3=True)
    assert frame == encode(TEXT, b"x", fin=False, rsv=0x70)
    assert impl.build_frame(CONT, bytearray(b"yz"), fin=True) == encode(CONT, b"yz")
    assert impl.build_frame(PONG, memoryview(b"__pong")[2:]) == encode(PONG, b"pong")


def test_build_frame_random_masks(impl: ModuleType) -> None:
    frames = [impl.build_frame(TEXT, b"same", mask=True) for _ in range(2000)]
    keys = {f[2:6] for f in frames}
    assert len(keys) > 1990  # fresh keys, across more than one refill of the key pool
    for frame in frames[:50]:
        assert frame[1] == 0x80 | 4
        assert xor(frame[6:], frame[2:6]) == b"same"
    assert len(impl.random_mask_key()) == 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_draws_different_mask_keys(impl: ModuleType) -> None:
    impl.random_mask_key()  # the pool is filled
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(write_end, b"".join(impl.random_mask_key() for _ in range(8)))
        finally:
            os._exit(0)
    os.close(write_end)
    child_keys = os.read(read_end, 64)
    os.close(read_end)
    os.waitpid(pid, 0)
    parent_keys = b"".join(impl.random_mask_key() for _ in range(8))
    assert len(child_keys) == 32
    assert child_keys != parent_keys


def test_build_frame_parts_does_not_copy_unmasked_payloads(impl: ModuleType) -> None:
    payload = bytearray(b"p" * 70000)
    header, body = impl.build_frame_parts(BINARY, payload)
    assert body is payload
    assert header == encode(BINARY, bytes(payload))[:10]
    header, body = impl.build_frame_parts(BINARY, payload, mask=True)
    assert type(body) is bytes and xor(body, header[10:14]) == bytes(payload)


def test_build_frame_into(impl: ModuleType) -> None:
    buffer = bytearray(b"\xee" * 40)
    written = impl.build_frame_into(buffer, 3, TEXT, b"hello", mask=True, mask_key=KEY)
    assert written == 2 + 4 + 5
    assert buffer[3 : 3 + written] == client(TEXT, b"hello")
    assert buffer[:3] == b"\xee" * 3 and buffer[3 + written :] == b"\xee" * (40 - 3 - written)
    assert impl.build_frame_into(memoryview(buffer), 0, PING, b"") == 2
    with pytest.raises(ValueError):
        impl.build_frame_into(buffer, 35, TEXT, b"hello")
    with pytest.raises(ValueError):
        impl.build_frame_into(buffer, -1, TEXT, b"")
    with pytest.raises(TypeError):
        impl.build_frame_into(b"readonly" * 10, 0, TEXT, b"hi")


@pytest.mark.parametrize("mask_key", [None, KEY])
@pytest.mark.parametrize("payload_at", [0, 3, 6, 9, 20])
def test_build_frame_into_with_the_payload_in_the_buffer(
    impl: ModuleType, mask_key: bytes | None, payload_at: int
) -> None:
    # A caller may build in place: the payload already sits in the destination buffer.
    payload = bytes(range(100, 200))
    buffer = bytearray(200)
    buffer[payload_at : payload_at + 100] = payload
    source = memoryview(buffer)[payload_at : payload_at + 100]
    written = impl.build_frame_into(
        buffer, 3, BINARY, source, mask=mask_key is not None, mask_key=mask_key
    )
    source.release()
    assert bytes(buffer[3 : 3 + written]) == encode(BINARY, payload, key=mask_key)


def test_large_frames_are_built_identically(impl: ModuleType) -> None:
    payload = os.urandom(300_000)  # above the size where the compiled builder drops the GIL
    expected = client(BINARY, payload)
    assert impl.build_frame(BINARY, payload, mask=True, mask_key=KEY) == expected
    header, body = impl.build_frame_parts(BINARY, payload, mask=True, mask_key=KEY)
    assert header + body == expected
    buffer = bytearray(len(expected))
    impl.build_frame_into(buffer, 0, BINARY, memoryview(payload), mask=True, mask_key=KEY)
    assert buffer == expected
    assert impl.build_frame(BINARY, bytearray(payload)) == encode(BINARY, payload)


def test_builder_rejects_invalid_frames(impl: ModuleType) -> None:
    for opcode in (3, 7, 11, 15, 16, -1):
        with pytest.raises(ValueError):
            impl.build_frame(opcode, b"")
    with pytest.raises(ValueError):
        impl.build_frame(PING, b"x" * 126)
    with pytest.raises(ValueError):
        impl.build_frame_parts(CLOSE, b"\x03\xe8", fin=False)
    with pytest.raises(ValueError):
        impl.build_frame(TEXT, b"", mask=True, mask_key=b"abc")
    with pytest.raises(TypeError):
        impl.build_frame(TEXT, "text")
    assert len(impl.build_frame(PING, b"x" * 125)) == 127


def test_public_module() -> None:
    from wsfast import frames

    assert frames.Opcode.TEXT == 1 and frames.Opcode.PONG == 10
    assert frames.Opcode.PING.is_control and frames.Opcode.CONTINUATION.is_data
    assert frames.CloseCode.MESSAGE_TOO_BIG == 1009
    assert frames.Frame in (load_twin("frames", "python").Frame, _compiled_or_none())


def _compiled_or_none() -> Any:
    try:
        import wsfast._frames

        return wsfast._frames.Frame
    except ImportError:
        return None


# --- both twins on random input ---------------------------------------------------------------


def _both() -> tuple[ModuleType, ModuleType]:
    return load_twin("frames", "compiled"), load_twin("frames", "python")


text_payload = st.text(max_size=40).map(lambda s: s.encode("utf-8"))
binary_payload = st.binary(max_size=300)


@st.composite
def messages(
    draw: st.DrawFn, text: st.SearchStrategy[bytes] = text_payload
) -> list[tuple[int, bytes, bool]]:
    """A valid sequence of frames: data messages in fragments, control frames between them."""
    frames: list[tuple[int, bytes, bool]] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            opcode = draw(st.sampled_from([PING, PONG]))
            frames.append((opcode, draw(st.binary(max_size=125)), True))
            continue
        opcode = draw(st.sampled_from([TEXT, BINARY]))
        payload = draw(text if opcode == TEXT else binary_payload)
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        for i, piece in enumerate(pieces):
            frames.append((opcode if i == 0 else CONT, piece, i == len(pieces) - 1))
            if draw(st.integers(0, 4)) == 0 and i < len(pieces) - 1:
                frames.append((PING, draw(st.binary(max_size=10)), True))
    if draw(st.booleans()):
        code = draw(st.sampled_from([1000, 1001, 1011, 3000, 4999]))
        frames.append((CLOSE, struct.pack("!H", code) + draw(text_payload), True))
    return frames


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    cuts = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=messages(), server=st.booleans(), cuts=st.lists(st.integers(0, 10**6), max_size=8))
def test_random_frames_round_trip_in_both_twins(
    frames: list[tuple[int, bytes, bool]], server: bool, cuts: list[int]
) -> None:
    compiled, python = _both()
    for builder in (compiled, python):
        stream = b"".join(
            builder.build_frame(op, payload, fin=fin, mask=server) for op, payload, fin in frames
        )
        pieces = split(stream, cuts)
        expected = [(op, fin, False, False, False, payload) for op, payload, fin in frames]
        for parser in (compiled, python):
            assert run(parser, pieces, server=server) == (expected, None, 0)


def _mutate(stream: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(stream)
    for position, value in edits:
        if data:
            data[position % len(data)] = value
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=messages(text=st.one_of(text_payload, st.binary(max_size=12))),
    swaps=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=2),
    garbage=st.binary(max_size=64),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=2),
    server=st.booleans(),
    masked=st.sampled_from([True, True, True, False]),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    max_frame_size=st.sampled_from([None, None, None, 0, 20, 200]),
    max_message_size=st.sampled_from([None, None, None, 0, 50, 400]),
    rsv1_allowed=st.booleans(),
    validate_utf8=st.sampled_from([True, True, False]),
)
def test_random_input_gets_the_same_verdict_in_both_twins(
    frames: list[tuple[int, bytes, bool]],
    swaps: list[tuple[int, int]],
    garbage: bytes,
    edits: list[tuple[int, int]],
    server: bool,
    masked: bool,
    cuts: list[int],
    max_frame_size: int | None,
    max_message_size: int | None,
    rsv1_allowed: bool,
    validate_utf8: bool,
) -> None:
    compiled, python = _both()
    for i, j in swaps:  # out-of-order fragments
        if frames:
            i, j = i % len(frames), j % len(frames)
            frames[i], frames[j] = frames[j], frames[i]
    mask = server == masked  # mostly as the role requires
    stream = b"".join(
        encode(op, payload, fin=fin, key=KEY if mask else None) for op, payload, fin in frames
    )
    stream = _mutate(stream, edits) + garbage
    options = {
        "server": server,
        "max_frame_size": max_frame_size,
        "max_message_size": max_message_size,
        "rsv1_allowed": rsv1_allowed,
        "validate_utf8": validate_utf8,
    }
    pieces = split(stream, cuts)
    verdict = run(python, pieces, **options)
    assert run(compiled, pieces, **options) == verdict
    # However the stream is split, the verdict is the same.
    assert run(python, [stream], **options) == verdict


@settings(max_examples=200, deadline=None)
@given(
    opcode=st.sampled_from([CONT, TEXT, BINARY, CLOSE, PING, PONG]),
    payload=st.binary(max_size=125),
    fin=st.booleans(),
    rsv=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    key=st.binary(min_size=4, max_size=4),
)
def test_builders_agree(
    opcode: int, payload: bytes, fin: bool, rsv: tuple[bool, bool, bool], key: bytes
) -> None:
    compiled, python = _both()
    fin = fin or opcode >= 8
    options = {"fin": fin, "rsv1": rsv[0], "rsv2": rsv[1], "rsv3": rsv[2]}
    for mask_key in (None, key):
        extra = {"mask": mask_key is not None, "mask_key": mask_key}
        built = compiled.build_frame(opcode, payload, **options, **extra)
        assert built == python.build_frame(opcode, payload, **options, **extra)
        assert built == encode(opcode, payload, fin=fin, key=mask_key, rsv=_rsv(rsv))


def _rsv(rsv: tuple[bool, bool, bool]) -> int:
    return (0x40 if rsv[0] else 0) | (0x20 if rsv[1] else 0) | (0x10 if rsv[2] else 0)
