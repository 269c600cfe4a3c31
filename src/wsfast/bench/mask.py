"""Masking workloads (RFC 6455 §5.3): copying and in place, against the peers' own functions.

The physical limit of a copying mask is a plain copy of the same bytes (``bytes(buf)``), measured in
the same run as the case ``copy (limit)``.

A masking call on a small payload takes tens of nanoseconds, as long as the Python call that the
benchmark runner makes to time it. So each timed callable performs a batch of calls, driven from C
(``deque(map(fn, ...), maxlen=0)``): every implementation pays the same few nanoseconds of loop per
call, and the figures compare the functions rather than the harness.
"""

from __future__ import annotations

import operator
import os
from collections import deque
from collections.abc import Callable
from itertools import repeat

from .core import Case, Skip, Workload, import_or_skip, size_label, twin

SIZES = (8, 125, 1024, 16 * 1024, 64 * 1024, 1024 * 1024)
KEY = b"\x37\xfa\x21\x3d"


def _batch(size: int) -> int:
    """Calls per timed call: many for small payloads, one for large ones."""
    return max(1, min(256, (64 * 1024) // max(size, 1)))


def _payload(size: int) -> bytes:
    return os.urandom(size)


def _batched(fn: Callable[..., object], *args: object, count: int) -> Callable[[], object]:
    """A callable that makes ``count`` calls ``fn(*args)`` from C."""
    if count == 1 or not args:
        calls = range(count)

        def loop() -> None:
            for _ in calls:
                fn(*args)

        return loop if count > 1 else (lambda: fn(*args))
    columns = [tuple(repeat(arg, count)) for arg in args]
    return lambda: deque(map(fn, *columns), maxlen=0)


def _copy_cases(size: int, count: int) -> tuple[Case, ...]:
    def ours(kind: str) -> Case:
        def setup() -> Callable[[], object]:
            return _batched(twin(kind, "mask").mask, _payload(size), KEY, count=count)

        return Case(kind, setup, kind)

    def websockets() -> Callable[[], object]:
        apply_mask = import_or_skip("websockets.speedups").apply_mask
        return _batched(apply_mask, _payload(size), KEY, count=count)

    def wsaccel() -> Callable[[], object]:
        # wsaccel's API: a masker object per payload, as websocket-client uses it.
        masker_cls = import_or_skip("wsaccel.xormask").XorMaskerSimple
        data = _payload(size)
        return _batched(lambda: masker_cls(KEY).process(data), count=count)

    def copy_limit() -> Callable[[], object]:
        return _batched(bytes, bytearray(_payload(size)), count=count)

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("websockets", websockets),
        Case("wsaccel", wsaccel),
        Case("copy (limit)", copy_limit, "limit"),
    )


def _inplace_cases(size: int, count: int) -> tuple[Case, ...]:
    def ours(kind: str) -> Case:
        def setup() -> Callable[[], object]:
            return _batched(
                twin(kind, "mask").mask_inplace, bytearray(_payload(size)), KEY, count=count
            )

        return Case(kind, setup, kind)

    def aiohttp() -> Callable[[], object]:
        fn = import_or_skip("aiohttp._websocket.mask")._websocket_mask_cython
        return _batched(fn, KEY, bytearray(_payload(size)), count=count)

    def call_limit() -> Callable[[], object]:
        # The floor for small payloads: a C function of two arguments that does nothing, called
        # the same way. Below a few KiB, every in-place mask costs about this much.
        if size > 1024:
            raise Skip("the call is no floor for large payloads")
        return _batched(operator.is_, KEY, bytearray(_payload(size)), count=count)

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("aiohttp", aiohttp),
        Case("empty call (limit)", call_limit, "limit"),
    )


def workloads() -> list[Workload]:
    """Copying and in-place masking at each size."""
    found = []
    for size in SIZES:
        count = _batch(size)
        label = size_label(size)
        found.append(
            Workload(
                "mask-copy", f"mask-copy/{label}", _copy_cases(size, count), size * count, count
            )
        )
        found.append(
            Workload(
                "mask-inplace",
                f"mask-inplace/{label}",
                _inplace_cases(size, count),
                size * count,
                count,
            )
        )
    return found
