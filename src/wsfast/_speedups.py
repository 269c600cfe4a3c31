"""Chooses, once at import, between the compiled hot paths and their pure-Python twins.

Every hot path ``wsfast._NAME`` (Cython/C) has a twin ``wsfast._NAME_py`` with the same interface.
The compiled module is used when it imports; ``WSFAST_NO_EXTENSIONS=1`` forces the twins, and
``WSFAST_REQUIRE_EXTENSIONS=1`` turns a missing compiled module into an ImportError (CI sets it so a
broken build cannot pass silently on the pure-Python code).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["NO_EXTENSIONS", "REQUIRE_EXTENSIONS", "implementation", "load", "loaded"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _env_flag("WSFAST_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _env_flag("WSFAST_REQUIRE_EXTENSIONS") and not NO_EXTENSIONS

#: hot path name -> "compiled" or "python", for every hot path loaded so far.
loaded: dict[str, str] = {}


def load(name: str) -> ModuleType:
    """Returns the compiled ``wsfast._<name>``, or its twin ``wsfast._<name>_py``."""
    if not NO_EXTENSIONS:
        try:
            module = importlib.import_module(f"wsfast._{name}")
        except ImportError:
            if REQUIRE_EXTENSIONS:
                raise
        else:
            loaded[name] = "compiled"
            return module
    loaded[name] = "python"
    return importlib.import_module(f"wsfast._{name}_py")


def implementation() -> str:
    """``"compiled"`` if every hot path loaded so far is compiled, ``"python"`` if none is,
    ``"mixed"`` otherwise (a partial build)."""
    kinds = set(loaded.values())
    if kinds == {"compiled"}:
        return "compiled"
    if kinds <= {"python"}:
        return "python"
    return "mixed"
