"""Makes other WebSocket libraries use wsfast's hot paths, when (and only when) asked.

websocket-client and autobahn mask frames and validate UTF-8 with their own code, or with wsaccel
when it is installed (websocket-client) or with their own accelerator (autobahn). ``wsfast.compat
.wsaccel`` provides wsaccel's classes on wsfast's kernels; :func:`accelerate` installs them.
Importing wsfast, or this module, changes nothing.

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

import importlib
import sys
import threading
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

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

_MISSING = object()
_lock = threading.RLock()
# library -> the changes made for it, in order: (namespace, name, value before).
_applied: dict[str, list[tuple[dict[str, object], str, object]]] = {}


def _canonical(library: str) -> str:
    try:
        return _ALIASES[library.strip().lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown library {library!r}; wsfast can accelerate: {', '.join(LIBRARIES)}"
        ) from None


def _import(name: str, library: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"cannot accelerate {library}: {name} does not import ({exc})") from exc


def _set(
    changes: list[tuple[dict[str, object], str, object]],
    namespace: dict[str, object],
    name: str,
    value: object,
) -> None:
    changes.append((namespace, name, namespace.get(name, _MISSING)))
    namespace[name] = value


def _patch_wsaccel(changes: list[tuple[dict[str, object], str, object]]) -> list[str]:
    from .compat import wsaccel

    modules: dict[str, object] = sys.modules  # type: ignore[assignment]
    _set(changes, modules, "wsaccel", wsaccel)
    _set(changes, modules, "wsaccel.xormask", wsaccel.xormask)
    _set(changes, modules, "wsaccel.utf8validator", wsaccel.utf8validator)
    return ["sys.modules['wsaccel']", "sys.modules['wsaccel.xormask']",
            "sys.modules['wsaccel.utf8validator']"]  # fmt: skip


def websocket_client_values(impl: Any) -> dict[str, dict[str, object]]:
    """What ``accelerate("websocket-client")`` puts in websocket-client's modules, built on
    ``impl`` (``wsfast._wsaccel_compat`` or its twin): module name -> attribute -> value."""
    masker_class = impl.XorMaskerSimple

    def _mask(mask_value: object, data_value: object) -> bytes:
        # websocket-client's own wsaccel branch, in effect: one masker per frame.
        result: bytes = masker_class(mask_value).process(data_value)
        return result

    return {
        "websocket._abnf": {"_mask": _mask, "XorMaskerSimple": masker_class},
        # validate_utf8(b) is Utf8Validator().validate(b)[0] in websocket-client's wsaccel branch.
        "websocket._utils": {
            "_validate_utf8": impl._valid_prefix,
            "Utf8Validator": impl.Utf8Validator,
        },
    }


def autobahn_values(impl: Any) -> dict[str, dict[str, object]]:
    """What ``accelerate("autobahn")`` puts in autobahn's modules, built on ``impl``."""
    simple = impl.XorMaskerSimple

    def create_xor_masker(mask: object, length: int | None = None) -> object:
        """autobahn's factory, on wsfast: one masker whatever the payload length."""
        return simple(mask)

    return {
        "autobahn.websocket.xormasker": {
            "XorMaskerNull": impl.XorMaskerNull,
            "XorMaskerSimple": simple,
            "XorMaskerShifted1": simple,
            "create_xor_masker": create_xor_masker,
        },
        "autobahn.websocket.utf8validator": {"Utf8Validator": impl.Utf8Validator},
        "autobahn.websocket.protocol": {
            "Utf8Validator": impl.Utf8Validator,
            "XorMaskerNull": impl.XorMaskerNull,
            "create_xor_masker": create_xor_masker,
        },
    }


def _compat_impl() -> SimpleNamespace:
    """The classes ``wsfast.compat.wsaccel`` serves now (compiled, or the twins)."""
    from .compat.wsaccel import utf8validator, xormask

    return SimpleNamespace(
        XorMaskerSimple=xormask.XorMaskerSimple,
        XorMaskerNull=xormask.XorMaskerNull,
        Utf8Validator=utf8validator.Utf8Validator,
        _valid_prefix=utf8validator._impl._valid_prefix,
    )


def _patcher(
    library: str, values: Callable[[Any], dict[str, dict[str, object]]]
) -> Callable[[list[tuple[dict[str, object], str, object]]], list[str]]:
    def patch(changes: list[tuple[dict[str, object], str, object]]) -> list[str]:
        replacements = values(_compat_impl())
        # Import every module first: a library that is not installed is left untouched.
        modules = [(_import(name, library), names) for name, names in replacements.items()]
        patched = []
        for module, names in modules:
            for name, value in names.items():
                _set(changes, vars(module), name, value)
                patched.append(f"{module.__name__}.{name}")
        return patched

    return patch


_PATCHERS = {
    "wsaccel": _patch_wsaccel,
    "websocket-client": _patcher("websocket-client", websocket_client_values),
    "autobahn": _patcher("autobahn", autobahn_values),
}


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
    patched: list[str] = []
    with _lock:
        for name in dict.fromkeys(names):
            if name in _applied:
                patched.extend(_describe(name))
                continue
            changes: list[tuple[dict[str, object], str, object]] = []
            try:
                patched.extend(_PATCHERS[name](changes))
            except BaseException:
                _undo(changes)
                raise
            _applied[name] = changes
    return patched


def _describe(library: str) -> list[str]:
    described = []
    for namespace, name, _ in _applied[library]:
        if namespace is sys.modules:
            described.append(f"sys.modules[{name!r}]")
        else:
            described.append(f"{namespace.get('__name__', '?')}.{name}")
    return described


def _undo(changes: list[tuple[dict[str, object], str, object]]) -> None:
    for namespace, name, before in reversed(changes):
        if before is _MISSING:
            namespace.pop(name, None)
        else:
            namespace[name] = before


def restore(*libraries: str) -> None:
    """Undoes :func:`accelerate` for the named libraries (all of them when none is named),
    putting back the values found when they were accelerated."""
    with _lock:
        names = [_canonical(library) for library in libraries] if libraries else list(_applied)
        for name in dict.fromkeys(names):
            changes = _applied.pop(name, None)
            if changes is not None:
                _undo(changes)


def accelerated() -> tuple[str, ...]:
    """The libraries currently accelerated, by their canonical names."""
    with _lock:
        return tuple(_applied)


class _CallableModule(ModuleType):
    """Lets ``wsfast.accelerate("autobahn")`` work as well as ``wsfast.accelerate.accelerate(...)``:
    the module and the function share a name, and a function exported under the module's name
    would hide the module (and ``restore``)."""

    def __call__(self, *libraries: str) -> list[str]:
        return accelerate(*libraries)


sys.modules[__name__].__class__ = _CallableModule
