"""Fixtures for the sans-IO protocol tests.

``frames_impl`` runs a test against both twins of the frame hot path: the module-level names that
``wsfast.connection`` and its per-message core (``wsfast._core`` or ``wsfast._core_py``) took
from ``wsfast.frames`` are swapped for the chosen twin's for the duration of the test.
``pair(...)`` (``protocol_helpers.open_pair``) makes a client and a server connection
that completed the opening handshake in memory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from protocol_helpers import open_pair

from wsfast import _speedups
from wsfast import connection as connection_module
from wsfast.connection import ClientConnection, ServerConnection

_FRAME_NAMES = {
    "_FrameParser": "FrameParser",
    "_build_frame": "build_frame",
    "_build_frame_parts": "build_frame_parts",
    "_parse_close": "parse_close",
    "_build_close_payload": "build_close_payload",
}


def _load_frames(kind: str) -> ModuleType:
    # Same rules as tests/conftest.py's load_twin: compiled skipped under WSFAST_NO_EXTENSIONS=1,
    # an error when WSFAST_REQUIRE_EXTENSIONS=1 and it is missing.
    if kind == "python":
        return importlib.import_module("wsfast._frames_py")
    if _speedups.NO_EXTENSIONS:
        pytest.skip("WSFAST_NO_EXTENSIONS=1: compiled twin not under test")
    try:
        return importlib.import_module("wsfast._frames")
    except ImportError:
        if _speedups.REQUIRE_EXTENSIONS:
            raise
        pytest.skip("wsfast._frames is not compiled in this build")


@pytest.fixture(params=["compiled", "python"])
def frames_impl(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """Each test that uses it runs with the compiled frame parser and with its twin."""
    module = _load_frames(request.param)
    core_module = _speedups.load("core")  # the core wsfast.connection is built on
    saved = {name: getattr(connection_module, name) for name in _FRAME_NAMES}
    saved_core_build = core_module.build_frame
    for name, source in _FRAME_NAMES.items():
        setattr(connection_module, name, getattr(module, source))
    core_module.build_frame = module.build_frame
    try:
        yield module
    finally:
        for name, value in saved.items():
            setattr(connection_module, name, value)
        core_module.build_frame = saved_core_build


@pytest.fixture
def pair(frames_impl: ModuleType) -> Callable[..., tuple[ClientConnection, ServerConnection]]:
    """``pair(**options)``: an open client/server pair, over both frame-parser twins."""
    return open_pair
