"""The loopback echo benchmark (``wsfast.bench.echo``, ``wsfast.bench.loopback``): one fixed client
for every server, one write per message, every echo counted, the server's CPU time read."""

from __future__ import annotations

import asyncio
import importlib.util
import os

import pytest

from wsfast.bench import echo, echo_server, loopback
from wsfast.bench.core import Skip

TEST_TIMEOUT = 60


def test_reply_size_follows_the_frame_header_lengths() -> None:
    # RFC 6455 §5.2: 7-bit length up to 125, 16-bit up to 65535, 64-bit beyond; unmasked replies.
    assert loopback.reply_size(125) == 127
    assert loopback.reply_size(126) == 130
    assert loopback.reply_size(65535) == 65539
    assert loopback.reply_size(65536) == 65546
    # A TCP echo sends back the masked request itself.
    assert loopback.reply_size(256, websocket=False) == 256 + 4 + 4


def test_process_cpu_ns_counts_this_process() -> None:
    before = loopback.process_cpu_ns(os.getpid())
    sum(i * i for i in range(200_000))
    assert loopback.process_cpu_ns(os.getpid()) > before > 0


def test_tcp_reference_reads_the_cheapest_way_of_each_loop() -> None:
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


def test_every_family_is_served_to_the_same_client() -> None:
    found = echo.workloads(loops=(False,))
    groups = {w.group for w in found}
    assert groups == {
        f"echo-{style}-{mode}-asyncio" for style in echo.FAMILIES for mode in loopback.MODES
    }
    for workload in found:
        names = [case.name for case in workload.cases]
        kinds = {case.name: case.kind for case in workload.cases}
        # One headline wsfast row, its direct peers, and the TCP echo as a reference, not a floor.
        assert [n for n in names if kinds[n] == "wsfast"] == (
            ["wsfast"] if "coroutine" in workload.group else ["wsfast on_message"]
        )
        assert kinds["tcp echo (reference)"] == "reference"
        assert "limit" not in kinds.values()
        if "coroutine" in workload.group:
            assert {"picows.websockets", "websockets", "aiohttp"} <= set(names)
        else:
            assert "picows" in names
        assert workload.items_per_call > 0 and "slow" in workload.tags


class _CountingTransport:
    """Wraps a transport to count the writes: the fixed client never merges messages."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()


LIBRARIES = ["tcp", "wsfast", "wsfast-callback"] + [
    name
    for name, module in (("picows-websockets", "picows.websockets"), ("picows", "picows"))
    if importlib.util.find_spec(module.split(".")[0]) is not None
]


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
@pytest.mark.parametrize("library", LIBRARIES)
def test_fixed_client_against_each_server(library: str, use_uvloop: bool) -> None:
    if use_uvloop:
        pytest.importorskip("uvloop")
    try:
        server = loopback.EchoServer(library, uvloop=use_uvloop)
    except Skip as exc:  # pragma: no cover - the server did not start
        pytest.fail(str(exc))
    loop = loopback.new_loop(use_uvloop)
    websocket = library != "tcp"
    client = loopback.FixedClient(websocket)
    try:
        loop.run_until_complete(asyncio.wait_for(client.open(server.port), TEST_TIMEOUT))
        counting = _CountingTransport(client.transport)  # type: ignore[arg-type]
        client.transport = counting  # type: ignore[assignment]
        cpu_before = server.cpu_ns()
        for mode in loopback.MODES:
            for size in (256, 70_000):
                frame = loopback.request_frame(size)
                reply = loopback.reply_size(size, websocket)
                counting.writes = 0
                loop.run_until_complete(
                    asyncio.wait_for(client.exchange(mode, frame, 150, reply), TEST_TIMEOUT)
                )
                # Every echo came back, nothing more; one write per message.
                assert client._got == 150 * reply
                assert counting.writes == 150
        assert server.cpu_ns() > cpu_before
    finally:
        loop.run_until_complete(client.close())
        loop.close()
        server.close()


def test_echo_case_reports_the_server_cpu() -> None:
    pool = loopback.ServerPool()
    case = loopback.echo_case(
        "wsfast", "wsfast", "wsfast", "pipelined", 256, 50, uvloop=False, pool=pool
    )
    run = case.setup()
    try:
        before = run.counters()["server_cpu_ns"]  # type: ignore[attr-defined]
        run()
        assert run.counters()["server_cpu_ns"] > before  # type: ignore[attr-defined]
    finally:
        run.close()  # type: ignore[attr-defined]
        pool.close_all()
