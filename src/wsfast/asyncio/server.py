"""The asyncio WebSocket server: :func:`serve`."""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import Any, cast

from ..connection import ServerConnection, State
from ..events import Request
from ..exceptions import ConnectionClosed
from ..extensions import PerMessageDeflate
from ..handshake import OriginPolicy
from .connection import WebSocket

__all__ = ["Server", "ServerWebSocket", "default_server_compression", "serve"]

logger = logging.getLogger("wsfast.server")

Handler = Callable[["ServerWebSocket"], Awaitable[Any]]
#: ``process_request(ws, request)`` returns None to go on with the handshake, or a
#: ``(status, headers, body)`` to answer with instead (e.g. a health check, a 401). May be async.
ProcessRequest = Callable[["ServerWebSocket", Request], Any]


def default_server_compression() -> PerMessageDeflate:
    """The permessage-deflate settings :func:`serve` uses by default: a 4 KiB window (12 bits)
    for our compressor and, when the client lets us choose, for its compressor too, and zlib
    ``mem_level`` 5: about a tenth of zlib's default memory per connection, for a compression
    ratio close to the default one on typical messages."""
    return PerMessageDeflate(server_max_window_bits=12, client_max_window_bits=12, mem_level=5)


def _compression(value: Any, default: Callable[[], PerMessageDeflate]) -> Any:
    if value == "deflate" or value is True:
        return default()
    if value is None or value is False:
        return None
    if isinstance(value, PerMessageDeflate):
        return value
    raise TypeError(f"compression must be 'deflate', None or a PerMessageDeflate, not {value!r}")


class ServerWebSocket(WebSocket):
    """The server side of a connection, handed to the handler of :func:`serve`.

    ``ws.request`` is the opening handshake's :class:`wsfast.events.Request` (``path``,
    ``headers``, ``origin``, ``subprotocols`` ...); ``ws.server`` the :class:`Server`.
    """

    __slots__ = ("_open_timer",)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        server: Server = self.server
        server._connections.add(self)
        timeout = server.open_timeout
        self._open_timer: asyncio.TimerHandle | None = (
            self._loop.call_later(timeout, self._open_timed_out) if timeout is not None else None
        )

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if self._conn.state is State.CONNECTING:
            self.abort()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        super().connection_lost(exc)

    def _handshake_event(self, event: Any) -> None:
        if type(event) is not Request:
            return  # HandshakeFailed: the error response is queued, the transport closes
        self.request = event
        server: Server = self.server
        if server._closing:
            cast(ServerConnection, self._conn).reject(503, body="server shutting down\n")
            return
        if server.process_request is None:
            self._accept()
        self.handler_task = self._loop.create_task(self._run())

    def _accept(self) -> None:
        conn = cast(ServerConnection, self._conn)
        conn.accept()
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        self._opened()
        # Frames the client sent right after its request were parsed by accept().
        events = conn.events()
        if events:
            self._process_events(events)

    async def _process_request(self) -> bool:
        """Runs ``process_request``; True when the handshake goes on."""
        server: Server = self.server
        assert server.process_request is not None
        answer = server.process_request(self, self.request)
        if inspect.isawaitable(answer):
            answer = await answer
        if self._conn.state is not State.CONNECTING:
            return False  # lost meanwhile
        if answer is not None:
            status, headers, body = answer
            cast(ServerConnection, self._conn).reject(status, headers, body)
            self._flush()
            return False
        self._accept()
        self._flush()
        return True

    async def _run(self) -> None:
        server: Server = self.server
        try:
            if server.process_request is not None and not await self._process_request():
                return
            if self._conn.state is State.OPEN:
                await server.handler(self)
        except asyncio.CancelledError:
            self.abort()
            raise
        except ConnectionClosed:
            pass  # the handler let the end of the connection through: nothing went wrong here
        except Exception:
            if not self.closed:
                logger.exception("connection handler failed")
            # RFC 6455 §7.4.1: 1011, the server met an unexpected condition.
            self.fail(1011, "internal error")
        finally:
            if self._conn.state is State.CONNECTING:
                self.abort()
        await self.close()


