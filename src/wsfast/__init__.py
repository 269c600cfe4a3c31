"""wsfast: a fast, correct WebSocket library (RFC 6455, RFC 7692).

The hot paths (masking, UTF-8 validation, frame parsing) are compiled Cython/C modules, each with a
pure-Python twin of the same interface. ``wsfast.implementation`` says which is in use:
``"compiled"`` or ``"python"`` (``WSFAST_NO_EXTENSIONS=1`` forces the twins).
"""

from __future__ import annotations

from . import _speedups
from .exceptions import PayloadTooBig, ProtocolError, WebSocketError
from .masking import Masker, mask, mask_inplace

__version__ = "0.1.0"

#: ``"compiled"`` when every hot path runs compiled code, ``"python"`` when the pure-Python twins
#: are in use (no compiler at install time, or ``WSFAST_NO_EXTENSIONS=1``).
implementation: str = _speedups.implementation()

__all__ = [
    "Masker",
    "PayloadTooBig",
    "ProtocolError",
    "WebSocketError",
    "__version__",
    "implementation",
    "mask",
    "mask_inplace",
]
