"""The vocabulary of the benchmarks: a workload is one task timed in several implementations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Case", "Skip", "Workload"]


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
