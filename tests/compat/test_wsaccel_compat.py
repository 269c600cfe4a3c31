"""wsaccel's classes on wsfast (``wsfast._wsaccel_compat`` and its twin) behave as wsaccel 0.6.7.

Each test runs against both twins. Results are checked against wsaccel's documented behaviour
(its own tests, its docstrings, RFC 3629) and, when wsaccel is installed, against wsaccel itself,
including the quirks (a rejected validator, ``process(None)``, strided buffers). The
``accelerate()`` tests check what is patched and that ``restore()`` undoes it.
"""

from __future__ import annotations

import array
import importlib
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twins import load_twin
from wsfast import accelerate as accelerate_module


@pytest.fixture(params=["compiled", "python"], scope="module")
def compat(request: pytest.FixtureRequest) -> ModuleType:
    return load_twin("wsaccel_compat", request.param)


def _real_wsaccel() -> tuple[ModuleType, ModuleType] | None:
    """The installed wsaccel's modules (None if absent), never wsfast's stand-in."""
    try:
        xormask = importlib.import_module("wsaccel.xormask")
        utf8validator = importlib.import_module("wsaccel.utf8validator")
    except ImportError:
        return None
    if xormask.__name__ != "wsaccel.xormask":  # accelerate("wsaccel") left active
        return None
    return xormask, utf8validator


REAL = _real_wsaccel()
needs_wsaccel = pytest.mark.skipif(REAL is None, reason="wsaccel is not installed")


def reference_mask(data: bytes, key: bytes, start: int = 0) -> bytes:
    """RFC 6455 §5.3, byte by byte."""
    return bytes(b ^ key[(start + i) % 4] for i, b in enumerate(data))


def reference_validate(data: bytes) -> tuple[bool, int]:
    """(valid prefix?, index of the first invalid byte or len) from CPython's strict decoder: its
    error starts at the first byte of the bad sequence; the invalid byte is the first one after
    that start which cannot continue it (RFC 3629 §4 table of well-formed sequences)."""
    try:
        data.decode("utf-8")
        return True, len(data)
    except UnicodeDecodeError as exc:
        start = exc.start
    lead = data[start]
    if lead < 0xC2 or lead > 0xF4:
        return False, start
    need, lo, hi = (
        (1, 0x80, 0xBF) if lead < 0xE0
        else (2, 0xA0, 0xBF) if lead == 0xE0
        else (2, 0x80, 0x9F) if lead == 0xED
        else (2, 0x80, 0xBF) if lead < 0xF0
        else (3, 0x90, 0xBF) if lead == 0xF0
        else (3, 0x80, 0x8F) if lead == 0xF4
        else (3, 0x80, 0xBF)
    )  # fmt: skip
    for k in range(1, need + 1):
        if start + k >= len(data):
            return True, len(data)  # only cut short: a valid prefix
        b = data[start + k]
        if not lo <= b <= hi:
            return False, start + k
        lo, hi = 0x80, 0xBF
    raise AssertionError("unreachable: the decoder reported a complete, valid sequence")


# --- xormask ---------------------------------------------------------------------------------


def test_masker_wsaccel_own_vector(compat: ModuleType) -> None:
    # wsaccel's tests/test_xormask.py: the key phase continues across process() calls.
    masker = compat.XorMaskerSimple(b"\xf0\xf0\x0f\x0f")
    assert masker.process(b"\x00" * 6) == b"\xf0\xf0\x0f\x0f\xf0\xf0"
    assert masker.pointer() == 6
    assert masker.process(b"\x00" * 6) == b"\x0f\x0f\xf0\xf0\x0f\x0f"
    assert masker.pointer() == 12
    masker.reset()
    assert masker.pointer() == 0
    assert masker.process(b"\x00" * 2) == b"\xf0\xf0"


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=4, max_size=4),
    chunks=st.lists(st.binary(max_size=300), max_size=6),
)
def test_masker_chunks_match_rfc(compat: ModuleType, key: bytes, chunks: list[bytes]) -> None:
    masker = compat.XorMaskerSimple(key)
    position = 0
    for chunk in chunks:
        out = masker.process(chunk)
        assert type(out) is bytes
        assert out == reference_mask(chunk, key, position)
        position += len(chunk)
        assert masker.pointer() == position


