"""``python -m wsfast bench``: the runner (on a fake clock), the report, and the command end to end.

No test here depends on how fast anything runs: the runner's logic is checked against a fake clock,
and the end-to-end run checks the shape of the output (table, JSON schema, plot), not its figures.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wsfast import _speedups
from wsfast.bench import cli, report
from wsfast.bench.core import Case, Skip, Workload
from wsfast.bench.runner import FULL, QUICK, Progress, Runner, Settings, interquartile_range

ROOT = Path(__file__).resolve().parents[1]
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


# -- a fake clock: each call of a timed function advances it by a fixed cost ---------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now

    def function(self, cost_ns: int) -> Callable[[], Callable[[], object]]:
        """A case setup whose callable 'takes' cost_ns per call."""

        def setup() -> Callable[[], object]:
            def call() -> None:
                self.now += cost_ns

            return call

        return setup


SMALL = Settings(sample_ns=1_000_000, min_samples=3, max_samples=7, case_budget_s=0.1)


def test_interquartile_range() -> None:
    assert interquartile_range([]) == 0.0
    assert interquartile_range([5.0]) == 0.0
    assert interquartile_range([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2.0)


def test_calibration_fills_a_sample() -> None:
    clock = FakeClock()
    workload = Workload("g", "g/1", (Case("wsfast", clock.function(1000), "wsfast"),))
    result = Runner(SMALL, clock).run_case(workload, workload.cases[0], SMALL.case_budget_s)
    assert result.status == "ok"
    # 1 ms samples of 1 µs calls: a thousand calls per sample.
    assert result.calls_per_sample == 1000
    assert result.median_ns == pytest.approx(1000.0)
    assert SMALL.min_samples <= len(result.samples_ns) <= SMALL.max_samples


def test_budget_caps_samples() -> None:
    clock = FakeClock()
    # 30 ms per call, 100 ms budget: one call per sample, no more samples than the budget holds.
    workload = Workload("g", "g/1", (Case("wsfast", clock.function(30_000_000), "wsfast"),))
    result = Runner(SMALL, clock).run_case(workload, workload.cases[0], 0.1)
    assert result.calls_per_sample == 1
    assert len(result.samples_ns) == SMALL.min_samples
    # A call longer than the whole budget: the warm-up call is the only sample.
    clock = FakeClock()
    workload = Workload("g", "g/1", (Case("wsfast", clock.function(500_000_000), "wsfast"),))
    result = Runner(SMALL, clock).run_case(workload, workload.cases[0], 0.1)
    assert (result.calls_per_sample, len(result.samples_ns)) == (1, 1)
    assert clock.now == 500_000_000


@pytest.mark.parametrize("settings", [QUICK, FULL], ids=["quick", "full"])
def test_slow_workloads_take_one_call_per_sample_and_the_usual_repeats(settings: Settings) -> None:
    clock = FakeClock()
    case = Case("wsfast", clock.function(1000), "wsfast")
    slow = Workload("echo", "echo/1", (case,), tags=frozenset({"slow"}))
    result = Runner(settings, clock).run_case(slow, case, settings.case_budget_s)
    assert result.calls_per_sample == 1
    # As many samples as any other case would get: a slow workload is not timed less.
    assert settings.min_samples <= len(result.samples_ns) <= settings.max_samples
    [interleaved] = Runner(settings, clock).run([slow])
    assert interleaved.cases[0].calls_per_sample == 1
    assert len(interleaved.cases[0].samples_ns) >= settings.min_samples
    # The same case outside a slow workload is calibrated as usual.
    fast = Workload("g", "g/1", (case,))
    result = Runner(settings, clock).run_case(fast, case, settings.case_budget_s)
    assert result.calls_per_sample > 1


def test_timing_runs_with_the_garbage_collector_on() -> None:
    import gc

    seen: list[bool] = []

    def setup() -> Callable[[], object]:
        return lambda: seen.append(gc.isenabled())

    workload = Workload("g", "g/1", (Case("wsfast", setup, "wsfast"),))
    assert gc.isenabled()
    Runner(SMALL).run([workload])
    assert seen and all(seen)


def test_counters_are_kept_per_call_beside_the_samples() -> None:
    clock = FakeClock()
    cpu = {"server_cpu_ns": 0}

    def setup() -> Callable[[], object]:
        def call() -> None:
            clock.now += 30_000_000
            cpu["server_cpu_ns"] += 7000

        call.counters = lambda: dict(cpu)  # type: ignore[attr-defined]
        return call

    case = Case("wsfast", setup, "wsfast")
    workload = Workload("echo", "echo/1", (case,), tags=frozenset({"slow"}))
    [result] = Runner(SMALL, clock).run([workload])
    case = result.cases[0]
    assert case.counters["server_cpu_ns"] == [7000.0] * len(case.samples_ns)


def test_total_budget_is_shared_among_cases() -> None:
    clock = FakeClock()
    settings = Settings(
        sample_ns=10_000_000,
        min_samples=3,
        max_samples=9,
        case_budget_s=1.0,
        total_budget_s=0.5,
        min_case_budget_s=0.01,
    )

    def workloads(clock: FakeClock) -> list[Workload]:
        case = Case("wsfast", clock.function(100_000), "wsfast")
        return [Workload("g", f"g/{i}", (case,)) for i in range(20)]

    results = Runner(settings, clock).run(workloads(clock))
    # Half a second in all (by the fake clock), every case getting its minimum of samples: the
    # samples got shorter rather than fewer.
    assert clock.now <= 0.55e9
    assert all(len(r.cases[0].samples_ns) >= settings.min_samples for r in results)
    assert all(r.cases[0].calls_per_sample < 100 for r in results)
    # Without the total budget, each case takes its full 10 ms samples.
    unbounded = FakeClock()
    results = Runner(settings.with_total_budget(None), unbounded).run(workloads(unbounded))
    assert unbounded.now > 3 * clock.now
    assert all(r.cases[0].calls_per_sample == 100 for r in results)


def test_setup_and_wall_time_are_recorded() -> None:
    clock = FakeClock()
    timed = clock.function(1000)

    def slow_setup() -> Callable[[], object]:
        clock.now += 50_000_000  # 50 ms of input generation
        return timed()

    workload = Workload("g", "g/1", (Case("wsfast", slow_setup, "wsfast"),))
    [result] = Runner(SMALL, clock).run([workload])
    case = result.cases[0]
    assert case.setup_s == pytest.approx(0.05)
    assert case.wall_s == pytest.approx(clock.now / 1e9)
    assert case.wall_s > case.setup_s


def test_cases_of_a_workload_are_sampled_in_turn() -> None:
    clock = FakeClock()
    calls: list[str] = []

    def case(name: str, cost: int) -> Case:
        def setup() -> Callable[[], object]:
            def call() -> None:
                clock.now += cost
                calls.append(name)

            return call

        return Case(name, setup, "wsfast" if name == "a" else "peer")

    workload = Workload("g", "g/1", (case("a", 1000), case("b", 3000)))
    [result] = Runner(SMALL, clock).run([workload])
    a, b = result.cases
    assert a.ok and b.ok and a.calls_per_sample == 1000 and b.calls_per_sample == 333
    # After the warm-ups and calibrations, one sample of a, one of b, one of a ...
    runs = [name for i, name in enumerate(calls) if i == 0 or calls[i - 1] != name]
    sampled = runs[-(len(a.samples_ns) + len(b.samples_ns)) :]
    assert sampled == ["a", "b"] * len(a.samples_ns)
    assert len(a.samples_ns) >= SMALL.min_samples
    # A slow-tagged workload's cases are interleaved too, one call per sample.
    calls.clear()
    slow = Workload("g", "g/2", workload.cases, tags=frozenset({"slow"}))
    [result] = Runner(SMALL, clock).run([slow])
    a, b = result.cases
    assert a.calls_per_sample == b.calls_per_sample == 1
    sampled = calls[-(len(a.samples_ns) + len(b.samples_ns)) :]
    assert sampled == ["a", "b"] * len(a.samples_ns)


def test_slow_workloads_run_first_under_a_total_budget() -> None:
    ran: list[str] = []

    def workload(name: str, tags: frozenset[str] = frozenset()) -> Workload:
        def setup() -> Callable[[], object]:
            ran.append(name)
            return lambda: None

        return Workload("g", name, (Case("wsfast", setup, "wsfast"),), tags=tags)

    workloads = [workload("fast-1"), workload("echo", frozenset({"slow"})), workload("fast-2")]
    settings = Settings(1_000_000, 1, 1, 0.01, total_budget_s=0.1, min_sample_ns=1_000_000)
    results = Runner(settings).run(workloads)
    assert ran == ["echo", "fast-1", "fast-2"]
    assert [r.workload.name for r in results] == ["fast-1", "echo", "fast-2"]
    ran.clear()
    Runner(settings.with_total_budget(None)).run(workloads)
    assert ran == ["fast-1", "echo", "fast-2"]


def test_skips_errors_and_close() -> None:
    clock = FakeClock()
    closed: list[bool] = []

    def missing() -> Callable[[], object]:
        raise Skip("nopeer not importable")

    def no_module() -> Callable[[], object]:
        raise ImportError("No module named 'nopeer'")

    def broken_setup() -> Callable[[], object]:
        raise RuntimeError("adapter bug")

    def broken_call() -> Callable[[], object]:
        def call() -> None:
            raise ValueError("bad input")

        return call

    class Closing:
        def __call__(self) -> None:
            clock.now += 1000

        def close(self) -> None:
            closed.append(True)

    workload = Workload(
        "g",
        "g/1",
        (
            Case("wsfast", Closing, "wsfast"),
            Case("peer-a", missing),
            Case("peer-b", no_module),
            Case("peer-c", broken_setup),
            Case("peer-d", broken_call),
        ),
    )
    [result] = Runner(SMALL, clock).run([workload])
    ours, a, b, c, d = result.cases
    assert ours.ok and closed == [True]
    assert (a.status, a.reason) == ("skipped", "nopeer not importable")
    assert b.status == "skipped" and "nopeer" in b.reason
    assert c.status == "error" and "RuntimeError: adapter bug" in c.reason
    assert d.status == "error" and "ValueError: bad input" in d.reason


def test_progress_plain_lines_when_not_a_terminal(tmp_path: Path) -> None:
    with open(tmp_path / "err", "w+") as stream:
        progress = Progress(2, stream)
        progress.step("mask-copy/8B wsfast")
        progress.step("mask-copy/8B websockets")
        progress.finish()
        stream.seek(0)
        assert stream.read() == "[1/2] mask-copy/8B wsfast\n[2/2] mask-copy/8B websockets\n"


def test_progress_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(2, stream)
    progress.step("mask-copy/8B wsfast")
    progress.note("error: something")
    progress.finish()
    assert stream.getvalue() == (
        "\r\x1b[K[1/2 0s] mask-copy/8B wsfast\r\x1b[Kerror: something\n\r\x1b[K"
    )


def test_ctrl_c_reports_what_was_timed() -> None:
    clock = FakeClock()

    def interrupt() -> Callable[[], object]:
        raise KeyboardInterrupt

    workloads = [
        Workload("g", "g/1", (Case("wsfast", clock.function(1000), "wsfast"),)),
        Workload("g", "g/2", (Case("wsfast", interrupt, "wsfast"), Case("x", interrupt))),
        Workload("g", "g/3", (Case("wsfast", clock.function(1000), "wsfast"),)),
    ]
    runner = Runner(SMALL, clock)
    results = runner.run(workloads)
    assert runner.interrupted
    assert [r.workload.name for r in results] == ["g/1", "g/2", "g/3"]
    assert results[0].cases[0].ok
    statuses = [(c.status, c.reason) for r in results[1:] for c in r.cases]
    assert statuses == [("skipped", "interrupted")] * 3


def test_quick_mode_is_announced_to_the_workloads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from wsfast.bench import runner

    monkeypatch.setenv(runner.QUICK_ENV, "0")
    assert not runner.quick_requested()
    args = cli.build_parser().parse_args(["--list", "--only", "mask-copy/8B"])
    assert cli.main(args) == 0 and not runner.quick_requested()
    args = cli.build_parser().parse_args(["--quick", "--list", "--only", "mask-copy/8B"])
    assert cli.main(args) == 0 and runner.quick_requested()
    assert capsys.readouterr().out.startswith("mask-copy/8B: wsfast")


def test_ctrl_c_while_sampling() -> None:
    clock = FakeClock()
    closed: list[str] = []

    class Interrupting:
        def __init__(self, name: str, interrupt_at: int) -> None:
            self.name, self.interrupt_at, self.calls = name, interrupt_at, 0

        def __call__(self) -> None:
            self.calls += 1
            clock.now += 1000
            if self.calls == self.interrupt_at:
                raise KeyboardInterrupt

        def close(self) -> None:
            closed.append(self.name)

    workloads = [
        Workload(
            "g",
            "g/1",
            (
                Case("wsfast", lambda: Interrupting("a", 0), "wsfast"),
                Case("peer", lambda: Interrupting("b", 5000)),
            ),
        ),
        Workload("g", "g/2", (Case("wsfast", clock.function(1000), "wsfast"),)),
    ]
    runner = Runner(SMALL, clock)
    results = runner.run(workloads)
    assert runner.interrupted and closed == ["a", "b"]  # every opened case is closed
    statuses = [(c.name, c.status, c.reason) for r in results for c in r.cases]
    assert statuses == [
        ("wsfast", "skipped", "interrupted"),
        ("peer", "skipped", "interrupted"),
        ("wsfast", "skipped", "interrupted"),
    ]


def test_select() -> None:
    def w(group: str, size: str) -> Workload:
        return Workload(group, f"{group}/{size}", ())

    workloads = [w("mask-copy", "8B"), w("mask-inplace", "8B"), w("utf8-ascii", "1MiB")]
    names = lambda patterns: [x.name for x in cli.select(workloads, patterns)]  # noqa: E731
    assert names([]) == [x.name for x in workloads]
    assert names(["mask"]) == ["mask-copy/8B", "mask-inplace/8B"]
    assert names(["*/1MiB"]) == ["utf8-ascii/1MiB"]
    assert names(["mask-i*", "utf8"]) == ["mask-inplace/8B", "utf8-ascii/1MiB"]
    assert names(["nothing"]) == []


# -- the report, from a run on the fake clock ----------------------------------------------------


KINDS = {
    "wsfast": "wsfast",
    "wsfast-python": "wsfast-python",
    "copy (limit)": "limit",
    "wsfast frames only": "wsfast-lower",
    "tcp (reference)": "reference",
}


def fake_workload(
    clock: FakeClock,
    costs: dict[str, int | None],
    group: str = "mask-copy",
    tags: frozenset[str] = frozenset(),
    cpu: dict[str, int] | None = None,
) -> Workload:
    """A workload whose cases cost the given ns per call (None: not installed) and, for those
    named in ``cpu``, report that much server CPU per call."""

    def case(name: str, cost: int | None) -> Case:
        kind = KINDS.get(name, "peer")
        if cost is None:

            def missing() -> Callable[[], object]:
                raise Skip(f"{name} not importable")

            return Case(name, missing, kind)
        if cpu is None or name not in cpu:
            return Case(name, clock.function(cost), kind)
        counter = {"server_cpu_ns": 0}

        def setup() -> Callable[[], object]:
            def call() -> None:
                clock.now += cost
                counter["server_cpu_ns"] += cpu[name]

            call.counters = lambda: dict(counter)  # type: ignore[attr-defined]
            return call

        return Case(name, setup, kind)

    return Workload(
        group,
        f"{group}/1KiB",
        tuple(case(n, c) for n, c in costs.items()),
        bytes_per_call=1024,
        items_per_call=1,
        tags=tags,
    )


def fake_document(
    costs: dict[str, int | None], *more: Workload, clock: FakeClock | None = None
) -> dict[str, Any]:
    """A document of one workload whose cases cost the given ns per call (None: not installed),
    and of the workloads ``more`` (made with ``fake_workload`` on the same ``clock``)."""
    clock = clock or FakeClock()
    workloads = [fake_workload(clock, costs), *more]
    results = Runner(SMALL, clock).run(workloads)
    return report.validate(
        json.loads(json.dumps(report.to_document(results, SMALL, duration_s=1.0)))
    )


def test_ratios_and_table() -> None:
    doc = fake_document(
        {
            "wsfast": 1000,
            "wsfast-python": 50_000,
            "websockets": 2500,
            "slowpeer": 10_000,
            "missingpeer": None,
            "copy (limit)": 800,
        }
    )
    summary = doc["workloads"][0]["summary"]
    assert summary["best_peer"] == "websockets"
    assert summary["vs_best_peer"] == pytest.approx(2.5)
    assert summary["vs_limit"] == pytest.approx(0.8)
    table = report.format_table(doc)
    header = next(line for line in table.splitlines() if line.startswith("workload"))
    row = next(line for line in table.splitlines() if line.startswith("mask-copy/1KiB"))
    columns = re.split(r"\s{2,}", header)
    cells = re.split(r"\s{2,}", row)
    assert len(cells) == len(columns)
    # The never-importable peer is not a column; it is listed as skipped, with its reason.
    assert columns[1:-2] == ["wsfast", "wsfast-python", "websockets", "slowpeer", "copy (limit)"]
    assert "skipped missingpeer: missingpeer not importable" in table
    # 1024 bytes per µs = 1.02 GB/s; the ratios.
    assert cells[1].startswith("1.02 GB/s ±")
    assert cells[-2] == "x2.50 websockets"
    assert cells[-1] == "x0.80"
    assert "geometric mean over 1 workloads: x2.50" in table
    summary = table.split("summary: ")[1].splitlines()
    assert re.split(r"\s{2,}", summary[2]) == ["mask-copy", "1", "x2.50", "x2.50", "x2.50"]
    markdown = report.format_markdown(doc)
    assert "| mask-copy | 1 | x2.50 | x2.50 | x2.50 |" in markdown


def test_headline_is_the_public_api_never_a_lower_level_row() -> None:
    doc = fake_document(
        {"wsfast": 2000, "wsfast frames only": 200, "aiohttp": 4000, "tcp (reference)": 100}
    )
    summary = doc["workloads"][0]["summary"]
    # The lower-level row is ten times faster, but the headline is the public API's x2.
    assert summary["reference"] == "wsfast"
    assert summary["vs_best_peer"] == pytest.approx(2.0)
    # A reference is shown, and is neither a peer nor a floor.
    assert summary["best_peer"] == "aiohttp" and summary["limit"] is None
    table = report.format_table(doc)
    header = next(line for line in table.splitlines() if line.startswith("workload"))
    assert re.split(r"\s{2,}", header)[1:] == [
        "wsfast",
        "wsfast frames only",
        "aiohttp",
        "tcp (reference)",
        "vs best peer",
    ]


def test_drop_in_families_are_summarised_apart() -> None:
    clock = FakeClock()
    drop_in = fake_workload(
        clock, {"wsfast": 1000, "wsproto": 10_000}, "wsproto-exchange", frozenset({"drop-in"})
    )
    doc = fake_document({"wsfast": 1000, "websockets": 2000}, drop_in, clock=clock)
    table = report.format_table(doc)
    summary = table.split("summary: ")[1].splitlines()
    rows = [re.split(r"\s{2,}", line) for line in summary[1:] if line.strip()]
    assert ["mask-copy", "1", "x2.00", "x2.00", "x2.00"] in rows
    assert ["all peers", "1", "x2.00", "x2.00", "x2.00"] in rows
    assert ["wsproto-exchange", "1", "x10.00", "x10.00", "x10.00"] in rows
    assert ["all drop-ins", "1", "x10.00", "x10.00", "x10.00"] in rows
    # Never averaged together (x4.47 would be the mean of both).
    assert "geometric mean over 1 workloads: x2.00" in table
    assert "accelerate, geometric mean over 1 workloads: x10.00" in table
    assert "x4.47" not in table
    # A drop-in family's ratio column says what it is.
    assert re.search(r"^workload .*speed-up$", table, re.MULTILINE)


def test_server_cpu_per_message_is_reported_and_compared() -> None:
    clock = FakeClock()
    echo = fake_workload(
        clock,
        {"wsfast": 1000, "picows": 1000, "websockets": 3000},
        "echo-rr",
        frozenset({"slow"}),
        cpu={"wsfast": 2000, "picows": 5000, "websockets": 12_000},
    )
    doc = fake_document({"wsfast": 1000}, echo, clock=clock)
    workload = next(w for w in doc["workloads"] if w["group"] == "echo-rr")
    ours = next(c for c in workload["cases"] if c["name"] == "wsfast")
    assert ours["counters"]["server_cpu_ns"]["median"] == pytest.approx(2000.0)
    assert workload["summary"]["cpu_best_peer"] == "picows"
    assert workload["summary"]["cpu_vs_best_peer"] == pytest.approx(2.5)
    table = report.format_table(doc)
    row = next(line for line in table.splitlines() if line.startswith("echo-rr/1KiB"))
    assert "2.00 µs CPU" in row and row.endswith("x2.50 picows")


def test_table_without_peers() -> None:
    doc = fake_document({"wsfast": 1000, "websockets": None})
    table = report.format_table(doc)
    assert "no peer was timed" in table
    assert "skipped websockets: websockets not importable" in table


def test_compare_flags_regressions_and_improvements() -> None:
    new = fake_document({"wsfast": 1000, "wsfast-python": 50_000, "websockets": 2000})
    assert all(r["flag"] == "" for r in report.compare(new, new))
    old = copy.deepcopy(new)
    for case in old["workloads"][0]["cases"]:
        if case["name"] == "wsfast":
            case["median_ns"] = 2000.0  # the earlier run took twice as long: an improvement
        if case["name"] == "wsfast-python":
            case["median_ns"] = 25_000.0  # the earlier run took half as long: a regression
    rows = {r["case"]: r for r in report.compare(old, new)}
    assert set(rows) == {"wsfast", "wsfast-python"}  # peers are not ours to flag
    assert rows["wsfast"]["flag"] == "improvement"
    assert rows["wsfast"]["change"] == pytest.approx(1.0)
    assert rows["wsfast-python"]["flag"] == "regression"
    assert rows["wsfast-python"]["change"] == pytest.approx(-0.5)
    text = report.format_compare(old, new)
    assert "REGRESSION" in text and "improved" in text
    assert "1 regressions, 1 improvements, 0 within noise" in text
    # A change within the threshold is not flagged.
    old["workloads"][0]["cases"][0]["median_ns"] = 1030.0
    assert report.compare(old, new, threshold=0.05)[0]["flag"] == ""


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="matplotlib not installed")
def test_plot_many_families(tmp_path: Path) -> None:
    doc = fake_document({"wsfast": 1000, "wsfast-python": 9000, "websockets": 2000})
    # Five families (a grid of two columns), one of them with no peer (drawn relative to wsfast).
    base = doc["workloads"][0]
    doc["workloads"] = []
    for group in ("a", "b", "c", "d", "e"):
        workload = copy.deepcopy(base)
        workload.update(group=group, name=f"{group}/1KiB")
        if group == "e":
            workload["cases"] = [c for c in workload["cases"] if c["kind"] != "peer"]
            workload["summary"] = report.summarize(workload["cases"])
        doc["workloads"].append(workload)
    report.plot(doc, str(tmp_path / "many.png"))
    assert (tmp_path / "many.png").read_bytes().startswith(b"\x89PNG")


def test_validate_rejects_other_documents() -> None:
    doc = fake_document({"wsfast": 1000})
    report.validate(doc)
    for breakage in (
        lambda d: d.update(schema="wsfast-bench/2"),
        lambda d: d.update(schema="other/1"),
        lambda d: d.pop("machine"),
        lambda d: d["workloads"][0]["cases"][0].pop("median_ns"),
        lambda d: d["workloads"][0]["cases"][0].update(kind="mystery"),
        lambda d: d["workloads"][0]["cases"][0].update(status="maybe"),
    ):
        broken = copy.deepcopy(doc)
        breakage(broken)
        with pytest.raises(ValueError):
            report.validate(broken)


def test_machine_info() -> None:
    info = report.machine_info()
    assert info["cpu"] and info["python"] == ".".join(map(str, sys.version_info[:3]))
    # The masking hot path is always loaded; its level is a kernel name, or "python" for the twin.
    from wsfast import masking

    assert info["simd"]["mask"] == masking.simd_level()
    versions = report.package_versions()
    assert set(versions) == {"wsfast", *report.PEERS, *report.SUPPORTING}
    assert versions["wsfast"]


# -- end to end: the command in a subprocess ------------------------------------------------------


def run_bench(
    *args: str, cwd: Path, module: str = "wsfast.bench"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``--quick --only mask`` run (a tight time budget keeps the test suite short)."""
    out = tmp_path_factory.mktemp("bench")
    args = ["--quick", "--only", "mask", "--time-budget", "2", "--json", str(out / "run.json")]
    args += ["--markdown", str(out / "run.md")]
    if HAVE_MATPLOTLIB:
        args += ["--plot", str(out / "run.png")]
    proc = run_bench(*args, cwd=out)
    assert proc.returncode == 0, proc.stderr
    return {"dir": out, "stdout": proc.stdout, "stderr": proc.stderr}


