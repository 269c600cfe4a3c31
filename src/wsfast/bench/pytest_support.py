"""The bridge from the workloads to pytest-benchmark: ``bench/bench_<layer>.py`` in three lines.

::

    from wsfast.bench import mask
    from wsfast.bench.pytest_support import benchmark_test

    test_mask = benchmark_test(mask.workloads())

Each (workload, case) pair becomes one test, id ``mask-copy/125B-wsfast``, grouped by workload in
pytest-benchmark's table; a case whose setup raises :class:`~wsfast.bench.core.Skip` or ImportError
is skipped with its reason. Run with ``pytest bench/ --benchmark-only``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from .core import Case, Skip, Workload

__all__ = ["benchmark_params", "benchmark_test", "run_case"]


def benchmark_params(workloads: Iterable[Workload]) -> list[Any]:
    """``pytest.param(workload, case, id=...)`` for every case of every workload."""
    return [
        pytest.param(workload, case, id=f"{workload.name}-{case.name}")
        for workload in workloads
        for case in workload.cases
    ]


def run_case(benchmark: Any, workload: Workload, case: Case) -> None:
    """Sets up ``case`` and hands its callable to the pytest-benchmark fixture."""
    try:
        fn = case.setup()
    except (Skip, ImportError) as exc:
        pytest.skip(f"{case.name}: {exc}")
    benchmark.group = workload.name
    benchmark.extra_info.update(
        case=case.name,
        kind=case.kind,
        bytes_per_call=workload.bytes_per_call,
        items_per_call=workload.items_per_call,
    )
    try:
        benchmark(fn)
    finally:
        close = getattr(fn, "close", None)
        if callable(close):
            close()


def benchmark_test(workloads: Iterable[Workload]) -> Callable[..., None]:
    """A test function parametrised over every case of ``workloads``."""

    def test_benchmark(benchmark: Any, workload: Workload, case: Case) -> None:
        run_case(benchmark, workload, case)

    parametrize = pytest.mark.parametrize(("workload", "case"), benchmark_params(workloads))
    marked: Callable[..., None] = parametrize(test_benchmark)
    return marked
