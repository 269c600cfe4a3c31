"""Recorded, reversible patches of other libraries' modules: the machinery behind
:func:`wsfast.accelerate.accelerate`, and what it writes into websocket-client and autobahn.

A *patcher* makes the changes for one library through :func:`set_value`, which records the value
it replaces; :func:`apply` runs a patcher once per library and undoes its partial work if it
raises; :func:`restore` puts the recorded values back. Importing this module changes nothing.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "Change",
    "Patcher",
    "applied",
    "apply",
    "autobahn_values",
    "import_for",
    "lock",
    "module_patcher",
    "restore",
    "set_value",
    "websocket_client_values",
]

#: One recorded change: (namespace, name, value before or the missing marker).
Change = tuple[dict[str, object], str, object]
#: Makes the changes for one library, recording each in the list; returns their dotted names.
Patcher = Callable[[list[Change]], list[str]]

_MISSING = object()
#: Held while libraries are patched or restored; reentrant, so a caller may hold it across calls.
lock = threading.RLock()
# library -> the changes made for it, in order.
_applied: dict[str, list[Change]] = {}


def set_value(
    changes: list[Change], namespace: dict[str, object], name: str, value: object
) -> None:
    """Sets ``namespace[name] = value``, recording the value it replaces in ``changes``."""
    changes.append((namespace, name, namespace.get(name, _MISSING)))
    namespace[name] = value


def import_for(name: str, library: str) -> ModuleType:
    """Imports module ``name``; an ImportError says which ``library`` could not be patched."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"cannot accelerate {library}: {name} does not import ({exc})") from exc


def module_patcher(
    library: str,
    values: Callable[[Any], dict[str, dict[str, object]]],
    implementation: Callable[[], Any],
) -> Patcher:
    """A patcher that sets, in each module ``values(implementation())`` names, the attributes it
    maps to. Every module is imported before anything is set: a library that is not installed is
    left untouched."""

    def patch(changes: list[Change]) -> list[str]:
        replacements = values(implementation())
        modules = [(import_for(name, library), names) for name, names in replacements.items()]
        patched = []
        for module, names in modules:
            for name, value in names.items():
                set_value(changes, vars(module), name, value)
                patched.append(f"{module.__name__}.{name}")
        return patched

    return patch


def apply(library: str, patcher: Patcher) -> list[str]:
    """Runs ``patcher`` for ``library`` unless it is already applied; returns the dotted names
    pointing at wsfast. If the patcher raises, its partial changes are undone."""
    with lock:
        if library in _applied:
            return _describe(_applied[library])
        changes: list[Change] = []
        try:
            patched = patcher(changes)
        except BaseException:
            _undo(changes)
            raise
        _applied[library] = changes
        return patched


def restore(libraries: list[str] | None = None) -> None:
    """Undoes the patches of ``libraries`` (every applied one when None), in reverse order."""
    with lock:
        for library in dict.fromkeys(list(_applied) if libraries is None else libraries):
            changes = _applied.pop(library, None)
            if changes is not None:
                _undo(changes)


def applied() -> tuple[str, ...]:
    """The libraries currently patched, in the order they were patched."""
    with lock:
        return tuple(_applied)


def _describe(changes: list[Change]) -> list[str]:
    described = []
    for namespace, name, _ in changes:
        if namespace is sys.modules:
            described.append(f"sys.modules[{name!r}]")
        else:
            described.append(f"{namespace.get('__name__', '?')}.{name}")
    return described


def _undo(changes: list[Change]) -> None:
    for namespace, name, before in reversed(changes):
        if before is _MISSING:
            namespace.pop(name, None)
        else:
            namespace[name] = before


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
