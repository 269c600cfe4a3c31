"""The patchers that put this wsaccel drop-in into other libraries (see
:mod:`wsfast.accelerate` for exactly what each one changes)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from .. import _patching
from . import utf8validator, xormask

__all__ = ["PATCHERS", "served"]


def served() -> SimpleNamespace:
    """The classes the drop-in serves now (compiled, or the twins)."""
    return SimpleNamespace(
        XorMaskerSimple=xormask.XorMaskerSimple,
        XorMaskerNull=xormask.XorMaskerNull,
        Utf8Validator=utf8validator.Utf8Validator,
        _valid_prefix=utf8validator._impl._valid_prefix,
    )


def _register_as_wsaccel(changes: list[_patching.Change]) -> list[str]:
    modules: dict[str, object] = sys.modules  # type: ignore[assignment]
    package = sys.modules[__package__]
    _patching.set_value(changes, modules, "wsaccel", package)
    _patching.set_value(changes, modules, "wsaccel.xormask", xormask)
    _patching.set_value(changes, modules, "wsaccel.utf8validator", utf8validator)
    return ["sys.modules['wsaccel']", "sys.modules['wsaccel.xormask']",
            "sys.modules['wsaccel.utf8validator']"]  # fmt: skip


#: Canonical library name -> its patcher.
PATCHERS: dict[str, _patching.Patcher] = {
    "wsaccel": _register_as_wsaccel,
    "websocket-client": _patching.module_patcher(
        "websocket-client", _patching.websocket_client_values, served
    ),
    "autobahn": _patching.module_patcher("autobahn", _patching.autobahn_values, served),
}
