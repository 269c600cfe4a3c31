"""The permessage-deflate backends (wsfast.deflate): zlib, zlib-ng and isal each round-trip, read
one another's output and the peers', honour the negotiated window, keep the bomb limit, and
release the GIL; the default rule and the public switch.

A backend that is not installed makes its tests *skip* with the reason (``pip install
'wsfast[zlib-ng]'`` / ``'wsfast[isal]'``); the ``test`` extra installs both, so CI runs them all
(and its ``WSFAST_REQUIRE_PEERS=1`` turns such a skip, "not installed", into a failure).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from protocol_helpers import transfer, wire

import wsfast
from wsfast import deflate
from wsfast.connection import ClientConnection, ServerConnection
from wsfast.events import BinaryMessage, ConnectionFailed, TextMessage
from wsfast.extensions import DeflateCodec, PerMessageDeflate

Pair = Callable[..., tuple[ClientConnection, ServerConnection]]

BACKENDS = ("zlib", "zlib-ng", "isal")


def require(name: str) -> deflate.DeflateBackend:
    """The backend, or a skip that says it is not installed (and how to install it)."""
    if name not in deflate.available_deflate_backends():
        pytest.skip(f"deflate backend {name!r} is not installed: pip install 'wsfast[{name}]'")
    return deflate.get_deflate_backend(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> deflate.DeflateBackend:
    return require(request.param)


@pytest.fixture
def restore_default() -> Iterator[None]:
    saved = deflate._default
    yield
    deflate._default = saved


def messages(count: int = 6) -> list[bytes]:
    """JSON-like messages of various sizes, and a few that do not compress."""
    rng = random.Random(7)
    found = [deflate.reference_text(size, seed) for seed, size in enumerate((40, 600, 4096))]
    found += [deflate.reference_text(70_000, 9), rng.randbytes(3000), bytes(100_000)]
    return found[:count]


@pytest.mark.parametrize(("sender", "receiver"), list(itertools.product(BACKENDS, BACKENDS)))
@pytest.mark.parametrize(
    "config", [{}, {"server_no_context_takeover": True, "client_no_context_takeover": True}]
)
def test_round_trip_between_backends(
    pair: Pair, sender: str, receiver: str, config: dict[str, object]
) -> None:
    require(sender)
    require(receiver)
    client, server = pair(
        client_options={"compression": PerMessageDeflate(backend=sender, **config)},  # type: ignore[arg-type]
        server_options={
            "compression": PerMessageDeflate(backend=receiver, server_max_window_bits=12, **config)  # type: ignore[arg-type]
        },
    )
    assert client._codec.backend.name == sender  # type: ignore[attr-defined]
    assert server._codec.backend.name == receiver  # type: ignore[attr-defined]
    for message in messages():
        client.send_binary(message)
        assert transfer(client, server) == [BinaryMessage(message)]
        server.send_binary(message)
        assert transfer(server, client) == [BinaryMessage(message)]
    text = deflate.reference_text(5000, 3).decode()
    client.send_text(text[:2000], fin=False)
    client.send_continuation(text[2000:], fin=True)
    assert transfer(client, server) == [TextMessage(text)]


@pytest.mark.parametrize("bits", range(9, 16))
def test_compressor_keeps_within_the_negotiated_window(
    backend: deflate.DeflateBackend, bits: int
) -> None:
    # Repeats farther back than the window: a compressor that reached for them would write
    # distances a peer with that window rejects (RFC 7692 §7.1.2.1).
    rng = random.Random(bits)
    block = rng.randbytes(300)
    data = (block + rng.randbytes((1 << bits) + 50)) * 4
    codec = DeflateCodec(compress_bits=bits, backend=backend)
    peer = zlib.decompressobj(-bits)
    for _ in range(3):  # context takeover: later messages refer back to earlier ones
        out = codec.compress(data)
        assert peer.decompress(out + b"\x00\x00\xff\xff") == data


@pytest.mark.parametrize("level", [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
@pytest.mark.parametrize("mem_level", [1, 5, 8, 9])
def test_every_level_and_memory_level(
    backend: deflate.DeflateBackend, level: int, mem_level: int
) -> None:
    text = deflate.reference_text(3000, level + 10)
    out = backend.compress_message(text, level, 12, mem_level)
    assert zlib.decompressobj(-12).decompress(out + b"\x00\x00\xff\xff") == text
    if level != 0:
        assert len(out) < len(text) * 0.7  # compressed (ISA-L level 0 least of all)


def test_bomb_limit_with_each_backend(
    pair: Pair, frames_impl: ModuleType, backend: deflate.DeflateBackend
) -> None:
    _client, server = pair(
        client_options={"compression": PerMessageDeflate(backend=backend.name)},
        server_options={
            "compression": PerMessageDeflate(backend=backend.name),
            "max_message_size": 1 << 16,
        },
    )
    # zlib at level 9 packs 32 MiB of zeros the tightest; the receiver's backend inflates it.
    bomb = deflate.get_deflate_backend("zlib").compress_message(bytes(32 << 20), 9, 15, 9)
    assert len(bomb) < 1 << 16  # passes the wire-size check, inflates past the limit
    server.receive_data(frames_impl.build_frame(2, bomb, rsv1=True, mask=True))
    [event] = server.events()
    assert isinstance(event, ConnectionFailed) and event.code == 1009
    assert wire(server)[2:4] == b"\x03\xf1"  # Close 1009


def test_bomb_inflates_at_most_the_limit_plus_a_step(backend: deflate.DeflateBackend) -> None:
    bomb = backend.compress_message(bytes(64 << 20), 9, 15, 9)
    codec = DeflateCodec(backend=backend)
    pieces: list[bytes] = []
    decompressor = backend.decompressobj(15)
    with pytest.raises(wsfast.PayloadTooBig):
        from wsfast._deflate_codec import _inflate_into

        _inflate_into(pieces, decompressor, bomb, 0, 100_000)
    assert sum(map(len, pieces)) == 100_001  # one byte past the limit proves it, no more
    with pytest.raises(wsfast.PayloadTooBig):
        codec.decompress(bomb, True, 1 << 20)


def test_corrupt_data_is_a_protocol_error(backend: deflate.DeflateBackend) -> None:
    codec = DeflateCodec(backend=backend)
    with pytest.raises(wsfast.ProtocolError) as caught:
        codec.decompress(b"\xff\xff\xff\xff\xff", True, None)
    assert caught.value.code == 1002


@pytest.mark.parametrize("peer_side", ["client", "server"])
def test_interop_with_websockets(peer_side: str, backend: deflate.DeflateBackend) -> None:
    pytest.importorskip("websockets")
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
    )
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    ours: ClientConnection | ServerConnection
    if peer_side == "client":
        peer: object = ClientProtocol(
            parse_uri("ws://example.com/x"),
            extensions=[ClientPerMessageDeflateFactory(client_max_window_bits=True)],
        )
        peer.send_request(peer.connect())  # type: ignore[attr-defined]
        ours = ServerConnection(
            compression=PerMessageDeflate(backend=backend.name, server_max_window_bits=12)
        )
        ours.receive_data(b"".join(peer.data_to_send()))  # type: ignore[attr-defined]
        ours.events()
        ours.accept()
        for piece in ours.data_to_send():
            peer.receive_data(bytes(piece))  # type: ignore[attr-defined]
        peer.events_received()  # type: ignore[attr-defined]
    else:
        peer = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
        ours = ClientConnection(
            "ws://example.com/x", compression=PerMessageDeflate(backend=backend.name)
        )
        peer.receive_data(b"".join(ours.data_to_send()))  # type: ignore[attr-defined]
        [request] = peer.events_received()  # type: ignore[attr-defined]
        peer.send_response(peer.accept(request))  # type: ignore[attr-defined]
        ours.receive_data(b"".join(peer.data_to_send()))  # type: ignore[attr-defined]
        ours.events()
    for message in messages(5):
        text = message.decode("latin-1")
        ours.send_text(text)
        peer.receive_data(b"".join(bytes(p) for p in ours.data_to_send()))  # type: ignore[attr-defined]
        [frame] = peer.events_received()  # type: ignore[attr-defined]
        assert frame.data == text.encode()
        peer.send_binary(message)  # type: ignore[attr-defined]
        ours.receive_data(b"".join(peer.data_to_send()))  # type: ignore[attr-defined]
        assert ours.events() == [BinaryMessage(message)]


def test_aiohttp_reads_and_writes_each_backend(backend: deflate.DeflateBackend) -> None:
    pytest.importorskip("aiohttp")
    # aiohttp's own permessage-deflate codec (the one its WebSocket reader and writer use).
    from aiohttp.compression_utils import ZLibCompressor, ZLibDecompressor

    codec = DeflateCodec(compress_bits=15, backend=backend)
    inflater = ZLibDecompressor(suppress_deflate_header=True)
    deflater = ZLibCompressor(level=6, wbits=-15)
    for message in messages(5):
        out = codec.compress(message)
        assert inflater.decompress_sync(out + b"\x00\x00\xff\xff") == message
        theirs = deflater.compress_sync(message) + deflater.flush(zlib.Z_SYNC_FLUSH)
        assert codec.decompress(theirs[:-4], True, None) == message


def test_each_backend_releases_the_gil(backend: deflate.DeflateBackend) -> None:
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        pytest.skip("the GIL is disabled in this interpreter: there is nothing to release")
    # A thread spins while the main thread makes one long call. During a call that holds the GIL
    # (bytes.count) it advances only around the call's edges; during one that releases it, it
    # runs along. The compressor's call must let it run several times faster than the
    # GIL-holding one does.
    data = random.Random(1).randbytes(1 << 20) * 12
    haystack = data * 10
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1

    def pace_during(call: Callable[[], object]) -> float:
        time.sleep(0.02)
        before, started = counter[0], time.perf_counter()
        call()
        return (counter[0] - before) / (time.perf_counter() - started)

    # On a loaded machine the spinning thread may get no core for a while whatever the GIL
    # does: a few attempts, and the pace compared with the thread's own pace while the main
    # thread sleeps as well as with a GIL-holding call.
    thread = threading.Thread(target=spin)
    thread.start()
    paces = []
    try:
        for _ in range(4):
            free = pace_during(lambda: time.sleep(0.05))
            held = pace_during(lambda: haystack.count(b"\x00\x01\x02\x03\x04"))
            released = pace_during(lambda: backend.compressobj(6, 15, 8).compress(data))
            paces.append((free, held, released))
            if released > 2.5 * held and released > 0.25 * free:
                break
    finally:
        stop.set()
        thread.join()
    free, held, released = paces[-1]
    assert released > 2.5 * held and released > 0.25 * free, (
        f"{backend.name} held the GIL: the other thread ran at {released:.0f} steps/s during "
        f"the call, {held:.0f} during a call that holds the GIL, {free:.0f} while the main "
        f"thread slept ({len(paces)} attempts)"
    )


# --- choosing a backend -------------------------------------------------------------------


def test_available_backends_list_the_installed_ones_fastest_first() -> None:
    available = wsfast.available_deflate_backends()
    assert "zlib" in available
    assert list(available) == [name for name in deflate.PREFERENCE if name in available]


def test_default_rule_picks_the_fastest_within_tolerance(restore_default: None) -> None:
    wsfast.set_deflate_backend(None)
    if "WSFAST_DEFLATE_BACKEND" in os.environ:
        pytest.skip("WSFAST_DEFLATE_BACKEND overrides the rule in this run")
    chosen = wsfast.deflate_backend()
    text = deflate.reference_text()
    zlib_size = len(deflate.get_deflate_backend("zlib").compress_message(text, 6, 15, 8))
    for name in wsfast.available_deflate_backends():
        size = len(deflate.get_deflate_backend(name).compress_message(text, 6, 15, 8))
        if size <= zlib_size * deflate.SIZE_TOLERANCE:
            assert chosen == name  # the first (fastest) within tolerance
            break


def test_set_deflate_backend_applies_to_new_connections(
    restore_default: None, backend: deflate.DeflateBackend
) -> None:
    wsfast.set_deflate_backend(backend.name)
    assert wsfast.deflate_backend() == backend.name
    client = ClientConnection("ws://example.com/x")
    server = ServerConnection()
    server.receive_data(b"".join(client.data_to_send()))
    server.events()
    server.accept()
    assert server._codec.backend is backend  # type: ignore[attr-defined]


def test_unknown_backend_is_refused(restore_default: None) -> None:
    with pytest.raises(ValueError, match="unknown deflate backend"):
        wsfast.set_deflate_backend("brotli")
    with pytest.raises(ValueError, match="unknown deflate backend"):
        PerMessageDeflate(backend="brotli")


def test_missing_backend_says_which_extra_installs_it(
    restore_default: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    deflate._loaded.pop("isal", None)
    monkeypatch.setitem(sys.modules, "isal", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "isal.isal_zlib", None)
    try:
        with pytest.raises(ImportError, match=r"wsfast\[isal\]"):
            wsfast.set_deflate_backend("isal")
    finally:
        deflate._loaded.pop("isal", None)


def _run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "WSFAST_DEFLATE_BACKEND"}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_environment_variable_chooses_the_backend() -> None:
    out = _run("import wsfast; print(wsfast.deflate_backend())", WSFAST_DEFLATE_BACKEND="zlib")
    assert out.strip() == "zlib"


def test_optional_backends_are_imported_only_when_used() -> None:
    code = (
        "import json, sys, wsfast, wsfast.asyncio\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] in ('zlib_ng', 'isal'))\n"
        "wsfast.deflate_backend()\n"
        "after = sorted(m for m in sys.modules if m.split('.')[0] in ('zlib_ng', 'isal'))\n"
        "print(json.dumps([before, after]))\n"
    )
    before, after = json.loads(_run(code))
    assert before == []
    if wsfast.available_deflate_backends() != ("zlib",):
        assert after  # the default rule looked at them
