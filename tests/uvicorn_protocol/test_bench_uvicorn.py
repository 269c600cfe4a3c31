"""The uvicorn bench family: every ``--ws`` class serves the echo, and the table is built from
figures measured in the same run (a short run: the figures themselves are not checked here)."""

from __future__ import annotations

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")

from wsfast.bench import registry
from wsfast.bench.uvicorn import REFERENCE, WS_CLASSES, format_results, measure


def test_measure_echoes_through_each_ws_class_and_formats_ratios() -> None:
    results = measure(["websockets-sansio", "wsfast"], messages=300, rounds=1, idle=5)
    assert [r.name for r in results] == ["websockets-sansio", "wsfast"]
    for result in results:
        assert set(result.cpu_ns) == {"window", "rr"}
        assert all(cpu > 0 for cpu in result.cpu_ns.values())
        assert all(rate > 0 for rate in result.rate.values())
        assert result.idle_bytes is not None
    table = format_results(results)
    reference_row = next(line for line in table.splitlines() if line.strip().startswith(REFERENCE))
    assert "1.00" in reference_row  # the reference against itself


def test_family_is_registered_with_every_ws_class() -> None:
    assert "uvicorn" in registry.MODULES
    families = {w.group: w for w in registry.all_workloads() if w.group.startswith("uvicorn-")}
    assert set(families) == {"uvicorn-window", "uvicorn-rr"}
    for workload in families.values():
        assert [case.name for case in workload.cases] == [f"uvicorn --ws {n}" for n in WS_CLASSES]
