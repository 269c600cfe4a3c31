"""SIMD level names and the ``WSFAST_SIMD`` rule, shared by ``_kernels`` (compiled) and
``_kernels_py`` (its twin) so that both builds read the variable the same way.

Levels, narrowest first: ``scalar`` (portable C), ``sse2`` or ``neon`` (the 128-bit baseline of
x86-64 or aarch64: the two names are the same level on either), ``avx2``, ``avx512``. A level
above what the CPU supports is capped to the widest it does support.
"""

from __future__ import annotations

import os
import warnings

__all__ = ["LEVEL_NUMBERS", "WIDEST", "environment_level", "level_number"]

#: Level name -> its number (cpu.h ``enum wsf_simd_level``).
LEVEL_NUMBERS = {"scalar": 0, "sse2": 1, "neon": 1, "avx2": 2, "avx512": 3}

#: The name that asks for the widest level the CPU has.
WIDEST = "avx512"


def level_number(name: str) -> int:
    """The number of level ``name``; ValueError for a name that is not a level."""
    try:
        return LEVEL_NUMBERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown SIMD level {name!r}; expected one of {', '.join(LEVEL_NUMBERS)}"
        ) from None


def environment_level() -> str:
    """The level that ``WSFAST_SIMD`` asks for (case and surrounding blanks ignored): the widest
    when it is unset or empty, and, with a RuntimeWarning, when it names no level."""
    requested = os.environ.get("WSFAST_SIMD", "").strip().lower()
    if not requested:
        return WIDEST
    if requested not in LEVEL_NUMBERS:
        warnings.warn(
            f"WSFAST_SIMD={requested!r} ignored: not one of {', '.join(LEVEL_NUMBERS)}; "
            "using the widest level this CPU supports",
            RuntimeWarning,
            stacklevel=2,
        )
        return WIDEST
    return requested
