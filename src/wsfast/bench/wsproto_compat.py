"""wsproto's workload on the drop-in (``wsfast.compat.wsproto``) and on wsproto itself.

The shape of wsproto's own benchmark (its ``bench/connection.py``): a client and a server
``Connection``, sans-IO and in memory, take turns: the client sends a binary message (masked,
RFC 6455 §5.3) that the server receives, then the server sends a text message that the client
receives; every ``send()`` result goes straight into the peer's ``receive_data()`` and every
event is drained from ``events()``. Message sizes are random (seeded); the payloads are ASCII
text (wsproto's benchmark uses runs of ``0``; this is English-like, so that deflate has real
work).

* ``wsproto-exchange/small``: 100 messages each way of random sizes, 1-125 bytes;
* ``wsproto-exchange/64KiB``: 4 messages each way of 64 KiB;
* ``wsproto-exchange/large``: 4 messages each way with wsproto's sizes (Gaussian, mean 125 KiB,
  deviation 75 KiB);
* the same three in ``wsproto-exchange-deflate``: permessage-deflate negotiated with default
  parameters (context takeover, 15-bit windows) on both sides.

Cases: ``wsfast`` (the drop-in on the compiled frame core), ``wsfast-python`` (the drop-in on the
pure-Python twin of the frame core) and ``wsproto`` (the real one; skipped when not installed).
Both libraries run the same code here; only the imported package differs. With deflate, zlib
(the same C library under both) takes most of the time.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .core import DROP_IN_TAG, Case, Skip, Workload
from .utf8 import corpus

#: name -> (messages each way per call, a function of a random generator giving one size)
BATCHES: dict[str, tuple[int, Callable[[random.Random], int]]] = {
    "small": (100, lambda rng: rng.randint(1, 125)),
    "64KiB": (4, lambda rng: 64 * 1024),
    "large": (4, lambda rng: max(0, round(rng.gauss(125 * 1024, 75 * 1024)))),
}


def _messages(name: str) -> list[tuple[bytes, str]]:
    """(client's binary message, server's text message) pairs for a batch."""
    count, size_of = BATCHES[name]
    rng = random.Random(f"wsproto-exchange-{name}")
    sizes = [(size_of(rng), size_of(rng)) for _ in range(count)]
    text = corpus("ascii", max(max(pair) for pair in sizes) + 64)
    pairs = []
    for client_size, server_size in sizes:
        start = rng.randint(0, 63)
        pairs.append(
            (text[start : start + client_size], text[start : start + server_size].decode())
        )
    return pairs


def _library(case: str) -> tuple[ModuleType, ModuleType, ModuleType]:
    """(connection, events, extensions) modules of the library a case runs."""
    package = "wsproto" if case == "wsproto" else "wsfast.compat.wsproto"
    try:
        modules = [
            importlib.import_module(f"{package}.{name}")
            for name in ("connection", "events", "extensions")
        ]
    except ImportError as exc:
        raise Skip(f"{package} not importable: {exc}") from None
    if case == "wsproto" and modules[0].__name__ != "wsproto.connection":
        raise Skip("'wsproto' resolves to something else than wsproto here")
    return modules[0], modules[1], modules[2]


def _connection_class(case: str, connection: ModuleType) -> Any:
    if case == "wsproto":
        return connection.Connection
    from wsfast import _speedups

    if case == "wsfast":
        if _speedups.NO_EXTENSIONS:
            raise Skip("WSFAST_NO_EXTENSIONS=1")
        frames = importlib.import_module("wsfast._frames")
    else:
        frames = importlib.import_module("wsfast._frames_py")

    class Connection(connection.Connection):  # type: ignore[name-defined, misc]
        _FrameParser = frames.FrameParser
        _build_frame = staticmethod(frames.build_frame)

    return Connection


def _pair(case: str, deflate: bool) -> tuple[Any, Any, ModuleType]:
    connection, events, extensions = _library(case)
    cls = _connection_class(case, connection)
    client_extensions: list[Any] = []
    server_extensions: list[Any] = []
    if deflate:
        # The negotiation the handshake would do: the server accepts the client's offer, and the
        # client finalizes with the server's answer (RFC 7692 §5).
        client_ext, server_ext = extensions.PerMessageDeflate(), extensions.PerMessageDeflate()
        answer = server_ext.accept(f"permessage-deflate; {client_ext.offer()}")
        client_ext.finalize(f"permessage-deflate; {answer}")
        client_extensions, server_extensions = [client_ext], [server_ext]
    client = cls(connection.ConnectionType.CLIENT, client_extensions)
    server = cls(connection.ConnectionType.SERVER, server_extensions)
    return client, server, events


def _exchange_case(case: str, kind: str, batch: str, deflate: bool) -> Case:
    def setup() -> Callable[[], object]:
        client, server, events = _pair(case, deflate)
        BytesMessage, TextMessage = events.BytesMessage, events.TextMessage
        pairs = [(BytesMessage(data=b), TextMessage(data=t)) for b, t in _messages(batch)]
        client_send, server_send = client.send, server.send
        client_receive, server_receive = client.receive_data, server.receive_data
        client_events, server_events = client.events, server.events

        def exchange() -> list[Any]:
            received = []
            for from_client, from_server in pairs:
                server_receive(client_send(from_client))
                received.extend(server_events())
                client_receive(server_send(from_server))
                received.extend(client_events())
            return received

        expected = [message.data for pair in pairs for message in pair]
        if [event.data for event in exchange()] != expected:
            raise AssertionError(f"{case}: the messages received differ from those sent")
        probe, _, _ = _pair(case, deflate)
        if bool(probe.send(TextMessage(data="probe"))[0] & 0x40) != deflate:  # RFC 7692 §6: RSV1
            raise AssertionError(f"{case}: permessage-deflate is not as asked ({deflate})")
        return exchange

    return Case(case, setup, kind)


CASES = (("wsfast", "wsfast"), ("wsfast-python", "wsfast-python"), ("wsproto", "peer"))


def workloads() -> list[Workload]:
    """The exchange workloads, without and with permessage-deflate."""
    found = []
    for deflate in (False, True):
        group = "wsproto-exchange-deflate" if deflate else "wsproto-exchange"
        for batch in BATCHES:
            pairs = _messages(batch)
            found.append(
                Workload(
                    group=group,
                    name=f"{group}/{batch}",
                    cases=tuple(_exchange_case(case, kind, batch, deflate) for case, kind in CASES),
                    bytes_per_call=sum(len(b) + len(t) for b, t in pairs),
                    items_per_call=2 * len(pairs),
                    description=(
                        f"{len(pairs)} binary messages client -> server and {len(pairs)} text "
                        f"messages server -> client{' (permessage-deflate)' if deflate else ''}"
                    ),
                    tags=frozenset({DROP_IN_TAG}),
                )
            )
    return found
