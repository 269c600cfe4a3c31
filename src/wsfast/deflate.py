"""The deflate backends permessage-deflate (RFC 7692) compresses and inflates with.

Every backend writes and reads plain raw deflate (RFC 1951), so the bytes on the wire are the same
format whichever backend either side uses; they differ only in speed and in how small they make a
message:

- ``"zlib"``: the standard library's :mod:`zlib`; always there.
- ``"zlib-ng"``: :mod:`zlib_ng.zlib_ng` (``pip install wsfast[zlib-ng]``), zlib's algorithm
  rewritten with SIMD: about twice as fast as zlib at the same level, with output as small.
- ``"isal"``: :mod:`isal.isal_zlib` (``pip install wsfast[isal]``), Intel's ISA-L: several times
  faster again, with slightly larger output (it has levels 0-3; zlib's levels are mapped onto them,
  see :data:`ISAL_LEVELS`).

**The default rule.** Unless ``WSFAST_DEFLATE_BACKEND`` names one (read when the default is first
needed) or :func:`set_deflate_backend` chose one, the default is the first *installed* backend of
:data:`PREFERENCE` (fastest first: isal, zlib-ng, zlib) whose output for one message of
:func:`reference_text` (4 KiB of JSON-like records), at wsfast's two default settings (a 32 KiB
window with memory level 8, and a 4 KiB window with memory level 5; level 6), is at most
:data:`SIZE_TOLERANCE` (5 %) larger than zlib's. Measured here: zlib-ng 2 % smaller, isal
(level 1) 4 % larger, so isal is the default when installed. With context takeover ISA-L makes
less use of earlier messages than zlib: over a stream of such messages its output is about
8-15 % larger than zlib's (zlib-ng's about 2 % smaller); where bytes on the wire cost more than
CPU, choose zlib-ng. It is decided once, at the first compressed connection (or the first call to
:func:`deflate_backend`); the optional modules are only imported then.

All three release the GIL while they compress or inflate (CPython's zlib module and its forks,
``zlib_ng`` and ``isal_zlib``, wrap every ``deflate()``/``inflate()`` call in
``Py_BEGIN_ALLOW_THREADS``), so other threads run while a large message is being (de)compressed.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import random
import zlib
from collections.abc import Callable
from typing import Any

__all__ = [
    "ISAL_LEVELS",
    "PREFERENCE",
    "SIZE_TOLERANCE",
    "DeflateBackend",
    "available_deflate_backends",
    "deflate_backend",
    "get_deflate_backend",
    "reference_text",
    "set_deflate_backend",
]

#: Backends in the order the default rule tries them: fastest first.
PREFERENCE = ("isal", "zlib-ng", "zlib")

#: How much larger than zlib's output the default backend's may be (a ratio).
SIZE_TOLERANCE = 1.05

#: zlib's compression levels (index -1 to 9, -1 being zlib's default, 6) as ISA-L levels (0-3).
#: Level 0 (no compression) is done by zlib itself, whatever the backend: ISA-L has no stored mode.
ISAL_LEVELS = {-1: 1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 1, 7: 2, 8: 2, 9: 3}

#: Each backend's importable module (None: always there).
_MODULES = {"zlib": None, "zlib-ng": "zlib_ng.zlib_ng", "isal": "isal.isal_zlib"}

_ENV = "WSFAST_DEFLATE_BACKEND"


class DeflateBackend:
    """One deflate implementation: makes raw-deflate compressors and decompressors with the API of
    :func:`zlib.compressobj` / :func:`zlib.decompressobj` (``compress``, ``flush(Z_SYNC_FLUSH)``;
    ``decompress(data, max_length)``, ``unconsumed_tail``, ``eof``).

    ``name`` is ``"zlib"``, ``"zlib-ng"`` or ``"isal"``; ``error`` the exception its objects raise
    on corrupt data. Obtain one with :func:`get_deflate_backend` or :func:`deflate_backend`.
    """

    __slots__ = ("_compressobj", "_decompressobj", "_map_level", "error", "module", "name")

    def __init__(self, name: str, module: Any, map_level: Callable[[int], int] | None) -> None:
        self.name = name
        #: The module the objects come from (:mod:`zlib`, ``zlib_ng.zlib_ng``, ``isal.isal_zlib``).
        self.module = module
        self.error: type[Exception] = module.error
        self._compressobj = module.compressobj
        self._decompressobj = module.decompressobj
        self._map_level = map_level

    def compressobj(self, level: int, wbits: int, mem_level: int) -> Any:
        """A raw-deflate compressor with zlib's ``level`` (-1 to 9), a window of ``2**wbits``
        bytes (9 to 15) and zlib's ``mem_level`` (1 to 9)."""
        if self._map_level is not None:
            if level == 0:
                # No compression at all: only zlib writes stored blocks.
                return zlib.compressobj(0, zlib.DEFLATED, -wbits, mem_level)
            level = self._map_level(level)
        return self._compressobj(level, zlib.DEFLATED, -wbits, mem_level)

    def decompressobj(self, wbits: int = 15) -> Any:
        """A raw-deflate decompressor accepting windows up to ``2**wbits`` bytes."""
        return self._decompressobj(-wbits)

    def compress_message(self, data: bytes, level: int, wbits: int, mem_level: int) -> bytes:
        """``data`` compressed on its own as one permessage-deflate message: a fresh deflate
        stream, SYNC_FLUSH, its four trailing octets removed (RFC 7692 §7.2.1)."""
        compressor = self.compressobj(level, wbits, mem_level)
        out: bytes = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out[-4:] == b"\x00\x00\xff\xff" else out

    def __repr__(self) -> str:
        return f"<DeflateBackend {self.name}>"


