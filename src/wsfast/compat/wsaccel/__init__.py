"""A drop-in for wsaccel 0.6.7 (``wsaccel.xormask``, ``wsaccel.utf8validator``) on wsfast.

Same class names, arguments, results and exceptions as wsaccel; the work is done by wsfast's
masking and UTF-8 kernels. ``wsfast.accelerate.accelerate("wsaccel")`` registers this package as
``wsaccel`` in ``sys.modules`` so that code importing wsaccel gets it; nothing happens on import.
"""

from __future__ import annotations

__all__ = ["__version__", "patch_autobahn", "utf8validator", "xormask"]

#: The wsaccel API version mirrored.
__version__ = "0.6.7"

from . import utf8validator, xormask


def patch_autobahn() -> None:
    """wsaccel's ``patch_autobahn()``, for today's autobahn: what ``accelerate("autobahn")``
    does, recorded the same way (``wsfast.accelerate.restore`` undoes it)."""
    from .. import _patching
    from ._patchers import PATCHERS

    _patching.apply("autobahn", PATCHERS["autobahn"])
