"""``wsfast.compat.wsproto``: wsproto 1.3's API on wsfast's compiled frame core.

Three groups of tests:

- behaviour pinned by hand (events, states, errors, close payloads, fragmentation, deflate), so
  they run where wsproto itself is not installed;
- differential tests against the real wsproto when it is installed: the same bytes give the same
  events, and each implementation talks to the other;
- wsproto 1.3.2's own test suite (``test_client.py``, ``test_server.py``, ``test_connection.py``
  as the acceptance criterion, plus ``test_extensions.py`` and ``test_handshake.py``), taken from
  its sdist downloaded from PyPI at test time (never stored here) and run in a subprocess where
  ``wsproto`` and its submodules resolve to the drop-in. wsfast's frame parser and builder are
  wrapped by counting stand-ins there, to prove they did the work. Marked ``slow``; skipped with
  the reason when PyPI cannot be reached or ``WSFAST_OFFLINE=1``.

Not run from wsproto's suite, because they test wsproto's internal frame classes
(``FrameProtocol``, ``FrameDecoder``, ``Buffer``, ``XorMaskerSimple``), which the drop-in replaces
with wsfast's compiled parser rather than reproduces: ``test_frame_protocol.py`` and
``test_permessage_deflate.py`` (it drives ``PerMessageDeflate`` through a ``FrameProtocol``).
See docs/wsproto-compat.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_tools import pip, skip_if_offline, skip_unless

from wsfast import frames
from wsfast.compat import wsproto as dropin
from wsfast.compat.wsproto import WSConnection
from wsfast.compat.wsproto import connection as dconn
from wsfast.compat.wsproto.connection import CLIENT, SERVER, Connection, ConnectionState
from wsfast.compat.wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsfast.compat.wsproto.extensions import PerMessageDeflate
from wsfast.compat.wsproto.frame_protocol import CloseReason
from wsfast.compat.wsproto.utilities import LocalProtocolError, RemoteProtocolError

WSPROTO_VERSION = os.environ.get("WSFAST_COMPAT_WSPROTO", "1.3.2")
SUITE_FILES = [
    "test_client.py",
    "test_server.py",
    "test_connection.py",
    "test_extensions.py",
    "test_handshake.py",
]


def _frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A frame as a client sends it (masked)."""
    return frames.build_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=True)


def _server_events(data: bytes) -> list[Any]:
    server = Connection(SERVER)
    server.receive_data(data)
    return list(server.events())


# -- behaviour pinned by hand ------------------------------------------------------------------


def test_the_frame_core_is_wsfasts() -> None:
    assert dconn.Connection._FrameParser is frames.FrameParser
    assert dconn.Connection._build_frame is frames.build_frame
    assert type(Connection(SERVER)._parser) is frames.FrameParser


def test_send_returns_bytes_and_masks_only_client_frames() -> None:
    client, server = Connection(CLIENT), Connection(SERVER)
    from_client = client.send(BytesMessage(data=b"abc"))
    from_server = server.send(BytesMessage(data=b"abc"))
    assert type(from_client) is bytes and type(from_server) is bytes
    assert from_server == b"\x82\x03abc"
    assert from_client[:2] == b"\x82\x83" and len(from_client) == 2 + 4 + 3


def test_messages_round_trip_both_ways() -> None:
    client, server = Connection(CLIENT), Connection(SERVER)
    for local, remote in ((client, server), (server, client)):
        remote.receive_data(
            local.send(TextMessage(data="héllo"))
            + local.send(BytesMessage(data=bytearray(b"\x00\xff")))
            + local.send(Ping(payload=b"p"))
            + local.send(Pong(payload=b"q"))
        )
        assert list(remote.events()) == [
            TextMessage(data="héllo"),
            BytesMessage(data=b"\x00\xff"),
            Ping(payload=b"p"),
            Pong(payload=b"q"),
        ]


