"""UTF-8 validation of text messages (RFC 6455 §5.6, §8.1; strict RFC 3629): the compiled
kernels, or their pure-Python twin.

``validate_utf8(data)`` checks a whole buffer; ``Utf8Validator`` checks a message chunk by chunk
and fails at the first byte that can never become valid; ``decode_utf8(data)`` returns the str and
``utf8_bytes(data)`` the checked bytes; both raise :class:`InvalidUTF8` (close code 1007, with the
offset of the first invalid byte). See ``_utf8.pyi`` and ``docs/utf8.md``.
"""

from __future__ import annotations

from . import _speedups

_impl = _speedups.load("utf8")
# The one SIMD switch of every kernel (wsfast.set_simd_level): the same functions here.
_kernels = _speedups.load("kernels")

InvalidUTF8 = _impl.InvalidUTF8
Utf8Validator = _impl.Utf8Validator
validate_utf8 = _impl.validate_utf8
invalid_utf8_offset = _impl.invalid_utf8_offset
decode_utf8 = _impl.decode_utf8
utf8_bytes = _impl.utf8_bytes
available_simd_levels = _kernels.available_simd_levels
simd_level = _kernels.simd_level
set_simd_level = _kernels.set_simd_level

__all__ = [
    "InvalidUTF8",
    "Utf8Validator",
    "available_simd_levels",
    "decode_utf8",
    "invalid_utf8_offset",
    "set_simd_level",
    "simd_level",
    "utf8_bytes",
    "validate_utf8",
]
