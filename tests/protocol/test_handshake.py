"""The opening handshake (RFC 6455 §4): server validation and answers, client request and checks."""

from __future__ import annotations

import base64

import pytest
from protocol_helpers import transfer, wire

from wsfast.connection import ClientConnection, InvalidState, ServerConnection, State
from wsfast.events import Accepted, HandshakeFailed, Rejected, Request
from wsfast.exceptions import HandshakeError
from wsfast.frames import build_frame
from wsfast.handshake import (
    accept_key,
    build_request,
    check_origin,
    generate_key,
    parse_uri,
    select_subprotocol,
)
from wsfast.http11 import parse_response_head

KEY = "dGhlIHNhbXBsZSBub25jZQ=="

GOOD = {
    "Host": "server.example.com",
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
}


def request_bytes(
    headers: dict[str, str | None] | None = None,
    *,
    start: str = "GET /chat HTTP/1.1",
    extra: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> bytes:
    fields = dict(GOOD)
    for name, value in (headers or {}).items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    lines = [start] + [f"{n}: {v}" for n, v in fields.items()] + [f"{n}: {v}" for n, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def serve(data: bytes, **options: object) -> tuple[ServerConnection, list[object], bytes]:
    server = ServerConnection(**options)  # type: ignore[arg-type]
    server.receive_data(data)
    return server, server.events(), wire(server)


# --- RFC 6455 §1.3 / §4.2.2: the accept value -----------------------------------------------


def test_accept_key_rfc_example() -> None:
    # RFC 6455 §1.3's worked example.
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_generate_key_is_16_random_bytes() -> None:
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(base64.b64decode(key)) == 16 for key in keys)


# --- server: a valid request ------------------------------------------------------------------


def test_server_request_event_and_accept() -> None:
    data = request_bytes(
        {
            "Origin": "http://example.com",
            "Sec-WebSocket-Protocol": "chat, superchat",
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits, x-foo",
        },
        start="GET /chat?x=1 HTTP/1.1",
    )
    server, events, out = serve(data, subprotocols=["superchat", "chat"])
    assert out == b"" and server.state is State.CONNECTING
    [request] = events
    assert isinstance(request, Request)
    assert request.target == "/chat?x=1" and request.path == "/chat"
    assert request.host == "server.example.com"
    assert request.origin == "http://example.com"
    assert request.subprotocols == ("chat", "superchat")
    assert [e.name for e in request.extensions] == ["permessage-deflate", "x-foo"]
    server.accept(extra_headers=[("X-Server", "wsfast")])
    response = wire(server)
    head = parse_response_head(response[: response.index(b"\r\n\r\n")])
    assert head.status == 101
    assert head.headers["Upgrade"] == "websocket"
    assert head.headers["Connection"] == "Upgrade"
    assert head.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    # Our preference order wins among the offered subprotocols.
    assert head.headers["Sec-WebSocket-Protocol"] == "superchat"
    assert head.headers["Sec-WebSocket-Extensions"] == "permessage-deflate"
    assert head.headers["X-Server"] == "wsfast"
    assert server.state is State.OPEN and server.subprotocol == "superchat"


def test_server_tokens_are_case_insensitive_in_lists() -> None:
    data = request_bytes({"Upgrade": "foo, WebSocket", "Connection": "keep-alive, UPGRADE"})
    _server, events, _ = serve(data)
    assert isinstance(events[0], Request)


def test_server_request_split_in_bytes() -> None:
    data = request_bytes()
    server = ServerConnection()
    for i in range(len(data)):
        server.receive_data(data[i : i + 1])
    assert [type(e) for e in server.events()] == [Request]


def test_server_accept_without_subprotocol_when_none_matches() -> None:
    server, _, _ = serve(request_bytes({"Sec-WebSocket-Protocol": "a"}), subprotocols=["b"])
    server.accept()
    assert b"Sec-WebSocket-Protocol" not in wire(server)
    assert server.subprotocol is None


def test_server_accept_explicit_subprotocol_must_be_offered() -> None:
    server, _, _ = serve(request_bytes({"Sec-WebSocket-Protocol": "a, b"}))
    with pytest.raises(ValueError):
        server.accept(subprotocol="c")
    server.accept(subprotocol="b")
    assert b"Sec-WebSocket-Protocol: b\r\n" in wire(server)


def test_server_accept_can_disable_compression() -> None:
    server, _, _ = serve(request_bytes({"Sec-WebSocket-Extensions": "permessage-deflate"}))
    server.accept(compression=None)
    assert b"Sec-WebSocket-Extensions" not in wire(server)
    assert server.extensions == ()


def test_server_accept_refuses_header_injection() -> None:
    server, _, _ = serve(request_bytes())
    with pytest.raises(ValueError):
        server.accept(extra_headers=[("X", "a\r\nSet-Cookie: evil")])


def test_server_accept_twice_is_an_error() -> None:
    server, _, _ = serve(request_bytes())
    server.accept()
    with pytest.raises(InvalidState):
        server.accept()
    with pytest.raises(InvalidState):
        server.reject()


def test_server_accept_before_request_is_an_error() -> None:
    with pytest.raises(InvalidState):
        ServerConnection().accept()


def test_server_reject() -> None:
    server, _, _ = serve(request_bytes())
    server.reject(401, [("WWW-Authenticate", "Basic")], "who are you?")
    out = wire(server)
    head, _, body = out.partition(b"\r\n\r\n")
    response = parse_response_head(head)
    assert response.status == 401 and response.reason == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == "Basic"
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["Connection"] == "close"
    assert body == b"who are you?"
    assert server.state is State.CLOSED and server.should_close_transport


def test_server_frames_pipelined_after_the_request() -> None:
    client = ClientConnection("ws://h/", compression=None)
    # A client may send frames right behind its request, before the 101 arrives.
    frame = build_frame(1, b"early", mask=True)
    server, _events, _ = serve(wire(client) + frame[:3])
    server.receive_data(frame[3:])
    server.accept()
    assert [e.data for e in server.events()] == ["early"]  # type: ignore[attr-defined]


# --- server: every rejection path -------------------------------------------------------------


def _status(out: bytes) -> int:
    return parse_response_head(out[: out.index(b"\r\n\r\n")]).status


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (request_bytes(start="POST /chat HTTP/1.1"), 405, "method"),
        (request_bytes(start="GET /chat HTTP/1.0"), 400, "HTTP/1.1"),
        (request_bytes(start="GET chat HTTP/1.1"), 400, "target"),
        (request_bytes(start="GET http://x/chat HTTP/1.1"), 400, "target"),
        (request_bytes({"Host": None}), 400, "Host"),
        (request_bytes(extra=[("Host", "other")]), 400, "Host"),
        (request_bytes({"Upgrade": None}), 400, "Upgrade"),
        (request_bytes({"Upgrade": "h2c"}), 400, "Upgrade"),
        (request_bytes({"Upgrade": "websocketx"}), 400, "Upgrade"),
        (request_bytes({"Connection": None}), 400, "Connection"),
        (request_bytes({"Connection": "keep-alive"}), 400, "Connection"),
        (request_bytes({"Sec-WebSocket-Key": None}), 400, "Sec-WebSocket-Key"),
        (request_bytes({"Sec-WebSocket-Key": "not base64!"}), 400, "base64"),
        (request_bytes({"Sec-WebSocket-Key": "dGhlIHNhbXBsZQ=="}), 400, "16 bytes"),
        (request_bytes(extra=[("Sec-WebSocket-Key", KEY)]), 400, "Sec-WebSocket-Key"),
        (request_bytes({"Sec-WebSocket-Version": "8"}), 426, "Version"),
        (request_bytes({"Sec-WebSocket-Version": None}), 426, "Version"),
        (request_bytes({"Sec-WebSocket-Protocol": "a b"}), 400, "subprotocol"),
        (request_bytes({"Sec-WebSocket-Extensions": "x; =1"}), 400, "Extensions"),
        (request_bytes({"Sec-WebSocket-Extensions": 'x; a="b'}), 400, "Extensions"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "header"),
        (b"GET / HTTP/1.1\nHost: x\n\n\r\n\r\n", 400, "LF"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "control character"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 405, "method"),
        (b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request line"),
    ],
)
def test_server_rejects_bad_requests(data: bytes, status: int, words: str) -> None:
    server, events, out = serve(data)
    [event] = events
    assert isinstance(event, HandshakeFailed)
    assert event.status == status and words.lower() in event.reason.lower()
    assert _status(out) == status
    assert words.lower().encode() in out.lower()  # the body explains the reason
    assert server.state is State.CLOSED and server.should_close_transport
    if status == 426:
        assert b"\r\nSec-WebSocket-Version: 13\r\n" in out
    if status == 405:
        assert b"\r\nAllow: GET\r\n" in out
    # Nothing more is processed.
    server.receive_data(request_bytes())
    assert server.events() == [] and wire(server) == b""


