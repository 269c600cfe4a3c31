"""The opening handshake of RFC 6455 §4, both roles, without I/O.

Server side: :func:`validate_request` checks a parsed request head (§4.2.1) and returns the facts
the application decides on (or raises :class:`HandshakeError` with the status to answer: 400,
403, 405, 426); :func:`build_accept_response` and :func:`build_reject_response` serialise the
answer. Client side: :func:`parse_uri` and :func:`build_request` make the request (§4.1);
:func:`validate_response` checks the server's 101 (§4.1, §4.2.2).

Base64 and SHA-1 come from the standard library; the HTTP parsing is :mod:`wsfast.http11`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Union
from urllib.parse import unquote, urlsplit

from .exceptions import HandshakeError, NegotiationError
from .extensions import (
    DeflateCodec,
    Extension,
    PerMessageDeflate,
    format_extensions,
    parse_extensions,
)
from .http11 import (
    Headers,
    RequestHead,
    ResponseHead,
    build_head,
    build_rejection_head,
    check_header,
)

__all__ = [
    "GUID",
    "HandshakeError",
    "OriginPolicy",
    "ServerHandshake",
    "WebSocketURI",
    "accept_key",
    "build_accept_response",
    "build_reject_response",
    "build_request",
    "check_origin",
    "generate_key",
    "parse_uri",
    "select_subprotocol",
    "validate_request",
    "validate_response",
]

#: RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match

#: None (no check), an iterable of allowed origins (None in it allows requests without an
#: Origin header), or a callable ``origin -> bool``.
OriginPolicy = Union[None, Iterable[str | None], Callable[[str | None], bool]]  # noqa: UP007


def accept_key(key: str) -> str:
    """RFC 6455 §4.2.2 step 5.4: base64(SHA-1(key + GUID))."""
    digest = hashlib.sha1((key + GUID).encode("ascii"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_key() -> str:
    """RFC 6455 §4.1: a random 16-byte nonce, base64-encoded."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _tokens(values: Iterable[str]) -> list[str]:
    """The elements of comma-separated header values (RFC 9110 §5.6.1), empty ones skipped."""
    return [item.strip(" \t") for value in values for item in value.split(",") if item.strip(" \t")]


def _has_token(headers: Headers, name: str, token: str) -> bool:
    return any(item.lower() == token for item in _tokens(headers.get_all(name)))


def _one_value(index: dict[str, list[str]], key: str, name: str) -> str | None:
    """The value of a field that must appear at most once (``key`` is ``name`` lowercased)."""
    values = index.get(key)
    if values is None:
        return None
    if len(values) > 1:
        raise HandshakeError(f"more than one {name} header")
    return values[0]


def _contains_token(values: list[str] | None, token: str) -> bool:
    """Whether comma-separated ``values`` contain ``token`` (lowercase), case-insensitively."""
    if not values:
        return False
    if len(values) == 1 and values[0].lower() == token:
        return True  # the common case: "Upgrade: websocket"
    return any(item.lower() == token for item in _tokens(values))


def check_origin(origin: str | None, policy: OriginPolicy) -> bool:
    """RFC 6455 §10.2: whether ``origin`` (None when absent) is allowed by ``policy``."""
    if policy is None:
        return True
    if callable(policy):
        return bool(policy(origin))
    return origin in policy


def select_subprotocol(offered: Sequence[str], supported: Sequence[str]) -> str | None:
    """The first of our ``supported`` subprotocols (our preference) that the client offered."""
    for subprotocol in supported:
        if subprotocol in offered:
            return subprotocol
    return None


class ServerHandshake(NamedTuple):
    """What :func:`validate_request` extracted from a valid request."""

    key: str
    host: str
    origin: str | None
    subprotocols: tuple[str, ...]
    extensions: tuple[Extension, ...]


