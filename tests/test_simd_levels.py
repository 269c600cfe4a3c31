"""The one SIMD switch (``wsfast.set_simd_level``, ``WSFAST_SIMD``) reaches every kernel.

Every compiled hot path calls the kernels of ``wsfast._kernels``, so one level applies to masking,
UTF-8 validation, the frame parser's unmasking and the wsaccel-compatible classes. That is checked
where it matters, by speed: at ``scalar`` each of them must run measurably slower than at the
widest level (a ratio measured in one run, interleaved rounds, median), and ``WSFAST_SIMD`` must
give every public module the same level, in a fresh interpreter.

Each workload handles 1 MiB per run. Masking goes through it in 64 KiB pieces, each result dropped
at once: with 1 MiB of fresh output per run, page faults and a memory bus shared with the other
processes cost as much as the kernel, and the ratio fell to 1.1-1.5 on a loaded machine (2.6-2.9
in pieces, the same runs).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

import wsfast
from twins import load_twin
from wsfast import _speedups, masking, utf8

MiB = 1 << 20
PIECE = 64 << 10
PIECES = MiB // PIECE
KEY = b"\x12\x34\xab\xcd"
LEVEL_NAMES = ["scalar", "sse2", "neon", "avx2", "avx512"]


def _non_ascii_text(size: int) -> bytes:
    """About ``size`` bytes of valid UTF-8 with 2-, 3- and 4-byte code points throughout."""
    text = ("häßliche Grüße, €uro, 日本語, 😀 " * (size // 40 + 1)).encode()[:size]
    return text.decode("utf-8", "ignore").encode()


def _best_time(run: Callable[[], object], calls: int = 3) -> float:
    """The fastest of ``calls`` runs: what the code costs, less what other processes took."""
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _slowdown_at_scalar(run: Callable[[], object], rounds: int = 7) -> float:
    """Median over interleaved rounds of time(scalar) / time(widest level)."""
    widest = wsfast.available_simd_levels()[-1]
    ratios = []
    for _ in range(rounds):
        wsfast.set_simd_level("scalar")
        scalar = _best_time(run)
        wsfast.set_simd_level(widest)
        ratios.append(scalar / _best_time(run))
    return statistics.median(ratios)


@pytest.fixture
def compiled_levels() -> Iterator[None]:
    """The compiled build with more than one level; the level in use is restored afterwards."""
    load_twin("kernels", "compiled")  # skips under WSFAST_NO_EXTENSIONS=1
    if wsfast.available_simd_levels() == ["scalar"]:
        pytest.skip("this CPU has only the scalar level: nothing to compare it with")
    before = wsfast.simd_level()
    yield
    wsfast.set_simd_level(before)


def _pieces(function: Callable[..., object], *args: object) -> Callable[[], object]:
    """Calls ``function(*args)`` PIECES times, dropping each result at once: results kept alive
    would make every run allocate fresh memory, and the page faults would hide the kernel."""

    def run() -> None:
        for _ in range(PIECES):
            function(*args)

    return run


def _frame_workload() -> Callable[[], object]:
    frames = load_twin("frames", "compiled")
    frame = frames.build_frame(2, os.urandom(PIECE), mask=True, mask_key=KEY)
    return _pieces(frames.FrameParser(server=True).feed, frame)


def _text_frame_workload() -> Callable[[], object]:
    frames = load_twin("frames", "compiled")
    frame = frames.build_frame(1, _non_ascii_text(MiB), mask=True, mask_key=KEY)
    parser = frames.FrameParser(server=True, max_frame_size=None, max_message_size=None)
    return lambda: parser.feed(frame)


def _wsaccel_masker_workload() -> Callable[[], object]:
    compat = load_twin("wsaccel_compat", "compiled")
    data = os.urandom(PIECE)
    return _pieces(compat.XorMaskerSimple(KEY).process, data)


def _wsaccel_validator_workload() -> Callable[[], object]:
    compat = load_twin("wsaccel_compat", "compiled")
    text = _non_ascii_text(MiB)
    return lambda: compat.Utf8Validator().validate(text)


def _mask_workload() -> Callable[[], object]:
    return _pieces(wsfast.mask, os.urandom(PIECE), KEY)


def _utf8_workload() -> Callable[[], object]:
    text = _non_ascii_text(MiB)
    return lambda: wsfast.validate_utf8(text)


WORKLOADS = {
    "mask": _mask_workload,
    "validate_utf8": _utf8_workload,
    "FrameParser unmasking": _frame_workload,
    "FrameParser text validation": _text_frame_workload,
    "wsaccel XorMaskerSimple": _wsaccel_masker_workload,
    "wsaccel Utf8Validator": _wsaccel_validator_workload,
}


@pytest.mark.parametrize("workload", WORKLOADS)
def test_scalar_level_reaches_the_kernel(compiled_levels: None, workload: str) -> None:
    # The real ratios are about 2-3x for masking (each call also allocates and writes its output)
    # and 6-30x for UTF-8; 1.3 leaves room for a loaded machine, and a kernel that the switch does
    # not reach gives 1.0.
    ratio = _slowdown_at_scalar(WORKLOADS[workload]())
    assert ratio > 1.3, f"{workload}: scalar / widest = {ratio:.2f}"


def test_one_switch_for_every_module() -> None:
    assert masking.set_simd_level is wsfast.set_simd_level
    assert utf8.set_simd_level is wsfast.set_simd_level
    assert masking.simd_level is utf8.simd_level is wsfast.simd_level
    assert masking.available_simd_levels is wsfast.available_simd_levels
    before = wsfast.simd_level()
    if before == "python":
        return
    try:
        for name in wsfast.available_simd_levels():
            assert masking.set_simd_level(name) == name
            assert utf8.simd_level() == wsfast.simd_level() == name
    finally:
        wsfast.set_simd_level(before)


@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_set_simd_level_names(kind: str) -> None:
    kernels = load_twin("kernels", kind)
    before = kernels.simd_level()
    levels = kernels.available_simd_levels()
    assert before in levels
    try:
        for name in LEVEL_NAMES:  # every name is accepted; a level above the CPU's is capped
            assert kernels.set_simd_level(name) in levels
        for bad in ("sse4", "mmx", "", "AVX2", "python", None):
            with pytest.raises(ValueError, match="unknown SIMD level"):
                kernels.set_simd_level(bad)
        if kind == "python":
            assert levels == ["python"]
            return
        assert levels[0] == "scalar"
        assert kernels.set_simd_level("scalar") == "scalar"
        assert kernels.set_simd_level("avx512") == levels[-1]  # capped to the CPU
    finally:
        if kind == "compiled":
            kernels.set_simd_level(before)


_REPORT = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import wsfast
    from wsfast import masking, utf8
print(json.dumps({
    "wsfast": wsfast.simd_level(),
    "masking": masking.simd_level(),
    "utf8": utf8.simd_level(),
    "available": wsfast.available_simd_levels(),
    "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)],
}))
"""


