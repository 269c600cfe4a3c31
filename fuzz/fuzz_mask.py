"""Fuzzes masking (RFC 6455 §5.3): the compiled kernels (every SIMD level) against the twin.

Input: SIMD level, 4-byte key, a split point and an alignment offset, then the payload. Checks that
``mask``, ``mask_inplace`` (also on an unaligned memoryview) and a chunked ``Masker`` all agree with
the twin, and that masking twice gives the payload back.

    python fuzz/run.py mask --seconds 60     # see docs/hardening.md
"""

from __future__ import annotations

from types import ModuleType

from fuzzlib import Checker, Provider, main

HOT_PATHS = ("mask",)


def make_checker(compiled: dict[str, ModuleType], python: dict[str, ModuleType]) -> Checker:
    fast, twin = compiled["mask"], python["mask"]
    levels = fast.available_simd_levels()

    def check(data: bytes) -> None:
        source = Provider(data)
        level = source.pick(levels)
        if fast is not twin:
            fast.set_simd_level(level)
        key = source.take(4).ljust(4, b"\0")
        cut = source.int_in(0, 255)
        offset = source.int_in(0, 63)
        payload = source.rest()
        expected = twin.mask(payload, key)
        assert fast.mask(payload, key) == expected
        assert fast.mask(expected, key) == payload
        buffer = bytearray(offset) + payload
        fast.mask_inplace(memoryview(buffer)[offset:], key)
        assert buffer[offset:] == expected and not any(buffer[:offset])
        masker = fast.Masker(key)
        cut = min(cut, len(payload))
        assert masker.mask(payload[:cut]) + masker.mask(payload[cut:]) == expected
        assert masker.phase == len(payload) % 4

    return check


if __name__ == "__main__":
    main(make_checker, HOT_PATHS)