def validate_request(head: RequestHead, origins: OriginPolicy = None) -> ServerHandshake:
    """Checks a client's opening handshake (RFC 6455 §4.2.1). Raises :class:`HandshakeError`."""
    # §4.2.1 item 1: an HTTP/1.1 or higher GET request.
    if head.method != "GET":
        raise HandshakeError(f"method {head.method} not allowed", 405, [("Allow", "GET")])
    if head.version < "HTTP/1.1":
        raise HandshakeError(f"{head.version} cannot upgrade; HTTP/1.1 is required")
    # §4.1 item 2: the target is a resource name (origin-form: starts with "/"), no fragment.
    if head.target[:1] != "/" or "#" in head.target:
        raise HandshakeError("request target must be an absolute path")
    headers = head.headers
    index = headers._lookup()
    # §4.2.1 item 2: a Host header field (RFC 9112 §3.2: exactly one).
    host = _one_value(index, "host", "Host")
    if host is None:
        raise HandshakeError("missing Host header")
    # §4.2.1 items 3 and 4: Upgrade contains "websocket", Connection contains "Upgrade"
    # (case-insensitive tokens in comma-separated lists).
    if not _contains_token(index.get("upgrade"), "websocket"):
        raise HandshakeError("missing or invalid Upgrade header: expected websocket")
    if not _contains_token(index.get("connection"), "upgrade"):
        raise HandshakeError("missing or invalid Connection header: expected Upgrade")
    # §4.2.1 item 5: Sec-WebSocket-Key, base64 of 16 bytes.
    key = _one_value(index, "sec-websocket-key", "Sec-WebSocket-Key")
    if key is None:
        raise HandshakeError("missing Sec-WebSocket-Key header")
    # 16 bytes are 24 base64 characters ending in "==".
    if len(key) != 24 or key[22:] != "==":
        try:
            raw_key = base64.b64decode(key.encode("latin-1"), validate=True)
        except (binascii.Error, ValueError):
            raise HandshakeError("Sec-WebSocket-Key is not valid base64") from None
        raise HandshakeError(f"Sec-WebSocket-Key must be 16 bytes once decoded, not {len(raw_key)}")
    try:
        base64.b64decode(key.encode("latin-1"), validate=True)
    except (binascii.Error, ValueError):
        raise HandshakeError("Sec-WebSocket-Key is not valid base64") from None
    # §4.2.1 item 6 and §4.2.2 item 4: version 13, otherwise 426 with the version we support.
    version = _one_value(index, "sec-websocket-version", "Sec-WebSocket-Version")
    if version is None:
        raise HandshakeError(
            "missing Sec-WebSocket-Version header", 426, [("Sec-WebSocket-Version", "13")]
        )
    if version != "13":
        raise HandshakeError(
            f"unsupported Sec-WebSocket-Version {version!r}; 13 is supported",
            426,
            [("Sec-WebSocket-Version", "13")],
        )
    # §10.2: the Origin policy; a refused origin gets 403.
    origin = _one_value(index, "origin", "Origin")
    if origins is not None and not check_origin(origin, origins):
        raise HandshakeError(f"origin {origin!r} not allowed", 403)
    # §4.2.1 item 8: subprotocols, tokens in comma-separated lists.
    protocol_values = index.get("sec-websocket-protocol")
    subprotocols: list[str] = _tokens(protocol_values) if protocol_values else []
    for subprotocol in subprotocols:
        if _TOKEN(subprotocol) is None:
            raise HandshakeError(f"invalid subprotocol {subprotocol!r}")
    # §4.2.1 item 9 and §9.1: extensions.
    extension_values = index.get("sec-websocket-extensions")
    try:
        extensions = parse_extensions(extension_values) if extension_values else ()
    except NegotiationError as exc:
        raise HandshakeError(f"invalid Sec-WebSocket-Extensions header: {exc}") from None
    return ServerHandshake(key, host, origin, tuple(subprotocols), extensions)


def _checked(
    headers: Iterable[tuple[str, str]] | Headers | dict[str, str],
) -> list[tuple[str, str]]:
    items = list(headers.items() if isinstance(headers, (dict, Headers)) else headers)
    for name, value in items:
        check_header(name, value)
    return items


def build_accept_response(
    key: str,
    *,
    subprotocol: str | None = None,
    extensions: Sequence[Extension] = (),
    extra_headers: Iterable[tuple[str, str]] | Headers | dict[str, str] = (),
) -> bytes:
    """The 101 response (RFC 6455 §4.2.2 item 5)."""
    fields = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        fields.append(("Sec-WebSocket-Protocol", subprotocol))
    if extensions:
        fields.append(("Sec-WebSocket-Extensions", format_extensions(extensions)))
    fields.extend(_checked(extra_headers))
    return build_head("HTTP/1.1 101 Switching Protocols", fields)


def build_reject_response(
    status: int,
    headers: Iterable[tuple[str, str]] | Headers | dict[str, str] = (),
    body: bytes | str = b"",
) -> bytes:
    """A complete HTTP response refusing the upgrade: status line, headers, Content-Length,
    ``Connection: close``, body (a ``str`` body is sent as UTF-8 text/plain)."""
    if not 200 <= status <= 599:
        raise ValueError(f"a rejection needs a final status other than 101, got {status}")
    fields = _checked(headers)
    names = {name.lower() for name, _ in fields}
    if isinstance(body, str):
        body = body.encode("utf-8")
        if "content-type" not in names:
            fields.append(("Content-Type", "text/plain; charset=utf-8"))
    return build_rejection_head(status, fields, len(body)) + bytes(body)


