"""wsproto's workload (a client and a server exchanging messages of random sizes, with and
without permessage-deflate) on wsfast's wsproto drop-in and on wsproto itself, in the same run."""

from wsfast.bench import wsproto_compat
from wsfast.bench.pytest_support import benchmark_test

test_wsproto_compat = benchmark_test(wsproto_compat.workloads())
