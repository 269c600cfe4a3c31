"""Sans-IO protocol round trips: wsfast against websockets' and wsproto's sans-IO layers."""

from wsfast.bench import protocol
from wsfast.bench.pytest_support import benchmark_test

test_protocol = benchmark_test(protocol.workloads())
