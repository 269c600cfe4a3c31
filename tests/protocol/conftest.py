"""Fixtures for the sans-IO protocol tests.

``frames_impl`` runs a test against both builds of the sans-IO layer: ``wsfast.connection``
compiled on the compiled frame parser, and its source run as Python on the pure-Python frame twin
(see ``twins.connection_build``); it yields the frames module of that build. ``pair(...)``
(``protocol_helpers.open_pair``) makes a client and a server connection of the same build that
completed the opening handshake in memory.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from protocol_helpers import open_pair

from twins import connection_build, one_source_build
from wsfast.connection import ClientConnection, ServerConnection


@pytest.fixture(params=["compiled", "python"])
def connection_impl(request: pytest.FixtureRequest) -> ModuleType:
    """The sans-IO layer, compiled and as Python."""
    return connection_build(request.param)


@pytest.fixture(params=["compiled", "python"], scope="module")
def codec_class(request: pytest.FixtureRequest) -> type:
    """The permessage-deflate codec (``wsfast._deflate_codec.DeflateCodec``), compiled and as
    Python (module-scoped, so that hypothesis tests may take it)."""
    return one_source_build("wsfast._deflate_codec", request.param).DeflateCodec  # type: ignore[no-any-return]


@pytest.fixture
def frames_impl(connection_impl: ModuleType) -> Iterator[ModuleType]:
    """The frames module the build of ``connection_impl`` runs on."""
    yield importlib.import_module(connection_impl.FrameParser.__module__)


@pytest.fixture
def pair(
    connection_impl: ModuleType, frames_impl: ModuleType
) -> Callable[..., tuple[ClientConnection, ServerConnection]]:
    """``pair(**options)``: an open client/server pair, over both builds."""
    return functools.partial(open_pair, module=connection_impl)
