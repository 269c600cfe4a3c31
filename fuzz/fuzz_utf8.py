"""Fuzzes UTF-8 validation (RFC 6455 §8.1, strict RFC 3629): compiled kernels (every SIMD level)
against the twin and against CPython's own UTF-8 decoder.

Checks: the same verdict as ``bytes.decode("utf-8")``; the same error offset in both twins, and it
is the first byte that can never be valid (the prefix before it is a valid prefix, the prefix
through it is not), or the length for text ending inside a code point; ``decode_utf8`` gives
CPython's str; ``Utf8Validator`` fed the same bytes in random chunks reaches the same verdict and
offset.

    python fuzz/run.py utf8 --seconds 60     # see docs/hardening.md
"""

from __future__ import annotations

from types import ModuleType

from fuzzlib import Checker, Provider, main, outcome, split

HOT_PATHS = ("utf8",)

# Second bytes that reach every restricted range of RFC 3629 (80-8F, 90-BF, A0-BF, 80-9F, 80-BF).
_SECOND_BYTES = (0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF)


def _is_valid_prefix(data: bytes) -> bool:
    """True if some continuation makes ``data`` valid UTF-8, by CPython's strict decoder (its
    incremental decoder cannot say: it accepts ``ED A0`` as the start of a surrogate)."""
    for extra in range(4):
        for second in _SECOND_BYTES if extra else (0,):
            try:
                (data + bytes([second]) + b"\x80" * (extra - 1) if extra else data).decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False


def make_checker(compiled: dict[str, ModuleType], python: dict[str, ModuleType]) -> Checker:
    fast, twin = compiled["utf8"], python["utf8"]
    levels = fast.available_simd_levels()

    def check(data: bytes) -> None:
        source = Provider(data)
        level = source.pick(levels)
        if fast is not twin:
            fast.set_simd_level(level)
        # Mostly valid text with a few corrupted bytes, or raw bytes.
        mode = source.int_in(0, 3)
        text = source.rest()
        if mode:
            head = text[: len(text) // 4]
            text = text[len(text) // 4 :].decode("utf-8", "replace").encode("utf-8")
            for i in range(0, len(head) - 1, 2):
                if text:
                    position = head[i] * 256 + head[i + 1]
                    text = (
                        text[: position % len(text)]
                        + head[i : i + 1]
                        + text[position % len(text) + 1 :]
                    )
        try:
            reference = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            reference = None
            start = exc.start
        verdict = fast.validate_utf8(text)
        assert verdict == twin.validate_utf8(text) == (reference is not None)
        offset = fast.invalid_utf8_offset(text)
        assert offset == twin.invalid_utf8_offset(text)
        if reference is not None:
            assert offset is None
            assert fast.decode_utf8(text) == reference == twin.decode_utf8(text)
            assert fast.utf8_bytes(text) == text
        else:
            assert offset is not None and start <= offset <= len(text)
            assert _is_valid_prefix(text[:offset])
            if offset < len(text):
                assert not _is_valid_prefix(text[: offset + 1])
            error = outcome(lambda: fast.decode_utf8(text))
            assert error == outcome(lambda: twin.decode_utf8(text))
            assert error[:3] == ("error", "InvalidUTF8", 1007)
            assert outcome(lambda: fast.decode_utf8(bytearray(text))) == error
        # Chunk by chunk, however the text is cut.
        cuts = sorted((b * 7919) % (len(text) + 1) for b in data[:4])
        pieces = split(text, cuts)
        for module in (fast, twin):
            validator = module.Utf8Validator()
            for piece in pieces:
                validator.feed(memoryview(piece))
            assert validator.finish() == (reference is not None)
            assert validator.error_offset == offset

    return check


if __name__ == "__main__":
    main(make_checker, HOT_PATHS)
