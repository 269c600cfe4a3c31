"""Peer protocol violations, as bytes a client sends, for the tests of what happens to what
arrived before them (``tests/protocol/test_violations.py``, ``tests/asyncio/test_violations.py``).
"""

from __future__ import annotations

KEY = b"\x37\xfa\x21\x3d"


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked client frame, built by hand (the violations cannot be built by the library)."""
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = bytes([first, 0x80 | length])
    elif length < 65536:
        header = bytes([first, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([first, 0x80 | 127]) + length.to_bytes(8, "big")
    return header + KEY + bytes(b ^ KEY[i & 3] for i, b in enumerate(payload))


#: Each kind of violation: (name, bytes, the close code it fails the connection with).
VIOLATIONS = [
    ("invalid UTF-8", frame(0x1, b"ok \xc3\x28"), 1007),
    ("reserved opcode", frame(0x3, b""), 1002),
    ("unmasked frame", bytes([0x82, 0x02]) + b"no", 1002),
    ("close with code 1005", frame(0x8, (1005).to_bytes(2, "big")), 1002),
    ("continuation without a message", frame(0x0, b"orphan"), 1002),
    ("fragmented ping", frame(0x9, b"x", fin=False), 1002),
    ("reserved bits", bytes([0x82 | 0x20, 0x80]) + KEY, 1002),
]
