"""Loopback echo (asyncio layer): every server driven by one fixed client, wsfast's coroutines
against picows.websockets, websockets and aiohttp, its callbacks against picows' listener.

Server CPU per message and the ratios: ``python -m wsfast.bench.echo [--uvloop]``.
Memory per idle connection: ``python bench/memory_per_connection.py``.
"""

from wsfast.bench import echo
from wsfast.bench.pytest_support import benchmark_test

test_echo = benchmark_test(echo.workloads())