class Server:
    """A running WebSocket server (what :func:`serve` returns).

    ``close()`` stops accepting connections and closes every connection with 1001 (going away);
    ``await wait_closed()`` waits until they are all closed and their handlers returned (a
    handler still running ``close_timeout`` seconds after its connection closed is cancelled).
    ``async with`` does both on exit.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        process_request: ProcessRequest | None,
        open_timeout: float | None,
        close_timeout: float | None,
        connection_options: dict[str, Any],
        websocket_options: dict[str, Any],
    ) -> None:
        self.handler = handler
        self.process_request = process_request
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self._connection_options = connection_options
        self._websocket_options = websocket_options
        self._connections: set[WebSocket] = set()
        self._server: asyncio.Server | None = None
        self._closing = False
        self._closed_waiter: asyncio.Future[None] | None = None

    # --- connections ----------------------------------------------------------------------

    def _protocol_factory(self) -> ServerWebSocket:
        ws = ServerWebSocket(
            ServerConnection(**self._connection_options),
            close_timeout=self.close_timeout,
            **self._websocket_options,
        )
        ws.server = self
        return ws

    def _connection_lost(self, ws: WebSocket) -> None:
        self._connections.discard(ws)

    @property
    def connections(self) -> set[ServerWebSocket]:
        """The connections currently open (or opening, or closing)."""
        return cast(set[ServerWebSocket], set(self._connections))

    @property
    def sockets(self) -> Sequence[socket.socket]:
        """The listening sockets."""
        return self._server.sockets if self._server is not None else ()

    @property
    def port(self) -> int:
        """The port of the first listening socket (handy with ``port=0``)."""
        return int(self.sockets[0].getsockname()[1])

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, create: Callable[..., Awaitable[asyncio.Server]]) -> Server:
        self._server = await create(self._protocol_factory)
        return self

    async def serve_forever(self) -> None:
        """Serves until cancelled (then closes like ``close()`` + ``wait_closed()``)."""
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            self.close()
            await self.wait_closed()

    def close(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stops listening and starts closing every connection with ``code`` (1001 going away,
        RFC 6455 §7.4.1). Returns at once; ``await wait_closed()`` waits for the end."""
        if self._closing:
            return
        self._closing = True
        if self._server is not None:
            self._server.close()
        for ws in list(self._connections):
            if ws._conn.state is State.CONNECTING:
                ws.abort()
            elif ws._conn.state is State.OPEN:
                ws._conn.send_close(code, reason)
                ws._flush()
                ws._start_close_timer()

    async def wait_closed(self) -> None:
        """Waits until the server is closed, every connection closed and every handler done."""
        if not self._closing:
            raise RuntimeError("call close() before wait_closed()")
        connections = list(self._connections)
        if connections:
            await asyncio.gather(*(ws.wait_closed() for ws in connections))
        tasks = [ws.handler_task for ws in connections if ws.handler_task is not None]
        tasks = [task for task in tasks if not task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.close_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()


class serve:
    """Starts a WebSocket server: ``server = await serve(handler, host, port)`` or
    ``async with serve(handler, host, port) as server: ...``.

    ``handler(ws)`` is a coroutine run for each connection once the handshake is accepted; the
    connection is closed (1000) when it returns, failed with 1011 if it raises.

    - ``origins``: Origin policy (RFC 6455 §10.2): None (any), an iterable of allowed origins
      (None in it allows requests without Origin), or a callable ``origin -> bool``; a refused
      origin gets 403.
    - ``subprotocols``: supported subprotocols, in order of preference.
    - ``process_request(ws, request)``: see :data:`ProcessRequest`.
    - ``compression``: ``"deflate"`` (default: :func:`default_server_compression`), None, or a
      :class:`~wsfast.extensions.PerMessageDeflate`.
    - ``max_message_size`` (1 MiB; None: no limit), ``max_queue`` (messages held before
      reading pauses; 16), ``write_limit`` (transport buffer above which ``send`` waits; 64 KiB).
    - ``ping_interval`` / ``ping_timeout`` (20 s / 20 s; None disables): keepalive.
    - ``open_timeout`` (10 s): time allowed for the opening handshake; ``close_timeout`` (10 s).
    - ``ssl``: an ``ssl.SSLContext`` to serve ``wss://``. ``sock``, ``reuse_port``,
      ``backlog`` and other keyword arguments go to ``loop.create_server``.
    """

    def __init__(
        self,
        handler: Handler,
        host: str | Sequence[str] | None = None,
        port: int | None = None,
        *,
        origins: OriginPolicy = None,
        subprotocols: Iterable[str] = (),
        process_request: ProcessRequest | None = None,
        compression: Any = "deflate",
        max_message_size: int | None = 1 << 20,
        max_queue: int | None = 16,
        write_limit: int = 64 * 1024,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float | None = 10.0,
        close_timeout: float | None = 10.0,
        ssl: Any = None,
        backlog: int = 1024,
        **create_server_options: Any,
    ) -> None:
        self._server = Server(
            handler,
            process_request=process_request,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            connection_options={
                "origins": origins,
                "subprotocols": tuple(subprotocols),
                "compression": _compression(compression, default_server_compression),
                "max_message_size": max_message_size,
            },
            websocket_options={
                "max_queue": max_queue,
                "write_limit": write_limit,
                "ping_interval": ping_interval,
                "ping_timeout": ping_timeout,
            },
        )
        self._host = host
        self._port = port
        self._ssl = ssl
        self._backlog = backlog
        self._options = create_server_options

    async def _start(self) -> Server:
        loop = asyncio.get_running_loop()

        def create(factory: Callable[[], ServerWebSocket]) -> Awaitable[asyncio.Server]:
            return loop.create_server(
                factory,
                self._host,
                self._port,
                ssl=self._ssl,
                backlog=self._backlog,
                **self._options,
            )

        return await self._server.start(create)

    def __await__(self) -> Generator[Any, None, Server]:
        return self._start().__await__()

    async def __aenter__(self) -> Server:
        return await self._start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self._server.__aexit__(*exc_info)