def test_the_data_type_chooses_the_opcode_and_fragments_continue() -> None:
    client, server = Connection(CLIENT), Connection(SERVER)
    # wsproto picks TEXT/BINARY from the data, not from the event class.
    data = client.send(Message(data="ab", message_finished=False))
    data += client.send(Message(data="c€", message_finished=True))
    server.receive_data(data)
    assert list(server.events()) == [
        TextMessage(data="ab", message_finished=False),
        TextMessage(data="c€", message_finished=True),
    ]
    client.send(BytesMessage(data=b"x", message_finished=False))
    with pytest.raises(TypeError):
        client.send(TextMessage(data="y"))
    with pytest.raises(TypeError):
        client.send(Message(data=123))  # type: ignore[arg-type]


def test_a_code_point_split_across_fragments_is_decoded_once_whole() -> None:
    euro = "€".encode()
    events = _server_events(
        _frame(0x1, b"a" + euro[:1], fin=False)
        + _frame(0x9, b"ping")  # RFC 6455 §5.4: control frames may interleave
        + _frame(0x0, euro[1:], fin=True)
    )
    assert events == [
        TextMessage(data="a", message_finished=False),
        Ping(payload=b"ping"),
        TextMessage(data="€", message_finished=True),
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x09\x80abcd", CloseReason.PROTOCOL_ERROR),  # fragmented control frame
        (_frame(0x1, b"\xff"), CloseReason.INVALID_FRAME_PAYLOAD_DATA),  # not UTF-8
        (frames.build_frame(0x2, b"x"), CloseReason.PROTOCOL_ERROR),  # unmasked client frame
        (_frame(0x2, b"x", rsv1=True), CloseReason.PROTOCOL_ERROR),  # RSV1 without extension
        (_frame(0x0, b"x"), CloseReason.PROTOCOL_ERROR),  # continuation without a message
        (_frame(0x8, (1014).to_bytes(2, "big")), CloseReason.PROTOCOL_ERROR),  # as wsproto
        (_frame(0x8, (1005).to_bytes(2, "big")), CloseReason.PROTOCOL_ERROR),  # local-only
    ],
)
def test_protocol_errors_become_a_close_event_and_stop_the_parsing(data: bytes, code: int) -> None:
    server = Connection(SERVER)
    server.receive_data(_frame(0x2, b"before") + data)
    events = list(server.events())
    assert events[0] == BytesMessage(data=b"before")
    assert len(events) == 2 and isinstance(events[1], CloseConnection)
    assert events[1].code is code
    assert server.state is ConnectionState.OPEN  # wsproto leaves the state alone
    server.receive_data(_frame(0x2, b"after"))
    assert list(server.events()) == []


def test_close_codes_are_closereason_members_and_unknown_private_codes_pass() -> None:
    [event] = _server_events(_frame(0x8, (1001).to_bytes(2, "big") + b"bye"))
    assert (
        event == CloseConnection(code=1001, reason="bye") and event.code is CloseReason.GOING_AWAY
    )
    [event] = _server_events(_frame(0x8, (4321).to_bytes(2, "big")))
    assert event == CloseConnection(code=4321, reason="")
    [event] = _server_events(_frame(0x8, b""))
    assert event.code is CloseReason.NO_STATUS_RCVD and event.reason == ""


def test_nothing_after_a_close_frame_is_parsed() -> None:
    server = Connection(SERVER)
    server.receive_data(_frame(0x8, b"\x03\xe8") + _frame(0x2, b"late"))
    assert [type(e) for e in server.events()] == [CloseConnection]
    assert server.state is ConnectionState.REMOTE_CLOSING
    server.receive_data(_frame(0x2, b"ignored"))  # REMOTE_CLOSING: ignored
    assert list(server.events()) == []
    server.send(CloseConnection(code=1000))
    assert server.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"x")


