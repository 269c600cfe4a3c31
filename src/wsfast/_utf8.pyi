"""The shared interface of the UTF-8 hot path: ``_utf8`` (compiled) and ``_utf8_py`` (its twin).

RFC 6455 §5.6 and §8.1: the payload of a text message must be valid UTF-8, and an endpoint that
receives invalid UTF-8 fails the connection (close code 1007). Validation is strict RFC 3629: no
overlong forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF.

Offsets: every error reports the offset of the *first byte that can never be part of valid
UTF-8*, whatever follows (fail fast): ``F4 90`` fails at the ``90``, ``ED A0`` (a surrogate) at the
``A0``, ``C0``/``C1``/``F5``-``FF`` at themselves. Input that is a valid prefix but ends inside a
code point is invalid only as a complete message, and reports the offset of its end.

Both implementations accept any contiguous buffer (bytes, bytearray, memoryview, array, mmap)
without copying, raise TypeError for anything else, and raise :class:`InvalidUTF8` for bad text.
"""

# The SIMD switch of every kernel, re-exported from _kernels (see _kernels.pyi).
from wsfast._kernels import available_simd_levels as available_simd_levels
from wsfast._kernels import set_simd_level as set_simd_level
from wsfast._kernels import simd_level as simd_level
from wsfast._typing import Buffer
from wsfast.exceptions import ProtocolError

class InvalidUTF8(ProtocolError, ValueError):
    """Not valid UTF-8: ``code`` is 1007, ``offset`` the offset of the first invalid byte (the
    message length when it ends inside a code point)."""

    offset: int
    def __init__(self, offset: int, reason: str | None = None) -> None: ...

def validate_utf8(data: Buffer) -> bool:
    """True if ``data`` is complete, strictly valid UTF-8."""

def invalid_utf8_offset(data: Buffer) -> int | None:
    """None if ``data`` is complete, valid UTF-8; else the offset of the first invalid byte, or
    ``len(data)`` if it ends inside a code point."""

def decode_utf8(data: Buffer) -> str:
    """``data`` decoded as a str; raises InvalidUTF8 if it is not complete, valid UTF-8.

    The result is the str ``bytes(data).decode("utf-8")`` gives: equal, of type ``str``, in the
    same storage (PEP 393: ASCII, 1, 2 or 4 bytes a character, by its largest character), so
    ``sys.getsizeof`` agrees. The error's ``offset`` is :func:`invalid_utf8_offset`'s. The twin
    calls CPython's decoder; the compiled module builds the str with its own SIMD transcoder,
    which validates as it goes (large inputs without the GIL)."""

def utf8_bytes(data: Buffer) -> bytes:
    """``data`` as bytes (the same object when it is ``bytes``) after checking it is valid UTF-8,
    for JSON libraries that parse bytes (orjson, msgspec); raises InvalidUTF8 otherwise."""

class Utf8Validator:
    """Validates a message chunk by chunk; chunks may split code points anywhere."""

    def __init__(self) -> None: ...
    def feed(self, data: Buffer) -> bool:
        """Validates the next chunk; True while all input so far is a valid prefix. After a
        failure, later chunks are ignored and False is returned."""
    def check(self, data: Buffer) -> None:
        """``feed``, raising InvalidUTF8 instead of returning False."""
    def finish(self) -> bool:
        """Ends the message: True if valid and on a code-point boundary; an incomplete code point
        at the end fails with ``error_offset`` equal to ``offset``."""
    def check_finish(self) -> None:
        """``finish``, raising InvalidUTF8 instead of returning False."""
    def reset(self) -> None:
        """Starts a new message."""
    @property
    def valid(self) -> bool:
        """True while all input so far is a valid prefix of UTF-8."""
    @property
    def at_boundary(self) -> bool:
        """True if all input so far is valid and ends between code points."""
    @property
    def offset(self) -> int:
        """Bytes accepted so far (after a failure: the offset of the first invalid byte)."""
    @property
    def error_offset(self) -> int | None:
        """The absolute offset of the first invalid byte, or None while valid."""
