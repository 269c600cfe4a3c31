"""decode_utf8 against bytes.decode("utf-8"): the speed-up of building the str with wsfast's
transcoding kernels, as ratios measured in one run.

    python bench/decode_utf8_ratios.py [--rounds 15] [--level avx2]

For every corpus and size, rounds of both functions are interleaved (each round times a batch of
calls of one function, then of the other, alternating which goes first) and the ratio of their
times is taken per round; the table shows the median ratio (> 1: decode_utf8 is faster) and the
median throughput of each. Runs in well under a minute.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from wsfast import _utf8
from wsfast.bench.utf8 import corpus

SIZES = (1024, 64 * 1024)
#: The corpora of ``python -m wsfast bench``'s utf8-decode family (src/wsfast/bench/utf8.py).
KINDS = ("ascii", "latin1", "cyrillic", "cjk", "emoji", "json", "mostly-ascii")


def corpora(size: int) -> dict[str, bytes]:
    return {kind: corpus(kind, size) for kind in KINDS}


def _time(function: Callable[[bytes], object], data: bytes, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function(data)
    return (time.perf_counter() - start) / calls


def measure(data: bytes, rounds: int) -> tuple[float, float, float]:
    """(median ratio bytes.decode / decode_utf8, median GB/s of each)."""

    def ours(b: bytes) -> object:
        return _utf8.decode_utf8(b)

    def cpython(b: bytes) -> object:
        return b.decode("utf-8")

    assert ours(data) == cpython(data)
    # Batches of about 10 ms, so that timer resolution and scheduling noise stay small.
    calls = max(1, int(0.01 / max(_time(cpython, data, 20), 1e-9)))
    ratios, mine, theirs = [], [], []
    for index in range(rounds):
        if index % 2:
            t_ours, t_cpython = _time(ours, data, calls), _time(cpython, data, calls)
        else:
            t_cpython, t_ours = _time(cpython, data, calls), _time(ours, data, calls)
        ratios.append(t_cpython / t_ours)
        mine.append(len(data) / t_ours / 1e9)
        theirs.append(len(data) / t_cpython / 1e9)
    return statistics.median(ratios), statistics.median(mine), statistics.median(theirs)


def _steady_allocator() -> None:
    """Frees a few large blocks first, as a long-running server has: glibc then serves blocks of
    up to that size from its heap instead of mapping fresh pages for each. A fresh process maps
    (and faults in) every block above 128 KiB, which costs ``bytes.decode`` several times its
    work where it regrows its buffer for a wider str, and flatters the ratio."""
    blocks = [bytearray(4 << 20) for _ in range(2)]
    del blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--level", default=None, help="SIMD level (default: the widest)")
    args = parser.parse_args()
    if args.level:
        _utf8.set_simd_level(args.level)
    _steady_allocator()
    print(f"SIMD level: {_utf8.simd_level()}; median of {args.rounds} interleaved rounds\n")
    print("| corpus | size | decode_utf8 GB/s | bytes.decode GB/s | decode_utf8 ÷ bytes.decode |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for size in SIZES:
        for name, data in corpora(size).items():
            ratio, mine, theirs = measure(data, args.rounds)
            label = f"{size // 1024} KiB"
            print(f"| {name} | {label} | {mine:.2f} | {theirs:.2f} | x{ratio:.2f} |")


if __name__ == "__main__":
    main()