def test_close_payloads_are_built_like_wsprotos() -> None:
    server = Connection(SERVER)
    assert server.send(CloseConnection(code=CloseReason.NO_STATUS_RCVD)) == b"\x88\x00"
    server = Connection(SERVER)
    # RFC 6455 §7.4.1: 1006 may not be sent; wsproto sends 1000 instead.
    assert server.send(CloseConnection(code=1006, reason="x")) == b"\x88\x03\x03\xe8x"
    server = Connection(SERVER)
    with pytest.raises(TypeError):
        server.send(CloseConnection(code=None, reason="no code"))  # type: ignore[arg-type]
    server = Connection(SERVER)
    long_reason = "€" * 60  # 180 bytes: cut to whole code points within 123 bytes
    payload = server.send(CloseConnection(code=1000, reason=long_reason))[2:]
    assert payload[:2] == b"\x03\xe8" and payload[2:].decode() == "€" * 41


def test_eof_reports_an_abnormal_closure() -> None:
    client = Connection(CLIENT)
    client.receive_data(None)
    assert list(client.events()) == [CloseConnection(code=CloseReason.ABNORMAL_CLOSURE)]
    assert client.state is ConnectionState.CLOSED


def test_control_frames_longer_than_125_bytes_cannot_be_sent() -> None:
    with pytest.raises(ValueError):
        Connection(SERVER).send(Ping(payload=b"x" * 126))


def _deflate_pair(**parameters: Any) -> tuple[WSConnection, WSConnection]:
    pytest.importorskip("h11")
    client, server = WSConnection(CLIENT), WSConnection(SERVER)
    server.receive_data(
        client.send(
            Request(host="localhost", target="/", extensions=[PerMessageDeflate(**parameters)])
        )
    )
    request = next(server.events())
    assert isinstance(request, Request)
    client.receive_data(server.send(AcceptConnection(extensions=[PerMessageDeflate()])))
    [accepted] = list(client.events())
    assert isinstance(accepted, AcceptConnection) and accepted.extensions[0].enabled()
    return client, server


@pytest.mark.parametrize("no_context_takeover", [False, True])
def test_permessage_deflate_round_trip(no_context_takeover: bool) -> None:
    client, server = _deflate_pair(
        client_no_context_takeover=no_context_takeover,
        server_no_context_takeover=no_context_takeover,
    )
    text = "compress me " * 200
    for _ in range(3):
        wire = client.send(TextMessage(data=text))
        assert len(wire) < len(text) // 4 and wire[0] & 0x40  # RSV1: compressed (RFC 7692 §6)
        server.receive_data(wire)
        assert list(server.events()) == [TextMessage(data=text)]
        server_wire = server.send(BytesMessage(data=text.encode()))
        client.receive_data(server_wire)
        assert list(client.events()) == [BytesMessage(data=text.encode())]


def test_a_ping_inside_a_compressed_fragmented_message_keeps_it_whole() -> None:
    _client, server = _deflate_pair()
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(b"hello world") + compressor.flush(zlib.Z_SYNC_FLUSH)
    body = body[:-4]
    server.receive_data(
        _frame(0x2, body[:3], fin=False, rsv1=True)
        + _frame(0x9, b"")
        + _frame(0x0, body[3:], fin=True)
    )
    events = list(server.events())
    assert events[1] == Ping()
    assert b"".join(e.data for e in events if isinstance(e, BytesMessage)) == b"hello world"


def test_bad_deflate_data_is_a_1007() -> None:
    _client, server = _deflate_pair()
    server.receive_data(_frame(0x2, b"\xff\xff\xff\xff", rsv1=True))
    [event] = list(server.events())
    assert isinstance(event, CloseConnection)
    assert event.code is CloseReason.INVALID_FRAME_PAYLOAD_DATA


def test_handshake_rejection_with_a_body() -> None:
    pytest.importorskip("h11")
    client, server = WSConnection(CLIENT), WSConnection(SERVER)
    server.receive_data(client.send(Request(host="h", target="/x")))
    assert isinstance(next(server.events()), Request)
    wire = server.send(
        RejectConnection(status_code=403, headers=[(b"content-length", b"2")], has_body=True)
    )
    wire += server.send(RejectData(data=b"no"))
    assert server.state is ConnectionState.CLOSED
    client.receive_data(wire)
    assert list(client.events()) == [
        RejectConnection(status_code=403, headers=[(b"content-length", b"2")], has_body=True),
        RejectData(data=b"no", body_finished=False),
        RejectData(data=b"", body_finished=True),
    ]
    assert client.state is ConnectionState.CLOSED


