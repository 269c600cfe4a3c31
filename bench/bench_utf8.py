"""UTF-8 validation (RFC 6455 §8.1): wsfast against bytes.decode, CPython's incremental decoder,
wsaccel and autobahn, with a read-only memchr pass as the limit."""

from wsfast.bench import utf8
from wsfast.bench.pytest_support import benchmark_test

test_utf8 = benchmark_test(utf8.workloads())
