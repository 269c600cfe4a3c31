"""Frame parsing and building workloads (RFC 6455 §5.2), against the peers' own frame layers.

Parsing is server side: masked client frames, fed in 64 KiB chunks as a socket would deliver them.

* ``frames-parse/16B``: 100 000 binary frames of 16 bytes;
* ``frames-parse-text/1KiB``: 10 000 text frames of 1 KiB, UTF-8 validated;
* ``frames-parse/64KiB``: 1 000 binary frames of 64 KiB.

Building is client side: masked frames with a fresh random key each (``frames-build/16B``,
``frames-build/64KiB``).

The peers, each skipped when not installed: aiohttp's compiled ``WebSocketReader`` (which also
decodes text to str, and keeps every message in its queue), websockets' sans-IO ``Protocol``
(frame events; text stays bytes until its asyncio layer), wsproto's ``FrameProtocol`` (frames;
text decoded to str). Every case keeps everything it produced until the call ends, as aiohttp's
queue does: the same retention, timed with the garbage collector on.

Our cases: ``wsfast`` is the headline, the public ``FrameParser`` doing what the peers do: every
frame kept, a text payload decoded to ``str`` (``decode_utf8``, as the connection does) and kept
as such; ``wsfast-python`` is the same on the pure-Python twin. ``wsfast frames only`` (kind
``wsfast-lower``) is the parser alone: frames counted and dropped, text left as bytes; it does
less than the peers and is never the headline. The floor ``mask (limit)`` unmasks the same bytes
with ``wsfast._mask``, one call per 64 KiB chunk: no parser can go below it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

from .core import Case, Skip, Workload, import_or_skip, require_compiled_peer, size_label, twin

CHUNK = 64 * 1024
KEY = b"\x37\xfa\x21\x3d"
TEXT, BINARY = 1, 2

# (opcode, payload size, frame count) per parse workload.
PARSE = (
    ("frames-parse", BINARY, 16, 100_000),
    ("frames-parse-text", TEXT, 1024, 10_000),
    ("frames-parse", BINARY, 64 * 1024, 1_000),
)
# (payload size, frames built per call) per build workload.
BUILD = ((16, 1_000), (64 * 1024, 10))


def _payload(opcode: int, size: int) -> bytes:
    if opcode == TEXT:
        # Mostly ASCII with some multi-byte characters, as chat-like text is.
        unit = ("websocket frame \u00e9\u00e8 \u2603 " * (size // 8 + 1)).encode()
        data = unit[:size]
        while True:  # cut on a code-point boundary
            try:
                data.decode()
                return data
            except UnicodeDecodeError:
                data = data[:-1] + b" "
    return os.urandom(size)


@functools.lru_cache(maxsize=16)
def masked_stream(opcode: int, size: int, count: int) -> tuple[bytes, ...]:
    """``count`` masked frames (as a client sends them), cut into 64 KiB chunks; built once per
    stream shape and shared by every case (the chunks are immutable bytes)."""
    from wsfast import _frames_py

    payload = _payload(opcode, size)
    frame = _frames_py.build_frame(opcode, payload, mask=True, mask_key=KEY)
    stream = frame * count
    return tuple(stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK))


def _parse_cases(opcode: int, size: int, count: int) -> tuple[Case, ...]:
    limit = max(size * 2, 1 << 20)

    def ours(kind: str, mode: str = "messages") -> Case:
        def setup() -> Callable[[], object]:
            impl = twin(kind, "frames")
            decode = twin(kind, "utf8").decode_utf8  # as the connection makes its str
            chunks = masked_stream(opcode, size, count)

            def frames_only() -> int:
                parser = impl.FrameParser(server=True, max_frame_size=limit)
                feed = parser.feed
                n = 0
                for chunk in chunks:
                    n += len(feed(chunk))
                return n

            def parse() -> list[object]:
                parser = impl.FrameParser(server=True, max_frame_size=limit)
                feed = parser.feed
                kept: list[object] = []
                keep = kept.append
                for chunk in chunks:
                    for frame in feed(chunk):
                        keep(decode(frame.payload) if frame.opcode == TEXT else frame)
                return kept

            if mode == "frames only":
                assert frames_only() == count
                return frames_only
            assert len(parse()) == count
            return parse

        if mode == "frames only":
            return Case("wsfast frames only", setup, "wsfast-lower")
        return Case(kind, setup, "wsfast" if kind == "wsfast" else "wsfast-python")

    def aiohttp() -> Callable[[], object]:
        import asyncio

        require_compiled_peer("aiohttp")
        reader_mod = import_or_skip("aiohttp._websocket.reader")
        if not reader_mod.WebSocketReader.__module__.endswith("reader_c"):
            raise Skip("aiohttp's compiled reader is not available")
        chunks = masked_stream(opcode, size, count)
        loop = asyncio.new_event_loop()

        class Protocol:
            _reading_paused = False

            def pause_reading(self) -> None:  # never reached: the queue limit is huge
                self._reading_paused = True

            def resume_reading(self) -> None:
                self._reading_paused = False

        protocol = Protocol()

        def parse() -> int:
            # A fresh queue each call: aiohttp's queue only drains through an awaited read().
            queue = reader_mod.WebSocketDataQueue(protocol, 2**30, loop=loop)
            reader = reader_mod.WebSocketReader(queue, limit, False, True)
            feed = reader.feed_data
            for chunk in chunks:
                feed(chunk)
            return len(queue._buffer)

        assert parse() == count
        parse.close = loop.close  # type: ignore[attr-defined]
        return parse

    def websockets() -> Callable[[], object]:
        require_compiled_peer("websockets")
        protocol_mod = import_or_skip("websockets.protocol")
        chunks = masked_stream(opcode, size, count)

        def parse() -> int:
            protocol = protocol_mod.Protocol(protocol_mod.Side.SERVER, max_size=limit)
            receive = protocol.receive_data
            events = protocol.events_received
            kept: list[object] = []
            for chunk in chunks:
                receive(chunk)
                kept += events()
            return len(kept)

        assert parse() == count
        return parse

    def wsproto() -> Callable[[], object]:
        frame_protocol = import_or_skip("wsproto.frame_protocol")
        chunks = masked_stream(opcode, size, count)

        def parse() -> int:
            protocol = frame_protocol.FrameProtocol(client=False, extensions=[])
            receive = protocol.receive_bytes
            frames = protocol.received_frames
            kept: list[object] = []
            keep = kept.append
            n = 0
            for chunk in chunks:
                receive(chunk)
                # wsproto also yields the part of a frame that a chunk ends inside.
                for frame in frames():
                    keep(frame)
                    n += frame.frame_finished
            return n

        assert parse() == count
        return parse

    def mask_limit() -> Callable[[], object]:
        # Unmasking every byte of the stream, chunk by chunk as it arrives, in one call each.
        mask = import_or_skip("wsfast._mask").mask
        chunks = masked_stream(opcode, size, count)

        def run() -> object:
            for chunk in chunks:
                mask(chunk, KEY)
            return None

        return run

    cases = [ours("wsfast"), ours("wsfast", "frames only")]
    cases += [
        ours("wsfast-python"),
        Case("aiohttp", aiohttp),
        Case("websockets", websockets),
        Case("wsproto", wsproto),
        Case("mask (limit)", mask_limit, "limit"),
    ]
    return tuple(cases)


def _build_cases(size: int, count: int) -> tuple[Case, ...]:
    def ours(kind: str) -> Case:
        def setup() -> Callable[[], object]:
            build = twin(kind, "frames").build_frame
            payload = os.urandom(size)
            loop = range(count)

            def run() -> object:
                for _ in loop:
                    frame = build(BINARY, payload, mask=True)
                return frame

            return run

        return Case(kind, setup, kind)

    def websockets() -> Callable[[], object]:
        require_compiled_peer("websockets")
        frames = import_or_skip("websockets.frames")
        payload = os.urandom(size)
        loop = range(count)
        binary = frames.Opcode.BINARY
        frame_cls = frames.Frame

        def run() -> object:
            for _ in loop:
                frame = frame_cls(binary, payload).serialize(mask=True)
            return frame

        return run

    def wsproto() -> Callable[[], object]:
        frame_protocol = import_or_skip("wsproto.frame_protocol")
        protocol = frame_protocol.FrameProtocol(client=True, extensions=[])
        payload = os.urandom(size)
        loop = range(count)

        def run() -> object:
            for _ in loop:
                frame = protocol.send_data(payload, fin=True)
            return frame

        return run

    def mask_limit() -> Callable[[], object]:
        mask = import_or_skip("wsfast._mask").mask
        payload = os.urandom(size)
        loop = range(count)

        def run() -> object:
            for _ in loop:
                masked = mask(payload, KEY)
            return masked

        return run

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("websockets", websockets),
        Case("wsproto", wsproto),
        Case("mask (limit)", mask_limit, "limit"),
    )


def workloads() -> list[Workload]:
    """Server-side parsing of masked streams, client-side building of masked frames."""
    found = []
    for group, opcode, size, count in PARSE:
        chunks = masked_stream(opcode, size, 1)
        frame_size = len(chunks[0])
        found.append(
            Workload(
                group,
                f"{group}/{size_label(size)}",
                _parse_cases(opcode, size, count),
                bytes_per_call=frame_size * count,
                items_per_call=count,
                description=f"parse {count} masked {'text' if opcode == TEXT else 'binary'} "
                f"frames of {size_label(size)}, fed in 64 KiB chunks",
            )
        )
    for size, count in BUILD:
        found.append(
            Workload(
                "frames-build",
                f"frames-build/{size_label(size)}",
                _build_cases(size, count),
                bytes_per_call=size * count,
                items_per_call=count,
                description=f"build {count} masked binary frames of {size_label(size)}",
            )
        )
    return found