def test_handshake_errors_carry_a_reject_hint() -> None:
    pytest.importorskip("h11")
    server = WSConnection(SERVER)
    with pytest.raises(RemoteProtocolError) as excinfo:
        server.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert str(excinfo.value) == "Missing header, 'Connection: Upgrade'"
    assert excinfo.value.event_hint == RejectConnection()


def test_data_after_the_101_reaches_the_connection() -> None:
    pytest.importorskip("h11")
    client, server = WSConnection(CLIENT), WSConnection(SERVER)
    server.receive_data(client.send(Request(host="h", target="/")))
    next(server.events())
    wire = server.send(AcceptConnection()) + server.send(TextMessage(data="early"))
    client.receive_data(wire)
    assert list(client.events()) == [AcceptConnection(), TextMessage(data="early")]


# -- differential tests against the real wsproto ------------------------------------------------


def _as_tuple(event: Any) -> tuple[str, dict[str, Any]]:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    if "extensions" in fields:
        fields["extensions"] = [type(e).__name__ for e in fields["extensions"]]
    return type(event).__name__, fields


@pytest.fixture
def real_wsproto() -> Any:
    real = pytest.importorskip("wsproto")
    if real is dropin or not hasattr(real, "WSConnection"):
        pytest.skip("the real wsproto is not installed")
    pytest.importorskip("h11")
    return real


def test_isinstance_against_the_real_event_classes(real_wsproto: Any) -> None:
    import wsproto.events as real_events

    assert dropin.events.register_with_wsproto()
    assert isinstance(TextMessage(data="x"), real_events.TextMessage)
    assert isinstance(TextMessage(data="x"), real_events.Message)
    assert isinstance(CloseConnection(code=1000), real_events.Event)
    assert not isinstance(Ping(), real_events.Pong)


