"""Shared plumbing of wsfast's fuzz harnesses (``fuzz/fuzz_*.py``).

Each harness defines ``HOT_PATHS`` (the hot paths it compares, e.g. ``("frames",)``) and
``make_checker(compiled, python) -> check(data: bytes) -> None``, where ``compiled`` and ``python``
map a hot path name to its module. ``check`` raises AssertionError (or any unexpected exception)
when it finds a bug; under libFuzzer that is a crash, saved as an input file to reproduce.

Inputs are decoded with :class:`Provider`, our own deterministic byte reader, rather than atheris'
FuzzedDataProvider, so that a saved input replays identically without atheris (the pytest
regression suite, ``tests/hardening/test_fuzz_regressions.py``, replays the seed corpus and every
saved crash through the same ``check``).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")
Checker = Callable[[bytes], None]


class Provider:
    """Reads structured values from fuzz input, front to back; past the end every value is 0."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def byte(self) -> int:
        if self.pos < len(self.data):
            self.pos += 1
            return self.data[self.pos - 1]
        return 0

    def boolean(self) -> bool:
        return bool(self.byte() & 1)

    def int_in(self, low: int, high: int) -> int:
        """An integer in [low, high], from as few bytes as the range needs."""
        span = high - low + 1
        size = max(1, (span - 1).bit_length() + 7 >> 3)
        return low + int.from_bytes(self.take(size).ljust(size, b"\0"), "little") % span

    def pick(self, choices: Sequence[T]) -> T:
        return choices[self.int_in(0, len(choices) - 1)]

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining())

    def cuts(self, length: int, most: int = 6) -> list[int]:
        """Sorted split points in [0, length] (a stream cut into pieces however it arrives)."""
        return sorted(self.int_in(0, length) for _ in range(self.int_in(0, most)))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at ``cuts`` (sorted offsets); empty pieces included."""
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start:cut])
        start = max(start, cut)
    pieces.append(data[start:])
    return pieces


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """``("ok", result)`` or ``("error", type name, code, reason)``: what twins must agree on."""
    try:
        return ("ok", call())
    except Exception as exc:
        return (
            "error",
            type(exc).__name__,
            getattr(exc, "code", None),
            getattr(exc, "reason", None),
        )


def load_modules(
    hot_paths: Sequence[str], require_compiled: bool
) -> tuple[dict[str, ModuleType], dict[str, ModuleType]]:
    """(compiled, python) modules of each hot path. Without a compiled build (and when it is not
    required) the twin stands in for both, so the harness still checks its own invariants."""
    compiled: dict[str, ModuleType] = {}
    python: dict[str, ModuleType] = {}
    no_ext = os.environ.get("WSFAST_NO_EXTENSIONS", "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    )
    for name in hot_paths:
        python[name] = importlib.import_module(f"wsfast._{name}_py")
        try:
            if no_ext:
                raise ImportError("WSFAST_NO_EXTENSIONS is set")
            compiled[name] = importlib.import_module(f"wsfast._{name}")
        except ImportError:
            if require_compiled:
                raise
            compiled[name] = python[name]
    return compiled, python


def main(
    make_checker: Callable[[dict[str, ModuleType], dict[str, ModuleType]], Checker],
    hot_paths: Sequence[str],
) -> None:
    """Runs libFuzzer (through atheris) on the harness; argv is passed to libFuzzer."""
    import atheris

    # Python coverage of wsfast's own modules (the twins, the protocol layers) guides the fuzzer
    # too; the compiled modules report their C coverage through -fsanitize=fuzzer-no-link.
    # WSFAST_FUZZ_PYTHON_COVERAGE=0 leaves the Python code uninstrumented: several times more
    # executions per second for the hot-path harnesses, guided by the C coverage alone.
    python_coverage = os.environ.get("WSFAST_FUZZ_PYTHON_COVERAGE", "1") != "0"
    context = atheris.instrument_imports(include=["wsfast"]) if python_coverage else nullcontext()
    with context:
        compiled, python = load_modules(hot_paths, require_compiled=True)
        check = make_checker(compiled, python)
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
