"""Chooses, once at import, between the compiled hot paths and their pure-Python implementations.

Two kinds of modules are compiled:

- **Twins** — ``wsfast._NAME`` (Cython/C, pointer-level code and SIMD kernels) and its pure-Python
  twin ``wsfast._NAME_py`` with the same interface: :func:`load` picks one.
- **One source** — the modules in :data:`ONE_SOURCE` are plain Python files that the build also
  compiles with Cython (pure-Python mode, types in a ``.pxd`` beside them). Python imports the
  compiled module when it is there, as for any extension module; with ``WSFAST_NO_EXTENSIONS=1``
  the finder installed below imports the ``.py`` file instead.

``WSFAST_NO_EXTENSIONS=1`` forces the pure-Python code, and ``WSFAST_REQUIRE_EXTENSIONS=1`` turns a
missing compiled module into an ImportError (CI sets it so a broken build cannot pass silently on
the pure-Python code).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = [
    "NO_EXTENSIONS",
    "ONE_SOURCE",
    "REQUIRE_EXTENSIONS",
    "implementation",
    "load",
    "load_source",
    "loaded",
    "python_build",
]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _env_flag("WSFAST_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _env_flag("WSFAST_REQUIRE_EXTENSIONS") and not NO_EXTENSIONS

#: Modules written once in Python and also compiled from that same file.
ONE_SOURCE = ("wsfast._deflate_codec", "wsfast.connection", "wsfast.asyncio.connection")

#: module -> "compiled" or "python", for every compiled-or-not module loaded so far.
loaded: dict[str, str] = {}


def load(name: str) -> ModuleType:
    """Returns the compiled twin ``wsfast._<name>``, or its Python twin ``wsfast._<name>_py``."""
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


def _source_spec(
    fullname: str, path: Sequence[str] | None, as_name: str | None = None
) -> importlib.machinery.ModuleSpec:
    leaf = fullname.rpartition(".")[2]
    for folder in path or ():
        source = os.path.join(folder, f"{leaf}.py")
        if os.path.exists(source):
            spec = importlib.util.spec_from_file_location(as_name or fullname, source)
            assert spec is not None
            return spec
    raise ImportError(f"no source file for {fullname}")


def load_source(fullname: str, as_name: str | None = None) -> ModuleType:
    """Executes the ``.py`` file of one-source module ``fullname`` as a new module (named
    ``as_name``, default ``fullname``), whether or not a compiled build of it exists: the
    pure-Python implementation, for tests that compare the two builds in one process."""
    package = importlib.import_module(fullname.rpartition(".")[0])
    spec = _source_spec(fullname, getattr(package, "__path__", None), as_name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        assert spec.loader is not None
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module


_python_builds: dict[str, ModuleType] = {}


def python_build(fullname: str) -> ModuleType:
    """The pure-Python build of one-source module ``fullname``, beside the compiled one: its source
    executed as a module of its own, with every name it took from a compiled twin
    (``wsfast._frames``...) taken from the Python twin instead (``wsfast._frames_py``). This is
    what ``WSFAST_NO_EXTENSIONS=1`` runs, for tests and benchmarks that compare both builds in one
    process. Built once."""
    module = _python_builds.get(fullname)
    if module is not None:
        return module
    if NO_EXTENSIONS:
        module = importlib.import_module(fullname)
    else:
        module = load_source(fullname, f"{fullname}__python_build")
        for name, value in list(vars(module).items()):
            origin = getattr(value, "__module__", None)
            if (
                isinstance(origin, str)
                and origin.startswith("wsfast._")
                and loaded.get(origin[len("wsfast._") :]) == "compiled"
            ):
                twin = importlib.import_module(f"{origin}_py")
                setattr(module, name, getattr(twin, value.__name__))
    _python_builds[fullname] = module
    return module


class _OneSourceFinder:
    """Finds the modules of :data:`ONE_SOURCE`: their ``.py`` file under
    ``WSFAST_NO_EXTENSIONS=1``; under ``WSFAST_REQUIRE_EXTENSIONS=1``, only their compiled build.
    Records which one was found in :data:`loaded`."""

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in ONE_SOURCE:
            return None
        if NO_EXTENSIONS:
            loaded[fullname] = "python"
            return _source_spec(fullname, path)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        compiled = spec is not None and isinstance(
            spec.loader, importlib.machinery.ExtensionFileLoader
        )
        if not compiled and REQUIRE_EXTENSIONS:
            raise ImportError(f"{fullname} is not compiled (WSFAST_REQUIRE_EXTENSIONS=1)")
        loaded[fullname] = "compiled" if compiled else "python"
        return spec


if not any(isinstance(finder, _OneSourceFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _OneSourceFinder())


def implementation() -> str:
    """``"compiled"`` if every module loaded so far is compiled, ``"python"`` if none is,
    ``"mixed"`` otherwise (a partial build)."""
    kinds = set(loaded.values())
    if kinds == {"compiled"}:
        return "compiled"
    if kinds <= {"python"}:
        return "python"
    return "mixed"
