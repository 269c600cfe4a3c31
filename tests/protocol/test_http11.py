"""The bounded incremental HTTP/1.1 head parser (wsfast.http11)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsfast.exceptions import HTTPError
from wsfast.http11 import (
    BodyReader,
    Headers,
    HeadReader,
    build_head,
    check_header,
    parse_request_head,
    parse_response_head,
)

REQUEST = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"X-Multi: a\r\n"
    b"x-multi:   b  \r\n"
    b"\r\n"
)


def test_head_reader_one_chunk_keeps_the_rest() -> None:
    reader = HeadReader()
    head = reader.feed(REQUEST + b"\x81\x00")
    assert head == REQUEST[:-4]
    assert reader.rest == b"\x81\x00"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, len(REQUEST)), max_size=6))
def test_head_reader_any_split(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [REQUEST[a:b] for a, b in zip([0, *points], [*points, len(REQUEST)], strict=False)]
    reader = HeadReader()
    results = [reader.feed(memoryview(piece)) for piece in pieces if piece]
    assert results[-1] == REQUEST[:-4]
    assert all(result is None for result in results[:-1])


def test_head_reader_terminator_split_across_chunks() -> None:
    reader = HeadReader()
    assert reader.feed(REQUEST[:-3]) is None
    assert reader.feed(REQUEST[-3:-1]) is None
    assert reader.feed(REQUEST[-1:] + b"rest") == REQUEST[:-4]
    assert reader.rest == b"rest"


def test_head_reader_copies_its_input() -> None:
    reader = HeadReader()
    buffer = bytearray(REQUEST[:20])
    reader.feed(memoryview(buffer))
    buffer[:] = b"X" * 20  # the caller reuses its buffer
    assert reader.feed(REQUEST[20:]) == REQUEST[:-4]


def test_head_reader_bounded() -> None:
    reader = HeadReader(max_head_size=64)
    assert reader.feed(b"GET / HTTP/1.1\r\n") is None
    with pytest.raises(HTTPError) as info:
        reader.feed(b"X-Long: " + b"a" * 100)
    assert info.value.status == 431


def test_head_reader_bounded_when_complete_in_one_chunk() -> None:
    reader = HeadReader(max_head_size=32)
    with pytest.raises(HTTPError) as info:
        reader.feed(REQUEST)
    assert info.value.status == 431


def test_parse_request_head() -> None:
    request = parse_request_head(REQUEST[:-4])
    assert (request.method, request.target, request.version) == ("GET", "/chat?room=1", "HTTP/1.1")
    headers = request.headers
    assert headers["host"] == "example.com"
    assert headers.get_all("X-MULTI") == ["a", "b"]
    assert headers.get("x-multi") == "a, b"
    with pytest.raises(ValueError):
        headers["X-Multi"]
    with pytest.raises(KeyError):
        headers["Missing"]
    assert "UPGRADE" in headers and "Missing" not in headers
    assert next(iter(headers)) == ("Host", "example.com")
    assert len(headers) == 5


def test_header_values_are_latin1_round_trip() -> None:
    head = b"GET / HTTP/1.1\r\nX-Bytes: caf\xe9"
    assert parse_request_head(head).headers["X-Bytes"] == "caf\xe9"


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1 extra",  # four parts
        b"GET  / HTTP/1.1",  # empty part
        b"GET /",  # two parts
        b"G\x01T / HTTP/1.1",  # method not a token
        b"GET /\x7f HTTP/1.1",  # control character in target
        b"GET / HTTP/1.1\nHost: x",  # bare LF
        b"GET / HTTP/1.1\r\nHost: x\ry",  # bare CR
        b"GET / HTTP/1.1\r\nHost x",  # no colon
        b"GET / HTTP/1.1\r\nHost : x",  # whitespace before the colon
        b"GET / HTTP/1.1\r\n: x",  # empty name
        b"GET / HTTP/1.1\r\nHost: x\r\n folded",  # obsolete line folding
        b"GET / HTTP/1.1\r\nHost: a\x00b",  # NUL in a value
        b"GET / HTTP/1.1\r\nBad\x80Name: x",  # non-token name
        b"GET / HTTX/1.1",  # not HTTP
        b"GET / HTTP/11",  # malformed version
        b"GET / HTTP/1.10",  # malformed version
    ],
)
def test_parse_request_head_rejects(head: bytes) -> None:
    with pytest.raises(HTTPError) as info:
        parse_request_head(head)
    assert info.value.status == 400
    assert info.value.reason


def test_parse_request_head_header_count_bounded() -> None:
    head = b"GET / HTTP/1.1" + b"".join(b"\r\nX-%d: v" % i for i in range(10))
    assert len(parse_request_head(head, max_headers=10).headers) == 10
    with pytest.raises(HTTPError) as info:
        parse_request_head(head, max_headers=9)
    assert info.value.status == 431


def test_header_value_keeps_inner_tabs_and_strips_ows() -> None:
    head = b"GET / HTTP/1.1\r\nX: \t a\tb \t"
    assert parse_request_head(head).headers["X"] == "a\tb"


def test_parse_response_head() -> None:
    response = parse_response_head(b"HTTP/1.1 404 Not Found Here\r\nContent-Length: 3")
    assert (response.version, response.status, response.reason) == (
        "HTTP/1.1",
        404,
        "Not Found Here",
    )
    assert parse_response_head(b"HTTP/1.1 200").reason == ""
    assert parse_response_head(b"HTTP/1.1 101 ").status == 101


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1",
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 abc OK",
        b"HTTP/1.1 099 X",
        b"ICY 200 OK",
        b"HTTP/1.1 200 OK\r\nBad Header: x",
    ],
)
def test_parse_response_head_rejects(head: bytes) -> None:
    with pytest.raises(HTTPError):
        parse_response_head(head)


def _reader(head: bytes, limit: int = 1 << 20) -> BodyReader:
    return BodyReader(parse_response_head(head), limit)


def test_body_content_length() -> None:
    reader = _reader(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5")
    assert not reader.feed(b"ab")
    assert reader.feed(b"cdeEXTRA")
    assert reader.body == b"abcde"


def test_body_zero_length_and_no_body_statuses() -> None:
    assert _reader(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0").done
    assert _reader(b"HTTP/1.1 204 No Content").done
    assert _reader(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10").done


def test_body_until_eof_bounded() -> None:
    reader = _reader(b"HTTP/1.1 500 Oops", limit=4)
    assert not reader.feed(b"abc")
    assert not reader.feed(b"defgh")
    reader.feed_eof()
    assert reader.done and reader.body == b"abcd"


def test_body_chunked() -> None:
    reader = _reader(b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked")
    data = b"3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n"
    results = [reader.feed(data[i : i + 1]) for i in range(len(data))]
    assert results[-1] and reader.body == b"abc0123456789"


@pytest.mark.parametrize(
    ("head", "data"),
    [
        (b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked", b"zz\r\n"),
        (b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked", b"3\r\nabcX\r\n"),
    ],
)
def test_body_chunked_malformed(head: bytes, data: bytes) -> None:
    with pytest.raises(HTTPError):
        _reader(head).feed(data)


def test_body_invalid_content_length() -> None:
    with pytest.raises(HTTPError):
        _reader(b"HTTP/1.1 400 Bad\r\nContent-Length: -1")


def test_check_header_refuses_injection() -> None:
    check_header("X-Ok", "fine\tvalue")
    for name, value in [
        ("X", "a\r\nInjected: 1"),
        ("X", "a\nb"),
        ("Bad Name", "v"),
        ("X", "\u20ac"),
    ]:
        with pytest.raises(ValueError):
            check_header(name, value)


def test_build_head_round_trip() -> None:
    head = build_head("GET / HTTP/1.1", [("Host", "h"), ("X", "y")])
    assert head == b"GET / HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n"
    parsed = parse_request_head(head[:-4])
    assert parsed.headers == Headers([("Host", "h"), ("X", "y")])
