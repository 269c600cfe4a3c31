"""The vocabulary of the benchmarks: a workload is one task timed in several implementations."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Case", "Skip", "Workload", "import_or_skip", "size_label", "twin"]


class Skip(Exception):
    """Raised by a case's setup when it cannot run here (peer not installed, not compiled ...)."""


@dataclass(frozen=True)
class Case:
    """One implementation of a workload.

    ``setup()`` prepares the inputs and returns the zero-argument callable to time; it raises
    :class:`Skip` (or ImportError) when the implementation is not available, and the case is then
    reported as skipped, never faked. ``kind`` is "wsfast" (ours, compiled), "wsfast-python" (our
    pure-Python twin), "peer" (another library) or "limit" (a physical reference such as a plain
    copy of the same bytes, which no implementation can beat).
    """

    name: str
    setup: Callable[[], Callable[[], object]]
    kind: str = "peer"


@dataclass(frozen=True)
class Workload:
    """A task (mask 125 bytes, parse 100 000 frames ...) and the cases that perform it.

    ``group`` is the family (``"mask-copy"``), ``name`` is unique (``"mask-copy/125B"``).
    ``bytes_per_call`` and ``items_per_call`` turn a time per call into GB/s or items/s.
    """

    group: str
    name: str
    cases: tuple[Case, ...]
    bytes_per_call: int = 0
    items_per_call: int = 0
    description: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)


def size_label(size: int) -> str:
    """125 -> "125B", 4096 -> "4KiB", 1048576 -> "1MiB"."""
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def import_or_skip(name: str) -> Any:
    """Imports module ``name``; if it does not import, the case is skipped (:class:`Skip`)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Skip(f"{name} not importable: {exc}") from None


def twin(kind: str, hot_path: str) -> Any:
    """wsfast's implementation of ``hot_path`` (``"mask"``, ``"utf8"``, ``"frames"`` ...) for a case
    of ``kind``: the compiled ``wsfast._<hot_path>`` for "wsfast" (skipped under
    ``WSFAST_NO_EXTENSIONS=1`` or when not compiled), the pure-Python ``wsfast._<hot_path>_py``
    otherwise."""
    from wsfast import _speedups

    if kind == "wsfast":
        if _speedups.NO_EXTENSIONS:
            raise Skip("WSFAST_NO_EXTENSIONS=1")
        return import_or_skip(f"wsfast._{hot_path}")
    return import_or_skip(f"wsfast._{hot_path}_py")
