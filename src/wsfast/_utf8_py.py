"""UTF-8 validation of text messages (RFC 6455 §5.6, §8.1; RFC 3629), in pure Python.

The twin of ``_utf8.pyx``; ``_utf8.pyi`` documents the shared interface. The bulk of each chunk
is checked by CPython's own strict UTF-8 decoder (``codecs.utf_8_decode``, which runs in C); only
the at most three bytes of a code point split across chunks, and the at most four bytes that
locate an error exactly, go through the small state machine below.

Both twins raise :class:`wsfast.exceptions.InvalidUTF8`.
"""

from __future__ import annotations

import codecs

from ._kernels_py import available_simd_levels as available_simd_levels
from ._kernels_py import byte_view
from ._kernels_py import set_simd_level as set_simd_level
from ._kernels_py import simd_level as simd_level
from ._typing import Buffer
from .exceptions import InvalidUTF8


def _lead(byte: int) -> tuple[int, int, int] | None:
    """RFC 3629 §4: the continuation bytes a lead byte needs and the range of the first one
    (which excludes overlongs, surrogates and code points above U+10FFFF); None if not a lead."""
    if 0xC2 <= byte <= 0xDF:
        return 1, 0x80, 0xBF
    if byte == 0xE0:
        return 2, 0xA0, 0xBF
    if 0xE1 <= byte <= 0xEC or byte in (0xEE, 0xEF):
        return 2, 0x80, 0xBF
    if byte == 0xED:
        return 2, 0x80, 0x9F
    if byte == 0xF0:
        return 3, 0x90, 0xBF
    if 0xF1 <= byte <= 0xF3:
        return 3, 0x80, 0xBF
    if byte == 0xF4:
        return 3, 0x80, 0x8F
    return None


def _step(
    view: memoryview, start: int, stop: int, need: int, lo: int, hi: int
) -> tuple[int, int, int, int]:
    """Runs the state machine over view[start:stop] (a few bytes at most). Returns
    ``(position, need, lo, hi)``: position is stop, or the index of the first invalid byte."""
    for i in range(start, stop):
        byte = view[i]
        if need:
            if not lo <= byte <= hi:
                return i, need, lo, hi
            need, lo, hi = need - 1, 0x80, 0xBF
        elif byte >= 0x80:
            lead = _lead(byte)
            if lead is None:
                return i, need, lo, hi
            need, lo, hi = lead
    return stop, need, lo, hi


def _first_invalid(view: memoryview, error: UnicodeDecodeError, base: int = 0) -> int | None:
    """The exact index of the first invalid byte, given CPython's error on view[base:]: its
    ``start`` is the first byte of the bad sequence (everything before it is valid), so the
    state machine finds the byte within four. None if the sequence is only cut short."""
    start = base + error.start
    position, _, _, _ = _step(view, start, min(start + 4, len(view)), 0, 0, 0)
    return position if position < min(start + 4, len(view)) else None


def _invalid_offset(view: memoryview) -> int | None:
    try:
        codecs.utf_8_decode(view, "strict", True)
    except UnicodeDecodeError as exc:
        position = _first_invalid(view, exc)
        return len(view) if position is None else position
    return None


def validate_utf8(data: Buffer) -> bool:
    """True if ``data`` (any contiguous buffer) is complete, strictly valid UTF-8."""
    return _invalid_offset(byte_view(data, "data")) is None


def invalid_utf8_offset(data: Buffer) -> int | None:
    """None if ``data`` is complete, valid UTF-8; else the offset of the first invalid byte, or
    ``len(data)`` if the data ends inside a code point."""
    return _invalid_offset(byte_view(data, "data"))


def utf8_bytes(data: Buffer) -> bytes:
    """Returns ``data`` as bytes after checking it is valid UTF-8 (the object itself when it is
    already ``bytes``: no copy); raises InvalidUTF8 otherwise."""
    view = byte_view(data, "data")
    offset = _invalid_offset(view)
    if offset is not None:
        raise InvalidUTF8(offset)
    return data if type(data) is bytes else view.tobytes()