def has_compiled_mask() -> bool:
    return importlib.util.find_spec("wsfast._mask") is not None


def parse_tables(stdout: str) -> dict[str, dict[str, str]]:
    """workload name -> {column: cell}, from the aligned tables."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in stdout.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == "workload":
            header = cells
        elif header and "/" in cells[0] and not line.startswith(" "):
            assert len(cells) == len(header), (header, line)
            rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def test_quick_run_table(quick_run: dict[str, Any]) -> None:
    from wsfast.bench import mask

    rows = parse_tables(quick_run["stdout"])
    assert set(rows) == {w.name for w in mask.workloads()}
    speed = r"[\d.]+ [kMG]?B/s ±(\d[\d.]*%|\?)"
    for name, row in rows.items():
        assert re.fullmatch(speed, row["wsfast-python"]), row
        # The compiled column is there unless the extension is not built or not wanted.
        assert ("wsfast" in row) == (not _speedups.NO_EXTENSIONS and has_compiled_mask())
        if "wsfast" in row:
            assert re.fullmatch(speed, row["wsfast"]), row
        assert re.fullmatch(r"x[\d.]+ \S+|no peer", row["vs best peer"]), row
        if name.startswith("mask-copy/"):
            assert re.fullmatch(r"x[\d.]+", row["vs limit"]), row
    # Progress went to stderr, one plain line per case (stderr is not a terminal here).
    total = sum(len(w.cases) for w in mask.workloads())
    assert f"[{total}/{total}] " in quick_run["stderr"]
    assert "[1/" not in quick_run["stdout"]


def test_quick_run_json(quick_run: dict[str, Any]) -> None:
    doc = json.loads((quick_run["dir"] / "run.json").read_text())
    report.validate(doc)
    assert doc["schema"] == report.SCHEMA
    assert doc["settings"]["quick"] is True and doc["settings"]["only"] == ["mask"]
    assert {"cpu", "python", "simd", "wsfast_implementation"} <= set(doc["machine"])
    assert "mask" in doc["machine"]["simd"]
    assert set(doc["versions"]) == {"wsfast", *report.PEERS, *report.SUPPORTING}
    for workload in doc["workloads"]:
        for case in workload["cases"]:
            if case["status"] == "skipped":
                assert case["reason"]
            else:
                assert case["status"] == "ok", case
                assert case["samples"] >= 1 and case["median_ns"] > 0
        # A peer that is not installed is reported skipped, never timed.
        for case in workload["cases"]:
            if case["kind"] == "peer" and case["name"] in report.PEERS:
                if doc["versions"][case["name"]] is None:
                    assert case["status"] == "skipped"


def test_quick_run_markdown(quick_run: dict[str, Any]) -> None:
    from wsfast.bench import mask

    markdown = (quick_run["dir"] / "run.md").read_text(encoding="utf-8")
    text_rows = parse_tables(quick_run["stdout"])
    md_rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and "/" in cells[0]:
            md_rows[cells[0]] = cells
    assert set(md_rows) == {w.name for w in mask.workloads()}
    # The same cells as the text table.
    for name, cells in md_rows.items():
        assert cells == list(text_rows[name].values())


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="matplotlib not installed")
def test_quick_run_plot(quick_run: dict[str, Any]) -> None:
    png = (quick_run["dir"] / "run.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_load_and_compare(quick_run: dict[str, Any]) -> None:
    out = quick_run["dir"]
    doc = json.loads((out / "run.json").read_text())
    # Zero spread, so that what gets flagged depends on the threshold alone, not on the noise of
    # this machine (a change within the runs' spread is never flagged).
    for workload in doc["workloads"]:
        for case in workload["cases"]:
            if case["status"] == "ok":
                case["iqr_ns"] = 0.0
    (out / "new.json").write_text(json.dumps(doc))
    for workload in doc["workloads"]:
        for case in workload["cases"]:
            if case["kind"] == "wsfast-python" and case["status"] == "ok":
                for key in ("median_ns", "min_ns", "max_ns"):
                    case[key] /= 10  # in the earlier run the twin was 10x faster
    (out / "old.json").write_text(json.dumps(doc))
    proc = run_bench("--load", "new.json", "--compare", "old.json", "--only", "mask-copy", cwd=out)
    assert proc.returncode == 0, proc.stderr
    assert set(parse_tables(proc.stdout.split("compared with")[0])) == {
        w["name"] for w in doc["workloads"] if w["group"] == "mask-copy"
    }
    compared = proc.stdout.split("compared with")[1].splitlines()
    twin_rows = [line for line in compared if " wsfast-python " in line]
    assert len(twin_rows) == sum(w["group"] == "mask-copy" for w in doc["workloads"])
    assert all("-90.0%" in line and line.endswith("REGRESSION") for line in twin_rows)
    assert f"{len(twin_rows)} regressions, 0 improvements" in proc.stdout


def test_bad_usage(tmp_path: Path) -> None:
    proc = run_bench("--only", "no-such-workload", cwd=tmp_path)
    assert proc.returncode == 2 and "no workload matches" in proc.stderr
    (tmp_path / "bad.json").write_text('{"schema": "something-else/1"}')
    proc = run_bench("--load", "bad.json", cwd=tmp_path)
    assert proc.returncode == 2 and "cannot read bad.json" in proc.stderr


def test_plot_without_matplotlib_says_so(tmp_path: Path, quick_run: dict[str, Any]) -> None:
    # Hide matplotlib from the subprocess with a module that fails to import.
    (tmp_path / "matplotlib").mkdir()
    (tmp_path / "matplotlib" / "__init__.py").write_text("raise ImportError('hidden')\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wsfast.bench",
            "--load",
            str(quick_run["dir"] / "run.json"),
            "--plot",
            str(tmp_path / "x.png"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])},
    )
    assert proc.returncode == 2
    assert "pip install 'wsfast[plot]'" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_list(tmp_path: Path) -> None:
    proc = run_bench("--list", "--only", "mask-copy/8B", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mask-copy/8B: wsfast, wsfast-python")


@pytest.mark.skipif(
    importlib.util.find_spec("wsfast.__main__") is None,
    reason="the wsfast command line (wsfast/__main__.py) is not there yet",
)
def test_python_m_wsfast_bench(tmp_path: Path) -> None:
    proc = run_bench("bench", "--list", "--only", "mask-copy/8B", cwd=tmp_path, module="wsfast")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mask-copy/8B: ")


@pytest.mark.skipif(
    importlib.util.find_spec("pytest_benchmark") is None, reason="no pytest-benchmark"
)
def test_pytest_benchmark_bridge() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "bench/bench_mask.py",
            "--benchmark-disable",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "125B",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Every case of the 125-byte workloads ran or was skipped with a reason; none failed.
    assert re.search(r"\b\d+ passed", proc.stdout), proc.stdout
    assert "failed" not in proc.stdout


def test_every_workload_has_one_headline_and_known_kinds() -> None:
    from wsfast.bench import registry
    from wsfast.bench.core import DROP_IN_TAG, KINDS

    workloads = registry.all_workloads()
    for workload in workloads:
        kinds = [case.kind for case in workload.cases]
        assert set(kinds) <= set(KINDS), workload.name
        # One public-API row per workload: the headline is never a choice among several.
        assert kinds.count("wsfast") == 1, workload.name
    groups = {w.group: w for w in workloads}
    # Validation is compared with validators, decoding with bytes.decode: never one for the other.
    for name, group in groups.items():
        cases = {case.name for case in group.cases}
        if name in ("utf8-validate", "utf8-incremental"):
            assert not any("decode" in case for case in cases), name
        if name == "utf8-decode":
            assert "bytes.decode" in cases
    for name in ("wsproto-exchange", "websocket-client-send", "wsaccel-api"):
        assert DROP_IN_TAG in groups[name].tags, name


def test_frames_headline_keeps_str_and_the_lower_row_is_labelled() -> None:
    from wsfast.bench import frames

    [text] = [w for w in frames.workloads() if w.group == "frames-parse-text"]
    kinds = {case.name: case.kind for case in text.cases}
    assert kinds["wsfast"] == "wsfast" and kinds["wsfast frames only"] == "wsfast-lower"
    # The headline (here on the twin) keeps every message, text as str, as aiohttp's reader does.
    headline = next(case for case in text.cases if case.name == "wsfast-python").setup()
    kept = headline()
    assert isinstance(kept, list) and len(kept) == 10_000
    assert all(type(message) is str for message in kept)
