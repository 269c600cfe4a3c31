"""The shared interface of ``_wsaccel_compat`` (compiled) and ``_wsaccel_compat_py`` (its twin):
wsaccel 0.6.7's classes, with the same names, arguments, results and exceptions, on wsfast's
masking (RFC 6455 §5.3) and UTF-8 validation (RFC 3629; RFC 6455 §8.1) hot paths.

Arguments that wsaccel declares ``const unsigned char[:]`` (a mask, a chunk) accept what it
accepts: any one-dimensional buffer of unsigned bytes (format ``B`` or ``c``): bytes, bytearray,
memoryview (strided ones too), ``array.array("B")``, mmap. A ``str`` or another non-buffer raises
TypeError; a buffer of other items (``array("i")``, a signed ``"b"`` view) or of more than one
dimension raises ValueError.

Behaviour that wsfast does not reproduce (documented in docs/compat.md): ``decode`` raises
ValueError for a value outside 0-255 (wsaccel reads outside its table), ``state`` accepts only
0-8, and ``i`` does not wrap at 2**31. Like wsaccel's, the objects pickle (and copy) with
their state.
"""

from wsfast._typing import Buffer

class XorMaskerNull:
    """Passes data through unmasked; counts the bytes in ``pointer()``."""

    def __init__(self, mask: object = None) -> None: ...
    def pointer(self) -> int:
        """Bytes processed since creation or the last ``reset()``."""
    def reset(self) -> None:
        """Sets ``pointer()`` back to 0."""
    def process(self, data: Buffer) -> Buffer:
        """Returns ``data`` itself (the same object) and adds ``len(data)`` to ``pointer()``."""

class XorMaskerSimple:
    """XOR-masks the successive chunks of one payload with a 4-byte key, continuing the key phase
    from one chunk to the next (chunk bytes are XORed with ``mask[(pointer() + i) % 4]``)."""

    def __init__(self, mask: Buffer) -> None:
        """``mask``: exactly 4 bytes, else ``ValueError("mask should be 4byte.")``."""
    def pointer(self) -> int:
        """Bytes masked since creation or the last ``reset()``."""
    def reset(self) -> None:
        """Starts again at key octet 0 (``pointer()`` 0)."""
    def process(self, data: Buffer | None) -> bytes:
        """Returns the next chunk masked, as new bytes; None gives ``b""`` (as wsaccel's)."""

def createXorMasker(mask: Buffer, len: int | None = None) -> XorMaskerSimple:
    """``XorMaskerSimple(mask)``; the length hint is ignored, as in wsaccel."""

class Utf8Validator:
    """Incremental UTF-8 validator with wsaccel's results.

    ``validate(chunk)`` returns ``(valid, ends_on_code_point, current_index, total_index)``:

    - while all bytes so far are a valid prefix of UTF-8: ``(True, at_boundary, len(chunk), i)``
      where ``at_boundary`` says whether the bytes so far end between code points and ``i`` (also
      the attribute ``i``) counts the bytes validated since ``reset()``;
    - at the first invalid byte, at index ``k`` of this chunk: ``(False, False, k, i + k)``; the
      validator then stays rejected (``state == 1``): a later non-empty chunk gives
      ``(False, False, 0, i)`` and an empty one ``(True, False, 0, i)``, exactly as wsaccel.

    Invalid means: a byte that no valid UTF-8 can continue with at that point (C0, C1, F5-FF, a
    stray continuation byte, a missing continuation byte, an overlong form, a surrogate
    U+D800-U+DFFF, anything above U+10FFFF), the validator failing at the earliest such byte.
    """

    UTF8_ACCEPT: int
    UTF8_REJECT: int
    i: int
    codepoint: int

    def __init__(self) -> None: ...
    @property
    def state(self) -> int:
        """wsaccel's DFA state: 0 accept (between code points), 1 reject, 2-8 inside a sequence
        (2: one continuation byte to go; 3: two; 4: after E0; 5: after ED; 6: after F0; 7: three
        to go; 8: after F4). Settable to any of 0-8 (else ValueError)."""
    @state.setter
    def state(self, value: int) -> None: ...
    def reset(self) -> None:
        """Starts a new message: ``state``, ``i`` and ``codepoint`` back to 0."""
    def decode(self, b: int) -> int:
        """Feeds one octet; returns the new ``state`` and updates ``codepoint`` as wsaccel does
        (when the result is 0, ``codepoint`` is the code point just completed)."""
    def validate(self, buf: Buffer) -> tuple[bool, bool, int, int]:
        """Validates the next chunk (see the class docstring for the result)."""

def _valid_prefix(buf: Buffer) -> bool:
    """``Utf8Validator().validate(buf)[0]`` without the object: True if ``buf`` is a valid prefix
    of UTF-8 (websocket-client's ``validate_utf8`` computes exactly this)."""
