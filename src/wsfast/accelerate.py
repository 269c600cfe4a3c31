"""Makes other WebSocket libraries use wsfast's hot paths, when (and only when) asked.

websocket-client and autobahn mask frames and validate UTF-8 with their own code, or with wsaccel
when it is installed (websocket-client) or with their own accelerator (autobahn). ``wsfast.compat
.wsaccel`` provides wsaccel's classes on wsfast's kernels; :func:`accelerate` installs them.
Importing wsfast, or this module, changes nothing. This module is the public surface; the
recorded, reversible patching is ``wsfast.compat._patching`` and the per-library patchers are in
``wsfast.compat.wsaccel`` (which does not import this module back).

What each name patches (every change is recorded, so :func:`restore` can undo it):

``"wsaccel"``
    Registers ``wsfast.compat.wsaccel`` (and its ``xormask`` and ``utf8validator``) in
    ``sys.modules`` as ``wsaccel``, ``wsaccel.xormask`` and ``wsaccel.utf8validator``, replacing a
    real wsaccel if one was imported. Libraries imported *afterwards* that try ``import wsaccel``
    get wsfast (websocket-client, ws4py, old autobahn ...). Modules imported before keep what
    they already bound: use the library's own name for those.

``"websocket-client"`` (also ``"websocket_client"``, ``"websocket"``)
    Imports ``websocket`` and sets ``websocket._abnf._mask`` (the function ``ABNF.mask`` calls to
    mask and unmask every frame), ``websocket._abnf.XorMaskerSimple``,
    ``websocket._utils._validate_utf8`` (called by ``validate_utf8`` for text frames and close
    reasons) and ``websocket._utils.Utf8Validator`` to wsfast's. The results are those of
    websocket-client with wsaccel installed, including its ``validate_utf8``'s "valid so far"
    rule (a text message cut inside a code point passes, as it does with wsaccel).

``"autobahn"``
    Imports ``autobahn.websocket.protocol`` and sets ``Utf8Validator``, ``XorMaskerNull`` and
    ``create_xor_masker`` in ``autobahn.websocket.protocol`` (the only user), and the same names
    plus ``XorMaskerSimple`` and ``XorMaskerShifted1`` in ``autobahn.websocket.xormasker`` and
    ``autobahn.websocket.utf8validator``, whichever of autobahn's implementations (NVX or pure
    Python) they had chosen.

Calling :func:`accelerate` again for a library already accelerated changes nothing. The module
itself is callable: ``import wsfast.accelerate; wsfast.accelerate("websocket-client")`` is
``wsfast.accelerate.accelerate("websocket-client")`` (the latter is the form type checkers know).
"""

from __future__ import annotations

import sys
from types import ModuleType

from .compat import _patching
from .compat._patching import autobahn_values, websocket_client_values

__all__ = [
    "LIBRARIES",
    "accelerate",
    "accelerated",
    "autobahn_values",
    "restore",
    "websocket_client_values",
]

#: The names :func:`accelerate` understands (aliases map onto these).
LIBRARIES = ("wsaccel", "websocket-client", "autobahn")

_ALIASES = {
    "wsaccel": "wsaccel",
    "websocket-client": "websocket-client",
    "websocket_client": "websocket-client",
    "websocket": "websocket-client",
    "autobahn": "autobahn",
}


def _canonical(library: str) -> str:
    try:
        return _ALIASES[library.strip().lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown library {library!r}; wsfast can accelerate: {', '.join(LIBRARIES)}"
        ) from None


def accelerate(*libraries: str) -> list[str]:
    """Makes each named library use wsfast's masking and UTF-8 validation.

    ``libraries``: ``"websocket-client"``, ``"autobahn"``, ``"wsaccel"`` (see the module docstring
    for exactly what each one changes). Returns the dotted names now pointing at wsfast, for these
    libraries. Idempotent; undo with :func:`restore`. Raises ValueError for an unknown name and
    ImportError if the library is not installed (nothing is changed for that library then).
    """
    if not libraries:
        raise TypeError(
            "accelerate() needs the name of at least one library: " + ", ".join(LIBRARIES)
        )
    names = [_canonical(library) for library in libraries]
    # Imported here: the drop-in loads its compiled module, which `import wsfast` does not need.
    from .compat.wsaccel._patchers import PATCHERS

    patched: list[str] = []
    with _patching.lock:
        for name in dict.fromkeys(names):
            patched.extend(_patching.apply(name, PATCHERS[name]))
    return patched


def restore(*libraries: str) -> None:
    """Undoes :func:`accelerate` for the named libraries (all of them when none is named),
    putting back the values found when they were accelerated."""
    _patching.restore([_canonical(library) for library in libraries] if libraries else None)


def accelerated() -> tuple[str, ...]:
    """The libraries currently accelerated, by their canonical names."""
    return _patching.applied()


class _CallableModule(ModuleType):
    """Lets ``wsfast.accelerate("autobahn")`` work as well as ``wsfast.accelerate.accelerate(...)``:
    the module and the function share a name, and a function exported under the module's name
    would hide the module (and ``restore``)."""

    def __call__(self, *libraries: str) -> list[str]:
        return accelerate(*libraries)


sys.modules[__name__].__class__ = _CallableModule
