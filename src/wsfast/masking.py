"""XOR masking (RFC 6455 §5.3): the compiled kernels, or their pure-Python twin.

``mask(data, key)`` returns masked bytes; ``mask_inplace(buffer, key)`` masks a writable buffer in
place; ``Masker(key)`` masks a payload that arrives in chunks. See ``_mask.pyi``.
"""

from __future__ import annotations

from . import _speedups

_impl = _speedups.load("mask")
# The one SIMD switch of every kernel (wsfast.set_simd_level): the same functions here.
_kernels = _speedups.load("kernels")

mask = _impl.mask
mask_inplace = _impl.mask_inplace
Masker = _impl.Masker
available_simd_levels = _kernels.available_simd_levels
simd_level = _kernels.simd_level
set_simd_level = _kernels.set_simd_level

__all__ = [
    "Masker",
    "available_simd_levels",
    "mask",
    "mask_inplace",
    "set_simd_level",
    "simd_level",
]
