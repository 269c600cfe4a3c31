"""What the asyncio protocol writes to its transport, on both builds of
``wsfast.asyncio.connection`` (compiled, and its source run as Python): one write for one frame,
a burst of small frames joined into one write at the end of the loop step, a server's large
payload written without a copy where ``writelines()`` is vectored and joined with its header
elsewhere, large payloads alone beyond the join limit.

How frames are cut into pieces is tested with the sans-IO layer (``tests/protocol``); these tests
drive a server WebSocket over a fake transport that records the calls.
"""

from __future__ import annotations

import asyncio
import sys
from types import ModuleType
from typing import Any

import pytest

from twins import one_source_build
from wsfast.connection import ServerConnection

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture(params=["compiled", "python"], scope="module")
def build(request: pytest.FixtureRequest) -> ModuleType:
    return one_source_build("wsfast.asyncio.connection", request.param)


class FakeTransport:
    """Records the calls a protocol makes to write."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def is_closing(self) -> bool:
        return False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, pieces: Any) -> None:
        self.calls.append(("writelines", list(pieces)))

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return None


async def open_server(build: ModuleType, vectored: bool) -> tuple[Any, FakeTransport]:
    conn = ServerConnection(compression=None)
    conn.receive_data(REQUEST)
    conn.events()
    conn.accept()
    ws = build.WebSocket(conn, ping_interval=None)
    transport = FakeTransport()
    ws.connection_made(transport)
    ws._vectored_writes = vectored
    transport.calls.clear()  # the 101 response
    return ws, transport


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_one_frame_is_one_write(build: ModuleType) -> None:
    async def main() -> None:
        ws, transport = await open_server(build, vectored=False)
        await ws.send(b"abc")
        assert transport.calls == [("write", b"\x82\x03abc")]

    run(main())


@pytest.mark.parametrize("vectored", [False, True])
def test_a_burst_of_small_frames_is_one_write_at_the_end_of_the_step(
    build: ModuleType, vectored: bool
) -> None:
    async def main() -> None:
        ws, transport = await open_server(build, vectored=vectored)
        for _ in range(3):
            ws.send_nowait(b"x")
        assert transport.calls == []
        await asyncio.sleep(0)
        if vectored:  # one system call either way
            assert transport.calls == [("writelines", [b"\x82\x01x"] * 3)]
        else:
            assert transport.calls == [("write", b"\x82\x01x" * 3)]

    run(main())


def test_a_large_payload_goes_out_uncopied_where_writelines_is_vectored(
    build: ModuleType,
) -> None:
    async def main() -> None:
        ws, transport = await open_server(build, vectored=True)
        payload = bytes(64 * 1024)
        await ws.send(payload)
        [(kind, pieces)] = transport.calls
        assert kind == "writelines"
        assert bytes(pieces[0]) == b"\x82\x7f" + (64 * 1024).to_bytes(8, "big")
        assert pieces[1] is payload

    run(main())


def test_elsewhere_header_and_payload_are_joined_into_one_write(build: ModuleType) -> None:
    # A frame header alone in a write would leave in a TCP segment of its own.
    async def main() -> None:
        ws, transport = await open_server(build, vectored=False)
        payload = bytes(64 * 1024)
        await ws.send(payload)
        assert transport.calls == [
            ("write", b"\x82\x7f" + (64 * 1024).to_bytes(8, "big") + payload)
        ]

    run(main())


def test_beyond_the_join_limit_large_payloads_are_written_alone(build: ModuleType) -> None:
    async def main() -> None:
        ws, transport = await open_server(build, vectored=False)
        ws.send_nowait(b"s")  # pending until the end of the step
        payload = bytes(build.JOIN_LIMIT)
        await ws.send(payload)
        header = b"\x82\x7f" + len(payload).to_bytes(8, "big")
        assert transport.calls == [("write", b"\x82\x01s" + header), ("write", payload)]

    run(main())


def test_writelines_is_used_only_where_it_pauses_the_protocol(build: ModuleType) -> None:
    class _SelectorSocketTransport:
        pass

    expected = sys.version_info[:3] >= (3, 13, 2) or (3, 12, 9) <= sys.version_info[:3] < (3, 13)
    assert build._writes_vectored(_SelectorSocketTransport()) is expected
    assert build._writes_vectored(FakeTransport()) is False
