"""UTF-8 validation (RFC 6455 §5.6, §8.1; RFC 3629), for both twins and every compiled SIMD level.

The oracle is CPython's strict decoder: a buffer is valid iff ``bytes.decode("utf-8")`` accepts
it, and the first invalid byte follows from its error: ``start`` is the first byte of the bad
sequence and ``end`` closes the longest prefix of it that could still have been valid (the
"maximal subpart" of the Unicode standard), so the first byte that can never be valid is ``end``
after a real lead byte (``len(data)`` when the data is merely cut short), and ``start`` itself
otherwise.
"""

from __future__ import annotations

import array
import pickle
import random
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twins import load_twin
from wsfast import _speedups
from wsfast.exceptions import ProtocolError

LEADS = range(0xC2, 0xF5)  # RFC 3629 §4: the bytes that can start a multi-byte sequence

# "python" is the twin; the others are the compiled module forced to that SIMD level.
IMPLEMENTATIONS = ["python", "scalar", "sse2", "avx2", "avx512", "neon"]


def oracle(data: bytes) -> int | None:
    """None if valid; else the offset of the first byte that can never be valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.end if data[exc.start] in LEADS else exc.start
    return None


def oracle_prefix(data: bytes) -> int | None:
    """Like oracle(), but data ending inside a code point is a valid prefix (None)."""
    offset = oracle(data)
    return None if offset == len(data) else offset


@pytest.fixture(params=IMPLEMENTATIONS, scope="module")
def impl(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    if request.param == "python":
        yield load_twin("utf8", "python")
        return
    module = load_twin("utf8", "compiled")
    if request.param not in module.available_simd_levels():
        pytest.skip(f"{request.param} kernel not available on this CPU")
    previous = module.simd_level()
    assert module.set_simd_level(request.param) == request.param
    yield module
    module.set_simd_level(previous)


def python_twin() -> ModuleType:
    return load_twin("utf8", "python")


def compiled_or_skip() -> ModuleType:
    if _speedups.NO_EXTENSIONS:
        pytest.skip("WSFAST_NO_EXTENSIONS=1")
    return load_twin("utf8", "compiled")


def feed_split(m: ModuleType, data: bytes, cuts: list[int]) -> tuple[bool, int | None, int]:
    """Feeds data in pieces cut at the given positions; returns (finish(), error_offset, offset)."""
    validator = m.Utf8Validator()
    previous = 0
    for cut in [*cuts, len(data)]:
        validator.feed(memoryview(data)[previous:cut])
        previous = cut
    return validator.finish(), validator.error_offset, validator.offset


# --- exhaustive: every 1- and 2-byte string, every string starting with a 3-byte lead ----------


def short_sequences() -> list[bytes]:
    """All 1- and 2-byte strings, and every 3-byte string whose first byte is E0-EF."""
    singles = [bytes([a]) for a in range(256)]
    pairs = [bytes([a, b]) for a in range(256) for b in range(256)]
    triples = [bytes([a, b, c]) for a in range(0xE0, 0xF0) for b in range(256) for c in range(256)]
    return singles + pairs + triples


SHORT = short_sequences()
# One byte of every class and range edge, for the parts of the tests that sample third bytes.
THIRD_BYTES = frozenset(
    (0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xF4, 0xFF)
)
SHORT_EXPECTED = [oracle(s) for s in SHORT]


def four_byte_sample() -> list[bytes]:
    """Every 4-byte lead (F0-F4) with every second byte and a dense set of third/fourth bytes
    covering each boundary of the continuation ranges (80, 8F, 90, 9F, A0, BF) and every byte
    class; the never-valid leads F5-FF with the same set in every position."""
    edges = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0,
             0xF4, 0xFF]  # fmt: skip
    return [
        bytes([a, b, c, d])
        for a in range(0xF0, 0x100)
        for b in (range(256) if a <= 0xF4 else edges)
        for c in edges
        for d in edges
    ]


FOUR = four_byte_sample()
FOUR_EXPECTED = [oracle(s) for s in FOUR]


def test_one_shot_exhaustive_short(impl: ModuleType) -> None:
    offsets = [impl.invalid_utf8_offset(s) for s in SHORT]
    assert offsets == SHORT_EXPECTED
    assert [impl.validate_utf8(s) for s in SHORT[:65792]] == [
        e is None for e in SHORT_EXPECTED[:65792]
    ]


def test_one_shot_four_byte_sample(impl: ModuleType) -> None:
    assert [impl.invalid_utf8_offset(s) for s in FOUR] == FOUR_EXPECTED


def test_every_valid_code_point_is_accepted(impl: ModuleType) -> None:
    # All of U+0000-U+10FFFF except the surrogates, in one buffer and one code point at a time
    # for every length class.
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert impl.validate_utf8(text.encode())
    assert impl.decode_utf8(text.encode()) == text
    for c in range(0, 0x110000, 97):
        if not 0xD800 <= c <= 0xDFFF:
            assert impl.validate_utf8(chr(c).encode())


def embed(sequence: bytes, index: int) -> tuple[bytes, int]:
    """Puts the sequence inside ASCII at a position that moves through every alignment of the
    SIMD blocks (and past the 256-byte ASCII fast path); sometimes the data ends right after."""
    before = 64 + index % 257
    after = 0 if index % 3 == 0 else 70
    return b"a" * before + sequence + b"z" * after, before


def test_embedded_in_simd_blocks(impl: ModuleType) -> None:
    # The SIMD kernels only see data longer than a block: every short sequence again, inside
    # longer text, so that it lands in the vector body at every alignment.
    for index, (sequence, expected) in enumerate(zip(SHORT, SHORT_EXPECTED, strict=True)):
        if index % 5 and expected is None:
            continue  # valid ones are covered in bulk below
        if len(sequence) == 3 and expected in (0, 1) and sequence[2] not in THIRD_BYTES:
            continue  # already invalid before the third byte: a sample of third bytes
        data, before = embed(sequence, index)
        want = oracle(data) if expected is None or expected == len(sequence) else before + expected
        assert impl.invalid_utf8_offset(data) == want, (sequence.hex(), before)
    valid = b"".join(s for s, e in zip(SHORT, SHORT_EXPECTED, strict=True) if e is None)
    assert impl.validate_utf8(valid)


def test_four_byte_embedded(impl: ModuleType) -> None:
    for index, sequence in enumerate(FOUR):
        if index % 7:
            continue
        data, before = embed(sequence, index)
        assert impl.invalid_utf8_offset(data) == oracle(data), (sequence.hex(), before)


# --- chunk boundaries ---------------------------------------------------------------------------


def test_splits_at_every_position_short(impl: ModuleType) -> None:
    # Every 1- and 2-byte string and a stratified part of the 3-byte ones, cut everywhere.
    for sequence, expected in zip(SHORT, SHORT_EXPECTED, strict=True):
        if len(sequence) == 3 and sequence[2] not in THIRD_BYTES:
            continue
        for cut in range(1, len(sequence)):
            ok, error_offset, _ = feed_split(impl, sequence, [cut])
            assert ok == (expected is None)
            assert error_offset == expected, (sequence.hex(), cut)
        if len(sequence) == 3:
            ok, error_offset, _ = feed_split(impl, sequence, [1, 2])
            assert error_offset == expected


def test_fail_fast_offsets(impl: ModuleType) -> None:
    cases = {
        b"\xf4\x90": 1,  # above U+10FFFF, known at the second byte
        b"\xed\xa0": 1,  # a surrogate
        b"\xe0\x9f": 1,  # overlong 3-byte form
        b"\xf0\x8f": 1,  # overlong 4-byte form
        b"\xc0": 0,
        b"\xc1": 0,
        b"\xf5": 0,
        b"\xff": 0,
        b"\x80": 0,  # continuation without a lead
        b"ab\xe2\x82(": 4,
        b"\xe2\x82": None,  # a valid prefix: not an error until the message ends
        b"\xf0\x9f\x98": None,
    }
    for data, offset in cases.items():
        for cut in range(len(data) + 1):
            validator = impl.Utf8Validator()
            validator.feed(data[:cut])
            validator.feed(data[cut:])
            assert validator.error_offset == offset, (data, cut)
            assert validator.valid == (offset is None)
            # Fed one byte at a time, it fails at the offending byte, not later.
            validator = impl.Utf8Validator()
            results = [validator.feed(data[i : i + 1]) for i in range(len(data))]
            if offset is None:
                assert all(results)
            else:
                assert results == [True] * offset + [False] * (len(data) - offset)


def random_texts(seed: int, count: int) -> Iterator[bytes]:
    """Mixed-script text (1- to 4-byte code points), some of it corrupted."""
    rng = random.Random(seed)
    alphabet = (
        "aZ09 \n" + "éßøñ" + "жЩя" + "€中文日本語" + "😀🎉𝄞" + "\u0800\uffff\U00010000\U0010ffff"
    )
    for index in range(count):
        length = rng.choice((1, 5, 20, 70, 200, 700, 2500))
        data = bytearray("".join(rng.choice(alphabet) for _ in range(length)).encode())
        for _ in range(index % 3):
            position = rng.randrange(len(data))
            kind = rng.randrange(4)
            if kind == 0:
                data[position] = rng.randrange(256)
            elif kind == 1:
                data[position] ^= 1 << rng.randrange(8)
            elif kind == 2:
                data.insert(position, rng.choice((0x80, 0xC0, 0xED, 0xF4, 0xF5, 0xE0, 0xF0)))
            else:
                del data[position:]
        yield bytes(data)


def test_random_text_split_everywhere(impl: ModuleType) -> None:
    for data in random_texts(1, 150):
        expected = oracle(data)
        assert impl.invalid_utf8_offset(data) == expected
        prefix = oracle_prefix(data)
        cuts = range(1, len(data)) if len(data) < 80 else range(1, len(data), 13)
        for cut in cuts:
            ok, error_offset, offset = feed_split(impl, data, [cut])
            assert ok == (expected is None)
            assert error_offset == expected
            validator = impl.Utf8Validator()
            validator.feed(data[:cut])
            assert validator.error_offset == oracle_prefix(data[:cut])
        if prefix is not None:
            assert offset == prefix


def test_random_text_many_small_chunks(impl: ModuleType) -> None:
    rng = random.Random(2)
    for data in random_texts(3, 120):
        cuts = sorted(rng.sample(range(1, len(data) + 1), min(len(data), 20)))
        ok, error_offset, _ = feed_split(impl, data, cuts)
        assert error_offset == oracle(data)
        assert ok == (error_offset is None)


# --- interface ---------------------------------------------------------------------------------


def test_validator_state(impl: ModuleType) -> None:
    validator = impl.Utf8Validator()
    assert validator.valid and validator.at_boundary and validator.offset == 0
    assert validator.feed(b"h\xc3")
    assert validator.valid and not validator.at_boundary and validator.offset == 2
    assert validator.feed(bytearray(b"\xa9"))
    assert validator.at_boundary and validator.offset == 3
    assert validator.feed(b"") and validator.offset == 3
    assert validator.feed(b"\xe2\x82")
    assert not validator.finish()
    assert validator.error_offset == 5 and not validator.valid
    assert not validator.feed(b"\xac")  # ignored once failed
    assert validator.offset == 5
    assert "error_offset=5" in repr(validator)
    validator.reset()
    assert validator.valid and validator.offset == 0 and validator.error_offset is None
    assert validator.finish() and validator.finish()


def test_validator_raising_forms(impl: ModuleType) -> None:
    validator = impl.Utf8Validator()
    validator.check(b"ok \xf0\x9f")
    with pytest.raises(impl.InvalidUTF8) as info:
        validator.check(b"\x98\x80 \xed\xa0\x80")
    assert info.value.offset == 9 and info.value.code == 1007
    validator.reset()
    validator.check(b"\xe2\x82")
    with pytest.raises(impl.InvalidUTF8) as info:
        validator.check_finish()
    assert info.value.offset == 2


def test_invalid_utf8_exception(impl: ModuleType) -> None:
    with pytest.raises(impl.InvalidUTF8) as info:
        impl.decode_utf8(b"abc\xff")
    exc = info.value
    assert isinstance(exc, ProtocolError) and isinstance(exc, ValueError)
    assert (exc.code, exc.offset) == (1007, 3)
    assert "3" in str(exc) and "1007" in str(exc)
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc) and (clone.offset, clone.reason) == (3, exc.reason)
    # Both twins raise the same class, so code catching one catches the other.
    assert impl.InvalidUTF8 is python_twin().InvalidUTF8


def test_decode_utf8(impl: ModuleType) -> None:
    for text in ["", "ascii only", "x" * 5000, "é" * 3, "ж" * 3000, "中文" * 999, "😀" * 777,
                 "mixed é ж 中 😀 " * 300, "\x00\x7f"]:  # fmt: skip
        for data in (text.encode(), bytearray(text.encode()), memoryview(text.encode())):
            result = impl.decode_utf8(data)
            assert type(result) is str and result == text
    for data in [b"\xc3", b"x" * 300 + b"\xed\xa0\x80", "ж".encode() * 100 + b"\xc0\xaf"]:
        with pytest.raises(impl.InvalidUTF8) as info:
            impl.decode_utf8(data)
        assert info.value.offset == oracle(data)


def test_utf8_bytes(impl: ModuleType) -> None:
    data = "a JSON string: ж".encode()
    assert impl.utf8_bytes(data) is data  # no copy for bytes
    assert impl.utf8_bytes(bytearray(data)) == data
    assert type(impl.utf8_bytes(memoryview(data))) is bytes
    with pytest.raises(impl.InvalidUTF8) as info:
        impl.utf8_bytes(bytearray(b"{\xff}"))
    assert info.value.offset == 1


def test_buffer_types(impl: ModuleType) -> None:
    text = "buffer ж 😀".encode()
    assert impl.validate_utf8(bytearray(text))
    assert impl.validate_utf8(memoryview(text)[2:])
    assert impl.validate_utf8(array.array("B", text))
    assert impl.validate_utf8(array.array("I", b"abcd" * 4))  # read as raw bytes
    assert not impl.validate_utf8(memoryview(text)[:-1])
    with pytest.raises(TypeError):
        impl.validate_utf8("a str is not bytes")
    with pytest.raises(TypeError):
        impl.Utf8Validator().feed(12)
    with pytest.raises(TypeError):
        impl.decode_utf8(memoryview(b"abcdef")[::2])  # not contiguous


def test_public_module_exports() -> None:
    from wsfast import utf8

    assert utf8.validate_utf8(b"ok")
    assert utf8.InvalidUTF8 is python_twin().InvalidUTF8
    for name in utf8.__all__:
        assert hasattr(python_twin(), name), name


# --- differential: the two twins agree on random and mutated input -----------------------------


def mutated(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in edits:
        if buffer:
            buffer[position % len(buffer)] = value
    return bytes(buffer)


text_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(
        mutated,
        st.text(min_size=1, max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
    ),
)


@settings(max_examples=300, deadline=None)
@given(data=text_bytes, cuts=st.lists(st.integers(0, 400), max_size=4))
def test_twins_agree(data: bytes, cuts: list[int]) -> None:
    python = python_twin()
    cuts = sorted(min(c, len(data)) for c in cuts)
    expected = oracle(data)
    assert python.invalid_utf8_offset(data) == expected
    assert feed_split(python, data, cuts)[1] == expected
    if _speedups.NO_EXTENSIONS:
        return  # the twin alone, against the oracle
    compiled = compiled_or_skip()
    assert compiled.invalid_utf8_offset(data) == expected
    assert feed_split(compiled, data, cuts) == feed_split(python, data, cuts)
    long_data = b"q" * 100 + data + b"r" * 100 if expected is None else b"q" * 100 + data
    assert compiled.invalid_utf8_offset(long_data) == python.invalid_utf8_offset(long_data)


# --- decode_utf8: the str built by the transcoding kernels ------------------------------------

# One alphabet per storage kind of a CPython str (PEP 393), and one that mixes them all. The
# edges of each range are there: U+007F/U+0080, U+00FF/U+0100, U+07FF/U+0800, U+FFFF/U+10000.
KIND_ALPHABETS = {
    "ascii": 'abc xyz 019 {}":,\n\x00\x7f',
    "latin-1": "ab \x80\xa0\xe9\xfc\xff\xc0",
    "bmp": "ab é\u0100жщ\u07ff\u0800€中文日本語\ud7ff\ue000\uffff",
    "cjk": "的一是不了人我在有他这中大来上国个到说们",
    "astral": "a é ж 中 😀🎉🚀\U00010000\U0010ffff𝄞",
    "emoji": "😀🎉🚀\U00010000\U0010ffff𝄞",
}
KIND_ALPHABETS["mixed"] = "".join(KIND_ALPHABETS.values())


def storage(text: str) -> tuple[int, int]:
    """What CPython stores for a str: (bytes per character and the ASCII flag, as the maximum
    character's range), and its size in memory."""
    widest = max(map(ord, text), default=0)
    kind = 0 if widest < 0x80 else 1 if widest < 0x100 else 2 if widest < 0x10000 else 4
    return kind, sys.getsizeof(text)


def assert_same_storage(result: str, expected: str) -> None:
    if len(expected) == 1:
        # CPython hands out a cached str for one Latin-1 character; from 3.13 on it carries its
        # UTF-8 form too, which sys.getsizeof counts: compare the storage kind only.
        assert storage(result)[0] == storage(expected)[0]
    else:
        assert storage(result) == storage(expected)


def assert_decodes_like_cpython(m: ModuleType, data: bytes) -> None:
    """decode_utf8 gives bytes.decode's str (same value, type and storage), or InvalidUTF8 at the
    offset of the first invalid byte, for every buffer type."""
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError:
        for buffer in (data, bytearray(data)):
            with pytest.raises(m.InvalidUTF8) as info:
                m.decode_utf8(buffer)
            assert info.value.offset == oracle(data) == m.invalid_utf8_offset(data)
        return
    for buffer in (data, memoryview(data)):
        result = m.decode_utf8(buffer)
        assert type(result) is str
        assert result == expected
        assert_same_storage(result, expected)


def kind_texts(draw_alphabet: str, max_size: int = 200) -> st.SearchStrategy[bytes]:
    return st.text(st.sampled_from(draw_alphabet), max_size=max_size).map(str.encode)


decode_inputs = st.one_of(
    *(kind_texts(alphabet) for alphabet in KIND_ALPHABETS.values()),
    st.builds(
        mutated,
        st.one_of(*(kind_texts(a, 300) for a in KIND_ALPHABETS.values())).filter(bool),
        st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3),
    ),
    st.builds(
        lambda data, cut: data[:cut],  # cut anywhere, often inside a code point
        st.one_of(*(kind_texts(a) for a in KIND_ALPHABETS.values())),
        st.integers(0, 800),
    ),
    st.binary(max_size=100),
)


