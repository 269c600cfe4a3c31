"""The per-message core (``wsfast._core`` and its twin ``wsfast._core_py``): what each twin writes
to a transport.

The whole test suite exercises the core through ``wsfast.connection`` and ``wsfast.asyncio`` (on
the compiled core, and on the twin under WSFAST_NO_EXTENSIONS=1); the differential test in
``tests/hardening/test_differential.py`` compares the two on random streams. These tests reach
the twins directly, both in one run; how frames are cut into pieces is tested with the sans-IO
layer (``tests/protocol/test_connection.py``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from twins import twin_fixture

core_impl = twin_fixture("core")


class FakeTransport:
    """Records the calls a protocol makes to write."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def is_closing(self) -> bool:
        return False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, pieces: Any) -> None:
        self.calls.append(("writelines", [bytes(piece) for piece in pieces]))


def protocol(core: ModuleType, vectored: bool) -> tuple[Any, FakeTransport]:
    class Protocol(core.ProtocolCore):  # type: ignore[name-defined, misc]
        pass

    proto = Protocol()
    transport = FakeTransport()
    proto._transport = transport
    proto._pending = None
    proto._vectored_writes = vectored
    return proto, transport


def test_both_twins_have_the_same_interface(core_impl: ModuleType) -> None:
    from wsfast import _core_py

    for cls in ("ConnectionCore", "ProtocolCore"):
        twin = getattr(_core_py, cls)
        names = {name for name in dir(twin) if not name.startswith("__")}
        assert names <= set(dir(getattr(core_impl, cls))), cls
    for constant in ("SPLIT_WRITE_SIZE", "JOIN_LIMIT", "LARGE_PIECE", "MAX_PENDING_PIECES"):
        assert getattr(core_impl, constant) == getattr(_core_py, constant)


def test_one_piece_is_one_write(core_impl: ModuleType) -> None:
    proto, transport = protocol(core_impl, vectored=False)
    proto._write([b"abc"])
    assert transport.calls == [("write", b"abc")]
    assert proto._tx_seen


def test_pieces_are_joined_into_one_write_up_to_the_limit(core_impl: ModuleType) -> None:
    # A frame header alone in a write would leave in a TCP segment of its own.
    proto, transport = protocol(core_impl, vectored=False)
    header, payload = b"\x82\x7f" + bytes(8), bytes(core_impl.JOIN_LIMIT - 10)
    proto._write([header, payload])
    assert transport.calls == [("write", header + payload)]


def test_beyond_the_limit_large_payloads_are_written_alone(core_impl: ModuleType) -> None:
    proto, transport = protocol(core_impl, vectored=False)
    small, large = b"s" * 10, b"L" * core_impl.JOIN_LIMIT
    proto._write([small, small, large, small])
    assert transport.calls == [("write", small * 2), ("write", large), ("write", small)]


def test_vectored_transports_get_writelines(core_impl: ModuleType) -> None:
    proto, transport = protocol(core_impl, vectored=True)
    pieces = [b"h", bytes(core_impl.JOIN_LIMIT * 2)]
    proto._write(pieces)
    assert transport.calls == [("writelines", pieces)]


def test_pending_frames_go_first(core_impl: ModuleType) -> None:
    proto, transport = protocol(core_impl, vectored=False)
    proto._pending = [b"1", b"2"]
    proto._write([b"3"])
    assert transport.calls == [("write", b"123")]
    assert proto._pending is None
