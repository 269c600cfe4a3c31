"""Type aliases of the wsproto-compatible API (``wsproto.typing``)."""

from __future__ import annotations

#: HTTP headers as a list of ``(name, value)`` byte-string pairs, as wsproto and h11 use them.
Headers = list[tuple[bytes, bytes]]

__all__ = ["Headers"]