def test_server_rejects_oversized_head() -> None:
    _server, events, out = serve(request_bytes(extra=[("X-Big", "a" * 2000)]), max_head_size=1024)
    assert isinstance(events[0], HandshakeFailed) and events[0].status == 431
    assert _status(out) == 431


def test_server_rejects_too_many_headers() -> None:
    extra = [(f"X-{i}", "v") for i in range(20)]
    _server, events, _out = serve(request_bytes(extra=extra), max_headers=10)
    assert isinstance(events[0], HandshakeFailed) and events[0].status == 431


def test_server_eof_during_handshake() -> None:
    server = ServerConnection()
    server.receive_data(b"GET / HT")
    server.receive_eof()
    [event] = server.events()
    assert event.code == 1006 and server.state is State.CLOSED  # type: ignore[attr-defined]


# --- Origin policy (RFC 6455 §10.2) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "origin", "allowed"),
    [
        (None, "http://evil", True),
        (None, None, True),
        (["https://good"], "https://good", True),
        (["https://good"], "https://evil", False),
        (["https://good"], None, False),
        (["https://good", None], None, True),
        (lambda origin: origin is not None and origin.endswith(".good"), "https://a.good", True),
        (lambda origin: origin is not None and origin.endswith(".good"), "https://a.evil", False),
    ],
)
def test_origin_policy(policy: object, origin: str | None, allowed: bool) -> None:
    assert check_origin(origin, policy) is allowed  # type: ignore[arg-type]
    _server, events, out = serve(request_bytes({"Origin": origin}), origins=policy)
    if allowed:
        assert isinstance(events[0], Request)
    else:
        assert isinstance(events[0], HandshakeFailed) and events[0].status == 403
        assert _status(out) == 403


