"""Frames (RFC 6455 §5.2): parsing and building, wsfast against aiohttp, websockets and wsproto."""

from wsfast.bench import frames
from wsfast.bench.pytest_support import benchmark_test

test_frames = benchmark_test(frames.workloads())
