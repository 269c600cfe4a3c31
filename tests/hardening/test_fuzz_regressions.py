"""Replays the fuzz corpus and every saved crash through the fuzz harnesses' own checks.

``fuzz/corpus/<target>/`` holds the seeds, ``fuzz/regressions/<target>/`` every input a fuzzer
found a bug with (kept forever once fixed). Each harness (``fuzz/fuzz_<target>.py``) compares the
compiled hot path with its twin and checks its invariants; here it runs without atheris, on both
kinds of build (with ``WSFAST_NO_EXTENSIONS=1`` the twin stands in for the compiled module). A short
hypothesis run per harness adds random inputs, so the checks themselves stay exercised in CI.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsfast import _speedups

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
TARGETS = ("mask", "utf8", "frames", "handshake", "deflate")

#: Saved crash inputs whose bug is still open: file name prefix -> the entry in notes/bugs.md.
#: (B1, a non-ASCII HTTP version escaping receive_data, was fixed in d5ff64a: its inputs stay in
#: fuzz/regressions/handshake/b1-*.)
KNOWN_OPEN: dict[str, str] = {}
#: The same open bugs as random inputs may hit them: target -> (exception type, entry).
KNOWN_OPEN_ERRORS: dict[str, tuple[type[BaseException], str]] = {}


def _harness(target: str) -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module(f"fuzz_{target}")


_checkers: dict[str, object] = {}


def _checker(target: str):  # type: ignore[no-untyped-def]
    if target not in _checkers:
        harness = _harness(target)
        fuzzlib = importlib.import_module("fuzzlib")
        compiled, python = fuzzlib.load_modules(
            harness.HOT_PATHS, require_compiled=_speedups.REQUIRE_EXTENSIONS
        )
        _checkers[target] = harness.make_checker(compiled, python)
    return _checkers[target]


def _inputs() -> list[object]:
    params = []
    for target in TARGETS:
        for kind in ("corpus", "regressions"):
            folder = FUZZ / kind / target
            for path in sorted(folder.iterdir()) if folder.is_dir() else ():
                marks = [
                    pytest.mark.xfail(reason=f"open bug {why}", strict=False)
                    for prefix, why in KNOWN_OPEN.items()
                    if path.name.startswith(prefix)
                ]
                params.append(
                    pytest.param(target, path, id=f"{kind}/{target}/{path.name}", marks=marks)
                )
    return params


def test_the_corpus_is_there() -> None:
    # Every harness has seeds (a missing folder would silently replay nothing).
    for target in TARGETS:
        assert len(list((FUZZ / "corpus" / target).iterdir())) >= 3, target


@pytest.mark.parametrize(("target", "path"), _inputs())
def test_saved_input_passes_the_harness(target: str, path: Path) -> None:
    _checker(target)(path.read_bytes())


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_random_input_passes_the_harness(target: str, data: bytes) -> None:
    _check_random(target, data)


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
)
def test_mutated_seed_passes_the_harness(
    target: str, seed: int, edits: list[tuple[int, int]]
) -> None:
    seeds = sorted((FUZZ / "corpus" / target).iterdir())
    data = bytearray(seeds[seed % len(seeds)].read_bytes())
    for position, value in edits:
        data[position % len(data)] = value
    _check_random(target, bytes(data))


def _check_random(target: str, data: bytes) -> None:
    known = KNOWN_OPEN_ERRORS.get(target)
    try:
        _checker(target)(data)
    except Exception as exc:
        if known is not None and isinstance(exc, known[0]):
            pytest.xfail(f"open bug {known[1]}")
        raise
