"""Large frames across reads, every message kept: wsfast against websockets and the floor.

``python tools/large_payloads.py [--rounds 5] [--count 1000] [--size 65536]``

A client's masked frames of ``--size`` bytes arrive in 64 KiB reads (so most frames straddle two
reads) and the application keeps every message, as a real one holds them for a while. Each
(case, round) runs in a fresh process, so that no case inherits another's freed pages, and rounds
are interleaved. Printed per case: payload GB/s and minor page faults per frame (median and spread
over the rounds), and the ratio of the medians to websockets at the same layer.

Cases:

- ``floor``: one fresh ``bytes`` per frame, unmasked into (``wsfast.mask`` of the payload), with
  no parsing: what keeping the payloads costs at least.
- ``wsfast-parser`` / ``websockets-parser``: the frame layers (``FrameParser.feed``;
  websockets' ``Frame.parse`` driven by its ``StreamReader``).
- ``wsfast-connection`` / ``websockets-protocol``: the sans-IO layers, messages out
  (websockets' ``Protocol`` yields frames; single-frame messages make them the same thing).
- ``--text``: text frames, and every layer hands out ``str`` (websockets decodes as its
  assembler does); the floor then decodes its unmasked bytes with ``bytes.decode``.
- ``--drop``: messages are dropped instead of kept.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CHUNK = 64 * 1024
CASES = (
    "floor",
    "wsfast-parser",
    "websockets-parser",
    "wsfast-connection",
    "websockets-protocol",
)


def stream(size: int, count: int, text: bool) -> tuple[list[bytes], list[bytes], bytes]:
    """The reads, the frames' payloads (masked) with their keys, as a client sends them."""
    from wsfast import build_frame

    unit = "añ€😀".encode() if text else bytes(range(256))
    payload = (unit * (size // len(unit) + 1))[:size]
    if text:  # whole code points only
        while True:
            try:
                payload.decode()
                break
            except UnicodeDecodeError:
                payload = payload[:-1]
    frames = []
    for i in range(count):
        key = (i * 2654435761 & 0xFFFFFFFF).to_bytes(4, "little")
        frames.append(build_frame(0x1 if text else 0x2, payload, mask=True, mask_key=key))
    data = b"".join(frames)
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)], frames, payload


def run_case(case: str, size: int, count: int, text: bool, keep: bool) -> dict[str, float]:
    reads, frames, payload = stream(size, count, text)
    kept: list[object] = []
    store = kept.append if keep else (lambda item: None)

    if case == "floor":
        from wsfast import mask

        pieces = []
        for frame in frames:
            header = len(frame) - len(payload)
            pieces.append((memoryview(frame)[header:], frame[header - 4 : header]))

        def work() -> None:
            for masked, key in pieces:
                unmasked = mask(masked, key)
                store(unmasked.decode() if text else unmasked)

    elif case == "wsfast-parser":
        from wsfast import FrameParser, decode_utf8

        parser = FrameParser(server=True, max_frame_size=size * 2)

        def work() -> None:
            feed = parser.feed
            for chunk in reads:
                for frame in feed(chunk):
                    store(decode_utf8(frame.payload) if text else frame.payload)

    elif case == "wsfast-connection":
        from wsfast import ClientConnection, ServerConnection

        client = ClientConnection("ws://localhost/", compression=None)
        connection = ServerConnection(compression=None, max_message_size=size * 2)
        connection.receive_data(b"".join(client.data_to_send()))
        connection.events()
        connection.accept()
        connection.data_to_send()

        def work() -> None:
            receive, events = connection.receive_data, connection.events
            for chunk in reads:
                receive(chunk)
                for event in events():
                    store(event.data)

    elif case == "websockets-parser":
        from websockets.frames import Frame
        from websockets.streams import StreamReader

        reader = StreamReader()

        def work() -> None:
            parser = Frame.parse(reader.read_exact, mask=True, max_size=size * 2)
            next(parser)
            for chunk in reads:
                reader.feed_data(chunk)
                while True:
                    try:
                        next(parser)
                    except StopIteration as done:
                        frame = done.value
                        store(frame.data.decode() if text else frame.data)
                        parser = Frame.parse(reader.read_exact, mask=True, max_size=size * 2)
                        next(parser)
                        continue
                    break

    elif case == "websockets-protocol":
        from websockets.protocol import OPEN, Protocol, Side

        protocol = Protocol(Side.SERVER, state=OPEN, max_size=size * 2)

        def work() -> None:
            receive, events = protocol.receive_data, protocol.events_received
            for chunk in reads:
                receive(chunk)
                for frame in events():
                    store(frame.data.decode() if text else frame.data)

    else:
        raise SystemExit(f"unknown case {case!r}")

    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    if keep:
        assert len(kept) == count, (case, len(kept))
        expected = payload.decode() if text else payload
        assert kept[0] == expected and kept[-1] == expected, case
    return {"gbps": size * count / elapsed / 1e9, "faults": faults / count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--text", action="store_true", help="text frames, str out")
    parser.add_argument("--drop", action="store_true", help="drop messages instead of keeping")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = run_case(args.one, args.size, args.count, args.text, not args.drop)
        print(json.dumps(result))
        return 0

    cases = args.cases.split(",")
    results: dict[str, list[dict[str, float]]] = {case: [] for case in cases}
    flags = [f"--size={args.size}", f"--count={args.count}"]
    flags += ["--text"] * args.text + ["--drop"] * args.drop
    for round_ in range(args.rounds):
        order = cases if round_ % 2 == 0 else cases[::-1]
        for case in order:
            out = subprocess.run(
                [sys.executable, __file__, f"--one={case}", *flags],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            ).stdout
            results[case].append(json.loads(out))

    import wsfast

    print(
        f"{args.count} {'text' if args.text else 'binary'} frames of {args.size} B "
        "in 64 KiB reads, "
        f"messages {'dropped' if args.drop else 'kept'}; wsfast {wsfast.implementation}, "
        f"{args.rounds} rounds, fresh process each"
    )
    medians = {case: statistics.median(r["gbps"] for r in rows) for case, rows in results.items()}
    peer = {"wsfast-parser": "websockets-parser", "wsfast-connection": "websockets-protocol"}
    for case, rows in results.items():
        speeds = sorted(r["gbps"] for r in rows)
        faults = statistics.median(r["faults"] for r in rows)
        line = (
            f"  {case:22} {medians[case]:6.2f} GB/s [{speeds[0]:.2f}-{speeds[-1]:.2f}]"
            f"  {faults:5.1f} faults/frame"
        )
        if case in peer and peer[case] in medians:
            line += f"  x{medians[case] / medians[peer[case]]:.2f} {peer[case]}"
        if "floor" in medians and case != "floor":
            line += f"  ({medians[case] / medians['floor']:.2f} of floor)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
