"""The vocabulary of the benchmarks: a workload is one task timed in several implementations."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DROP_IN_TAG",
    "KINDS",
    "Case",
    "Skip",
    "Workload",
    "import_or_skip",
    "require_compiled_peer",
    "size_label",
    "twin",
]

#: The kinds of case, in the order a table shows them (see :class:`Case`).
KINDS = (
    "wsfast",
    "wsfast-lower",
    "wsfast-setting",
    "wsfast-python",
    "peer",
    "limit",
    "reference",
)

#: The tag of a drop-in workload: wsfast behind another library's API, timed against that
#: library. Its ratio is "the speed-up of the library it accelerates", reported apart from the
#: comparison with the peers.
DROP_IN_TAG = "drop-in"


class Skip(Exception):
    """Raised by a case's setup when it cannot run here (peer not installed, not compiled ...)."""


@dataclass(frozen=True)
class Case:
    """One implementation of a workload.

    ``setup()`` prepares the inputs and returns the zero-argument callable to time; it raises
    :class:`Skip` (or ImportError) when the implementation is not available, and the case is then
    reported as skipped, never faked. ``kind`` is one of :data:`KINDS`:

    - "wsfast": wsfast's public API doing the work the peers do (the same objects out, ``str``
      where a peer gives ``str``, the same retention); the headline of the workload;
    - "wsfast-lower": a lower-level wsfast API doing less (frames without ``str`` ...), a row
      of its own, labelled, never the headline;
    - "wsfast-setting": the public API with a setting other than the default (another deflate
      backend ...), a row of its own, labelled, never the headline;
    - "wsfast-python": our pure-Python twin;
    - "peer": another library;
    - "limit": a floor no implementation can go below (a plain copy of the same bytes ...);
    - "reference": a figure shown for scale that is not a floor (a TCP echo with no WebSocket
      work, which a server that copies less can still go below); in no ratio.
    """

    name: str
    setup: Callable[[], Callable[[], object]]
    kind: str = "peer"


@dataclass(frozen=True)
class Workload:
    """A task (mask 125 bytes, parse 100 000 frames ...) and the cases that perform it.

    ``group`` is the family (``"mask-copy"``), ``name`` is unique (``"mask-copy/125B"``).
    ``bytes_per_call`` and ``items_per_call`` turn a time per call into GB/s or items/s.
    ``tags``: ``"slow"`` (one call is a whole loopback exchange ...), :data:`DROP_IN_TAG`, or
    free-form labels.
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


#: Peer -> the compiled module it speeds itself up with; a peer case runs only with it loaded,
#: else the case is skipped and its row says why (a peer timed without its own C code would make
#: wsfast look faster than it is).
COMPILED_PARTS = {
    "websockets": "websockets.speedups",
    "aiohttp": "aiohttp._websocket.reader_c",
    "picows": "picows.picows",
    "wsaccel": "wsaccel.utf8validator",
}


def require_compiled_peer(peer: str) -> Any:
    """Imports ``peer``'s compiled part (:data:`COMPILED_PARTS`) or raises :class:`Skip`."""
    module = COMPILED_PARTS[peer]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Skip(f"{peer} without its compiled part ({module} not loaded: {exc})") from None


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