def test_select_subprotocol() -> None:
    assert select_subprotocol(["a", "b"], ["b", "a"]) == "b"
    assert select_subprotocol(["a"], ["c"]) is None
    assert select_subprotocol([], ["c"]) is None


# --- client: URIs and the request (RFC 6455 §3, §4.1) -----------------------------------------


@pytest.mark.parametrize(
    ("uri", "secure", "host", "port", "resource", "host_header"),
    [
        ("ws://example.com", False, "example.com", 80, "/", "example.com"),
        ("wss://example.com/a/b?c=d&e", True, "example.com", 443, "/a/b?c=d&e", "example.com"),
        ("ws://example.com:8080/x", False, "example.com", 8080, "/x", "example.com:8080"),
        ("wss://example.com:443/", True, "example.com", 443, "/", "example.com"),
        ("ws://[::1]:9000/p", False, "::1", 9000, "/p", "[::1]:9000"),
        ("ws://[2001:db8::1]/", False, "2001:db8::1", 80, "/", "[2001:db8::1]"),
        ("WS://Example.COM/Path", False, "example.com", 80, "/Path", "example.com"),
        ("ws://h?only=query", False, "h", 80, "/?only=query", "h"),
    ],
)
def test_parse_uri(
    uri: str, secure: bool, host: str, port: int, resource: str, host_header: str
) -> None:
    parsed = parse_uri(uri)
    assert (parsed.secure, parsed.host, parsed.port, parsed.resource_name) == (
        secure,
        host,
        port,
        resource,
    )
    assert parsed.host_header == host_header


@pytest.mark.parametrize(
    "uri",
    [
        "http://example.com/",
        "example.com",
        "ws:///path",
        "ws://example.com/#frag",
        "ws://example.com:99999/",
        "ws://example.com:port/",
        "ws://example.com/a b",
        "ws://example.com/caf\u00e9",
    ],
)
def test_parse_uri_refuses(uri: str) -> None:
    with pytest.raises(ValueError):
        parse_uri(uri)


def test_client_userinfo_becomes_basic_auth() -> None:
    uri = parse_uri("ws://us%40er:p%3Ass@example.com/")
    assert (uri.user, uri.password, uri.host) == ("us@er", "p:ss", "example.com")
    request = build_request(uri, KEY)
    expected = base64.b64encode(b"us@er:p:ss").decode()
    assert f"\r\nAuthorization: Basic {expected}\r\n".encode() in request


def test_client_request() -> None:
    client = ClientConnection(
        "ws://[::1]:8000/chat?x=1",
        origin="http://example.com",
        subprotocols=["chat", "superchat"],
        extra_headers={"X-Client": "wsfast"},
        key=KEY,
    )
    assert client.state is State.CONNECTING
    out = wire(client)
    _server, events, _ = serve(out)
    [request] = events
    assert isinstance(request, Request)
    assert request.target == "/chat?x=1"
    assert request.host == "[::1]:8000"
    assert request.origin == "http://example.com"
    assert request.subprotocols == ("chat", "superchat")
    assert request.headers["Sec-WebSocket-Key"] == KEY
    assert request.headers["Sec-WebSocket-Version"] == "13"
    assert request.headers["X-Client"] == "wsfast"
    assert request.extensions[0].name == "permessage-deflate"


def test_client_request_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        ClientConnection("ws://h/", subprotocols=["a b"])
    with pytest.raises(ValueError):
        ClientConnection("ws://h/", extra_headers=[("X", "1\r\n\r\nGET /")])


# --- client: the server's response (RFC 6455 §4.1, §4.2.2) -----------------------------------


