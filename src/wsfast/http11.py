"""A strict, bounded, incremental parser for HTTP/1.1 message heads (RFC 9112), for the opening
handshake of RFC 6455 §4.

Only what a WebSocket handshake needs: a request head (server side), a response head and its body
(client side, to report rejections). Bytes are accumulated until the blank line that ends the head
is found with one ``bytes.find`` per chunk (never a per-byte loop); the head is then validated and
split in a handful of C-level operations. Everything is bounded: the head size and the number of
header fields, and the size of a response body.

Strictness (RFC 9112): lines end with CRLF (a bare CR or LF is an error), no obsolete line folding
(§5.2), no whitespace between a field name and its colon (§5.1), field names are tokens, field
values carry no control characters other than HTAB. Field values are decoded as ISO-8859-1 so that
any octet round-trips.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from http import HTTPStatus

from .exceptions import HTTPError

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEAD_SIZE",
    "BodyReader",
    "HTTPError",
    "HeadReader",
    "Headers",
    "RequestHead",
    "ResponseHead",
    "build_head",
    "build_rejection_head",
    "parse_request_head",
    "parse_response_head",
]

#: Default limit, in bytes, of a request or response head (start line and headers).
DEFAULT_MAX_HEAD_SIZE = 16 * 1024
#: Default limit of the number of header fields in a head.
DEFAULT_MAX_HEADERS = 128
#: Default limit, in bytes, of the body of a response read during the handshake (a rejection).
DEFAULT_MAX_BODY_SIZE = 1 << 20

# RFC 9110 §5.6.2: token = 1*tchar.
_STR_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
# Control characters other than HTAB, CR and LF (those are checked separately), and DEL.
_FORBIDDEN_CTL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
# Characters that must never appear in a header value we send (header injection).
_FORBIDDEN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search
# RFC 9112 §3.2: request-target (origin-form is what WebSocket uses): visible ASCII only.
_DIGIT_CHARS = frozenset("0123456789")
_STR_TARGET = re.compile(r"[\x21-\x7e]+\Z").match
_STR_STATUS_CODE = re.compile(r"[0-9]{3}\Z").match
_DIGITS = re.compile(rb"[0-9]+\Z").match
_HEX = re.compile(rb"[0-9A-Fa-f]+\Z").match


class Headers:
    """An ordered, case-insensitive multi-map of header fields.

    ``headers["Host"]`` returns the single value of a field (KeyError if absent, ValueError if it
    appears more than once), ``get()`` the value or a default, ``get_all()`` every value in order,
    iteration yields ``(name, value)`` pairs as received. Construction from an iterable of pairs
    or a mapping.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] | dict[str, str] = ()) -> None:
        if isinstance(items, dict):
            items = items.items()
        self._items: list[tuple[str, str]] = [(str(n), str(v)) for n, v in items]
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self._items:
                index.setdefault(name.lower(), []).append(value)
            self._index = index
        return index

    def get_all(self, name: str) -> list[str]:
        """Every value of field ``name`` (case-insensitive), in order; ``[]`` if absent."""
        return list(self._lookup().get(name.lower(), ()))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of ``name``, ``default`` if absent; several values are joined with ", "."""
        values = self._lookup().get(name.lower())
        if not values:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def __getitem__(self, name: str) -> str:
        values = self._lookup().get(name.lower())
        if not values:
            raise KeyError(name)
        if len(values) > 1:
            raise ValueError(f"{name} appears {len(values)} times")
        return values[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def add(self, name: str, value: str) -> None:
        """Appends a field."""
        self._items.append((name, value))
        self._index = None

    def items(self) -> list[tuple[str, str]]:
        """The ``(name, value)`` pairs, in order."""
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._items == other._items
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._items))

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class RequestHead:
    """A parsed request head: method, target, version (``"HTTP/1.1"``), headers."""

    __slots__ = ("headers", "method", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: Headers) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers

    def __repr__(self) -> str:
        return f"RequestHead({self.method!r}, {self.target!r}, {self.version!r}, {self.headers!r})"


class ResponseHead:
    """A parsed response head: version, status code, reason phrase, headers."""

    __slots__ = ("headers", "reason", "status", "version")

    def __init__(self, version: str, status: int, reason: str, headers: Headers) -> None:
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers

    def __repr__(self) -> str:
        return f"ResponseHead({self.version!r}, {self.status}, {self.reason!r}, {self.headers!r})"


class HeadReader:
    """Accumulates bytes until a complete message head, bounded by ``max_head_size``.

    ``feed(data)`` returns None while the head is incomplete, then the head's bytes (without the
    final CRLF CRLF); ``rest`` holds the bytes received after the head (the start of the body or
    of the WebSocket stream). Raises :class:`HTTPError` (431) when the head exceeds the limit.
    The input may be any buffer; it is copied, so the caller can reuse it.
    """

    __slots__ = ("_buffer", "max_head_size", "rest")

    def __init__(self, max_head_size: int = DEFAULT_MAX_HEAD_SIZE) -> None:
        self._buffer = bytearray()
        self.max_head_size = max_head_size
        self.rest = b""

    def feed(self, data: bytes | bytearray | memoryview) -> bytes | None:
        buffer = self._buffer
        if not buffer:
            # Common case: the whole head arrives in one chunk; avoid copying it twice.
            chunk = bytes(data)
            end = chunk.find(b"\r\n\r\n")
            if end >= 0:
                return self._complete(chunk, end)
            buffer += chunk
            start = 0
        else:
            start = max(0, len(buffer) - 3)
            buffer += data
            end = buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                whole = bytes(buffer)
                buffer.clear()
                return self._complete(whole, end)
        if len(buffer) > self.max_head_size:
            raise HTTPError(f"message head larger than {self.max_head_size} bytes", 431)
        return None

    def _complete(self, whole: bytes, end: int) -> bytes:
        if end + 4 > self.max_head_size:
            raise HTTPError(f"message head larger than {self.max_head_size} bytes", 431)
        self.rest = whole[end + 4 :]
        return whole[:end]


def _check_head(head: bytes) -> None:
    # RFC 9112 §2.2: a bare CR is invalid; we also refuse a bare LF as a line terminator.
    crlf = head.count(b"\r\n")
    if head.count(b"\r") != crlf or head.count(b"\n") != crlf:
        raise HTTPError("bare CR or LF in message head")
    if _FORBIDDEN_CTL(head) is not None:
        raise HTTPError("control character in message head")


def _parse_fields(lines: list[str], max_headers: int) -> Headers:
    # ``lines`` come from the head decoded once as ISO-8859-1: one C-level decode for the whole
    # head instead of two per field. The case-insensitive index is built in the same pass.
    if len(lines) > max_headers:
        raise HTTPError(f"more than {max_headers} header fields", 431)
    items: list[tuple[str, str]] = []
    index: dict[str, list[str]] = {}
    append = items.append
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise HTTPError(f"header line without a colon: {line[:40]!r}")
        if _STR_TOKEN(name) is None:
            if name[:1] in (" ", "\t"):
                # RFC 9112 §5.2: obsolete line folding is rejected.
                raise HTTPError("obsolete line folding in header field")
            # RFC 9112 §5.1: no whitespace between field name and colon.
            raise HTTPError(f"invalid header field name: {name[:40]!r}")
        value = value.strip(" \t")
        append((name, value))
        key = name.lower()
        values = index.get(key)
        if values is None:
            index[key] = [value]
        else:
            values.append(value)
    headers = Headers()
    headers._items = items
    headers._index = index
    return headers


def _split_head(head: bytes) -> list[str]:
    _check_head(head)
    return head.decode("latin-1").split("\r\n")


def _check_version(version: str, where: str) -> None:
    if (
        version[:5] != "HTTP/"
        or len(version) != 8
        or version[6] != "."
        or version[5] not in _DIGIT_CHARS
        or version[7] not in _DIGIT_CHARS
    ):
        raise HTTPError(f"invalid HTTP version in {where}")


def parse_request_head(head: bytes, max_headers: int = DEFAULT_MAX_HEADERS) -> RequestHead:
    """Parses a request head (without the final CRLF CRLF). Raises :class:`HTTPError`."""
    lines = _split_head(head)
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise HTTPError("malformed request line")
    method, target, version = parts
    if _STR_TOKEN(method) is None:
        raise HTTPError("invalid method in request line")
    if _STR_TARGET(target) is None:
        raise HTTPError("invalid request target")
    _check_version(version, "request line")
    return RequestHead(method, target, version, _parse_fields(lines[1:], max_headers))


def parse_response_head(head: bytes, max_headers: int = DEFAULT_MAX_HEADERS) -> ResponseHead:
    """Parses a response head (without the final CRLF CRLF). Raises :class:`HTTPError`."""
    lines = _split_head(head)
    parts = lines[0].split(" ", 2)
    if len(parts) < 2:
        raise HTTPError("malformed status line")
    version, status = parts[0], parts[1]
    reason = parts[2] if len(parts) == 3 else ""
    _check_version(version, "status line")
    if _STR_STATUS_CODE(status) is None or not 100 <= int(status) <= 599:
        raise HTTPError("invalid status code in status line")
    return ResponseHead(version, int(status), reason, _parse_fields(lines[1:], max_headers))


class BodyReader:
    """Reads a response body per RFC 9112 §6.3, bounded by ``max_body_size``.

    ``Transfer-Encoding: chunked`` is decoded; otherwise ``Content-Length`` bytes are read; without
    either, the body runs to the end of the transport (``feed_eof()``). 1xx, 204 and 304 responses
    have no body. ``feed()`` returns True once the body is complete; ``body`` holds it. A body
    larger than the limit is truncated to it (the rest is discarded): this reader only serves to
    report a rejection, and must never grow without bound.
    """

    __slots__ = ("_chunk_left", "_chunks", "_done", "_length", "_mode", "_pending", "max_body_size")

    def __init__(self, head: ResponseHead, max_body_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self.max_body_size = max_body_size
        self._chunks = bytearray()
        self._pending = bytearray()  # undecoded chunked-coding bytes
        self._chunk_left = 0
        self._done = False
        self._length = 0
        headers = head.headers
        encoding = headers.get("Transfer-Encoding")
        length = headers.get("Content-Length")
        if head.status < 200 or head.status in (204, 304):
            self._mode = "none"
            self._done = True
        elif encoding is not None:
            if encoding.split(",")[-1].strip().lower() != "chunked":
                self._mode = "eof"
            else:
                self._mode = "chunked"
        elif length is not None:
            raw = length.encode("latin-1")
            if _DIGITS(raw) is None or len(raw) > 18:
                raise HTTPError("invalid Content-Length")
            self._mode = "length"
            self._length = int(raw)
            self._done = self._length == 0
        else:
            self._mode = "eof"

    @property
    def body(self) -> bytes:
        return bytes(self._chunks)

    @property
    def done(self) -> bool:
        return self._done

    def _keep(self, data: bytes | bytearray | memoryview) -> None:
        room = self.max_body_size - len(self._chunks)
        if room > 0:
            self._chunks += data[:room]

    def feed(self, data: bytes | bytearray | memoryview) -> bool:
        if self._done:
            return True
        mode = self._mode
        if mode == "length":
            take = memoryview(data)[: self._length]
            self._length -= len(take)
            self._keep(take)
            self._done = self._length == 0
        elif mode == "eof":
            self._keep(data)
        else:
            self._pending += data
            self._decode_chunks()
        return self._done

    def feed_eof(self) -> None:
        """The transport closed: whatever was received is the body."""
        self._done = True

    def _decode_chunks(self) -> None:
        pending = self._pending
        while not self._done:
            if self._chunk_left > 0:
                take = pending[: self._chunk_left]
                del pending[: len(take)]
                self._chunk_left -= len(take)
                self._keep(take)
                if self._chunk_left > 0:
                    return
                self._chunk_left = -1  # expect the CRLF that ends the chunk data
            if self._chunk_left == -1:
                if len(pending) < 2:
                    return
                if pending[:2] != b"\r\n":
                    raise HTTPError("malformed chunked body")
                del pending[:2]
                self._chunk_left = 0
            end = pending.find(b"\r\n")
            if end < 0:
                if len(pending) > 1024:
                    raise HTTPError("chunk size line too long")
                return
            size_line = bytes(pending[:end]).partition(b";")[0].strip()
            del pending[: end + 2]
            if _HEX(size_line) is None or len(size_line) > 15:
                raise HTTPError("malformed chunk size")
            size = int(size_line, 16)
            if size == 0:
                # Trailer fields are not used by a rejection; stop here.
                self._done = True
                return
            self._chunk_left = size


def check_header(name: str, value: str) -> None:
    """Raises ValueError if ``name`` is not a token or ``value`` could break the message head
    (CR, LF, or other control characters): headers supplied by the application are checked before
    they are sent, so that no one can inject fields or a body."""
    if _STR_TOKEN(name) is None:
        raise ValueError(f"invalid header name: {name!r}")
    if _FORBIDDEN_VALUE(value) is not None:
        raise ValueError(f"invalid character in value of header {name}")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"value of header {name} is not ISO-8859-1") from None


def build_head(start_line: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialises a start line and header fields (already checked) into a message head."""
    parts = [start_line]
    for name, value in headers:
        parts.append(f"{name}: {value}")
    parts.append("\r\n")
    return "\r\n".join(parts).encode("latin-1")


def build_rejection_head(
    status: int, headers: Iterable[tuple[str, str]], content_length: int | None
) -> bytes:
    """The head of a response that refuses an upgrade and ends the connection: the status line
    with the status's reason phrase, ``headers`` (already checked by :func:`check_header`), then
    ``Content-Length: content_length`` unless it is None or ``headers`` have one, and
    ``Connection: close`` (RFC 9112 §9.6) unless ``headers`` have a Connection field."""
    fields = list(headers)
    names = {name.lower() for name, _ in fields}
    if content_length is not None and "content-length" not in names:
        fields.append(("Content-Length", str(content_length)))
    if "connection" not in names:
        fields.append(("Connection", "close"))
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"  # a status code HTTP does not register has no phrase of its own
    return build_head(f"HTTP/1.1 {status} {phrase}", fields)
