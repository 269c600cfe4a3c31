"""The HTTP/1.1 opening handshake of the wsproto-compatible API (``wsproto.handshake``).

Like wsproto, the HTTP messages are read and written by h11 (imported when a handshake starts),
so requests and responses are byte-for-byte what wsproto produces and accepts; only the frames
that follow go through wsfast's compiled core. RFC 6455 §4.1 (client) and §4.2 (server).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from .connection import Connection, ConnectionState, ConnectionType
from .events import AcceptConnection, Event, RejectConnection, RejectData, Request
from .extensions import Extension
from .utilities import (
    LocalProtocolError,
    RemoteProtocolError,
    generate_accept_token,
    generate_nonce,
    normed_header_dict,
    split_comma_header,
)

if TYPE_CHECKING:
    from .typing import Headers

# RFC 6455 §4.2.1 items 3 and 6.
WEBSOCKET_VERSION = b"13"
WEBSOCKET_UPGRADE = b"websocket"


def _h11() -> Any:
    try:
        import h11
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "wsfast.compat.wsproto needs h11 for the opening handshake: pip install h11 "
            "(or 'wsfast[wsproto]'); Connection alone works without it"
        ) from exc
    return h11


def _require_connection_upgrade(tokens: list[str] | None) -> None:
    """RFC 6455 §4.1, §4.2.1: a Connection header with the token "Upgrade" (any case)."""
    if tokens is None or not any(token.lower() == "upgrade" for token in tokens):
        raise RemoteProtocolError(
            "Missing header, 'Connection: Upgrade'", event_hint=_reject_hint()
        )


def _require_upgrade_websocket(upgrade: bytes) -> None:
    """RFC 6455 §4.1, §4.2.1: an Upgrade header whose value is "websocket" (any case)."""
    if upgrade.lower() != WEBSOCKET_UPGRADE:
        raise RemoteProtocolError("Missing header, 'Upgrade: websocket'", event_hint=_reject_hint())


def _reject_hint() -> RejectConnection:
    return RejectConnection()


class H11Handshake:
    """One side of the HTTP/1.1 upgrade handshake; produces a :class:`Connection` when done."""

    def __init__(self, connection_type: ConnectionType) -> None:
        h11 = _h11()
        self.client = connection_type is ConnectionType.CLIENT
        self._state = ConnectionState.CONNECTING
        self._h11_connection = h11.Connection(h11.CLIENT if self.client else h11.SERVER)
        self._connection: Connection | None = None
        self._events: deque[Event] = deque()
        self._initiating_request: Request | None = None
        self._nonce: bytes | None = None

    @property
    def state(self) -> ConnectionState:
        """CONNECTING, then OPEN, REJECTING or CLOSED."""
        return self._state

    @property
    def connection(self) -> Connection | None:
        """The :class:`Connection` once the handshake succeeded, else None."""
        return self._connection

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """Server side: take over a request whose headers were already read elsewhere (e.g. an
        HTTP server upgrading its connection); a :class:`Request` event follows."""
        if self.client:
            raise LocalProtocolError(
                "Cannot initiate an upgrade connection when acting as the client"
            )
        h11 = _h11()
        replay = h11.Connection(h11.CLIENT)
        self.receive_data(replay.send(h11.Request(method=b"GET", target=path, headers=headers)))

    def send(self, event: Event) -> bytes:
        """The bytes for a handshake event (Request, AcceptConnection, RejectConnection,
        RejectData); LocalProtocolError for anything else."""
        if isinstance(event, Request):
            return self._send_request(event)
        if isinstance(event, AcceptConnection):
            return self._send_accept(event)
        if isinstance(event, RejectConnection):
            return self._send_reject(event)
        if isinstance(event, RejectData):
            return self._send_reject_data(event)
        raise LocalProtocolError(f"Event {event} cannot be sent during the handshake")

    def receive_data(self, data: bytes | None) -> None:
        """Feeds received bytes (None or b"" at end of stream) to the HTTP parser."""
        h11 = _h11()
        http = self._h11_connection
        http.receive_data(data or b"")
        while True:
            try:
                message = http.next_event()
            except h11.RemoteProtocolError:
                raise RemoteProtocolError("Bad HTTP message", event_hint=_reject_hint()) from None
            if message is h11.NEED_DATA or message is h11.PAUSED:
                return
            if isinstance(message, h11.ConnectionClosed):
                return
            if not self.client:
                if isinstance(message, h11.Request):
                    self._events.append(self._read_request(message))
                continue
            if isinstance(message, h11.InformationalResponse):
                if message.status_code == 101:
                    self._events.append(self._read_acceptance(message))
                else:
                    # A 1xx other than 101: a rejection without a body (wsproto's behaviour).
                    self._events.append(
                        RejectConnection(
                            status_code=message.status_code,
                            headers=list(message.headers),
                            has_body=False,
                        )
                    )
                    self._state = ConnectionState.CLOSED
            elif isinstance(message, h11.Response):
                # RFC 6455 §4.1: any other status means the server refused the upgrade.
                self._state = ConnectionState.REJECTING
                self._events.append(
                    RejectConnection(
                        status_code=message.status_code,
                        headers=list(message.headers),
                        has_body=True,
                    )
                )
            elif isinstance(message, h11.Data):
                self._events.append(RejectData(data=message.data, body_finished=False))
            elif isinstance(message, h11.EndOfMessage):
                self._events.append(RejectData(data=b"", body_finished=True))
                self._state = ConnectionState.CLOSED

    def events(self) -> Generator[Event, None, None]:
        """Yields the handshake events received so far."""
        pending = self._events
        while pending:
            yield pending.popleft()

    # -- server side ---------------------------------------------------------------------------

    def _read_request(self, message: Any) -> Request:
        """RFC 6455 §4.2.1: checks the client's opening handshake."""
        if message.method != b"GET":
            raise RemoteProtocolError("Request method must be GET", event_hint=_reject_hint())
        connection_tokens: list[str] | None = None
        offered_extensions: list[str] = []
        subprotocols: list[str] = []
        host: str | None = None
        key: bytes | None = None
        version: bytes | None = None
        upgrade = b""
        kept: Headers = []
        for raw_name, value in message.headers:
            name = raw_name.lower()
            # Host, Sec-WebSocket-Extensions and Sec-WebSocket-Protocol become fields of the
            # Request; every other header is kept in extra_headers.
            if name == b"host":
                host = value.decode("idna")
                continue
            if name == b"sec-websocket-extensions":
                offered_extensions += split_comma_header(value)
                continue
            if name == b"sec-websocket-protocol":
                subprotocols += split_comma_header(value)
                continue
            if name == b"connection":
                connection_tokens = split_comma_header(value)
            elif name == b"sec-websocket-key":
                key = value
            elif name == b"sec-websocket-version":
                version = value
            elif name == b"upgrade":
                upgrade = value
            kept.append((name, value))
        _require_connection_upgrade(connection_tokens)
        if version != WEBSOCKET_VERSION:
            # RFC 6455 §4.4: answer an unsupported version with the one this side speaks.
            raise RemoteProtocolError(
                "Missing header, 'Sec-WebSocket-Version'",
                event_hint=RejectConnection(
                    status_code=426 if version else 400,
                    headers=[(b"Sec-WebSocket-Version", WEBSOCKET_VERSION)],
                ),
            )
        if key is None:
            raise RemoteProtocolError(
                "Missing header, 'Sec-WebSocket-Key'", event_hint=_reject_hint()
            )
        _require_upgrade_websocket(upgrade)
        if host is None:
            raise RemoteProtocolError("Missing header, 'Host'", event_hint=_reject_hint())
        request = Request(
            host=host,
            target=message.target.decode("ascii"),
            extensions=offered_extensions,
            extra_headers=kept,
            subprotocols=subprotocols,
        )
        self._initiating_request = request
        return request

    def _send_accept(self, event: AcceptConnection) -> bytes:
        """RFC 6455 §4.2.2: the 101 response."""
        request = self._initiating_request
        if request is None:
            raise LocalProtocolError(f"Event {event} cannot be sent before a request arrived")
        key = normed_header_dict(request.extra_headers)[b"sec-websocket-key"]
        headers: Headers = [
            (b"Upgrade", WEBSOCKET_UPGRADE),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", generate_accept_token(key)),
        ]
        if event.subprotocol is not None:
            if event.subprotocol not in request.subprotocols:
                raise LocalProtocolError(f"unexpected subprotocol {event.subprotocol}")
            headers.append((b"Sec-WebSocket-Protocol", event.subprotocol.encode("ascii")))
        if event.extensions:
            agreed = server_extensions_handshake(
                cast("Sequence[str]", request.extensions), event.extensions
            )
            if agreed:
                headers.append((b"Sec-WebSocket-Extensions", agreed))
        h11 = _h11()
        response = h11.InformationalResponse(
            status_code=101,
            headers=headers + list(event.extra_headers),
            reason=b"Switching Protocols",
        )
        data = self._h11_connection.send(response) or b""
        self._connection = Connection(
            ConnectionType.CLIENT if self.client else ConnectionType.SERVER, event.extensions
        )
        self._state = ConnectionState.OPEN
        return cast(bytes, data)

    def _send_reject(self, event: RejectConnection) -> bytes:
        if self._state is not ConnectionState.CONNECTING:
            raise LocalProtocolError(f"Connection cannot be rejected in state {self._state}")
        h11 = _h11()
        headers = list(event.headers)
        if not event.has_body:
            headers.append((b"content-length", b"0"))
        data = (
            self._h11_connection.send(h11.Response(status_code=event.status_code, headers=headers))
            or b""
        )
        self._state = ConnectionState.REJECTING
        if not event.has_body:
            data += self._h11_connection.send(h11.EndOfMessage()) or b""
            self._state = ConnectionState.CLOSED
        return cast(bytes, data)

    def _send_reject_data(self, event: RejectData) -> bytes:
        if self._state is not ConnectionState.REJECTING:
            raise LocalProtocolError(f"Cannot send rejection data in state {self._state}")
        h11 = _h11()
        data = self._h11_connection.send(h11.Data(data=event.data)) or b""
        if event.body_finished:
            data += self._h11_connection.send(h11.EndOfMessage()) or b""
            self._state = ConnectionState.CLOSED
        return cast(bytes, data)

    # -- client side ---------------------------------------------------------------------------

    def _send_request(self, request: Request) -> bytes:
        """RFC 6455 §4.1: the client's opening handshake."""
        if not self.client or self._initiating_request is not None:
            raise LocalProtocolError(f"Event {request} cannot be sent in state {self._state}")
        self._initiating_request = request
        self._nonce = generate_nonce()
        headers: Headers = [
            (b"Host", request.host.encode("idna")),
            (b"Upgrade", WEBSOCKET_UPGRADE),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Key", self._nonce),
            (b"Sec-WebSocket-Version", WEBSOCKET_VERSION),
        ]
        if request.subprotocols:
            headers.append(
                (b"Sec-WebSocket-Protocol", ", ".join(request.subprotocols).encode("ascii"))
            )
        offers: dict[str, bool | str] = {}
        for extension in request.extensions:
            assert isinstance(extension, Extension)
            offers[extension.name] = extension.offer()
        items: list[bytes] = []
        for name, parameters in offers.items():
            if parameters is True:
                items.append(name.encode("ascii"))
            elif parameters is not False:
                items.append(f"{name}; {parameters}".encode("ascii"))
        if items:
            headers.append((b"Sec-WebSocket-Extensions", b", ".join(items)))
        h11 = _h11()
        message = h11.Request(
            method=b"GET",
            target=request.target.encode("ascii"),
            headers=headers + list(request.extra_headers),
        )
        return cast(bytes, self._h11_connection.send(message) or b"")

    def _read_acceptance(self, message: Any) -> AcceptConnection:
        """RFC 6455 §4.1 (the client's checks of the server's 101 response)."""
        request = self._initiating_request
        assert request is not None and self._nonce is not None
        connection_tokens: list[str] | None = None
        accepted_extensions: list[str] = []
        accept_token: bytes | None = None
        subprotocol: str | None = None
        upgrade = b""
        extra: Headers = []
        for raw_name, value in message.headers:
            name = raw_name.lower()
            if name == b"connection":
                connection_tokens = split_comma_header(value)
            elif name == b"sec-websocket-extensions":
                accepted_extensions = split_comma_header(value)
            elif name == b"sec-websocket-accept":
                accept_token = value
            elif name == b"sec-websocket-protocol":
                subprotocol = value.decode("ascii")
            elif name == b"upgrade":
                upgrade = value
            else:
                extra.append((name, value))
        _require_connection_upgrade(connection_tokens)
        _require_upgrade_websocket(upgrade)
        if accept_token != generate_accept_token(self._nonce):
            raise RemoteProtocolError("Bad accept token", event_hint=_reject_hint())
        if subprotocol is not None and subprotocol not in request.subprotocols:
            raise RemoteProtocolError(
                f"unrecognized subprotocol {subprotocol}", event_hint=_reject_hint()
            )
        extensions = client_extensions_handshake(
            accepted_extensions, cast("Sequence[Extension]", request.extensions)
        )
        self._connection = Connection(
            ConnectionType.CLIENT if self.client else ConnectionType.SERVER,
            extensions,
            self._h11_connection.trailing_data[0],
        )
        self._state = ConnectionState.OPEN
        return AcceptConnection(subprotocol=subprotocol, extensions=extensions, extra_headers=extra)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client={self.client}, state={self._state})"