@pytest.mark.parametrize("size", [15, 16, 17, 1000, 65536, 65536 * 2 + 3])
def test_masker_sizes_around_kernel_thresholds(compat: ModuleType, size: int) -> None:
    key, data = b"\x01\x82\x43\xc4", os.urandom(size)
    masker = compat.XorMaskerSimple(key)
    head = masker.process(data[:3])
    assert head + masker.process(data[3:]) == reference_mask(data, key)


def test_masker_accepts_wsaccel_buffers(compat: ModuleType) -> None:
    key, data = b"abcd", b"0123456789"
    expected = reference_mask(data, key)
    for chunk in (
        data,
        bytearray(data),
        memoryview(data),
        array.array("B", data),  # what websocket-client passes
        memoryview(data).cast("c"),
    ):
        assert compat.XorMaskerSimple(array.array("B", key)).process(chunk) == expected
    # Strided views are gathered, as Cython's const unsigned char[:] does.
    assert compat.XorMaskerSimple(key).process(memoryview(data)[::2]) == reference_mask(
        data[::2], key
    )
    assert compat.XorMaskerSimple(key).process(memoryview(data)[::-1]) == reference_mask(
        data[::-1], key
    )
    assert compat.XorMaskerSimple(memoryview(b"xxabcd")[2:]).process(data) == expected
    assert compat.XorMaskerSimple(bytearray(key)).process(b"") == b""


def test_masker_none_is_empty(compat: ModuleType) -> None:
    masker = compat.XorMaskerSimple(b"abcd")
    assert masker.process(None) == b""
    assert masker.pointer() == 0


def test_masker_errors(compat: ModuleType) -> None:
    with pytest.raises(ValueError, match="mask should be 4byte"):
        compat.XorMaskerSimple(b"abc")
    with pytest.raises(ValueError, match="mask should be 4byte"):
        compat.XorMaskerSimple(bytearray(5))
    with pytest.raises(TypeError):
        compat.XorMaskerSimple("abcd")
    with pytest.raises(TypeError):
        compat.XorMaskerSimple()
    masker = compat.XorMaskerSimple(b"abcd")
    with pytest.raises(TypeError):
        masker.process("text")
    with pytest.raises(TypeError):
        masker.process(12)
    with pytest.raises(ValueError):
        masker.process(array.array("i", [1, 2]))
    with pytest.raises(ValueError):
        masker.process(memoryview(b"abcd").cast("b"))
    with pytest.raises(ValueError):
        masker.process(memoryview(b"abcd").cast("B", (2, 2)))
    assert masker.pointer() == 0


def test_null_masker(compat: ModuleType) -> None:
    masker = compat.XorMaskerNull()
    data = bytearray(b"abc")
    assert masker.process(data) is data
    assert masker.process(b"xy") == b"xy"
    assert masker.pointer() == 5
    masker.reset()
    assert masker.pointer() == 0
    assert compat.XorMaskerNull(b"abcd").pointer() == 0
    with pytest.raises(TypeError):
        masker.process(None)


def test_create_xor_masker(compat: ModuleType) -> None:
    for masker in (
        compat.createXorMasker(b"abcd"),
        compat.createXorMasker(b"abcd", 1000),
        compat.createXorMasker(b"abcd", len=3),
    ):
        assert type(masker) is compat.XorMaskerSimple
        assert masker.process(b"\x00\x00") == b"ab"
    with pytest.raises(ValueError, match="mask should be 4byte"):
        compat.createXorMasker(b"abcde")


