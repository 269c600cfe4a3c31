"""The loopback echo benchmark's clients (``wsfast.bench.echo``): each pattern keeps the number
of messages in flight it claims, and every library's exchange completes against its own server
subprocess."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from wsfast.bench import echo, echo_server
from wsfast.bench.core import Skip

TEST_TIMEOUT = 60


class _Outstanding:
    """Counts messages sent and not yet echoed; the echo comes back one loop step later."""

    def __init__(self) -> None:
        self.sent = 0
        self.outstanding = 0
        self.most = 0

    def sent_one(self) -> None:
        self.sent += 1
        self.outstanding += 1
        self.most = max(self.most, self.outstanding)


class _FakeCallbackClient(echo._CallbackClient):
    def __init__(self) -> None:
        super().__init__()
        self.count = _Outstanding()

    def _send(self, message: bytes) -> None:
        self.count.sent_one()
        asyncio.get_running_loop().call_soon(self._echo)

    def _echo(self) -> None:
        self.count.outstanding -= 1
        self._on_echo()


class _FakeAsyncClient(echo._AsyncClient):
    def __init__(self) -> None:
        self.count = _Outstanding()
        self.echoes: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, message: bytes) -> None:
        self.count.sent_one()
        asyncio.get_running_loop().call_soon(self.echoes.put_nowait, message)

    async def recv(self) -> Any:
        message = await self.echoes.get()
        self.count.outstanding -= 1
        return message


EXPECTED_MOST = {"rr": 1, "window": echo.WINDOW, "pipelined": 500}


@pytest.mark.parametrize("mode", echo.MODES)
@pytest.mark.parametrize("client_class", [_FakeCallbackClient, _FakeAsyncClient])
def test_pattern_keeps_its_messages_in_flight(client_class: Any, mode: str) -> None:
    client = client_class()

    async def main() -> None:
        await asyncio.wait_for(client.exchange(mode, b"x", 500), TEST_TIMEOUT)

    asyncio.run(main())
    assert client.count.sent == 500
    assert client.count.outstanding == 0
    assert client.count.most == EXPECTED_MOST[mode]


def test_window_is_capped_by_the_message_count() -> None:
    assert echo._in_flight("window", 10) == 10
    assert echo._in_flight("window", 1000) == echo.WINDOW
    assert echo._in_flight("rr", 1000) == 1
    assert echo._in_flight("pipelined", 1000) == 1000


def test_tcp_limit_reads_the_cheapest_way_of_each_loop() -> None:
    # asyncio's selector loop: a preallocated buffer (a plain Protocol costs an mmap per read).
    loop = asyncio.new_event_loop()
    try:
        assert echo_server.buffered_reads(loop)
    finally:
        loop.close()
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    try:
        assert not echo_server.buffered_reads(loop)
    finally:
        loop.close()


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
@pytest.mark.parametrize("library", ["tcp", "wsfast", "wsfast-callback"])
def test_exchange_against_the_server_subprocess(library: str, use_uvloop: bool) -> None:
    if use_uvloop:
        pytest.importorskip("uvloop")
    try:
        session = echo.Session(library, uvloop=use_uvloop)
    except Skip as exc:  # pragma: no cover - the server did not start
        pytest.fail(str(exc))
    try:
        for mode in echo.MODES:
            for size in (256, 70_000):
                message = os.urandom(size)
                session.loop.run_until_complete(
                    asyncio.wait_for(session.client.exchange(mode, message, 150), TEST_TIMEOUT)
                )
                if library == "tcp":
                    # The plain TCP client counts bytes: every echo came back, nothing more.
                    assert session.client._got == 150 * size
        assert session.server.cpu_ns() > 0
    finally:
        session.close()
