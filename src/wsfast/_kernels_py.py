"""The twin of ``_kernels.pyx`` for the pure-Python build: the same SIMD switch, with no SIMD
kernels behind it (``_kernels.pyi`` documents the interface), and the buffer helper every
pure-Python hot path shares.
"""

from __future__ import annotations

from ._simd import environment_level, level_number
from ._typing import Buffer


def available_simd_levels() -> list[str]:
    """The pure-Python build has no SIMD kernels: only ``"python"``."""
    return ["python"]


def simd_level() -> str:
    """Always ``"python"`` for the pure-Python build."""
    return "python"


def set_simd_level(name: str) -> str:
    """Accepts the names the compiled module accepts, and stays ``"python"``."""
    level_number(name)
    return "python"


def byte_view(data: Buffer, what: str, writable: bool = False) -> memoryview:
    """A flat view of the bytes of a contiguous buffer, with the TypeErrors the compiled twins
    raise (``what`` names the argument)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, not {type(data).__name__}") from None
    if writable and (view.readonly or not view.c_contiguous):
        raise TypeError(f"{what} must be a writable, contiguous buffer, not {type(data).__name__}")
    if not view.c_contiguous:
        raise TypeError(f"{what} must be a contiguous buffer")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


# The same rule as the compiled build: an unknown WSFAST_SIMD warns at import.
set_simd_level(environment_level())