@needs_wsaccel
@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=4, max_size=4),
    chunks=st.lists(st.binary(max_size=200), max_size=5),
)
def test_masker_matches_wsaccel(compat: ModuleType, key: bytes, chunks: list[bytes]) -> None:
    assert REAL is not None
    theirs, ours = REAL[0].XorMaskerSimple(key), compat.XorMaskerSimple(key)
    for chunk in chunks:
        assert ours.process(chunk) == theirs.process(chunk)
        assert ours.pointer() == theirs.pointer()


# --- utf8validator ---------------------------------------------------------------------------


def test_validator_wsaccel_own_vector(compat: ModuleType) -> None:
    # wsaccel's tests/test_4.py (Autobahn testsuite case 6.2.1).
    validator = compat.Utf8Validator()
    assert validator.validate("Hello-µ@ßöäüàá-UTF-8!!".encode()) == (True, True, 29, 29)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", (True, True, 0, 0)),
        (b"ab\xc3", (True, False, 3, 3)),  # cut inside a code point: valid so far
        (b"\xf0\x9f\x98\x80", (True, True, 4, 4)),
        (b"\xff", (False, False, 0, 0)),
        (b"a\x80", (False, False, 1, 1)),  # stray continuation byte
        (b"\xc0\x80", (False, False, 0, 0)),  # C0/C1: always overlong
        (b"\xe0\x80\x80", (False, False, 1, 1)),  # overlong 3-byte form
        (b"\xed\xa0\x80", (False, False, 1, 1)),  # surrogate U+D800
        (b"\xf4\x90\x80\x80", (False, False, 1, 1)),  # above U+10FFFF
        (b"\xf0\x80\x80\x80", (False, False, 1, 1)),  # overlong 4-byte form
        (b"\xe2\x82x", (False, False, 2, 2)),  # missing continuation byte
        (b"\xf5", (False, False, 0, 0)),
    ],
)
def test_validator_documented_results(
    compat: ModuleType, data: bytes, expected: tuple[bool, bool, int, int]
) -> None:
    assert compat.Utf8Validator().validate(data) == expected


def test_validator_is_incremental(compat: ModuleType) -> None:
    validator = compat.Utf8Validator()
    assert validator.validate(b"ab\xe2") == (True, False, 3, 3)
    assert validator.validate(b"\x82") == (True, False, 1, 4)
    assert validator.validate(b"\xacz") == (True, True, 2, 6)
    assert validator.i == 6
    # The invalid byte's index in this chunk, and in the whole message.
    assert validator.validate(b"xy\xfe") == (False, False, 2, 8)
    assert validator.state == validator.UTF8_REJECT == 1
    # Rejected stays rejected, at index 0 of each later chunk; an empty chunk reports valid=True,
    # as in wsaccel (its loop never runs).
    assert validator.validate(b"abc") == (False, False, 0, 8)
    assert validator.validate(b"") == (True, False, 0, 8)
    validator.reset()
    assert (validator.state, validator.i, validator.codepoint) == (0, 0, 0)
    assert validator.validate(b"ok") == (True, True, 2, 2)


@pytest.mark.parametrize(
    ("prefix", "state"),
    [
        (b"", 0),
        (b"\xff", 1),
        (b"\xc3", 2),
        (b"\xe1", 3),
        (b"\xe0", 4),
        (b"\xed", 5),
        (b"\xf0", 6),
        (b"\xf1", 7),
        (b"\xf4", 8),
        (b"\xf1\x80", 3),
        (b"\xf1\x80\x80", 2),
        (b"\xe0\xa0", 2),
    ],
)
def test_validator_state_numbers(compat: ModuleType, prefix: bytes, state: int) -> None:
    validator = compat.Utf8Validator()
    validator.validate(prefix)
    assert validator.state == state
    # Setting the state resumes from it as if the prefix had been read.
    for byte in (0x41, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC3):
        read, assigned = compat.Utf8Validator(), compat.Utf8Validator()
        read.validate(prefix)
        assigned.state = state
        assert assigned.state == state
        assert read.validate(bytes([byte]))[:3] == assigned.validate(bytes([byte]))[:3]
        assert read.state == assigned.state