class WebSocketURI(NamedTuple):
    """A parsed ws:// or wss:// URI (RFC 6455 §3)."""

    secure: bool
    host: str  # without brackets for an IPv6 literal
    port: int
    resource_name: str  # path and query, "/" at least
    user: str | None = None
    password: str | None = None

    @property
    def host_header(self) -> str:
        """The Host header value: brackets around an IPv6 literal, port if not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != (443 if self.secure else 80):
            host = f"{host}:{self.port}"
        return host


def parse_uri(uri: str) -> WebSocketURI:
    """Parses a WebSocket URI (RFC 6455 §3). Raises ValueError if it is not one.

    IPv6 literals (``ws://[::1]:8080/``), ports, paths and queries are supported; a fragment is
    refused (§3: fragment identifiers MUST NOT be used); userinfo (``ws://user:pass@host/``) is
    turned into HTTP Basic credentials by :func:`build_request`.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss"):
        raise ValueError(f"{uri!r} is not a ws:// or wss:// URI")
    if parts.fragment or "#" in uri:
        raise ValueError(f"{uri!r} has a fragment, which a WebSocket URI must not have")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid port in {uri!r}: {exc}") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"{uri!r} has no host")
    secure = scheme == "wss"
    if port is None:
        port = 443 if secure else 80
    resource_name = parts.path or "/"
    if parts.query:
        resource_name = f"{resource_name}?{parts.query}"
    if any(c <= " " or c == "\x7f" for c in resource_name) or not resource_name.isascii():
        raise ValueError(f"{uri!r} has characters that must be percent-encoded")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return WebSocketURI(secure, host, port, resource_name, user, password)


def build_request(
    uri: WebSocketURI,
    key: str,
    *,
    origin: str | None = None,
    subprotocols: Sequence[str] = (),
    extensions: Sequence[Extension] = (),
    extra_headers: Iterable[tuple[str, str]] | Headers | dict[str, str] = (),
) -> bytes:
    """The client's opening handshake request (RFC 6455 §4.1)."""
    fields = [
        ("Host", uri.host_header),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if origin is not None:
        fields.append(("Origin", origin))
    if subprotocols:
        for subprotocol in subprotocols:
            if _TOKEN(subprotocol) is None:
                raise ValueError(f"invalid subprotocol {subprotocol!r}")
        fields.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if extensions:
        fields.append(("Sec-WebSocket-Extensions", format_extensions(extensions)))
    if uri.user is not None:
        credentials = f"{uri.user}:{uri.password or ''}".encode()
        fields.append(("Authorization", "Basic " + base64.b64encode(credentials).decode()))
    fields.extend(_checked(extra_headers))
    for name, value in fields:
        check_header(name, value)
    return build_head(f"GET {uri.resource_name} HTTP/1.1", fields)


def validate_response(
    head: ResponseHead,
    key: str,
    *,
    subprotocols: Sequence[str] = (),
    deflate: PerMessageDeflate | None = None,
) -> tuple[str | None, tuple[Extension, ...], DeflateCodec | None]:
    """Checks the server's 101 response (RFC 6455 §4.1 items 1 to 6 of the client's checks).

    Returns the subprotocol, the agreed extensions and the permessage-deflate codec (or None).
    Raises :class:`HandshakeError` if the response is not an acceptable 101.
    """
    if head.status != 101:
        raise HandshakeError(f"expected status 101, got {head.status}", head.status)
    headers = head.headers
    if not _has_token(headers, "Upgrade", "websocket"):
        raise HandshakeError("missing or invalid Upgrade header in response", 101)
    if not _has_token(headers, "Connection", "upgrade"):
        raise HandshakeError("missing or invalid Connection header in response", 101)
    accept = headers.get_all("Sec-WebSocket-Accept")
    if len(accept) != 1 or accept[0] != accept_key(key):
        raise HandshakeError("missing or wrong Sec-WebSocket-Accept in response", 101)
    # §4.1 client check 5: no extension the client did not offer.
    try:
        extensions = parse_extensions(headers.get_all("Sec-WebSocket-Extensions"))
    except NegotiationError as exc:
        raise HandshakeError(f"invalid Sec-WebSocket-Extensions in response: {exc}", 101) from None
    codec = None
    for extension in extensions:
        if deflate is None or extension.name != deflate.name or codec is not None:
            raise HandshakeError(f"server accepted extension {extension.name} not offered", 101)
        try:
            codec = deflate.accept_response(extension)
        except NegotiationError as exc:
            raise HandshakeError(f"unacceptable permessage-deflate response: {exc}", 101) from None
    # §4.1 client check 6: at most one subprotocol, one the client offered.
    protocols = _tokens(headers.get_all("Sec-WebSocket-Protocol"))
    subprotocol = None
    if protocols:
        if len(protocols) > 1:
            raise HandshakeError("server selected more than one subprotocol", 101)
        if protocols[0] not in subprotocols:
            raise HandshakeError(f"server selected subprotocol {protocols[0]!r} not offered", 101)
        subprotocol = protocols[0]
    return subprotocol, extensions, codec