def respond(
    headers: dict[str, str | None] | None = None,
    *,
    status_line: str = "HTTP/1.1 101 Switching Protocols",
    body: bytes = b"",
    **client_options: object,
) -> tuple[ClientConnection, list[object]]:
    client = ClientConnection("ws://h/", key=KEY, **client_options)  # type: ignore[arg-type]
    wire(client)
    fields: dict[str, str | None] = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Accept": accept_key(KEY),
    }
    fields.update(headers or {})
    lines = [status_line] + [f"{n}: {v}" for n, v in fields.items() if v is not None]
    client.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return client, client.events()


def test_client_accepts_valid_response() -> None:
    client, events = respond({"Sec-WebSocket-Protocol": "b"}, subprotocols=["a", "b"])
    [event] = events
    assert isinstance(event, Accepted) and event.subprotocol == "b"
    assert client.state is State.OPEN and client.subprotocol == "b"


@pytest.mark.parametrize(
    ("headers", "options", "words"),
    [
        ({"Upgrade": None}, {}, "Upgrade"),
        ({"Upgrade": "h2c"}, {}, "Upgrade"),
        ({"Connection": None}, {}, "Connection"),
        ({"Sec-WebSocket-Accept": None}, {}, "Accept"),
        ({"Sec-WebSocket-Accept": accept_key("x" + KEY)}, {}, "Accept"),
        ({"Sec-WebSocket-Protocol": "chat"}, {}, "not offered"),
        ({"Sec-WebSocket-Protocol": "c"}, {"subprotocols": ["a"]}, "not offered"),
        ({"Sec-WebSocket-Protocol": "a, b"}, {"subprotocols": ["a", "b"]}, "more than one"),
        ({"Sec-WebSocket-Extensions": "x-foo"}, {}, "not offered"),
        ({"Sec-WebSocket-Extensions": "permessage-deflate"}, {"compression": None}, "not offered"),
        (
            {"Sec-WebSocket-Extensions": "permessage-deflate, permessage-deflate"},
            {},
            "not offered",
        ),
        ({"Sec-WebSocket-Extensions": "permessage-deflate; foo"}, {}, "permessage-deflate"),
        ({"Sec-WebSocket-Extensions": "permessage-deflate;;"}, {}, "Extensions"),
    ],
)
def test_client_refuses_invalid_101(
    headers: dict[str, str | None], options: dict[str, object], words: str
) -> None:
    client, events = respond(headers, **options)
    [event] = events
    assert isinstance(event, HandshakeFailed), event
    assert words.lower() in event.reason.lower()
    assert client.state is State.CLOSED and client.should_close_transport


def test_client_rejection_with_body() -> None:
    client, events = respond(
        {"Content-Length": "7", "Content-Type": "text/plain"},
        status_line="HTTP/1.1 403 Forbidden",
        body=b"go away",
    )
    [event] = events
    assert isinstance(event, Rejected)
    assert (event.status, event.reason, event.body) == (403, "Forbidden", b"go away")
    assert event.headers["Content-Type"] == "text/plain"
    assert client.state is State.CLOSED and client.should_close_transport


def test_client_rejection_body_in_pieces_and_until_eof() -> None:
    client, events = respond(status_line="HTTP/1.1 500 Internal Server Error", body=b"par")
    assert events == []
    client.receive_data(b"tial")
    client.receive_eof()
    [event] = client.events()
    assert isinstance(event, Rejected) and event.body == b"partial"


def test_client_rejection_from_our_server() -> None:
    client = ClientConnection("ws://h/")
    server = ServerConnection(origins=["https://only"])
    transfer(client, server)
    [event] = transfer(server, client)
    assert isinstance(event, Rejected) and event.status == 403
    assert b"origin" in event.body


def test_client_eof_before_response() -> None:
    client = ClientConnection("ws://h/")
    client.receive_data(b"HTTP/1.1 101")
    client.receive_eof()
    [event] = client.events()
    assert isinstance(event, HandshakeFailed)
    assert client.state is State.CLOSED


def test_client_garbage_response() -> None:
    _client, events = respond(status_line="SSH-2.0-OpenSSH")
    assert isinstance(events[0], HandshakeFailed)


def test_handshake_error_str() -> None:
    assert "426" in str(HandshakeError("nope", 426))


def test_client_cannot_send_before_open() -> None:
    client = ClientConnection("ws://h/")
    with pytest.raises(InvalidState):
        client.send_text("x")
    with pytest.raises(InvalidState):
        client.send_ping()
    with pytest.raises(InvalidState):
        client.send_close()


def test_origin_policy_single_string() -> None:
    _, events, _ = serve(request_bytes({"Origin": "https://good"}), origins="https://good")
    assert isinstance(events[0], Request)
    _, events, _ = serve(request_bytes({"Origin": "h"}), origins="https://good")
    assert isinstance(events[0], HandshakeFailed)