def server_extensions_handshake(
    requested: Iterable[str], supported: list[Extension]
) -> bytes | None:
    """The Sec-WebSocket-Extensions response value for the client's offers (RFC 6455 §9.1),
    or None when no offer is accepted. Each supported extension sees every offer of its name;
    the last acceptance counts."""
    accepted: dict[str, bool | bytes] = {}
    for offer in requested:
        offered_name = offer.split(";", 1)[0].strip()
        for extension in supported:
            if extension.name != offered_name:
                continue
            answer = extension.accept(offer)
            if answer is True:
                accepted[extension.name] = True
            elif isinstance(answer, str):
                accepted[extension.name] = answer.encode("ascii")
    if not accepted:
        return None
    items = []
    for name, parameters in accepted.items():
        if parameters is True or parameters == b"":
            items.append(name.encode("ascii"))
        else:
            items.append(name.encode("ascii") + b"; " + cast(bytes, parameters))
    return b", ".join(items)


def client_extensions_handshake(
    accepted: Iterable[str], supported: Sequence[Extension]
) -> list[Extension]:
    """The offered extensions the server accepted, finalized with its parameters.

    RFC 6455 §9.1: the server may only accept what was offered; anything else is a
    RemoteProtocolError.
    """
    agreed: list[Extension] = []
    for item in accepted:
        accepted_name = item.split(";", 1)[0].strip()
        for extension in supported:
            if extension.name == accepted_name:
                extension.finalize(item)
                agreed.append(extension)
                break
        else:
            raise RemoteProtocolError(
                f"unrecognized extension {accepted_name}", event_hint=_reject_hint()
            )
    return agreed


__all__ = ["H11Handshake", "client_extensions_handshake", "server_extensions_handshake"]
