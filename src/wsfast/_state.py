"""The states of a WebSocket connection, shared by the sans-IO layer and its compiled core."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["State"]


class State(IntEnum):
    """Connection states (RFC 6455 §4.1, §7)."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3
