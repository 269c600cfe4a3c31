"""``wsaccel.xormask`` on wsfast: ``XorMaskerSimple``, ``XorMaskerNull``, ``createXorMasker``.

RFC 6455 §5.3 masking by wsfast's kernels; the compiled classes, or their pure-Python twins under
``WSFAST_NO_EXTENSIONS=1``. The interface is documented in ``wsfast/_wsaccel_compat.pyi``.
"""

from __future__ import annotations

from ... import _speedups

_impl = _speedups.load("wsaccel_compat")

XorMaskerNull = _impl.XorMaskerNull
XorMaskerSimple = _impl.XorMaskerSimple
createXorMasker = _impl.createXorMasker

__all__ = ["XorMaskerNull", "XorMaskerSimple", "createXorMasker"]