STREAMS = {
    "messages": _frame(0x1, "ü".encode()) + _frame(0x2, b"x" * 300) + _frame(0xA, b"p"),
    "fragments": _frame(0x1, b"ab", fin=False) + _frame(0x9, b"") + _frame(0x0, b"cd"),
    "big": _frame(0x2, os.urandom(70000)),
    "close": _frame(0x8, (4000).to_bytes(2, "big") + b"done") + _frame(0x2, b"never"),
    "close-1012": _frame(0x8, (1012).to_bytes(2, "big")),
}
ERRORS = {
    "fragmented-ping": b"\x09\x80abcd",
    "bad-utf8": _frame(0x1, b"ok\xc3"),
    "unmasked": frames.build_frame(0x2, b"x"),
    "rsv2": b"\xa2\x80abcd",
    "reserved-opcode": b"\x83\x80abcd",
    "close-1-byte": _frame(0x8, b"\x03"),
    "close-999": _frame(0x8, (999).to_bytes(2, "big")),
    "close-1004": _frame(0x8, (1004).to_bytes(2, "big")),
    "close-bad-reason": _frame(0x8, b"\x03\xe8\xff"),
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_same_bytes_same_events(real_wsproto: Any, name: str) -> None:
    from wsproto.connection import SERVER as REAL_SERVER
    from wsproto.connection import Connection as RealConnection

    ours, theirs = Connection(SERVER), RealConnection(REAL_SERVER)
    ours.receive_data(STREAMS[name])
    theirs.receive_data(STREAMS[name])
    assert [_as_tuple(e) for e in ours.events()] == [_as_tuple(e) for e in theirs.events()]
    assert ours.state.name == theirs.state.name


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_same_bytes_same_close_code(real_wsproto: Any, name: str) -> None:
    from wsproto.connection import SERVER as REAL_SERVER
    from wsproto.connection import Connection as RealConnection

    ours, theirs = Connection(SERVER), RealConnection(REAL_SERVER)
    ours.receive_data(_frame(0x2, b"first") + ERRORS[name])
    theirs.receive_data(_frame(0x2, b"first") + ERRORS[name])
    mine, reference = list(ours.events()), list(theirs.events())
    # The reason strings differ (each library words its own); the events and codes do not.
    assert [type(e).__name__ for e in mine] == [type(e).__name__ for e in reference]
    assert mine[-1].code == reference[-1].code
    assert ours.state.name == theirs.state.name


@pytest.mark.parametrize("deflate", [False, True])
@pytest.mark.parametrize("ours_is_client", [False, True])
def test_talks_to_the_real_wsproto(real_wsproto: Any, deflate: bool, ours_is_client: bool) -> None:
    import wsproto.events as rev
    import wsproto.extensions as rext

    if ours_is_client:
        client: Any = WSConnection(CLIENT)
        server: Any = real_wsproto.WSConnection(real_wsproto.ConnectionType.SERVER)
        cev, sev, cext, sext = dropin.events, rev, PerMessageDeflate, rext.PerMessageDeflate
    else:
        client = real_wsproto.WSConnection(real_wsproto.ConnectionType.CLIENT)
        server = WSConnection(SERVER)
        cev, sev, cext, sext = rev, dropin.events, rext.PerMessageDeflate, PerMessageDeflate
    client_ext = [cext()] if deflate else []
    server.receive_data(client.send(cev.Request(host="h", target="/", extensions=client_ext)))
    assert type(next(server.events())).__name__ == "Request"
    server_ext = [sext()] if deflate else []
    client.receive_data(server.send(sev.AcceptConnection(extensions=server_ext)))
    assert type(next(client.events())).__name__ == "AcceptConnection"
    messages = ["t" * 10, "ü" * 5000]
    for text in messages:
        server.receive_data(client.send(cev.TextMessage(data=text)))
        client.receive_data(server.send(sev.BytesMessage(data=text.encode())))
    assert "".join(e.data for e in server.events()) == "".join(messages)
    assert b"".join(e.data for e in client.events()) == "".join(messages).encode()
    server.receive_data(client.send(cev.CloseConnection(code=1000, reason="bye")))
    [close] = list(server.events())
    assert (close.code, close.reason) == (1000, "bye")
    client.receive_data(server.send(close.response()))
    assert [type(e).__name__ for e in client.events()] == ["CloseConnection"]
    assert client.state.name == server.state.name == "CLOSED"


# -- wsproto's own test suite, against the drop-in ---------------------------------------------

# Runs in the subprocess, from the temporary directory holding wsproto's tests/ folder.
CONFTEST = r"""
import importlib, json, os, sys
from collections import Counter

import wsfast.compat.wsproto as dropin
from wsfast.compat.wsproto import connection as dconn

sys.modules["wsproto"] = dropin
for name in ("connection", "events", "extensions", "frame_protocol", "handshake", "typing",
             "utilities"):
    sys.modules["wsproto." + name] = importlib.import_module("wsfast.compat.wsproto." + name)

COUNTS = Counter()
_Parser, _build = dconn.Connection._FrameParser, dconn.Connection._build_frame


class CountingParser:
    def __init__(self, **kwargs):
        self._parser = _Parser(**kwargs)

    def feed(self, data):
        COUNTS["FrameParser.feed"] += 1
        return self._parser.feed(data)


def counting_build_frame(*args, **kwargs):
    COUNTS["build_frame"] += 1
    return _build(*args, **kwargs)


dconn.Connection._FrameParser = CountingParser
dconn.Connection._build_frame = staticmethod(counting_build_frame)


def pytest_sessionfinish(session, exitstatus):
    import wsproto
    import wsproto.connection
    with open(os.path.join(os.path.dirname(__file__), "report.json"), "w") as out:
        json.dump({"counts": COUNTS, "wsproto": wsproto.__name__,
                   "connection": wsproto.connection.Connection.__module__}, out)
"""


@pytest.fixture(scope="module")
def wsproto_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """wsproto's tests/ from its sdist, and h11 (the tests use it) when it is not installed."""
    skip_if_offline()
    root = tmp_path_factory.mktemp("wsproto-suite")
    try:
        downloaded = pip(
            "download", "--no-deps", "--no-binary", ":all:", "-d", str(root / "sdist"),
            f"wsproto=={WSPROTO_VERSION}",
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip("pip download timed out (no PyPI here?)")
    skip_unless(downloaded, f"pip download of the wsproto {WSPROTO_VERSION} sdist")
    [archive] = (root / "sdist").glob("wsproto-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(root / "unpacked", filter="data")
    [tests] = (root / "unpacked").glob("wsproto-*/tests")
    work = root / "run"
    work.mkdir()
    tests.rename(work / "tests")
    (work / "conftest.py").write_text(CONFTEST)
    (work / "pytest.ini").write_text("[pytest]\n")
    try:
        import h11  # noqa: F401
    except ImportError:
        try:
            installed = pip("install", "--quiet", "--target", str(work / "deps"), "h11")
        except subprocess.TimeoutExpired:
            pytest.skip("pip install h11 timed out (no PyPI here?)")
        skip_unless(installed, "pip install h11")
    return work


@pytest.mark.slow
def test_wsprotos_own_suite_passes_on_the_dropin(wsproto_suite: Path) -> None:
    report = wsproto_suite / "report.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ)
    deps = wsproto_suite / "deps"
    if deps.exists():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(deps), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "-c", "pytest.ini", "--rootdir", ".", *(f"tests/{name}" for name in SUITE_FILES)],
        cwd=wsproto_suite, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1:] if result.stdout else []
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary and " passed" in summary[0] and "failed" not in summary[0], summary
    facts = json.loads(report.read_text())
    assert facts["wsproto"] == "wsfast.compat.wsproto"
    assert facts["connection"] == "wsfast.compat.wsproto.connection"
    # wsfast's frame core did the framing during wsproto's own tests.
    assert facts["counts"].get("FrameParser.feed", 0) > 10
    assert facts["counts"].get("build_frame", 0) > 10


class HookedDeflate(PerMessageDeflate):
    """A subclass: the connection drives it through wsproto's frame hooks, not its direct path."""


@pytest.mark.parametrize("hooked_side", ["client", "server"])
def test_the_frame_hooks_and_the_direct_path_agree(hooked_side: str) -> None:
    client_ext = HookedDeflate() if hooked_side == "client" else PerMessageDeflate()
    server_ext = HookedDeflate() if hooked_side == "server" else PerMessageDeflate()
    answer = server_ext.accept(f"permessage-deflate; {client_ext.offer()}")
    client_ext.finalize(f"permessage-deflate; {answer}")
    client = Connection(CLIENT, [client_ext])
    server = Connection(SERVER, [server_ext])
    assert (client._deflate is None) == (hooked_side == "client")
    for index in range(3):
        text = f"message {index} " * 50
        wire = client.send(TextMessage(data=text[:100], message_finished=False))
        wire += client.send(Ping(payload=b"between"))
        wire += client.send(TextMessage(data=text[100:], message_finished=True))
        server.receive_data(wire)
        received = list(server.events())
        assert received[1] == Ping(payload=b"between")
        assert "".join(e.data for e in received if isinstance(e, TextMessage)) == text
        client.receive_data(server.send(BytesMessage(data=text.encode())))
        assert list(client.events()) == [BytesMessage(data=text.encode())]


class Rsv2Extension(dropin.extensions.Extension):
    """A made-up extension that claims RSV2: RSV2 stays an error, wsfast's parser refuses it."""

    name = "rsv2"

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:
        return True


def test_an_unknown_enabled_extension_sees_frames_through_the_hooks() -> None:
    seen: list[tuple[int, bytes]] = []

    class Recorder(Rsv2Extension):
        def frame_inbound_payload_data(self, proto: Any, data: bytes) -> bytes:
            seen.append((len(data), data))
            return data.upper()

        def frame_outbound(self, proto: Any, opcode: Any, rsv: Any, data: bytes, fin: bool) -> Any:
            return rsv, data[::-1]

    server = Connection(SERVER, [Recorder()])
    server.receive_data(_frame(0x2, b"abc"))
    assert list(server.events()) == [BytesMessage(data=b"ABC")]
    assert seen == [(3, b"abc")]
    assert server.send(BytesMessage(data=b"xyz")) == b"\x82\x03zyx"


def test_install_as_wsproto_in_a_fresh_interpreter() -> None:
    code = (
        "from wsfast.compat.wsproto import install_as_wsproto\n"
        "install_as_wsproto()\n"
        "import wsproto, wsproto.events\n"
        "from wsproto.connection import Connection, ConnectionType\n"
        "assert wsproto.__name__ == 'wsfast.compat.wsproto', wsproto.__name__\n"
        "c = Connection(ConnectionType.CLIENT); s = Connection(ConnectionType.SERVER)\n"
        "s.receive_data(c.send(wsproto.events.TextMessage(data='hi')))\n"
        "print([type(e).__module__ for e in s.events()])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['wsfast.compat.wsproto.events']"


def test_install_as_wsproto_refuses_to_mix_with_an_imported_real_wsproto() -> None:
    code = (
        "import wsproto\n"
        "from wsfast.compat.wsproto import install_as_wsproto\n"
        "try:\n    install_as_wsproto()\nexcept RuntimeError:\n    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    if "No module named 'wsproto'" in result.stderr:
        pytest.skip("the real wsproto is not installed")
    assert result.stdout.strip() == "refused", result.stderr


# -- random streams, differential ----------------------------------------------------------------


_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_message = st.tuples(
    st.booleans(),  # text?
    _texts,
    st.integers(min_value=1, max_value=4),  # number of fragments
    st.booleans(),  # a ping after the first fragment?
)


def _wire(messages: list[tuple[bool, str, int, bool]]) -> bytes:
    """Client frames for ``messages``, fragmented at byte offsets (code points may be split)."""
    out = []
    for is_text, text, pieces, ping in messages:
        data = text.encode()
        cuts = [len(data) * i // pieces for i in range(pieces + 1)]
        for index in range(pieces):
            opcode = (0x1 if is_text else 0x2) if index == 0 else 0x0
            out.append(_frame(opcode, data[cuts[index] : cuts[index + 1]], fin=index == pieces - 1))
            if ping and index == 0:
                out.append(_frame(0x9, b"p"))
    return b"".join(out)


def _normalised(events: list[Any]) -> list[Any]:
    """Messages reassembled (wsproto may split frames into pieces), control events as they are."""
    result: list[Any] = []
    parts: list[Any] = []
    for event in events:
        if hasattr(event, "message_finished"):
            parts.append(event.data)
            if event.message_finished:
                joined = "".join(parts) if isinstance(parts[0], str) else b"".join(parts)
                result.append(("message", joined))
                parts = []
        else:
            result.append(_as_tuple(event))
    return result


@settings(max_examples=40, deadline=None)
@given(messages=st.lists(_message, max_size=6), chunk=st.integers(min_value=1, max_value=64))
def test_random_streams_in_random_chunks_match_wsproto(
    messages: list[tuple[bool, str, int, bool]], chunk: int
) -> None:
    real = pytest.importorskip("wsproto.connection")
    if real.__name__ != "wsproto.connection":
        pytest.skip("the real wsproto is not installed")
    wire = _wire(messages)
    ours, theirs = Connection(SERVER), real.Connection(real.SERVER)
    mine: list[Any] = []
    reference: list[Any] = []
    for start in range(0, len(wire), chunk):
        ours.receive_data(wire[start : start + chunk])
        theirs.receive_data(wire[start : start + chunk])
        mine.extend(ours.events())
        reference.extend(theirs.events())
    assert _normalised(mine) == _normalised(reference)
    assert len([m for m in _normalised(mine) if m[0] == "message"]) == len(messages)


def test_received_buffers_may_be_reused_by_the_caller() -> None:
    server = Connection(SERVER)
    wire = _frame(0x2, b"first") + _frame(0x1, b"sec")
    buffer = bytearray(wire[:-2])
    server.receive_data(memoryview(buffer))
    buffer[:] = b"\x00" * len(buffer)  # the caller reuses its read buffer
    server.receive_data(bytearray(wire[-2:]))
    assert list(server.events()) == [BytesMessage(data=b"first"), TextMessage(data="sec")]


# -- uvicorn --ws wsproto on the drop-in --------------------------------------------------------

UVICORN_SCRIPT = r"""
import socket, sys, threading, time
sys.path.insert(0, sys.argv[1])
from wsfast.compat.wsproto import install_as_wsproto
install_as_wsproto()
import uvicorn
import uvicorn.protocols.websockets.wsproto_impl as impl
from wsfast.compat.wsproto import WSConnection, ConnectionType
from wsfast.compat.wsproto.events import (
    AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage)
from wsfast.compat.wsproto.extensions import PerMessageDeflate

async def app(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        key = "text" if message.get("text") is not None else "bytes"
        await send({"type": "websocket.send", key: message[key]})

probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="wsproto",
                                       log_level="warning", lifespan="off"))
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
deadline = time.monotonic() + 20
while not server.started:
    assert time.monotonic() < deadline, "uvicorn did not start"
    time.sleep(0.05)

sock = socket.create_connection(("127.0.0.1", port), timeout=10)
client = WSConnection(ConnectionType.CLIENT)

def next_event():
    while True:
        for event in client.events():
            return event
        client.receive_data(sock.recv(65536) or None)

sock.sendall(client.send(Request(host="localhost", target="/", extensions=[PerMessageDeflate()])))
accepted = next_event()
assert isinstance(accepted, AcceptConnection), accepted
messages = [TextMessage(data="hello"), TextMessage(data="\u00fc" * 10000),
            BytesMessage(data=b"\x00\x01" * 40000)]
for message in messages:
    sock.sendall(client.send(message))
    parts = []
    while True:
        event = next_event()
        parts.append(event.data)
        if event.message_finished:
            break
    joined = "".join(parts) if isinstance(message.data, str) else b"".join(parts)
    assert joined == message.data
sock.sendall(client.send(CloseConnection(code=1000)))
assert isinstance(next_event(), CloseConnection)
server.should_exit = True
thread.join(10)
print("OK", impl.wsproto.__name__, [type(e).__name__ for e in accepted.extensions])
"""


@pytest.mark.slow
def test_uvicorn_ws_wsproto_runs_on_the_dropin(tmp_path: Path) -> None:
    """uvicorn (installed at test time into a temporary directory) serving ``--ws wsproto``
    after ``install_as_wsproto()``, with permessage-deflate, echoing to a drop-in client."""
    skip_if_offline()
    target = tmp_path / "uvicorn"
    try:
        installed = pip("install", "--quiet", "--target", str(target), "uvicorn")
    except subprocess.TimeoutExpired:
        pytest.skip("pip install uvicorn timed out (no PyPI here?)")
    skip_unless(installed, "pip install uvicorn")
    result = subprocess.run(
        [sys.executable, "-c", UVICORN_SCRIPT, str(target)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.split() == ["OK", "wsfast.compat.wsproto", "['PerMessageDeflate']"]


@pytest.mark.parametrize("attribute", ["client_max_window_bits", "server_max_window_bits"])
def test_window_bits_checked_when_constructed_and_when_set(attribute: str) -> None:
    # RFC 7692 §7.1.2: a window is 2**8 to 2**15 bytes; wsproto accepts 9 to 15.
    extension = PerMessageDeflate(**{attribute: 9})
    assert getattr(extension, attribute) == 9
    setattr(extension, attribute, 15)
    assert getattr(extension, attribute) == 15
    for bad in (8, 16):
        with pytest.raises(ValueError, match="between 9 and 15"):
            setattr(extension, attribute, bad)
        with pytest.raises(ValueError, match="between 9 and 15"):
            PerMessageDeflate(**{attribute: bad})
    assert getattr(extension, attribute) == 15
    assert "window" in (getattr(PerMessageDeflate, attribute).__doc__ or "")