def test_validator_state_setter_range(compat: ModuleType) -> None:
    validator = compat.Utf8Validator()
    for bad in (-1, 9, 100):
        with pytest.raises(ValueError):
            validator.state = bad
    validator.state = 2
    assert validator.validate(b"\x80") == (True, True, 1, 1)


def test_validator_decode_code_points(compat: ModuleType) -> None:
    for text in ("A", "é", "€", "😀", "\U0010ffff"):
        validator = compat.Utf8Validator()
        states = [validator.decode(b) for b in text.encode()]
        assert states[-1] == validator.UTF8_ACCEPT
        assert all(s not in (0, 1) for s in states[:-1])
        assert validator.codepoint == ord(text)
    validator = compat.Utf8Validator()
    assert validator.decode(0xC0) == validator.UTF8_REJECT
    assert validator.decode(0x41) == validator.UTF8_REJECT  # rejected stays rejected
    with pytest.raises(ValueError):
        compat.Utf8Validator().decode(256)
    with pytest.raises(ValueError):
        compat.Utf8Validator().decode(-1)
    with pytest.raises(TypeError):
        compat.Utf8Validator().decode(b"a")


def test_validator_public_attributes(compat: ModuleType) -> None:
    validator = compat.Utf8Validator()
    assert (compat.Utf8Validator.UTF8_ACCEPT, compat.Utf8Validator.UTF8_REJECT) == (0, 1)
    validator.i = 100
    assert validator.validate(b"ab") == (True, True, 2, 102)
    validator.codepoint = 7
    assert validator.codepoint == 7


def test_validator_buffers_and_errors(compat: ModuleType) -> None:
    data = "aé€".encode()
    expected = compat.Utf8Validator().validate(data)
    for chunk in (bytearray(data), memoryview(data), array.array("B", data)):
        assert compat.Utf8Validator().validate(chunk) == expected
    # a, \xc3\xa9 -> every other byte: a \xa9 \x82 (index 1 is a stray continuation byte)
    assert compat.Utf8Validator().validate(memoryview(data)[::2]) == (False, False, 1, 1)
    for bad, error in (
        ("text", TypeError),
        (None, TypeError),
        (array.array("b", b"a"), ValueError),
    ):
        with pytest.raises(error):
            compat.Utf8Validator().validate(bad)


def test_validator_large_chunk(compat: ModuleType) -> None:
    text = ("ascii and ünïcödé 😀 " * 5000).encode()
    assert len(text) > 65536
    validator = compat.Utf8Validator()
    assert validator.validate(text) == (True, True, len(text), len(text))
    broken = bytearray(text)
    broken[-5] = 0xFF
    assert compat.Utf8Validator().validate(broken) == (False, False, len(text) - 5, len(text) - 5)
    assert compat._valid_prefix(bytes(broken)) is False
    assert compat._valid_prefix(text[:-1]) is True  # cut inside the last emoji


# Lead bytes with their special ranges, and continuation bytes at those ranges' edges.
INTERESTING_BYTES = [bytes([b]) for b in b"a\xc3\xa9\xe0\xed\xa0\x80\xf0\x90\xf4\x8f\xbf\xff"]


@settings(max_examples=150, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=40),
        st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.lists(st.sampled_from(INTERESTING_BYTES), max_size=12).map(b"".join),
    ),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_validator_matches_reference(compat: ModuleType, data: bytes, cuts: list[int]) -> None:
    valid, index = reference_validate(data)
    validator = compat.Utf8Validator()
    result = None
    start = 0
    for stop in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        result = validator.validate(data[start:stop])
        if not result[0]:
            break
        start = stop
    assert result is not None
    assert result[0] == valid
    assert result[3] == index
    if valid:
        try:
            data.decode("utf-8")
            complete = True
        except UnicodeDecodeError:
            complete = False
        assert result[1] == complete
        assert (validator.state == 0) == complete
    else:
        assert result[2] == index - start
        assert validator.state == 1
    assert compat._valid_prefix(data) == valid


