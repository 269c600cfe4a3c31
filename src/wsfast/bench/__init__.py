"""Benchmarks: the workloads behind ``python -m wsfast bench`` and the pytest-benchmark suite.

Each hot path or layer has a module here (``mask.py``, ``utf8.py`` ...) whose ``workloads()``
returns :class:`~wsfast.bench.core.Workload` objects; :mod:`wsfast.bench.registry` collects them.
Both the CLI and ``bench/`` (pytest-benchmark) time the same workloads, so they never drift apart.
"""