def _isal_level(level: int) -> int:
    return ISAL_LEVELS[level]


_loaded: dict[str, DeflateBackend] = {}
_default: DeflateBackend | None = None


def _installed(name: str) -> bool:
    module = _MODULES[name]
    if module is None:
        return True
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def available_deflate_backends() -> tuple[str, ...]:
    """The names of the installed backends, in :data:`PREFERENCE` order (fastest first). Checks
    what is installed without importing it."""
    return tuple(name for name in PREFERENCE if _installed(name))


def get_deflate_backend(name: str) -> DeflateBackend:
    """The backend called ``name`` (importing its module on first use). Raises ValueError for an
    unknown name and ImportError, saying which extra installs it, when it is not installed."""
    backend = _loaded.get(name)
    if backend is not None:
        return backend
    if name not in _MODULES:
        raise ValueError(f"unknown deflate backend {name!r}: choose one of {', '.join(PREFERENCE)}")
    module_name = _MODULES[name]
    if module_name is None:
        backend = DeflateBackend(name, zlib, None)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ImportError(
                f"deflate backend {name!r} is not installed (pip install 'wsfast[{name}]')"
            ) from exc
        backend = DeflateBackend(name, module, _isal_level if name == "isal" else None)
    _loaded[name] = backend
    return backend


def reference_text(size: int = 4096, seed: int = 0) -> bytes:
    """About ``size`` bytes of JSON-like text (an array of records with ids, names, timestamps,
    prices, tags and hex tokens), the same for the same ``seed``: what permessage-deflate
    mostly carries, for the default rule and for benchmarks."""
    rng = random.Random(seed)
    words = (
        "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
        "oscar papa"
    ).split()
    records: list[str] = []
    used = 2
    while True:
        record = json.dumps(
            {
                "id": rng.randrange(10**9),
                "user": f"{rng.choice(words)}_{rng.randrange(10000)}",
                "ts": 1765000000 + rng.randrange(10**6),
                "price": round(rng.uniform(0, 1000), 2),
                "active": rng.random() < 0.5,
                "tags": rng.sample(words, 3),
                "token": f"{rng.getrandbits(64):016x}",
            },
            separators=(",", ":"),
        )
        if used + len(record) + 1 > size and records:
            break
        records.append(record)
        used += len(record) + 1
    return ("[" + ",".join(records) + "]").encode()


def _within_tolerance(backend: DeflateBackend) -> bool:
    if backend.name == "zlib":
        return True
    reference = get_deflate_backend("zlib")
    text = reference_text()
    for wbits, mem_level in ((15, 8), (12, 5)):
        size = len(backend.compress_message(text, 6, wbits, mem_level))
        zlib_size = len(reference.compress_message(text, 6, wbits, mem_level))
        if size > zlib_size * SIZE_TOLERANCE:
            return False
    return True


def _choose_default() -> DeflateBackend:
    chosen = os.environ.get(_ENV)
    if chosen:
        return get_deflate_backend(chosen)
    for name in available_deflate_backends():
        try:
            backend = get_deflate_backend(name)
        except ImportError:
            continue  # found but broken (e.g. a wheel for another Python): try the next
        if _within_tolerance(backend):
            return backend
    return get_deflate_backend("zlib")


def deflate_backend() -> str:
    """The name of the backend new permessage-deflate connections use (the default rule in this
    module's documentation, ``WSFAST_DEFLATE_BACKEND``, or :func:`set_deflate_backend`)."""
    return default_backend().name


def default_backend() -> DeflateBackend:
    """The :class:`DeflateBackend` new connections use (see :func:`deflate_backend`)."""
    global _default
    if _default is None:
        _default = _choose_default()
    return _default


def set_deflate_backend(name: str | None) -> None:
    """Chooses the backend of connections negotiated from now on (``"zlib"``, ``"zlib-ng"``,
    ``"isal"``); None returns to the default rule. A connection keeps the backend it was opened
    with; :class:`~wsfast.extensions.PerMessageDeflate` (``backend=``) chooses per server or
    client. Raises ValueError or ImportError as :func:`get_deflate_backend` does."""
    global _default
    _default = None if name is None else get_deflate_backend(name)
