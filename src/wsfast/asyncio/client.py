"""The asyncio WebSocket client: :func:`connect`."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Generator, Iterable, Sequence
from typing import Any

from ..connection import ClientConnection
from ..events import Accepted, HandshakeFailed, Rejected
from ..exceptions import InvalidHandshake, InvalidStatus
from ..extensions import PerMessageDeflate
from ..handshake import parse_uri
from ..http11 import Headers
from .connection import WebSocket, wait_for_open
from .server import _compression

__all__ = ["ClientWebSocket", "connect"]


class ClientWebSocket(WebSocket):
    """The client side of a connection, as returned by :func:`connect`.

    ``ws.response`` is the server's :class:`wsfast.events.Accepted` (``headers``,
    ``subprotocol``, ``extensions``).
    """

    __slots__ = ("_handshake_error",)

    def _handshake_event(self, event: Any) -> None:
        kind = type(event)
        if kind is Accepted:
            self.response = event
            self._opened()
        elif kind is Rejected:
            self._handshake_error: InvalidHandshake | None = InvalidStatus(
                event.status, event.reason, event.headers, event.body
            )
        elif kind is HandshakeFailed:
            self._handshake_error = InvalidHandshake(f"invalid handshake response: {event.reason}")


class connect:
    """Opens a WebSocket connection: ``ws = await connect(uri)`` or
    ``async with connect(uri) as ws: ...`` (closed with 1000 on exit).

    - ``uri``: ``ws://`` or ``wss://`` (TLS with the default context unless ``ssl`` is given).
    - ``origin``, ``subprotocols`` (offered, in order of preference), ``additional_headers``
      (a dict, :class:`~wsfast.http11.Headers` or (name, value) pairs) go into the request.
    - ``compression``: ``"deflate"`` (default: offer permessage-deflate), None, or a
      :class:`~wsfast.extensions.PerMessageDeflate`.
    - ``max_message_size`` (1 MiB; None: no limit), ``max_queue`` (16), ``write_limit``
      (64 KiB), ``ping_interval`` / ``ping_timeout`` (20 s; None disables), ``open_timeout``
      (10 s, TCP + TLS + handshake), ``close_timeout`` (10 s).
    - ``ssl``, ``server_hostname``, ``sock``, ``host``/``port`` (connect there instead of the
      URI's host and port), and other keyword arguments go to ``loop.create_connection``.

    Raises :class:`~wsfast.asyncio.InvalidStatus` when the server answers with another status
    than 101, :class:`~wsfast.asyncio.InvalidHandshake` for an invalid response,
    ``TimeoutError`` after ``open_timeout``, ``OSError`` when the TCP connection fails.
    """

    def __init__(
        self,
        uri: str,
        *,
        origin: str | None = None,
        subprotocols: Sequence[str] = (),
        additional_headers: Iterable[tuple[str, str]] | Headers | dict[str, str] | None = None,
        compression: Any = "deflate",
        max_message_size: int | None = 1 << 20,
        max_queue: int | None = 16,
        write_limit: int = 64 * 1024,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float | None = 10.0,
        close_timeout: float | None = 10.0,
        ssl: Any = None,
        host: str | None = None,
        port: int | None = None,
        **create_connection_options: Any,
    ) -> None:
        self._uri = parse_uri(uri)
        self._connection_options: dict[str, Any] = {
            "origin": origin,
            "subprotocols": tuple(subprotocols or ()),
            "extra_headers": additional_headers if additional_headers is not None else (),
            "compression": _compression(compression, PerMessageDeflate),
            "max_message_size": max_message_size,
        }
        self._websocket_options: dict[str, Any] = {
            "max_queue": max_queue,
            "write_limit": write_limit,
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
            "close_timeout": close_timeout,
        }
        self._open_timeout = open_timeout
        if self._uri.secure and ssl is None:
            ssl = ssl_module.create_default_context()
        elif not self._uri.secure and ssl is not None:
            raise ValueError("ssl= given for a ws:// URI; use wss://")
        self._ssl = ssl
        self._host = host
        self._port = port
        self._options = create_connection_options
        self._ws: ClientWebSocket | None = None

    async def _open(self) -> ClientWebSocket:
        loop = asyncio.get_running_loop()
        uri = self._uri
        conn = ClientConnection(uri, **self._connection_options)

        def factory() -> ClientWebSocket:
            ws = ClientWebSocket(conn, **self._websocket_options)
            ws._handshake_error = None
            return ws

        options = dict(self._options)
        if self._ssl is not None:
            options.setdefault("server_hostname", uri.host)
        host: str | None
        port: int | None
        if "sock" in options:
            host = port = None
        else:
            host = self._host or uri.host
            port = self._port or uri.port

        async def establish() -> ClientWebSocket:
            _, ws = await loop.create_connection(
                factory,
                host,  # type: ignore[arg-type]  # None with sock=
                port,  # type: ignore[arg-type]
                ssl=self._ssl,
                **options,
            )
            try:
                await wait_for_open(ws, None)
            except BaseException:  # cancelled by the open timeout
                ws.abort()
                raise
            return ws

        task = asyncio.ensure_future(establish())
        try:
            ws = await asyncio.wait_for(task, self._open_timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"opening handshake with {uri.host}:{uri.port} timed out"
                f" after {self._open_timeout} s"
            ) from None
        if ws.response is None:  # no 101: the handshake failed
            ws.abort()
            error = ws._handshake_error
            if error is None:
                error = InvalidHandshake("connection closed during the opening handshake")
            raise error
        return ws

    def __await__(self) -> Generator[Any, None, ClientWebSocket]:
        return self._open().__await__()

    async def __aenter__(self) -> ClientWebSocket:
        self._ws = await self._open()
        return self._ws

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ws is not None:
            await self._ws.close()
