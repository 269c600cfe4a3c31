"""Sans-IO protocol workloads: an in-memory round trip of messages through a client and a server.

One round trip is what an echo over a real connection costs in protocol work, without I/O: the
client sends a text message (str in), the server receives it (bytes in, str out), sends it back,
and the client receives it. Each call runs ``ROUND_TRIPS`` of them, one message at a time.

* ``protocol-roundtrip/16B`` and ``protocol-roundtrip/1KiB``: no compression;
* ``protocol-roundtrip-deflate/1KiB``: permessage-deflate negotiated with default parameters
  (context takeover) on both sides.
* ``protocol-handshake/server``: ``HANDSHAKES`` server-side opening handshakes of a browser-like
  request (new connection, parse and validate the request, accept it, serialise the 101).

Cases: ``wsfast`` (compiled frame parser), ``wsfast-python`` (the pure-Python twin of the frame hot
path under the same protocol layer), websockets' sans-IO ``ClientProtocol``/``ServerProtocol``
(text encoded and decoded around it, as its asyncio layer does), and wsproto's ``WSConnection``;
peers are skipped when not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core import Case, Skip, Workload, import_or_skip, require_compiled_peer, size_label

ROUND_TRIPS = 100
HANDSHAKES = 100

#: A browser-like opening handshake request (Chrome's headers, compression offered).
REQUEST = (
    b"GET /chat?room=42 HTTP/1.1\r\n"
    b"Host: example.com:8080\r\n"
    b"Connection: Upgrade\r\n"
    b"Pragma: no-cache\r\n"
    b"Cache-Control: no-cache\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/120.0.0.0 Safari/537.36\r\n"
    b"Upgrade: websocket\r\n"
    b"Origin: https://example.com\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Accept-Language: en-US,en;q=0.9\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    b"\r\n"
)
SIZES = (16, 1024)
DEFLATE_SIZES = (1024,)


def _message(size: int) -> str:
    unit = "All work and no play makes Jack a dull boy. "
    return (unit * (size // len(unit) + 1))[:size]


def _connection_build(kind: str) -> Any:
    """``wsfast.connection`` compiled ("wsfast"), or its pure-Python build ("wsfast-python")."""
    from wsfast import _speedups, connection

    if kind == "wsfast":
        if _speedups.loaded.get("wsfast.connection") != "compiled":
            raise Skip("wsfast.connection is not compiled in this build")
        return connection
    return _speedups.python_build("wsfast.connection")


def _ours(kind: str, size: int, deflate: bool) -> Callable[[], object]:
    connection_module = _connection_build(kind)
    compression = True if deflate else None
    client = connection_module.ClientConnection("ws://localhost/bench", compression=compression)
    server = connection_module.ServerConnection(compression=compression)
    server.receive_data(b"".join(client.data_to_send()))
    server.events()
    server.accept()
    client.receive_data(b"".join(server.data_to_send()))
    client.events()
    if deflate and not client.extensions:
        raise Skip("permessage-deflate was not negotiated")
    message = _message(size)

    def run() -> object:
        for _ in range(ROUND_TRIPS):
            client.send_text(message)
            server.receive_data(b"".join(client.data_to_send()))
            for event in server.events():
                server.send_text(event.data)
            client.receive_data(b"".join(server.data_to_send()))
            result = client.events()
        assert result[0].data == message  # type: ignore[attr-defined]
        return result

    return run


def _websockets(size: int, deflate: bool) -> Callable[[], object]:
    require_compiled_peer("websockets")
    client_module = import_or_skip("websockets.client")
    server_module = import_or_skip("websockets.server")
    uri_module = import_or_skip("websockets.uri")
    client_extensions: list[Any] = []
    server_extensions: list[Any] = []
    if deflate:
        pmd = import_or_skip("websockets.extensions.permessage_deflate")
        client_extensions = [pmd.ClientPerMessageDeflateFactory(client_max_window_bits=True)]
        server_extensions = [pmd.ServerPerMessageDeflateFactory()]
    client = client_module.ClientProtocol(
        uri_module.parse_uri("ws://localhost/bench"),
        extensions=client_extensions,
        max_size=1 << 20,
    )
    server = server_module.ServerProtocol(extensions=server_extensions, max_size=1 << 20)
    client.send_request(client.connect())
    server.receive_data(b"".join(client.data_to_send()))
    [request] = server.events_received()
    server.send_response(server.accept(request))
    client.receive_data(b"".join(server.data_to_send()))
    client.events_received()
    message = _message(size)

    def run() -> object:
        for _ in range(ROUND_TRIPS):
            client.send_text(message.encode())
            server.receive_data(b"".join(client.data_to_send()))
            for frame in server.events_received():
                server.send_text(frame.data.decode().encode())
            client.receive_data(b"".join(server.data_to_send()))
            text = [frame.data.decode() for frame in client.events_received()]
        assert text[0] == message
        return text

    return run


def _wsproto(size: int, deflate: bool) -> Callable[[], object]:
    wsproto = import_or_skip("wsproto")
    events = import_or_skip("wsproto.events")
    extensions: Any = import_or_skip("wsproto.extensions")
    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    server = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    offered = [extensions.PerMessageDeflate()] if deflate else []
    server.receive_data(
        client.send(events.Request(host="localhost", target="/bench", extensions=offered))
    )
    next(server.events())
    accepted = [extensions.PerMessageDeflate()] if deflate else []
    client.receive_data(server.send(events.AcceptConnection(extensions=accepted)))
    next(client.events())
    message = _message(size)
    text_message = events.TextMessage

    def run() -> object:
        for _ in range(ROUND_TRIPS):
            server.receive_data(client.send(text_message(data=message)))
            for event in server.events():
                client.receive_data(server.send(text_message(data=event.data)))
            received = [event.data for event in client.events()]
        assert received[0] == message
        return received

    return run


def _handshake_ours(kind: str) -> Callable[[], object]:
    connection_module = _connection_build(kind)

    def run() -> object:
        for _ in range(HANDSHAKES):
            server = connection_module.ServerConnection()
            server.receive_data(REQUEST)
            server.events()
            server.accept()
            out = server.data_to_send()
        assert out[0].startswith(b"HTTP/1.1 101 ")
        return out

    return run


def _handshake_websockets() -> Callable[[], object]:
    require_compiled_peer("websockets")
    server_module = import_or_skip("websockets.server")
    pmd = import_or_skip("websockets.extensions.permessage_deflate")
    server_class = server_module.ServerProtocol
    factory = pmd.ServerPerMessageDeflateFactory

    def run() -> object:
        for _ in range(HANDSHAKES):
            server = server_class(extensions=[factory()])
            server.receive_data(REQUEST)
            [request] = server.events_received()
            server.send_response(server.accept(request))
            out = server.data_to_send()
        assert out[0].startswith(b"HTTP/1.1 101 ")
        return out

    return run


def _handshake_wsproto() -> Callable[[], object]:
    wsproto = import_or_skip("wsproto")
    events = import_or_skip("wsproto.events")
    extensions: Any = import_or_skip("wsproto.extensions")

    def run() -> object:
        for _ in range(HANDSHAKES):
            server = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
            server.receive_data(REQUEST)
            next(server.events())
            out = server.send(events.AcceptConnection(extensions=[extensions.PerMessageDeflate()]))
        assert out.startswith(b"HTTP/1.1 101 ")
        return out

    return run


def _cases(size: int, deflate: bool) -> tuple[Case, ...]:
    return (
        Case("wsfast", lambda: _ours("wsfast", size, deflate), "wsfast"),
        Case("wsfast-python", lambda: _ours("python", size, deflate), "wsfast-python"),
        Case("websockets", lambda: _websockets(size, deflate)),
        Case("wsproto", lambda: _wsproto(size, deflate)),
    )


def workloads() -> list[Workload]:
    """Round trips of small and medium messages, without and with compression; handshakes."""
    found = []
    for size in SIZES:
        found.append(
            Workload(
                "protocol-roundtrip",
                f"protocol-roundtrip/{size_label(size)}",
                _cases(size, False),
                bytes_per_call=2 * size * ROUND_TRIPS,
                items_per_call=ROUND_TRIPS,
                description="client send, server receive, server send, client receive",
            )
        )
    for size in DEFLATE_SIZES:
        found.append(
            Workload(
                "protocol-roundtrip-deflate",
                f"protocol-roundtrip-deflate/{size_label(size)}",
                _cases(size, True),
                bytes_per_call=2 * size * ROUND_TRIPS,
                items_per_call=ROUND_TRIPS,
                description="the same round trip with permessage-deflate",
            )
        )
    found.append(
        Workload(
            "protocol-handshake",
            "protocol-handshake/server",
            (
                Case("wsfast", lambda: _handshake_ours("wsfast"), "wsfast"),
                Case("wsfast-python", lambda: _handshake_ours("python"), "wsfast-python"),
                Case("websockets", _handshake_websockets),
                Case("wsproto", _handshake_wsproto),
            ),
            bytes_per_call=len(REQUEST) * HANDSHAKES,
            items_per_call=HANDSHAKES,
            description="server opening handshake: parse, validate, accept, serialise",
        )
    )
    return found
