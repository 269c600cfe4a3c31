"""The hot paths are safe to call from many threads at once.

The compiled kernels release the GIL on large buffers (masking from 64 KiB, UTF-8 validation from
256 KiB), so other threads run Python code, and other kernels, meanwhile. These tests start many
threads together (a barrier, a tiny switch interval) on a mix of large and small buffers and check
every result against one computed beforehand on a single thread. They also check the abuses a
threaded program can commit: resizing a bytearray while another thread masks it in place (the
buffer export must refuse the resize, not let the kernel write into freed memory) and sharing one
stateful object (a Masker, a Utf8Validator, a FrameParser) between threads, which may give
meaningless results but must not crash. Run them under the sanitized build
(``tools/build_sanitized.sh``) to turn a race on memory into a report.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from twins import twin_fixture

mask_impl = twin_fixture("mask")
utf8_impl = twin_fixture("utf8")
frames_impl = twin_fixture("frames")

THREADS = 8
ROUNDS = 6
KEY = b"\x12\x34\x56\x78"
BIG = 300 * 1024  # above both GIL-release thresholds


@pytest.fixture(autouse=True)
def _frequent_switches() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_together(work: Callable[[int], None], threads: int = THREADS) -> None:
    """Runs ``work(index)`` in ``threads`` threads started at once; re-raises the first error."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=300)
        assert not thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def payloads(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    sizes = [0, 1, 3, 63, 64, 65, 4096, 65535, 65536, BIG, BIG + 7]
    return [rng.randbytes(size) for size in sizes]


def test_mask_from_many_threads(mask_impl: ModuleType) -> None:
    data = payloads(1)
    expected = [mask_impl.mask(p, KEY) for p in data]

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            for payload, want in zip(data, expected, strict=True):
                assert mask_impl.mask(payload, KEY) == want
                buffer = bytearray(payload)
                mask_impl.mask_inplace(buffer, KEY)
                assert buffer == want
                view = memoryview(bytearray(payload))
                mask_impl.mask_inplace(view, KEY)
                assert view == want
                masker = mask_impl.Masker(KEY)
                half = len(payload) // 2 + index
                assert masker.mask(payload[:half]) + masker.mask(payload[half:]) == want

    run_together(work)


def test_bytearray_resized_while_masked_in_another_thread(mask_impl: ModuleType) -> None:
    # One thread masks a large bytearray in place (without the GIL, on the compiled side) while
    # others try to resize it: the buffer export must make the resize fail with BufferError (or
    # happen entirely before or after), never let the kernel write to a reallocated block.
    shared = bytearray(os.urandom(4 * BIG))
    stop = threading.Event()
    outcomes = {"refused": 0, "resized": 0}

    def work(index: int) -> None:
        if index == 0:
            try:
                for _ in range(ROUNDS * 4):
                    mask_impl.mask_inplace(shared, KEY)
            finally:
                stop.set()
            return
        while not stop.is_set():
            try:
                shared.extend(b"x" * 8)
                outcomes["resized"] += 1
            except BufferError:
                outcomes["refused"] += 1

    run_together(work, threads=2)
    assert len(shared) == 4 * BIG + 8 * outcomes["resized"]
    assert sum(outcomes.values()) > 0


def test_shared_masker_does_not_crash(mask_impl: ModuleType) -> None:
    masker = mask_impl.Masker(KEY)
    data = os.urandom(BIG)

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            assert len(masker.mask(data[index:])) == len(data) - index
            assert 0 <= masker.phase < 4

    run_together(work)


def utf8_samples(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    text = "".join(chr(rng.choice([0x41, 0xE9, 0x20AC, 0x1F600, 0x7A])) for _ in range(BIG // 3))
    good = text.encode()
    return [
        good,
        good[:-1],  # ends inside a code point
        good[: BIG // 2] + b"\xed\xa0\x80" + good[BIG // 2 :],  # a surrogate deep inside
        b"ascii " * 100,
        good[:100] + b"\xff",
        b"",
    ]


def test_utf8_from_many_threads(utf8_impl: ModuleType) -> None:
    samples = utf8_samples(2)
    expected = [(utf8_impl.validate_utf8(s), utf8_impl.invalid_utf8_offset(s)) for s in samples]

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            for sample, (valid, offset) in zip(samples, expected, strict=True):
                assert utf8_impl.validate_utf8(sample) is valid
                assert utf8_impl.invalid_utf8_offset(memoryview(sample)) == offset
                validator = utf8_impl.Utf8Validator()
                cut = (len(sample) * (index + 1)) // (THREADS + 1)
                validator.feed(sample[:cut])
                validator.feed(bytearray(sample[cut:]))
                assert validator.finish() is valid
                assert validator.error_offset == offset

    run_together(work)


def test_shared_utf8_validator_does_not_crash(utf8_impl: ModuleType) -> None:
    validator = utf8_impl.Utf8Validator()
    data = "é".encode() * (BIG // 2)

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            validator.feed(data[index % 2 :])
            validator.reset()

    run_together(work)


def frame_stream(frames: ModuleType, seed: int) -> tuple[bytes, list[tuple[int, bytes]]]:
    rng = random.Random(seed)
    sent = []
    for _ in range(20):
        opcode = rng.choice([1, 2, 9])
        size = rng.choice([0, 5, 125, 126, 70000]) if opcode != 9 else rng.randint(0, 125)
        payload = b"t" * size if opcode == 1 else rng.randbytes(size)
        sent.append((opcode, payload))
    stream = b"".join(frames.build_frame(op, p, mask=True) for op, p in sent)
    return stream, sent


def test_frame_parsers_in_many_threads(frames_impl: ModuleType) -> None:
    # One parser per connection, many connections on many threads; frames masked by each
    # thread with keys from the shared random key pool.
    def work(index: int) -> None:
        for round_ in range(ROUNDS):
            stream, sent = frame_stream(frames_impl, index * 100 + round_)
            parser = frames_impl.FrameParser(
                server=True, max_frame_size=None, max_message_size=None
            )
            got = []
            step = 1000 + 997 * index
            for start in range(0, len(stream), step):
                got += parser.feed(memoryview(stream)[start : start + step])
            assert [(f.opcode, f.payload) for f in got] == sent
            assert len(frames_impl.random_mask_key()) == 4

    run_together(work)


def test_shared_frame_parser_does_not_crash(frames_impl: ModuleType) -> None:
    stream, _ = frame_stream(frames_impl, 7)
    parser = frames_impl.FrameParser(server=True, max_frame_size=None, max_message_size=None)

    def work(index: int) -> None:
        for start in range(0, len(stream), 4096):
            try:
                parser.feed(stream[start : start + 4096])
            except Exception:
                # Interleaved pieces make a garbled stream, and the twin's Python state may be
                # caught half-updated: any exception is fair, a crash is not.
                return

    run_together(work, threads=4)