@settings(max_examples=400, deadline=None)
@given(data=decode_inputs)
def test_decode_matches_bytes_decode(impl: ModuleType, data: bytes) -> None:
    assert_decodes_like_cpython(impl, data)


def test_decode_every_length_and_kind(impl: ModuleType) -> None:
    # Every length from 0 to 200 characters of each kind, so that characters end, and the text
    # ends, at every position of the 16- and 32-byte SIMD blocks; then an invalid byte and a cut
    # at every offset of a few of them.
    rng = random.Random(17)
    for alphabet in KIND_ALPHABETS.values():
        for length in range(201):
            text = "".join(rng.choice(alphabet) for _ in range(length))
            assert_decodes_like_cpython(impl, text.encode())
        sample = "".join(rng.choice(alphabet) for _ in range(70)).encode()
        for position in range(len(sample)):
            for byte in (0x80, 0xC0, 0xE0, 0xED, 0xF4, 0xFF):
                assert_decodes_like_cpython(
                    impl, sample[:position] + bytes([byte]) + sample[position:]
                )
            assert_decodes_like_cpython(impl, sample[:position])


def test_decode_runs_of_3_and_4_byte_characters(impl: ModuleType) -> None:
    # The AVX2 kernels take eight 3-byte (CJK) or eight 4-byte (emoji) characters in one step
    # where a run of them starts: runs broken by a character of another length at every place,
    # after every number of leading bytes, and runs with an invalid byte at every offset.
    for repeated in ("\u0800", "中", "\uffff", "😀", "\U0010ffff"):
        run = repeated * 40
        for breaker in ("a", "é", "中", "😀"):
            for prefix in range(5):
                for position in range(len(run)):
                    text = "a" * prefix + run[:position] + breaker + run[position:]
                    assert_decodes_like_cpython(impl, text.encode())
        data = run.encode()
        for position in range(len(data)):
            for byte in (0x41, 0x80, 0xBF, 0xC2, 0xE0, 0xF0, 0xFF):
                mutated_data = data[:position] + bytes([byte]) + data[position + 1 :]
                assert_decodes_like_cpython(impl, mutated_data)


