"""Echo servers of every library, run as a subprocess by the loopback benchmarks.

``python -m wsfast.bench.echo_server LIBRARY [--uvloop] [--compression]`` listens on 127.0.0.1 on
an ephemeral port, prints ``PORT <n>`` and serves until stdin closes (so that it never outlives
the benchmark). LIBRARY is one of :data:`SERVERS`: ``wsfast`` (``async for message in ws``),
``wsfast-callback`` (``ws.on_message = ws.send_nowait``), ``websockets``, ``picows-websockets``
(picows 2.x's websockets-compatible ``picows.websockets``, on picows' compiled core),
``aiohttp``, ``picows`` (its ``WSListener`` callbacks), or ``tcp`` — a plain asyncio TCP echo
that does no WebSocket work at all: driven by the same client as the others, the floor of a
Python asyncio server on this machine.

Every server echoes each message as it is (text as text, binary as binary), with keepalive pings
off (``--ping-interval S`` turns them on for wsfast and websockets: wsfast frees an idle
connection's compressor on that clock) and message limits large enough for the benchmarks
(64 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["READ_BUFFER_SIZE", "SERVERS", "buffered_reads", "main", "run"]

MAX_SIZE = 64 * 1024 * 1024
HOST = "127.0.0.1"


async def _echo_each_message(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


async def _echo_from_read_callback(ws: Any) -> None:
    ws.on_message = ws.send_nowait  # each message is answered from the read callback
    await ws.wait_closed()


def _serve_like_websockets(
    module: str, handler: Callable[[Any], Awaitable[None]], max_size_option: str
) -> Callable[[bool, float | None], Awaitable[Any]]:
    """An echo server for a library whose ``serve(handler, host, port, compression=...,
    ping_interval=..., <max size>=...)`` follows websockets' (wsfast does)."""

    async def start(compression: bool, ping_interval: float | None) -> Any:
        serve = importlib.import_module(module).serve
        return await serve(
            handler,
            HOST,
            0,
            compression="deflate" if compression else None,
            ping_interval=ping_interval,
            **{max_size_option: MAX_SIZE},
        )

    return start


async def _aiohttp(compression: bool, ping_interval: float | None) -> Any:
    from aiohttp import WSMsgType, web

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse(compress=compression, max_msg_size=MAX_SIZE, autoping=True)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    return site._server  # the asyncio.Server, for its port


async def _picows(compression: bool, ping_interval: float | None) -> Any:
    if compression:
        raise SystemExit("picows has no permessage-deflate")
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):  # type: ignore[misc,unused-ignore]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            elif frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
                # The benchmarks send single-frame messages.
                transport.send(frame.msg_type, frame.get_payload_as_memoryview())

    return await ws_create_server(lambda request: Echo(), HOST, 0, max_frame_size=MAX_SIZE)


def buffered_reads(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the TCP echo (the limit) reads into a preallocated buffer on ``loop``, as the
    WebSocket libraries do. asyncio's selector loop gives a plain Protocol a new bytes object per
    read, allocated at 256 KiB: an mmap() and a munmap() per message, enough to put the "limit"
    below picows. uvloop reads into its own buffer and makes a bytes object of the size
    read, in C: cheaper there than the two Python calls of get_buffer() and buffer_updated()."""
    return not type(loop).__module__.startswith("uvloop")


#: The TCP echo's read buffer (the WebSocket libraries' own is 64 to 256 KiB).
READ_BUFFER_SIZE = 256 * 1024


async def _tcp(compression: bool, ping_interval: float | None) -> Any:
    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    class BufferedEcho(asyncio.BufferedProtocol):
        buffer = memoryview(bytearray(READ_BUFFER_SIZE))

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def get_buffer(self, sizehint: int) -> memoryview:
            return self.buffer

        def buffer_updated(self, nbytes: int) -> None:
            # A copy: a transport may keep what it could not send yet (3.12 keeps the view).
            self.transport.write(bytes(self.buffer[:nbytes]))

    loop = asyncio.get_running_loop()
    protocol = BufferedEcho if buffered_reads(loop) else Echo
    return await loop.create_server(protocol, HOST, 0)


#: Library name -> coroutine starting its echo server (returns an object with ``.sockets``).
SERVERS: dict[str, Callable[[bool, float | None], Awaitable[Any]]] = {
    "wsfast": _serve_like_websockets("wsfast.asyncio", _echo_each_message, "max_message_size"),
    "wsfast-callback": _serve_like_websockets(
        "wsfast.asyncio", _echo_from_read_callback, "max_message_size"
    ),
    "websockets": _serve_like_websockets(
        "websockets.asyncio.server", _echo_each_message, "max_size"
    ),
    "picows-websockets": _serve_like_websockets(
        "picows.websockets", _echo_each_message, "max_size"
    ),
    "aiohttp": _aiohttp,
    "picows": _picows,
    "tcp": _tcp,
}


def _trim_heap() -> None:
    """SIGUSR1: hand the C heap's free pages back to the system (glibc ``malloc_trim``), so that
    the resident memory read next counts what is in use, not what was freed but kept."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


async def _serve(library: str, compression: bool, ping_interval: float | None) -> None:
    server = await SERVERS[library](compression, ping_interval)
    port = server.sockets[0].getsockname()[1]
    if hasattr(signal, "SIGUSR1"):
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _trim_heap)
    print(f"PORT {port}", flush=True)
    # Serve until the benchmark closes our stdin (or dies).
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("library", choices=sorted(SERVERS))
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--compression", action="store_true", help="negotiate permessage-deflate")
    parser.add_argument(
        "--ping-interval", type=float, default=None, help="keepalive Pings (wsfast, websockets)"
    )
    args = parser.parse_args(argv)
    try:
        run(_serve(args.library, args.compression, args.ping_interval), args.uvloop)
    except KeyboardInterrupt:
        pass
    return 0


def run(coro: Any, use_uvloop: bool) -> Any:
    """``asyncio.run(coro)``, on uvloop when asked."""
    if use_uvloop:
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


if __name__ == "__main__":
    sys.exit(main())
