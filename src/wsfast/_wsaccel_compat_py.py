"""wsaccel's classes (``XorMaskerSimple``, ``XorMaskerNull``, ``createXorMasker``,
``Utf8Validator``) on wsfast's public hot paths, in Python.

The twin of ``_wsaccel_compat.pyx``; ``_wsaccel_compat.pyi`` documents the shared interface and the
wsaccel 0.6.7 behaviour both reproduce. Masking is ``wsfast.masking.Masker`` (RFC 6455 §5.3) and
validation ``wsfast.utf8.Utf8Validator`` (RFC 3629; RFC 6455 §8.1): compiled when wsfast is, pure
Python under ``WSFAST_NO_EXTENSIONS=1``. These classes only translate arguments and results.
"""

from __future__ import annotations

import operator

from . import masking, utf8
from ._typing import Buffer

__all__ = ["Utf8Validator", "XorMaskerNull", "XorMaskerSimple", "createXorMasker"]

_BYTE_FORMATS = frozenset(("B", "c", "@B", "=B", "<B", ">B", "!B", "@c", "=c", "<c", ">c", "!c"))


def _bytes_of(obj: object) -> memoryview:
    """A contiguous byte view of what wsaccel accepts as ``const unsigned char[:]``: a 1-D buffer
    of unsigned bytes, strided ones too (copied then). The errors are wsaccel's."""
    try:
        view = memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'") from None
    if view.ndim != 1:
        raise ValueError(f"Buffer has wrong number of dimensions (expected 1, got {view.ndim})")
    if view.format not in _BYTE_FORMATS:
        raise ValueError(
            f"Buffer dtype mismatch, expected 'const unsigned char' but got {view.format!r}"
        )
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return view.cast("B") if view.format != "B" else view


class XorMaskerNull:
    """Passes data through unmasked; counts the bytes in ``pointer()``."""

    __slots__ = ("_ptr",)

    def __init__(self, mask: object = None) -> None:
        self._ptr = 0

    def pointer(self) -> int:
        """Bytes processed since creation or the last ``reset()``."""
        return self._ptr

    def reset(self) -> None:
        """Sets ``pointer()`` back to 0."""
        self._ptr = 0

    def process(self, data: Buffer) -> Buffer:
        """Returns ``data`` itself (the same object) and adds ``len(data)`` to ``pointer()``."""
        self._ptr += len(data)
        return data


class XorMaskerSimple:
    """XOR-masks the successive chunks of one payload with a 4-byte key (RFC 6455 §5.3),
    continuing the key phase from one chunk to the next."""

    __slots__ = ("_masker", "_ptr")

    def __init__(self, mask: Buffer) -> None:
        key = mask if type(mask) is bytes else _bytes_of(mask)
        if len(key) != 4:
            raise ValueError("mask should be 4byte.")
        self._masker = masking.Masker(key)
        self._ptr = 0

    def pointer(self) -> int:
        """Bytes masked since creation or the last ``reset()``."""
        return self._ptr

    def reset(self) -> None:
        """Starts again at key octet 0 (``pointer()`` 0)."""
        self._ptr = 0
        self._masker.reset()

    def process(self, data: Buffer | None) -> bytes:
        """Returns the next chunk masked, as new bytes; None gives ``b""`` (as wsaccel's)."""
        if type(data) is not bytes:
            if data is None:
                return b""
            data = _bytes_of(data)
        out: bytes = self._masker.mask(data)
        self._ptr += len(out)
        return out


def createXorMasker(mask: Buffer, len: int | None = None) -> XorMaskerSimple:
    """``XorMaskerSimple(mask)``; the length hint is ignored, as in wsaccel."""
    return XorMaskerSimple(mask)


# wsaccel's DFA states (Hoehrmann's "Flexible and Economical UTF-8 Decoder") as (continuation
# bytes still needed, range of the next one); 0 is accept, 1 reject.
_STATE_RANGES = (
    (0, 0x80, 0xBF),
    (0, 0x80, 0xBF),
    (1, 0x80, 0xBF),
    (2, 0x80, 0xBF),
    (2, 0xA0, 0xBF),  # after E0: no overlong 3-byte forms
    (2, 0x80, 0x9F),  # after ED: no surrogates
    (3, 0x90, 0xBF),  # after F0: no overlong 4-byte forms
    (3, 0x80, 0xBF),
    (3, 0x80, 0x8F),  # after F4: nothing above U+10FFFF
)
# A lead byte that puts a fresh validator in each state, to set ``state`` by feeding it.
_STATE_PREFIX = (b"", b"", b"\xc2", b"\xe1", b"\xe0", b"\xed", b"\xf0", b"\xf1", b"\xf4")
# The state after a continuation byte in each state (when the byte is in range).
_STATE_NEXT = (0, 1, 0, 2, 2, 2, 3, 3, 3)


def _lead_state(b: int) -> int:
    """The state after byte ``b`` read between code points (RFC 3629 §4)."""
    if b < 0x80:
        return 0
    if b < 0xC2:
        return 1
    if b < 0xE0:
        return 2
    if b == 0xE0:
        return 4
    if b == 0xED:
        return 5
    if b < 0xF0:
        return 3
    if b == 0xF0:
        return 6
    if b < 0xF4:
        return 7
    return 8 if b == 0xF4 else 1