def test_decode_large(impl: ModuleType) -> None:
    # Beyond 256 KiB the compiled module transcodes without the GIL.
    rng = random.Random(18)
    for alphabet in KIND_ALPHABETS.values():
        text = "".join(rng.choice(alphabet) for _ in range(1000)) * 270  # >= 256 KiB
        data = text.encode()
        assert_decodes_like_cpython(impl, data)
        bad = bytearray(data)
        bad[len(bad) * 3 // 4] = 0xFF
        assert_decodes_like_cpython(impl, bytes(bad))
        assert_decodes_like_cpython(impl, data[:-1] if data[-1] >= 0x80 else data + b"\xe2\x82")


@settings(max_examples=300, deadline=None)
@given(data=decode_inputs)
def test_transcoding_kernels_alone(data: bytes) -> None:
    # decode_utf8 falls back on the validator (to place an error) and, should the two disagree,
    # on CPython's decoder: here the kernels must give the str, or reject, on their own, at every
    # level.
    m = compiled_or_skip()
    try:
        expected: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        expected = None
    previous = m.simd_level()
    try:
        for level in m.available_simd_levels():
            m.set_simd_level(level)
            result = m._transcode_utf8(data)
            assert result == expected, level
            if expected is not None:
                assert_same_storage(result, expected)
    finally:
        m.set_simd_level(previous)