def decode_utf8(data: Buffer) -> str:
    """Returns ``data`` (any contiguous buffer) decoded as a str; raises InvalidUTF8 (close code
    1007, with the offset of the first invalid byte) if it is not complete, valid UTF-8."""
    view = byte_view(data, "data")
    try:
        return str(view, "utf-8")
    except UnicodeDecodeError as exc:
        position = _first_invalid(view, exc)
        raise InvalidUTF8(len(view) if position is None else position) from None


class Utf8Validator:
    """Validates a text message that arrives in chunks, failing at the first byte that can never
    become valid UTF-8 (RFC 6455 §8.1: fail the connection with 1007 as soon as possible)."""

    __slots__ = ("_error_offset", "_hi", "_lo", "_need", "_offset")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Starts a new message."""
        self._offset = 0
        self._error_offset: int | None = None
        self._need = self._lo = self._hi = 0

    def _fail(self, position: int) -> bool:
        self._offset += position
        self._error_offset = self._offset
        self._need = 0
        return False

    def feed(self, data: Buffer) -> bool:
        """Validates the next chunk; returns True while all input so far is a valid prefix of
        UTF-8. Once invalid, further chunks are ignored and False is returned."""
        view = byte_view(data, "data")
        if self._error_offset is not None:
            return False
        length = len(view)
        # Finish a code point left open by the previous chunk (at most three bytes).
        position, need, lo, hi = _step(
            view, 0, min(self._need, length), self._need, self._lo, self._hi
        )
        if position < min(self._need, length):
            return self._fail(position)
        if position < length:
            try:
                _, consumed = codecs.utf_8_decode(view[position:], "strict", False)
            except UnicodeDecodeError as exc:
                invalid = _first_invalid(view, exc, position)
                assert invalid is not None  # a non-final decode only raises on a bad byte
                return self._fail(invalid)
            # CPython leaves an unfinished code point undecoded, even one that can never be
            # completed (ED A0: a surrogate); the state machine checks those last bytes.
            tail = position + consumed
            position, need, lo, hi = _step(view, tail, length, 0, 0, 0)
            if position < length:
                return self._fail(position)
        self._offset += length
        self._need, self._lo, self._hi = need, lo, hi
        return True

    def check(self, data: Buffer) -> None:
        """Like :meth:`feed`, but raises InvalidUTF8 instead of returning False."""
        if not self.feed(data):
            assert self._error_offset is not None
            raise InvalidUTF8(self._error_offset)

    def finish(self) -> bool:
        """Ends the message: True if all input is valid and ends on a code-point boundary. A code
        point left incomplete makes the input invalid, with ``error_offset`` at its end."""
        if self._error_offset is None and self._need:
            self._fail(0)
        return self._error_offset is None

    def check_finish(self) -> None:
        """Like :meth:`finish`, but raises InvalidUTF8 instead of returning False."""
        if not self.finish():
            assert self._error_offset is not None
            raise InvalidUTF8(self._error_offset)

    @property
    def valid(self) -> bool:
        """True while all input so far is a valid prefix of UTF-8."""
        return self._error_offset is None

    @property
    def at_boundary(self) -> bool:
        """True if all input so far is valid and ends between code points (a message may end)."""
        return self._error_offset is None and self._need == 0

    @property
    def offset(self) -> int:
        """Bytes accepted so far (after a failure: the offset of the first invalid byte)."""
        return self._offset

    @property
    def error_offset(self) -> int | None:
        """The absolute offset of the first invalid byte, or None while the input is valid."""
        return self._error_offset

    def __repr__(self) -> str:
        if self._error_offset is not None:
            return f"Utf8Validator(offset={self._offset}, error_offset={self._error_offset})"
        return f"Utf8Validator(offset={self._offset}, at_boundary={self.at_boundary})"
