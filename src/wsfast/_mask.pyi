"""The shared interface of the masking hot path: ``_mask`` (compiled) and ``_mask_py`` (its twin).

RFC 6455 §5.3: ``transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)``.
Both implementations accept any contiguous buffer (bytes, bytearray, memoryview, array, mmap) and
raise the same exceptions: TypeError for a non-buffer, a non-contiguous or (in place) a read-only
buffer; ValueError for a key that is not exactly 4 bytes.
"""

# The SIMD switch of every kernel, re-exported from _kernels (see _kernels.pyi).
from wsfast._kernels import available_simd_levels as available_simd_levels
from wsfast._kernels import set_simd_level as set_simd_level
from wsfast._kernels import simd_level as simd_level
from wsfast._typing import Buffer

def mask(data: Buffer, key: Buffer) -> bytes:
    """Returns ``data`` XOR-masked with the 4-byte ``key``, as new bytes."""

def mask_inplace(buffer: Buffer, key: Buffer) -> None:
    """XOR-masks the writable ``buffer`` with the 4-byte ``key`` in place."""

class Masker:
    """Masks a payload that arrives in chunks, keeping the key phase across chunks."""

    def __init__(self, key: Buffer) -> None: ...
    @property
    def key(self) -> bytes: ...
    @property
    def phase(self) -> int:
        """The key octet (0-3) that the next byte is XORed with."""
    def mask(self, data: Buffer) -> bytes:
        """Returns the next chunk masked, as new bytes."""
    def mask_inplace(self, buffer: Buffer) -> None:
        """Masks the next chunk in place."""
    def reset(self) -> None:
        """Starts again at key phase 0."""
