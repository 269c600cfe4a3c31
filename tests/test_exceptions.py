"""wsfast.exceptions: one module for every exception wsfast raises, under one base class."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import wsfast
from wsfast import exceptions
from wsfast.exceptions import (
    HandshakeError,
    HTTPError,
    InvalidHandshake,
    InvalidStatus,
    InvalidUTF8,
    NegotiationError,
    PayloadTooBig,
    ProtocolError,
    WebSocketError,
)
from wsfast.http11 import Headers

#: Exception classes defined outside wsfast.exceptions (none).
PENDING_MOVE: set[str] = set()

#: The wsproto drop-in keeps wsproto's exceptions where wsproto has them (ProtocolError,
#: LocalProtocolError, RemoteProtocolError, ParseFailed), but under WebSocketError too.
DROP_IN = "wsfast.compat.wsproto"
#: The benchmark tool's Skip/PlotUnavailable and the command line's CommandError steer the tool
#: and never leave it (main() turns them into an exit status).
NOT_RAISED_TO_USERS = ("wsfast.bench", "wsfast.__main__", "wsfast.cli")


def _exception_classes(module: object) -> list[type[BaseException]]:
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ]


def test_every_exception_derives_from_websocket_error() -> None:
    own = exceptions.__name__
    classes = [cls for cls in _exception_classes(exceptions) if cls.__module__ == own]
    assert {cls.__name__ for cls in classes} == set(exceptions.__all__)
    for cls in classes:
        assert issubclass(cls, WebSocketError), cls


def test_no_exception_class_defined_elsewhere() -> None:
    stray = set()
    for info in pkgutil.walk_packages(wsfast.__path__, "wsfast."):
        if info.name.startswith(NOT_RAISED_TO_USERS):
            continue
        module = importlib.import_module(info.name)
        for cls in _exception_classes(module):
            if cls.__module__ != info.name or cls.__module__ == exceptions.__name__:
                continue
            if info.name.startswith(DROP_IN):
                assert issubclass(cls, WebSocketError), cls
            else:
                stray.add(f"{cls.__module__}.{cls.__qualname__}")
    assert stray <= PENDING_MOVE, stray - PENDING_MOVE


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("wsfast.http11", "HTTPError"),
        ("wsfast.handshake", "HandshakeError"),
        ("wsfast.extensions", "NegotiationError"),
        ("wsfast.utf8", "InvalidUTF8"),
        ("wsfast", "HTTPError"),
        ("wsfast", "HandshakeError"),
        ("wsfast", "NegotiationError"),
        ("wsfast", "InvalidHandshake"),
        ("wsfast", "InvalidStatus"),
        ("wsfast", "ConnectionClosed"),
    ],
)
def test_former_homes_re_export_the_same_class(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(exceptions, name)


def test_http_error_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad head") as info:
        raise HTTPError("bad head", 431)
    assert isinstance(info.value, WebSocketError)
    assert info.value.status == 431
    assert info.value.reason == "bad head"


def test_invalid_status_is_an_invalid_handshake() -> None:
    headers = Headers([("Content-Type", "text/plain")])
    error = InvalidStatus(403, "Forbidden", headers, b"go away")
    assert isinstance(error, InvalidHandshake)
    assert (error.status, error.reason, error.headers, error.body) == (
        403,
        "Forbidden",
        headers,
        b"go away",
    )
    assert "HTTP 403 Forbidden" in str(error)


@pytest.mark.parametrize(
    "error",
    [
        ProtocolError(1002, "bad frame"),
        PayloadTooBig("too big"),
        InvalidUTF8(3),
        HTTPError("bad head", 431),
        HandshakeError("nope", 426, [("Sec-WebSocket-Version", "13")]),
        NegotiationError("bad parameter"),
    ],
)
def test_exceptions_survive_pickling(error: WebSocketError) -> None:
    # Exceptions cross process boundaries (multiprocessing, concurrent.futures) by pickling.
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_no_name_is_both_an_event_and_an_exception() -> None:
    # One meaning per word: the event that reports the end of the transport is events.Closed,
    # the exception raised on a closed connection is exceptions.ConnectionClosed.
    from wsfast import events

    assert set(events.__all__).isdisjoint(exceptions.__all__)
    assert issubclass(events.Closed, events.Event)
    assert events.Closed(1006).code == 1006