def _report(simd: str | None) -> dict[str, object]:
    env = dict(os.environ)
    env.pop("WSFAST_SIMD", None)
    if simd is not None:
        env["WSFAST_SIMD"] = simd
    done = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    )
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_wsfast_simd_is_one_rule_for_every_module() -> None:
    default = _report(None)
    available = default["available"]
    assert isinstance(available, list)
    widest = available[-1]
    python = _speedups.NO_EXTENSIONS
    expected: dict[str | None, str] = {None: widest, "": widest, "bogus": widest, "SSE4": widest}
    expected["scalar"] = "python" if python else "scalar"
    expected["avx512"] = widest  # capped where the CPU has less
    for name in available:
        if name in LEVEL_NAMES:
            expected[name] = name
    if "avx2" in available:
        expected[" AVX2 "] = "avx2"  # case and blanks do not matter
    # The 128-bit baseline has a name on each architecture; either names it on both.
    if "sse2" in available:
        expected["neon"] = "sse2"
    if "neon" in available:
        expected["sse2"] = "neon"
    for simd, level in expected.items():
        report = _report(simd)
        assert report["wsfast"] == report["masking"] == report["utf8"] == level, (simd, report)
        warned = report["warnings"]
        assert isinstance(warned, list)
        if simd in ("bogus", "SSE4"):
            assert len(warned) >= 1 and all("WSFAST_SIMD" in w for w in warned), (simd, warned)
        else:
            assert warned == [], (simd, warned)