@needs_wsaccel
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=30), cuts=st.lists(st.integers(0, 30), max_size=4))
def test_validator_matches_wsaccel(compat: ModuleType, data: bytes, cuts: list[int]) -> None:
    assert REAL is not None
    theirs, ours = REAL[1].Utf8Validator(), compat.Utf8Validator()
    start = 0
    for stop in [*sorted(c for c in cuts if c <= len(data)), len(data), len(data)]:
        assert ours.validate(data[start:stop]) == theirs.validate(data[start:stop])
        assert (ours.state, ours.i) == (theirs.state, theirs.i)
        start = stop


@needs_wsaccel
def test_decode_table_matches_wsaccel(compat: ModuleType) -> None:
    assert REAL is not None
    for state in range(9):
        for byte in range(256):
            theirs, ours = REAL[1].Utf8Validator(), compat.Utf8Validator()
            theirs.state = ours.state = state
            theirs.codepoint = ours.codepoint = 0x1234
            assert ours.decode(byte) == theirs.decode(byte), (state, byte)
            assert (ours.state, ours.codepoint) == (theirs.state, theirs.codepoint), (state, byte)


@needs_wsaccel
def test_same_public_names_as_wsaccel() -> None:
    assert REAL is not None
    from wsfast.compat import wsaccel

    for theirs, ours in ((REAL[0], wsaccel.xormask), (REAL[1], wsaccel.utf8validator)):
        public = {n for n in dir(theirs) if not n.startswith("_")}
        assert public <= set(dir(ours))
    for name in ("pointer", "reset", "process"):
        assert hasattr(wsaccel.xormask.XorMaskerSimple, name)
        assert hasattr(wsaccel.xormask.XorMaskerNull, name)
    for name in ("validate", "reset", "decode", "UTF8_ACCEPT", "UTF8_REJECT"):
        assert hasattr(wsaccel.utf8validator.Utf8Validator, name)


def test_objects_pickle_with_their_state(compat: ModuleType) -> None:
    masker = compat.XorMaskerSimple(b"abcd")
    masker.process(b"\x00" * 3)
    copied = pickle.loads(pickle.dumps(masker))
    assert (copied.pointer(), copied.process(b"\x00" * 2)) == (3, b"da")
    null = compat.XorMaskerNull()
    null.process(b"xy")
    assert pickle.loads(pickle.dumps(null)).pointer() == 2
    validator = compat.Utf8Validator()
    validator.validate(b"ab\xf0\x9f")
    validator.codepoint = 99
    copied = pickle.loads(pickle.dumps(validator))
    assert type(copied) is compat.Utf8Validator
    assert (copied.state, copied.i, copied.codepoint) == (validator.state, 4, 99)
    assert copied.validate(b"\x98\x80") == (True, True, 2, 6)
    assert validator.validate(b"\x98") == (True, False, 1, 5)  # the original is independent


# --- accelerate() ----------------------------------------------------------------------------


@pytest.fixture
def clean_accelerate() -> Iterator[None]:
    accelerate_module.restore()
    yield
    accelerate_module.restore()


def test_accelerate_rejects_bad_names(clean_accelerate: None) -> None:
    with pytest.raises(TypeError):
        accelerate_module.accelerate()
    with pytest.raises(ValueError, match="unknown library"):
        accelerate_module.accelerate("tornado")
    assert accelerate_module.accelerated() == ()


def test_accelerate_wsaccel_registers_and_restores(clean_accelerate: None) -> None:
    from wsfast.compat import wsaccel

    before = {
        n: sys.modules.get(n) for n in ("wsaccel", "wsaccel.xormask", "wsaccel.utf8validator")
    }
    patched = accelerate_module.accelerate("wsaccel")
    assert "sys.modules['wsaccel']" in patched
    assert sys.modules["wsaccel"] is wsaccel
    from wsaccel.xormask import XorMaskerSimple  # type: ignore[import-not-found]

    assert XorMaskerSimple is wsaccel.xormask.XorMaskerSimple
    assert accelerate_module.accelerate("wsaccel") == patched  # idempotent
    accelerate_module.restore("wsaccel")
    for name, module in before.items():
        assert sys.modules.get(name) is module


