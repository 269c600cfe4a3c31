"""pytest-benchmark suite over the workloads of ``wsfast.bench``, as ``python -m wsfast bench``.

Run ``pytest bench/ --benchmark-only``. Files are named ``bench_<layer>.py``; each turns its layer's
``workloads()`` into tests with :func:`wsfast.bench.pytest_support.benchmark_test`.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collects ``bench_*.py`` here (pytest's default pattern is ``test_*.py``)."""
    if parent.session.isinitpath(file_path):
        return None  # named on the command line: pytest collects it itself
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