def _lead_bits(b: int) -> int:
    """The bits of ``b`` that wsaccel's ``decode`` keeps of a byte read in the accept state."""
    if b < 0x80:
        return b
    if b < 0x90:
        return b & 0x7F
    if b < 0xA0:
        return 0
    if b < 0xC0:
        return b & 0x01
    if b < 0xC2 or b in (0xE0, 0xF0) or b > 0xF4:
        return 0
    if b < 0xE0:
        return b & 0x3F
    if b == 0xED:
        return b & 0x0F
    if b < 0xF0:
        return b & 0x1F
    return b & 0x07 if b == 0xF4 else b & 0x03


def _next_state(state: int, b: int) -> int:
    if state == 0:
        return _lead_state(b)
    _, lo, hi = _STATE_RANGES[state]
    if state == 1 or not lo <= b <= hi:
        return 1
    return _STATE_NEXT[state]


def _to_c_int(value: int) -> int:
    """``value`` wrapped to a 32-bit signed int, as wsaccel's C ``int codepoint`` is."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class Utf8Validator:
    """Incremental UTF-8 validator with wsaccel's results; see ``_wsaccel_compat.pyi``."""

    UTF8_ACCEPT = 0
    UTF8_REJECT = 1

    __slots__ = ("_rejected", "_tail", "_validator", "codepoint", "i")

    def __init__(self) -> None:
        self._validator = utf8.Utf8Validator()
        self.reset()

    def reset(self) -> None:
        """Starts a new message: ``state``, ``i`` and ``codepoint`` back to 0."""
        self._validator.reset()
        self._rejected = False
        # The last (at most 3) bytes fed: enough to name the state inside a code point.
        self._tail = b""
        self.codepoint = 0
        self.i = 0

    @property
    def state(self) -> int:
        """wsaccel's DFA state: 0 accept, 1 reject, 2-8 inside a multi-byte sequence."""
        if self._rejected:
            return 1
        if self._validator.at_boundary:
            return 0
        # All input so far is valid and ends inside a code point: its lead byte is in the tail.
        tail = self._tail
        start = len(tail) - 1
        while start > 0 and 0x80 <= tail[start] < 0xC0:
            start -= 1
        state = 0
        for b in tail[start:]:
            state = _next_state(state, b)
        return state

    @state.setter
    def state(self, value: int) -> None:
        value = operator.index(value)
        if not 0 <= value <= 8:
            raise ValueError(f"Utf8Validator state must be 0-8, got {value}")
        self._validator.reset()
        self._rejected = value == 1
        self._tail = _STATE_PREFIX[value]
        self._validator.feed(self._tail)

    def decode(self, b: int) -> int:
        """Feeds one octet; returns the new ``state`` and updates ``codepoint`` as wsaccel does."""
        b = operator.index(b)
        if not 0 <= b <= 255:
            raise ValueError(f"decode() takes an octet 0-255, got {b}")
        state = self.state
        if state:
            self.codepoint = _to_c_int((b & 0x3F) | (self.codepoint << 6))
        else:
            self.codepoint = _lead_bits(b)
        state = _next_state(state, b)
        self.state = state
        return state

    def __reduce__(self) -> tuple[object, tuple[type[Utf8Validator], int, int, int]]:
        return _restore_validator, (type(self), self.state, self.i, self.codepoint)

    def validate(self, buf: Buffer) -> tuple[bool, bool, int, int]:
        """Validates the next chunk: ``(valid, ends_on_code_point, current_index, total_index)``."""
        if type(buf) is not bytes:
            if buf is None:
                raise TypeError("'NoneType' is not iterable")
            buf = _bytes_of(buf)
        length = len(buf)
        if self._rejected:
            # wsaccel: a rejected validator stays rejected at the first byte of every chunk.
            return length == 0, False, 0, self.i
        validator = self._validator
        before = validator.offset
        if validator.feed(buf):
            self.i += length
            if length >= 3:
                self._tail = bytes(buf[-3:])
            elif length:
                self._tail = (self._tail + bytes(buf))[-3:]
            return True, validator.at_boundary, length, self.i
        index: int = validator.error_offset - before
        self._rejected = True
        self.i += index
        return False, False, index, self.i


def _restore_validator(
    cls: type[Utf8Validator], state: int, i: int, codepoint: int
) -> Utf8Validator:
    """Unpickles a Utf8Validator: its state number, ``i`` and ``codepoint`` are all there is."""
    validator = cls()
    validator.state = state
    validator.i = i
    validator.codepoint = codepoint
    return validator


def _valid_prefix(buf: Buffer) -> bool:
    """True if ``buf`` is a valid prefix of UTF-8 (``Utf8Validator().validate(buf)[0]``)."""
    if type(buf) is not bytes:
        if buf is None:
            raise TypeError("'NoneType' is not iterable")
        buf = _bytes_of(buf)
    return bool(utf8.Utf8Validator().feed(buf))
