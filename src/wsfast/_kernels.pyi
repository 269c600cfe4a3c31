"""The shared interface of ``_kernels`` (compiled) and ``_kernels_py`` (its twin): the one SIMD
switch of every hot path (masking, UTF-8 validation, the frame parser's unmasking and
validation, the wsaccel-compatible classes).

Levels, narrowest first: ``scalar``, ``sse2`` (x86-64) or ``neon`` (aarch64), ``avx2``,
``avx512``. At import the level is what ``WSFAST_SIMD`` names, capped to the CPU; the widest the
CPU has when it is unset, and (with a RuntimeWarning) when it names no level. The UTF-8
validator's 128-bit x86 kernel also needs SSSE3 and SSE4.1; a CPU at the ``sse2`` level without
them validates with the scalar kernel.
"""

def available_simd_levels() -> list[str]:
    """Levels this CPU can run, narrowest first; ``["python"]`` for the twin."""

def simd_level() -> str:
    """The level in use: scalar, sse2, avx2, avx512, neon; ``"python"`` for the twin."""

def set_simd_level(name: str) -> str:
    """Runs every kernel at the widest level not above ``name`` that the CPU supports; returns its
    name (``"python"`` for the twin, which accepts the same names). ValueError for an unknown
    name."""
