"""Type aliases shared across wsfast."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 12):
    from collections.abc import Buffer
else:  # Python < 3.12 has no Buffer ABC: name the buffer types the standard library offers.
    import array
    import mmap
    from typing import Union

    Buffer = Union[bytes, bytearray, memoryview, "array.array[int]", mmap.mmap]

__all__ = ["Buffer"]
