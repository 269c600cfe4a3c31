"""Property tests: whatever the messages, fragmentation, compression and read sizes, the peer
receives exactly what was sent, with both twins of the frame parser."""

from __future__ import annotations

from types import ModuleType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_helpers import open_pair

from wsfast.events import BinaryMessage, TextMessage

messages = st.lists(
    st.one_of(
        st.text(max_size=300).map(lambda text: ("text", text)),
        st.binary(max_size=300).map(lambda data: ("binary", data)),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    messages=messages,
    fragment_size=st.integers(1, 400),
    read_size=st.integers(1, 700),
    compression=st.booleans(),
    to_server=st.booleans(),
)
def test_any_messages_any_fragmentation_any_reads(
    frames_impl: ModuleType,
    messages: list[tuple[str, str | bytes]],
    fragment_size: int,
    read_size: int,
    compression: bool,
    to_server: bool,
) -> None:
    options = {"compression": True if compression else None}
    client, server = open_pair(client_options=options, server_options=options)
    sender, receiver = (client, server) if to_server else (server, client)
    expected = []
    for kind, data in messages:
        raw = data.encode() if isinstance(data, str) else data
        pieces = [raw[i : i + fragment_size] for i in range(0, len(raw), fragment_size)] or [b""]
        send = sender.send_text if kind == "text" else sender.send_binary
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            if index == 0:
                send(piece, fin=last)
            else:
                sender.send_continuation(piece, fin=last)
        expected.append(TextMessage(data) if kind == "text" else BinaryMessage(data))  # type: ignore[arg-type]
    wire = b"".join(bytes(piece) for piece in sender.data_to_send())
    received = []
    for i in range(0, len(wire), read_size):
        receiver.receive_data(memoryview(wire)[i : i + read_size])
        received.extend(receiver.events())
    assert received == expected
