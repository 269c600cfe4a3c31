"""Both implementations of each hot path, for tests: ``twin_fixture("mask")`` makes a fixture that
yields ``wsfast._mask`` (compiled) and ``wsfast._mask_py`` (pure Python); ``connection_build(kind)``
gives the sans-IO layer built either way (``wsfast.connection`` is one source compiled as it is).

Import it as ``from twins import load_twin, twin_fixture`` (a module name of its own, so that it
never collides with the ``conftest`` modules of test subfolders). The compiled parameter is skipped
under WSFAST_NO_EXTENSIONS=1, and is an error (not a skip) when WSFAST_REQUIRE_EXTENSIONS=1 and the
module is missing, so CI cannot pass on the Python code alone.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from wsfast import _speedups


def load_twin(name: str, kind: str) -> ModuleType:
    """Imports the ``kind`` ("compiled" or "python") implementation of hot path ``name``."""
    if kind == "python":
        return importlib.import_module(f"wsfast._{name}_py")
    if _speedups.NO_EXTENSIONS:
        pytest.skip("WSFAST_NO_EXTENSIONS=1: compiled twin not under test")
    try:
        return importlib.import_module(f"wsfast._{name}")
    except ImportError:
        if _speedups.REQUIRE_EXTENSIONS:
            raise
        pytest.skip(f"wsfast._{name} is not compiled in this build")


def twin_fixture(name: str):  # type: ignore[no-untyped-def]
    """Makes a module-scoped fixture parametrised over both implementations of ``name``."""

    @pytest.fixture(params=["compiled", "python"], scope="module")
    def fixture(request: pytest.FixtureRequest) -> ModuleType:
        return load_twin(name, request.param)

    return fixture


def one_source_build(fullname: str, kind: str) -> ModuleType:
    """The ``kind`` ("compiled" or "python") build of one-source module ``fullname`` (see
    ``wsfast._speedups.ONE_SOURCE``); the Python build runs on the Python twins of the hot paths.
    The compiled build is skipped under WSFAST_NO_EXTENSIONS=1, and is an error when it is
    missing under WSFAST_REQUIRE_EXTENSIONS=1, as for the other hot paths."""
    if kind == "python":
        return _speedups.python_build(fullname)
    if _speedups.NO_EXTENSIONS:
        pytest.skip("WSFAST_NO_EXTENSIONS=1: compiled build not under test")
    module = importlib.import_module(fullname)
    if _speedups.loaded.get(fullname) != "compiled":
        if _speedups.REQUIRE_EXTENSIONS:
            raise ImportError(f"{fullname} is not compiled")
        pytest.skip(f"{fullname} is not compiled in this build")
    return module


def connection_build(kind: str) -> ModuleType:
    """The ``kind`` build of :mod:`wsfast.connection`, on the frame twin of the same kind."""
    return one_source_build("wsfast.connection", kind)
