"""wsfast: a fast, correct WebSocket library (RFC 6455, RFC 7692).

Layers, bottom up:

- hot paths, each compiled (Cython/C) with a pure-Python twin of the same interface:
  :mod:`wsfast.masking`, :mod:`wsfast.utf8`, :mod:`wsfast.frames`;
- the sans-IO protocol: :mod:`wsfast.http11`, :mod:`wsfast.handshake`, :mod:`wsfast.extensions`
  (permessage-deflate), :mod:`wsfast.connection`, :mod:`wsfast.events`;
- every exception, under one base class :class:`WebSocketError`: :mod:`wsfast.exceptions`;
- I/O: :mod:`wsfast.asyncio` (``connect``, ``serve``); the CLI (``python -m wsfast``);
- drop-in surfaces for other libraries: :mod:`wsfast.compat`, :func:`wsfast.accelerate.accelerate`.

``wsfast.implementation`` says which hot paths are in use: ``"compiled"`` or ``"python"``
(``WSFAST_NO_EXTENSIONS=1`` forces the twins). ``wsfast.simd_level()`` says which SIMD kernels run
(every hot path uses the same level); ``wsfast.set_simd_level(name)`` changes it for all of them,
as the ``WSFAST_SIMD`` environment variable does at import.

``wsfast.deflate_backend()`` names the deflate backend permessage-deflate uses (zlib, zlib-ng or
isal: :mod:`wsfast.deflate` states the default rule); ``wsfast.set_deflate_backend(name)``
changes it for connections negotiated afterwards, as ``WSFAST_DEFLATE_BACKEND`` does;
``wsfast.available_deflate_backends()`` lists the installed ones. :class:`wsfast.Broadcast`
prepares one message for many connections (:func:`wsfast.asyncio.broadcast` uses it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _speedups, accelerate, events
from .broadcast import Broadcast
from .connection import ClientConnection, ServerConnection, State
from .deflate import available_deflate_backends, deflate_backend, set_deflate_backend
from .exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeError,
    HTTPError,
    InvalidHandshake,
    InvalidState,
    InvalidStatus,
    InvalidUTF8,
    NegotiationError,
    PayloadTooBig,
    ProtocolError,
    WebSocketError,
)
from .extensions import PerMessageDeflate
from .frames import CloseCode, Frame, FrameParser, Opcode, build_frame
from .masking import (
    Masker,
    available_simd_levels,
    mask,
    mask_inplace,
    set_simd_level,
    simd_level,
)
from .utf8 import Utf8Validator, decode_utf8, utf8_bytes, validate_utf8

if TYPE_CHECKING:
    from .asyncio import connect, serve

#: This release of wsfast.
__version__ = "0.1.0"

#: ``"compiled"`` when every hot path runs compiled code, ``"python"`` when the pure-Python twins
#: are in use (no compiler at install time, or ``WSFAST_NO_EXTENSIONS=1``), ``"mixed"`` for a
#: partial build.
implementation: str = _speedups.implementation()


def __getattr__(name: str) -> Any:
    # The asyncio layer is imported on first use, so that `import wsfast` stays light for users of
    # the sans-IO layer alone.
    if name in ("connect", "serve"):
        from . import asyncio as _asyncio

        return getattr(_asyncio, name)
    raise AttributeError(f"module 'wsfast' has no attribute {name!r}")


__all__ = [
    "Broadcast",
    "ClientConnection",
    "CloseCode",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "Frame",
    "FrameParser",
    "HTTPError",
    "HandshakeError",
    "InvalidHandshake",
    "InvalidState",
    "InvalidStatus",
    "InvalidUTF8",
    "Masker",
    "NegotiationError",
    "Opcode",
    "PayloadTooBig",
    "PerMessageDeflate",
    "ProtocolError",
    "ServerConnection",
    "State",
    "Utf8Validator",
    "WebSocketError",
    "__version__",
    "accelerate",
    "available_deflate_backends",
    "available_simd_levels",
    "build_frame",
    "connect",
    "decode_utf8",
    "deflate_backend",
    "events",
    "implementation",
    "mask",
    "mask_inplace",
    "serve",
    "set_deflate_backend",
    "set_simd_level",
    "simd_level",
    "utf8_bytes",
    "validate_utf8",
]