def test_accelerate_websocket_client(clean_accelerate: None) -> None:
    abnf = pytest.importorskip("websocket._abnf")
    utils = importlib.import_module("websocket._utils")
    original = (abnf._mask, utils._validate_utf8)
    frame = abnf.ABNF.create_frame("héllo" * 10, abnf.ABNF.OPCODE_TEXT)
    frame.get_mask_key = lambda n: b"\x11\x22\x33\x44"
    expected = frame.format()

    patched = accelerate_module.accelerate("websocket-client")
    assert "websocket._abnf._mask" in patched
    assert abnf._mask is not original[0]
    assert accelerate_module.accelerated() == ("websocket-client",)
    assert frame.format() == expected
    assert abnf.ABNF.mask(b"\x11\x22\x33\x44", b"\x11\x22\x33\x44\x00") == b"\x00" * 4 + b"\x11"
    assert utils.validate_utf8("κόσμε".encode())
    assert not utils.validate_utf8(b"\xed\xa0\x80")
    assert utils.validate_utf8(b"\xe2\x82")  # valid so far: websocket-client+wsaccel's rule
    assert accelerate_module.accelerate("websocket") == patched  # alias, idempotent

    accelerate_module.restore("websocket-client")
    assert (abnf._mask, utils._validate_utf8) == original
    assert frame.format() == expected


def test_accelerate_autobahn(clean_accelerate: None) -> None:
    protocol = pytest.importorskip("autobahn.websocket.protocol")
    xormasker = importlib.import_module("autobahn.websocket.xormasker")
    # XorMaskerSimple exists only when autobahn chose its pure-Python masker (no NVX).
    simple = getattr(xormasker, "XorMaskerSimple", None)
    original = (protocol.create_xor_masker, protocol.Utf8Validator, simple)
    from wsfast.compat.wsaccel import utf8validator, xormask

    accelerate_module.accelerate("autobahn")
    masker = protocol.create_xor_masker(b"abcd", 1000)
    assert type(masker) is xormask.XorMaskerSimple
    assert masker.process(b"\x00" * 5) == b"abcda"
    assert protocol.Utf8Validator is utf8validator.Utf8Validator
    assert protocol.XorMaskerNull is xormask.XorMaskerNull
    assert xormasker.create_xor_masker is protocol.create_xor_masker
    accelerate_module.restore()
    simple = getattr(xormasker, "XorMaskerSimple", None)
    assert (protocol.create_xor_masker, protocol.Utf8Validator, simple) == original
    assert accelerate_module.accelerated() == ()


def test_module_is_callable(clean_accelerate: None) -> None:
    import wsfast.accelerate

    assert wsfast.accelerate("wsaccel") == accelerate_module.accelerate("wsaccel")  # type: ignore[operator]
    assert wsfast.accelerate.accelerated() == ("wsaccel",)
    wsfast.accelerate.restore()
    assert wsfast.accelerate.accelerated() == ()


def test_wsaccel_style_patch_autobahn(clean_accelerate: None) -> None:
    pytest.importorskip("autobahn.websocket.protocol")
    from wsfast.compat import wsaccel

    wsaccel.patch_autobahn()
    assert accelerate_module.accelerated() == ("autobahn",)


def test_importing_wsfast_patches_nothing() -> None:
    pytest.importorskip("websocket")
    code = (
        "import sys, websocket._abnf as a, websocket._utils as u\n"
        "before = (a._mask, u._validate_utf8, sys.modules.get('wsaccel'))\n"
        "import wsfast, wsfast.accelerate, wsfast.compat.wsaccel.xormask\n"
        "import wsfast.compat.wsaccel.utf8validator\n"
        "assert (a._mask, u._validate_utf8, sys.modules.get('wsaccel')) == before\n"
        "shim = sys.modules.get('wsaccel')\n"
        "assert shim is None or not shim.__file__.startswith(wsfast.__path__[0])\n"
        "print('unpatched')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unpatched"
