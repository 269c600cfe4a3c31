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
import sysconfig
import threading
import time
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

    # Daemon threads: a thread caught in an endless loop fails the test below instead of keeping
    # the interpreter from exiting after the run.
    pool = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(threads)]
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
            # The compiled kernel can finish a fixed number of rounds before the other thread is
            # scheduled at all (it happened in CI), so go on masking until a resize was tried.
            deadline = time.monotonic() + 60
            rounds = 0
            try:
                while rounds < ROUNDS * 4 or (
                    not any(outcomes.values()) and time.monotonic() < deadline
                ):
                    mask_impl.mask_inplace(shared, KEY)
                    rounds += 1
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


def periodic_pieces(
    stream: bytes, period: int, start: int, chunk: int
) -> tuple[bytes, bytes, bytes]:
    """Cuts ``stream`` (periodic with ``period`` bytes from offset ``start``) into a prefix, one
    chunk that every later piece repeats, and a suffix: ``prefix + chunk * n + suffix == stream``.
    Whatever order threads feed the copies of the chunk in, the parser sees the same bytes."""
    assert chunk % period == 0
    count = (len(stream) - start) // chunk - 1
    prefix, piece = stream[:start], stream[start : start + chunk]
    for i in range(count):
        assert stream[start + i * chunk : start + (i + 1) * chunk] == piece
    return prefix, piece, stream[start + count * chunk :]


def feed_shared(
    frames: ModuleType, stream: bytes, period: int, start: int, chunk: int
) -> tuple[list[object], object] | None:
    """Feeds ``stream`` to one parser, its repeated middle chunks from all threads at once;
    returns (frames, parser), or None when the (pure-Python) parser raised."""
    prefix, piece, suffix = periodic_pieces(stream, period, start, chunk)
    count = (len(stream) - len(prefix) - len(suffix)) // chunk
    parser = frames.FrameParser(server=True, max_frame_size=None, max_message_size=None)
    got: list[list[object]] = [[] for _ in range(THREADS)]
    got[0] += parser.feed(prefix)
    failed: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for _ in range(index, count, THREADS):
                got[index] += parser.feed(piece)
        except Exception as exc:  # the pure-Python twin may be caught half-updated
            failed.append(exc)

    run_together(work)
    if failed:
        return None
    return [frame for part in got for frame in part] + parser.feed(suffix), parser


def compiled_twin(frames: ModuleType) -> bool:
    return not frames.__name__.endswith("_py")


@pytest.mark.parametrize("size", [4 * BIG, 17 * 1024 * 1024], ids=["preallocated", "parts"])
def test_one_payload_fed_from_many_threads(frames_impl: ModuleType, size: int) -> None:
    # Every thread feeds pieces of the same long text frame into one parser at once: each piece
    # is payload (unmasked at the parser's offset, validated with the message's UTF-8 state),
    # and each repeats the previous one byte for byte, so the frame comes out the same in any
    # order. The compiled parser serialises its feed() calls (a critical section on free-threaded
    # builds): the frame must be exact. Without it, two threads wrote at the same offset, past the
    # payload's end or into a payload already handed out. The Python twin may give garbage
    # under such abuse (not crash).
    text = ("é" * (size // 2)).encode()
    stream = frames_impl.build_frame(1, text, mask=True, mask_key=KEY)
    header = frames_impl.frame_header_size(len(text), True)
    for _ in range(2):
        # Start inside a code point: every piece begins with a continuation byte.
        result = feed_shared(frames_impl, stream, 4, header + 1, 4096)
        if not compiled_twin(frames_impl):
            continue
        assert result is not None
        got, parser = result
        assert len(got) == 1
        assert got[0].opcode == 1 and got[0].payload == text
        assert parser.buffered == 0


def test_small_frames_fed_from_many_threads(frames_impl: ModuleType) -> None:
    # The same with many 8-byte masked frames, each piece cut inside a header: the parser carries
    # partial headers from one feed() to the next in a 14-byte array that concurrent calls could
    # overrun.
    frame = frames_impl.build_frame(2, b"ab", mask=True, mask_key=KEY)
    assert len(frame) == 8
    stream = frame * (THREADS * 64 * 504 // 8 + 1)
    for start in (3, 7):
        result = feed_shared(frames_impl, stream, 8, start, 504)
        if not compiled_twin(frames_impl):
            continue
        assert result is not None
        got, _ = result
        assert len(got) == len(stream) // 8
        assert all(f.opcode == 2 and f.payload == b"ab" for f in got)


def test_one_bytearray_masked_in_place_by_many_threads(mask_impl: ModuleType) -> None:
    # Many threads XOR the same bytearray in place while others read it: the bytes are garbage
    # (concurrent read-modify-write), but memory must stay intact and the size unchanged.
    shared = bytearray(os.urandom(2 * BIG))
    view = memoryview(shared)[3 : BIG + 3]

    def work(index: int) -> None:
        for _ in range(ROUNDS):
            if index % 2:
                mask_impl.mask_inplace(shared, KEY)
                mask_impl.mask_inplace(view, KEY)
            else:
                assert len(mask_impl.mask(shared, KEY)) == 2 * BIG
                assert len(mask_impl.mask(view[:4096], KEY)) == 4096

    run_together(work)
    view.release()
    assert len(shared) == 2 * BIG


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="needs a free-threaded CPython"
)
def test_free_threaded_calls_run_in_parallel() -> None:
    # On a free-threaded build with the GIL off, two compiled calls really run at once: while one
    # thread masks a 4 KiB bytearray in place (a call far too short to release the GIL on other
    # builds), another thread's resize of it fails because the mask holds its buffer export.
    if sys._is_gil_enabled():  # PYTHON_GIL=1, or an extension module that re-enabled it
        pytest.skip("the GIL is enabled in this free-threaded interpreter")
    from wsfast import _mask

    shared = bytearray(4096)
    stop = threading.Event()
    refused = 0

    def work(index: int) -> None:
        nonlocal refused
        if index == 0:
            while not stop.is_set():
                _mask.mask_inplace(shared, KEY)
            return
        deadline = time.monotonic() + 20
        try:
            while refused < 100 and time.monotonic() < deadline:
                try:
                    shared.append(0)
                    del shared[-1]
                except BufferError:
                    refused += 1
        finally:
            stop.set()

    run_together(work, threads=2)
    assert refused >= 100, f"only {refused} resizes met a mask in progress: no parallel calls?"


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


def test_python_parser_raises_when_another_feed_moved_its_state() -> None:
    # Under the GIL the twin's feed() can be interrupted between two statements and another
    # thread's feed() can move the frame being filled past its length (seen in CI: _frame_got
    # 24 423 of a 27-byte frame). The parse loop then computed a negative step and walked `pos`
    # backwards forever. It must raise instead.
    from wsfast import _frames_py

    frame = _frames_py.build_frame(2, b"x" * 100, mask=True)
    parser = _frames_py.FrameParser(server=True)
    assert parser.feed(frame[:20]) == []
    parser._frame_got = parser._frame_length + 5  # what an interleaved feed() could leave
    with pytest.raises(RuntimeError, match="several threads"):
        parser.feed(frame[20:])

    parser = _frames_py.FrameParser(server=True)
    assert parser.feed(frame[:3]) == []  # a carried header of 3 bytes out of 8
    parser._pending += b"\0" * 10  # another feed() appended past the header's size
    with pytest.raises(RuntimeError, match="several threads"):
        parser.feed(frame[3:])
