"""Masking workloads (RFC 6455 §5.3): copying and in place, against the peers' own functions.

The physical limit of a copying mask is a plain copy of the same bytes (``bytes(buf)``), measured in
the same run as the case ``copy (limit)``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType

from .core import Case, Skip, Workload, size_label

SIZES = (8, 125, 1024, 16 * 1024, 64 * 1024, 1024 * 1024)
KEY = b"\x37\xfa\x21\x3d"


def _payload(size: int) -> bytes:
    return os.urandom(size)


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Skip(f"{name} not importable: {exc}") from None


def _ours(kind: str) -> ModuleType:
    from wsfast import _speedups

    if kind == "wsfast":
        if _speedups.NO_EXTENSIONS:
            raise Skip("WSFAST_NO_EXTENSIONS=1")
        return _module("wsfast._mask")
    return _module("wsfast._mask_py")


def _copy_cases(size: int) -> tuple[Case, ...]:
    def ours(kind: str) -> Case:
        def setup() -> Callable[[], object]:
            m, data = _ours(kind), _payload(size)
            return lambda: m.mask(data, KEY)

        return Case(kind if kind == "wsfast" else "wsfast-python", setup, kind)

    def websockets() -> Callable[[], object]:
        apply_mask = _module("websockets.speedups").apply_mask
        data = _payload(size)
        return lambda: apply_mask(data, KEY)

    def wsaccel() -> Callable[[], object]:
        masker_cls = _module("wsaccel.xormask").XorMaskerSimple
        data = _payload(size)
        return lambda: masker_cls(KEY).process(data)

    def copy_limit() -> Callable[[], object]:
        data = bytearray(_payload(size))
        return lambda: bytes(data)

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("websockets", websockets),
        Case("wsaccel", wsaccel),
        Case("copy (limit)", copy_limit, "limit"),
    )


def _inplace_cases(size: int) -> tuple[Case, ...]:
    def ours(kind: str) -> Case:
        def setup() -> Callable[[], object]:
            m, data = _ours(kind), bytearray(_payload(size))
            return lambda: m.mask_inplace(data, KEY)

        return Case(kind if kind == "wsfast" else "wsfast-python", setup, kind)

    def aiohttp() -> Callable[[], object]:
        mod = _module("aiohttp._websocket.mask")
        fn = mod._websocket_mask_cython
        data = bytearray(_payload(size))
        return lambda: fn(KEY, data)

    return (ours("wsfast"), ours("wsfast-python"), Case("aiohttp", aiohttp))


def workloads() -> list[Workload]:
    """Copying and in-place masking at each size."""
    found = []
    for size in SIZES:
        found.append(
            Workload("mask-copy", f"mask-copy/{size_label(size)}", _copy_cases(size), size, 1)
        )
        found.append(
            Workload(
                "mask-inplace", f"mask-inplace/{size_label(size)}", _inplace_cases(size), size, 1
            )
        )
    return found
