"""Both implementations of each hot path, for tests: ``twin_fixture("mask")`` makes a fixture that
yields ``wsfast._mask`` (compiled) and ``wsfast._mask_py`` (pure Python); ``connection_build(kind)``
gives the sans-IO layer built either way (``wsfast.connection`` is one source compiled as it is).

Import it as ``from twins import load_twin, twin_fixture`` (a module name of its own, so that it
never collides with the ``conftest`` modules of test subfolders). The compiled parameter is skipped
under WSFAST_NO_EXTENSIONS=1, and is an error (not a skip) when WSFAST_REQUIRE_EXTENSIONS=1 and the
module is missing, so CI cannot pass on the Python code alone.
"""

from __future__ import annotations

import functools
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


#: The frame functions ``wsfast.connection`` takes from ``wsfast.frames``.
FRAME_NAMES = (
    "FrameParser",
    "build_frame",
    "build_frame_parts",
    "parse_close",
    "build_close_payload",
)


@functools.cache
def _python_connection() -> ModuleType:
    # The source file of wsfast.connection, executed as a module of its own, on the pure-Python
    # frame twin: what WSFAST_NO_EXTENSIONS=1 runs, beside the compiled build in one process.
    module = _speedups.load_source("wsfast.connection", "wsfast._connection_python_build")
    frames = importlib.import_module("wsfast._frames_py")
    for name in FRAME_NAMES:
        setattr(module, name, getattr(frames, name))
    return module


def connection_build(kind: str) -> ModuleType:
    """The ``kind`` ("compiled" or "python") build of :mod:`wsfast.connection`, on the frame
    twin of the same kind. Under WSFAST_NO_EXTENSIONS=1, ``wsfast.connection`` itself is the
    Python build."""
    if kind == "python":
        if _speedups.NO_EXTENSIONS:
            return importlib.import_module("wsfast.connection")
        return _python_connection()
    load_twin("frames", "compiled")  # skips or errors as for the other hot paths
    module = importlib.import_module("wsfast.connection")
    if _speedups.loaded.get("wsfast.connection") != "compiled":
        if _speedups.REQUIRE_EXTENSIONS:
            raise ImportError("wsfast.connection is not compiled")
        pytest.skip("wsfast.connection is not compiled in this build")
    return module
