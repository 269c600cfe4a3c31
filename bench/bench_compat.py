"""websocket-client sending and receiving 16 B and 64 KiB text messages: wsfast's wsaccel drop-in
against wsaccel and against websocket-client alone, in the same run."""

from wsfast.bench import compat
from wsfast.bench.pytest_support import benchmark_test

test_compat = benchmark_test(compat.workloads())
