"""Masking (RFC 6455 §5.3): wsfast against websockets, wsaccel and aiohttp, and a plain copy."""

from wsfast.bench import mask
from wsfast.bench.pytest_support import benchmark_test

test_mask = benchmark_test(mask.workloads())
