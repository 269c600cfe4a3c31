"""Fuzzes the opening handshake (RFC 6455 §4, HTTP/1.1 heads per RFC 9112), both roles.

Server side: a request, built from header lines that are mostly plausible with fuzzed values (or raw
bytes), arrives in pieces at a ``ServerConnection``. Client side: a response (101 or a rejection
with a Content-Length, chunked or read-to-EOF body) arrives at a ``ClientConnection``.

Checks: ``receive_data`` / ``receive_eof`` never raise; only handshake events come out; a refused
request gets exactly one well-formed HTTP error response with an expected status; an accepted one
gets a 101 that parses; a rejection's body never exceeds ``max_body_size``.

    python fuzz/run.py handshake --seconds 60     # see docs/hardening.md
"""

from __future__ import annotations

import base64
import hashlib
from types import ModuleType

from fuzzlib import Checker, Provider, main, split

HOT_PATHS: tuple[str, ...] = ()

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = base64.b64encode(
    hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
)

REQUEST_LINES = (
    b"GET /chat HTTP/1.1",
    b"GET /chat?x=1 HTTP/1.1",
    b"POST /chat HTTP/1.1",
    b"GET /chat HTTP/1.0",
    b"GET chat HTTP/1.1",
    b"GET /chat HTTP/2.0",
)
REQUEST_HEADERS = (
    b"Host: server.example.com",
    b"Upgrade: websocket",
    b"Connection: Upgrade",
    b"Connection: keep-alive, Upgrade",
    b"Sec-WebSocket-Key: " + KEY.encode(),
    b"Sec-WebSocket-Version: 13",
    b"Sec-WebSocket-Version: 8",
    b"Origin: http://example.com",
    b"Sec-WebSocket-Protocol: chat, superchat",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; "
    b"server_no_context_takeover",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8, "
    b"x-webkit-deflate-frame",
    b'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits="9"',
)
RESPONSE_LINES = (
    b"HTTP/1.1 101 Switching Protocols",
    b"HTTP/1.1 400 Bad Request",
    b"HTTP/1.1 403 Forbidden",
    b"HTTP/1.1 200 OK",
    b"HTTP/1.1 204 No Content",
    b"HTTP/1.0 101 OK",
)
RESPONSE_HEADERS = (
    b"Upgrade: websocket",
    b"Connection: Upgrade",
    b"Sec-WebSocket-Accept: " + ACCEPT,
    b"Sec-WebSocket-Protocol: chat",
    b"Sec-WebSocket-Extensions: permessage-deflate",
    b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    b"client_max_window_bits=10",
    b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8",
    b"Content-Length: 5",
    b"Content-Length: 100000000000",
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip, chunked",
)
SERVER_STATUSES = {400, 403, 405, 426, 431}


def build_head(
    source: Provider, start_lines: tuple[bytes, ...], headers: tuple[bytes, ...]
) -> bytes:
    lines = [source.pick(start_lines)]
    for _ in range(source.int_in(0, 12)):
        kind = source.int_in(0, 7)
        if kind < 5:
            lines.append(source.pick(headers))
        elif kind == 5:  # a known name with a fuzzed value
            name = source.pick(headers).partition(b":")[0]
            lines.append(name + b": " + source.take(source.int_in(0, 40)))
        else:  # a fuzzed line
            lines.append(source.take(source.int_in(0, 40)))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def make_checker(compiled: dict[str, ModuleType], python: dict[str, ModuleType]) -> Checker:
    from wsfast.connection import ClientConnection, ServerConnection
    from wsfast.events import Accepted, HandshakeFailed, Rejected, Request
    from wsfast.http11 import parse_response_head

    def check_server(source: Provider, raw: bool) -> None:
        max_head_size = source.pick((16 * 1024, 64, 300))
        conn = ServerConnection(max_head_size=max_head_size, subprotocols=["chat"], origins=None)
        cut_source = Provider(source.take(8))
        stream = (
            source.rest()
            if raw
            else build_head(source, REQUEST_LINES, REQUEST_HEADERS) + source.rest()
        )
        events = []
        for piece in split(stream, cut_source.cuts(len(stream))):
            conn.receive_data(memoryview(piece))
            events += conn.events()
        conn.receive_eof()
        events += conn.events()
        out = b"".join(conn.data_to_send())
        kinds = [type(event) for event in events]
        assert len(kinds) <= 2, events
        if HandshakeFailed in kinds:
            assert kinds == [HandshakeFailed], events
            head, _, _ = out.partition(b"\r\n\r\n")
            response = parse_response_head(head)
            assert response.status in SERVER_STATUSES, response
            assert conn.should_close_transport
        elif Request in kinds:
            assert kinds[0] is Request
            assert not out

    def check_client(source: Provider, raw: bool) -> None:
        max_body_size = source.pick((1 << 20, 0, 3))
        conn = ClientConnection(
            "ws://server.example.com/chat",
            key=KEY,
            subprotocols=["chat"],
            max_body_size=max_body_size,
        )
        conn.data_to_send()
        cut_source = Provider(source.take(8))
        stream = (
            source.rest()
            if raw
            else build_head(source, RESPONSE_LINES, RESPONSE_HEADERS) + source.rest()
        )
        events = []
        for piece in split(stream, cut_source.cuts(len(stream))):
            conn.receive_data(memoryview(piece))
            events += conn.events()
        conn.receive_eof()
        events += conn.events()
        handshake = [
            event for event in events if isinstance(event, (Accepted, Rejected, HandshakeFailed))
        ]
        assert len(handshake) <= 1, events
        if not handshake:
            assert not events, events
        elif isinstance(handshake[0], Rejected):
            assert len(handshake[0].body) <= max_body_size
            assert events == handshake
        elif isinstance(handshake[0], HandshakeFailed):
            assert events == handshake

    def check(data: bytes) -> None:
        source = Provider(data)
        mode = source.int_in(0, 3)
        (check_server if mode < 2 else check_client)(source, raw=mode % 2 == 1)

    return check


if __name__ == "__main__":
    main(make_checker, HOT_PATHS)
