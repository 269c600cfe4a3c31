"""``wsaccel.utf8validator`` on wsfast: ``Utf8Validator``.

Incremental UTF-8 validation (RFC 3629; RFC 6455 §8.1) by wsfast's kernels, with wsaccel's result
tuple ``(valid, ends_on_code_point, current_index, total_index)``; the compiled class, or its
pure-Python twin under ``WSFAST_NO_EXTENSIONS=1``. See ``wsfast/_wsaccel_compat.pyi``.
"""

from __future__ import annotations

from ... import _speedups

_impl = _speedups.load("wsaccel_compat")

Utf8Validator = _impl.Utf8Validator

__all__ = ["Utf8Validator"]
