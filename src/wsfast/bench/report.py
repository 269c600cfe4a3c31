"""Results of ``python -m wsfast bench``: JSON document, aligned table, comparison and plot.

Everything here renders from the JSON document (:func:`to_document`), so a saved run (``--load``)
prints, compares and plots exactly like a fresh one. The document's layout is versioned by
:data:`SCHEMA` and described in ``docs/bench.md``.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .core import DROP_IN_TAG, KINDS
from .runner import CaseResult, Settings, WorkloadResult, interquartile_range

__all__ = [
    "PEERS",
    "SCHEMA",
    "SUPPORTING",
    "GroupTable",
    "PlotUnavailable",
    "compare",
    "format_compare",
    "format_markdown",
    "format_table",
    "group_tables",
    "load",
    "machine_info",
    "package_versions",
    "plot",
    "save",
    "summarize",
    "summary_rows",
    "to_document",
    "validate",
]

#: The document's layout: "wsfast-bench/<major>"; a reader refuses another major version.
SCHEMA = "wsfast-bench/1"

#: The libraries wsfast is compared with; each is a distribution name on PyPI.
PEERS = ("websockets", "aiohttp", "wsproto", "picows", "wsaccel", "autobahn")

#: Other packages some workloads use (the echo's event loop, the wsaccel drop-in's client).
SUPPORTING = ("uvloop", "websocket-client")

#: Column order within a table: ours (headline, then lower-level APIs), our twin, peers, floors.
_KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}

#: The counter a loopback server reports (its CPU time, nanoseconds per call).
SERVER_CPU = "server_cpu_ns"

Document = dict[str, Any]


# -- the machine ----------------------------------------------------------------------------------


#: /proc/cpuinfo keys naming the CPU: x86, then the forms ARM and MIPS kernels use.
_CPU_KEYS = ("model name", "Model", "Hardware", "cpu model")


def cpu_model() -> str:
    """The CPU's marketing name, as the OS reports it (``platform.processor()`` as a fallback)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in _CPU_KEYS and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def simd_levels() -> dict[str, str]:
    """Hot path -> the SIMD kernel in use (``"python"`` for a twin), for each one loaded."""
    from wsfast import _speedups

    # Load the public modules that exist in this version so that every hot path is reported.
    for public in ("masking", "utf8", "frames"):
        try:
            importlib.import_module(f"wsfast.{public}")
        except ImportError:
            continue
    levels: dict[str, str] = {}
    for name, kind in sorted(_speedups.loaded.items()):
        module = sys.modules.get(f"wsfast._{name}" if kind == "compiled" else f"wsfast._{name}_py")
        simd_level = getattr(module, "simd_level", None)
        if callable(simd_level):
            levels[name] = str(simd_level())
        else:
            levels[name] = "compiled" if kind == "compiled" else "python"
    return levels


def package_versions() -> dict[str, str | None]:
    """Installed versions of wsfast, every peer and supporting package (``None``: not installed)."""
    versions: dict[str, str | None] = {}
    for name in ("wsfast", *PEERS, *SUPPORTING):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    if versions["wsfast"] is None:  # run from a source tree that is not installed
        import wsfast

        versions["wsfast"] = getattr(wsfast, "__version__", None)
    return versions


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPU, SIMD kernels, Python, OS."""
    from wsfast import _speedups

    simd = simd_levels()
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "wsfast_implementation": _speedups.implementation(),
        "simd": simd,
    }


# -- the document ---------------------------------------------------------------------------------


def _case_document(case: CaseResult, bytes_per_call: int, items_per_call: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": case.name, "kind": case.kind, "status": case.status}
    if case.reason:
        entry["reason"] = case.reason
    entry["wall_s"] = round(case.wall_s, 4)
    if case.status == "ok":
        entry["setup_s"] = round(case.setup_s, 4)
    if case.ok:
        median = case.median_ns
        entry.update(
            median_ns=median,
            iqr_ns=case.iqr_ns,
            min_ns=min(case.samples_ns),
            max_ns=max(case.samples_ns),
            samples=len(case.samples_ns),
            calls_per_sample=case.calls_per_sample,
            bytes_per_s=bytes_per_call * 1e9 / median if bytes_per_call else None,
            items_per_s=items_per_call * 1e9 / median if items_per_call else None,
        )
        counters = {
            name: {"median": statistics.median(values), "iqr": interquartile_range(values)}
            for name, values in case.counters.items()
            if values
        }
        if counters:
            entry["counters"] = counters
    return entry


def _fastest(cases: Iterable[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    timed = [c for c in cases if c["kind"] == kind and c["status"] == "ok"]
    return min(timed, key=lambda c: c["median_ns"]) if timed else None


def reference_case(cases: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The wsfast case the ratios are about: the public API doing the peers' work ("wsfast"),
    compiled, else the pure-Python twin. A lower-level row ("wsfast-lower") is never it."""
    return _fastest(cases, "wsfast") or _fastest(cases, "wsfast-python")


def _counter(case: dict[str, Any], name: str) -> float | None:
    value = case.get("counters", {}).get(name)
    return float(value["median"]) if value else None


def summarize(cases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Ratios of one workload: how many times faster wsfast is than the best peer and the limit.

    A ratio is ``other's time / wsfast's time``: above 1, wsfast is faster. Where the cases
    report a server's CPU time per call, ``cpu_vs_best_peer`` is the cheapest peer's over ours
    (above 1, wsfast's server spends less CPU per message).
    """
    ours = reference_case(cases)
    peer = _fastest(cases, "peer")
    limit = _fastest(cases, "limit")
    summary = {
        "reference": ours["name"] if ours else None,
        "best_peer": peer["name"] if peer else None,
        "vs_best_peer": peer["median_ns"] / ours["median_ns"] if ours and peer else None,
        "limit": limit["name"] if limit else None,
        "vs_limit": limit["median_ns"] / ours["median_ns"] if ours and limit else None,
    }
    our_cpu = _counter(ours, SERVER_CPU) if ours else None
    if our_cpu:
        peer_cpu = [
            (cpu, c["name"])
            for c in cases
            if c["kind"] == "peer" and c["status"] == "ok"
            for cpu in [_counter(c, SERVER_CPU)]
            if cpu
        ]
        if peer_cpu:
            cpu, name = min(peer_cpu)
            summary.update(cpu_best_peer=name, cpu_vs_best_peer=cpu / our_cpu)
    return summary


def to_document(
    results: Sequence[WorkloadResult],
    settings: Settings,
    *,
    duration_s: float,
    argv: Sequence[str] = (),
    only: Sequence[str] = (),
) -> Document:
    """The JSON document of a run (schema :data:`SCHEMA`, described in ``docs/bench.md``)."""
    workloads = []
    for result in results:
        w = result.workload
        cases = [_case_document(c, w.bytes_per_call, w.items_per_call) for c in result.cases]
        workloads.append(
            {
                "name": w.name,
                "group": w.group,
                "description": w.description,
                "tags": sorted(w.tags),
                "bytes_per_call": w.bytes_per_call,
                "items_per_call": w.items_per_call,
                "cases": cases,
                "summary": summarize(cases),
            }
        )
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {
        "schema": SCHEMA,
        "created": now.isoformat().replace("+00:00", "Z"),
        "command": list(argv),
        "settings": {
            "quick": settings.quick,
            "only": list(only),
            "sample_ms": settings.sample_ns / 1e6,
            "min_samples": settings.min_samples,
            "max_samples": settings.max_samples,
            "case_budget_s": settings.case_budget_s,
            "total_budget_s": settings.total_budget_s,
        },
        "duration_s": round(duration_s, 3),
        "machine": machine_info(),
        "versions": package_versions(),
        "workloads": workloads,
    }


def validate(doc: Any) -> Document:
    """Checks that ``doc`` is a results document this version reads; raises ValueError if not."""

    def need(mapping: Any, key: str, types: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            raise ValueError(f"{where}: missing {key!r}")
        if not isinstance(mapping[key], types):
            raise ValueError(f"{where}.{key}: expected {types}, got {type(mapping[key]).__name__}")
        return mapping[key]

    schema = need(doc, "schema", str, "document")
    name, _, version = schema.partition("/")
    our_name, _, our_version = SCHEMA.partition("/")
    if name != our_name or version.split(".")[0] != our_version.split(".")[0]:
        raise ValueError(f"document schema {schema!r}: this version reads {SCHEMA!r}")
    need(doc, "created", str, "document")
    need(doc, "settings", dict, "document")
    machine = need(doc, "machine", dict, "document")
    for key in ("cpu", "python", "wsfast_implementation"):
        need(machine, key, str, "machine")
    need(machine, "simd", dict, "machine")
    versions = need(doc, "versions", dict, "document")
    for name, version in versions.items():
        if version is not None and not isinstance(version, str):
            raise ValueError(f"versions.{name}: expected a string or null")
    number = (int, float)
    for i, workload in enumerate(need(doc, "workloads", list, "document")):
        where = f"workloads[{i}]"
        need(workload, "name", str, where)
        need(workload, "group", str, where)
        need(workload, "bytes_per_call", int, where)
        need(workload, "items_per_call", int, where)
        need(workload, "summary", dict, where)
        for j, case in enumerate(need(workload, "cases", list, where)):
            cwhere = f"{where}.cases[{j}]"
            need(case, "name", str, cwhere)
            if need(case, "kind", str, cwhere) not in _KIND_ORDER:
                raise ValueError(f"{cwhere}.kind: unknown kind {case['kind']!r}")
            status = need(case, "status", str, cwhere)
            if status == "ok":
                for key in ("median_ns", "iqr_ns", "min_ns", "max_ns"):
                    need(case, key, number, cwhere)
                need(case, "samples", int, cwhere)
                need(case, "calls_per_sample", int, cwhere)
            elif status in ("skipped", "error"):
                need(case, "reason", str, cwhere)
            else:
                raise ValueError(f"{cwhere}.status: unknown status {status!r}")
    return doc  # type: ignore[no-any-return]


def load(path: str) -> Document:
    """Reads and validates a document written by ``--json``."""
    with open(path, encoding="utf-8") as file:
        return validate(json.load(file))


def save(doc: Document, path: str) -> None:
    """Writes ``doc`` as indented JSON."""
    with open(path, "w", encoding="utf-8") as file:
        json.dump(doc, file, indent=1)
        file.write("\n")


# -- formatting helpers ---------------------------------------------------------------------------


def _three_digits(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _scaled(value: float, units: Sequence[tuple[float, str]]) -> str:
    for factor, unit in units:
        if value >= factor:
            return f"{_three_digits(value / factor)} {unit}"
    factor, unit = units[-1]
    return f"{_three_digits(value / factor)} {unit}"


def format_bytes_rate(bytes_per_s: float) -> str:
    """``1.23 GB/s`` (decimal units: 1 GB = 10**9 bytes)."""
    return _scaled(bytes_per_s, ((1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s"), (1.0, "B/s")))


def format_items_rate(items_per_s: float) -> str:
    """``1.23 M/s``: frames or messages per second."""
    return _scaled(items_per_s, ((1e9, "G/s"), (1e6, "M/s"), (1e3, "k/s"), (1.0, "/s")))


def format_duration(ns: float) -> str:
    """``12.3 µs``."""
    return _scaled(ns, ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")))


def format_ratio(ratio: float | None) -> str:
    """``x2.31``; ``-`` when there is nothing to compare with."""
    if ratio is None:
        return "-"
    return f"x{ratio:.2f}" if ratio < 100 else f"x{ratio:.0f}"


def _speed(case: dict[str, Any], workload: dict[str, Any]) -> str:
    if workload["bytes_per_call"]:
        return format_bytes_rate(workload["bytes_per_call"] * 1e9 / case["median_ns"])
    if workload["items_per_call"]:
        return format_items_rate(workload["items_per_call"] * 1e9 / case["median_ns"])
    return format_duration(case["median_ns"])


def _spread(case: dict[str, Any]) -> str:
    if case["samples"] < 2:
        return "±?"
    percent = 50.0 * case["iqr_ns"] / case["median_ns"]
    return f"±{percent:.1f}%" if percent < 10 else f"±{percent:.0f}%"


def _cell(case: dict[str, Any] | None, workload: dict[str, Any]) -> str:
    if case is None:
        return ""
    if case["status"] == "skipped":
        return "skipped"
    if case["status"] == "error":
        return "ERROR"
    cell = f"{_speed(case, workload)} {_spread(case)}"
    cpu = _counter(case, SERVER_CPU)
    if cpu is not None:
        per_item = cpu / max(workload["items_per_call"], 1)
        cell += f", {format_duration(per_item)} CPU"
    return cell


def _align(rows: Sequence[Sequence[str]], numeric_from: int = 1) -> list[str]:
    """Columns separated by two spaces; cells right-aligned from column ``numeric_from`` on."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(widths[i]) if i < numeric_from else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def geometric_mean(values: Sequence[float]) -> float:
    """The mean of ratios (their logarithms averaged)."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _groups(doc: Document) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for workload in doc["workloads"]:
        groups.setdefault(workload["group"], []).append(workload)
    return groups


def _columns(workloads: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(case name, kind) of every case of a group: ours first, then peers, then limits."""
    seen: dict[str, str] = {}
    for workload in workloads:
        for case in workload["cases"]:
            seen.setdefault(case["name"], case["kind"])
    order = list(seen.items())
    return sorted(order, key=lambda item: _KIND_ORDER.get(item[1], 9))


def header_lines(doc: Document) -> list[str]:
    """Who, what and where: the lines above the tables."""
    machine, versions = doc["machine"], doc["versions"]
    simd = ", ".join(f"{name} {level}" for name, level in machine["simd"].items()) or "-"
    mode = "quick" if doc["settings"].get("quick") else "full"
    created = doc["created"].replace("T", " ").replace("Z", " UTC")
    installed = [f"{p} {versions[p]}" for p in PEERS if versions.get(p)]
    missing = [p for p in PEERS if not versions.get(p)]
    command = " ".join(doc.get("command") or [])
    lines = [
        f"wsfast bench ({mode}), {created}, {doc.get('duration_s', 0):.0f} s"
        + (f": {command}" if command else ""),
        f"wsfast {versions.get('wsfast')} {machine['wsfast_implementation']} (kernels: {simd})"
        f" · {machine.get('python_implementation', 'Python')} {machine['python']}"
        f" · {machine['cpu']} · {machine.get('cpu_count')} CPUs · {machine.get('system', '')}"
        f" {machine.get('machine', '')}".rstrip(),
        "peers: "
        + (", ".join(installed) or "none installed")
        + (f"; not installed: {', '.join(missing)}" if missing else "")
        + "".join(f"; {p} {versions[p]}" for p in SUPPORTING if versions.get(p)),
        "Cells: throughput from the median time per call (GB = 10^9 bytes; M/s = 10^6 frames or"
        " messages per second) ± half the interquartile range of the samples.",
        "xN: how many times faster wsfast's public API (the 'wsfast' column) is than the best"
        " peer, or than the floor (other's time / wsfast's time; above 1, wsfast is faster);"
        " 'wsfast ...' columns of kind wsfast-lower are lower-level APIs doing less, and of kind"
        " wsfast-setting the public API with a non-default setting (another deflate backend);"
        " neither is the headline. Timed with the garbage collector on.",
        "Echo cells add the server's CPU time per message (/proc/PID/schedstat); 'CPU vs best"
        " peer': the cheapest peer's CPU per message over wsfast's.",
    ]
    return lines


@dataclass
class GroupTable:
    """One workload family's table: a header row, one row per workload, and notes below."""

    group: str
    description: str
    rows: list[list[str]]
    notes: list[str]
    ratios: list[float]
    #: A drop-in family: its ratios are the speed-up of the library wsfast accelerates.
    drop_in: bool = False


def group_tables(doc: Document) -> list[GroupTable]:
    """The tables of a document, one per workload family, in the order the workloads ran."""
    tables = []
    for group, workloads in _groups(doc).items():
        by_name = [{c["name"]: c for c in w["cases"]} for w in workloads]
        shown: list[str] = []
        dropped: list[str] = []
        for name, _ in _columns(workloads):
            statuses = {cases[name]["status"] for cases in by_name if name in cases}
            (dropped if statuses == {"skipped"} else shown).append(name)
        has_limit = any(w["summary"]["limit"] for w in workloads)
        has_cpu = any(w["summary"].get("cpu_vs_best_peer") for w in workloads)
        drop_in = any(DROP_IN_TAG in w.get("tags", ()) for w in workloads)
        head = ["workload", *shown, "speed-up" if drop_in else "vs best peer"]
        if has_cpu:
            head.append("CPU vs best peer")
        if has_limit:
            head.append("vs limit")
        rows = [head]
        ratios: list[float] = []
        for workload, cases in zip(workloads, by_name, strict=True):
            summary = workload["summary"]
            row = [workload["name"], *(_cell(cases.get(name), workload) for name in shown)]
            best = summary["vs_best_peer"]
            row.append(f"{format_ratio(best)} {summary['best_peer']}" if best else "no peer")
            if best:
                ratios.append(best)
            if has_cpu:
                cpu = summary.get("cpu_vs_best_peer")
                row.append(f"{format_ratio(cpu)} {summary['cpu_best_peer']}" if cpu else "-")
            if has_limit:
                row.append(format_ratio(summary["vs_limit"]))
            rows.append(row)
        notes: list[str] = []
        descriptions = [w.get("description") or "" for w in workloads]
        reasons: dict[str, str] = {}
        for name in dropped:
            for cases in by_name:
                if name in cases:
                    reasons.setdefault(name, cases[name].get("reason", ""))
        notes.extend(f"skipped {name}: {reason}" for name, reason in reasons.items())
        notes.extend(
            f"ERROR {workload['name']} {case['name']}: {case['reason']}"
            for workload in workloads
            for case in workload["cases"]
            if case["status"] == "error"
        )
        # What one call does: the family's own words, or the first row's as an example (each
        # row's description is in the JSON).
        description = descriptions[0]
        if len(set(descriptions)) > 1 and description:
            description = f"{description} (first row)"
        tables.append(GroupTable(group, description, rows, notes, ratios, drop_in))
    return tables


def summary_line(tables: Sequence[GroupTable]) -> str:
    """The headline: the geometric mean of every ``vs best peer`` ratio of the peer families,
    then, apart, the drop-in families' speed-up of the libraries they accelerate."""
    overall = [r for table in tables if not table.drop_in for r in table.ratios]
    drop_in = [r for table in tables if table.drop_in for r in table.ratios]
    if not overall and not drop_in:
        return "wsfast vs best peer: no peer was timed (pip install 'wsfast[bench]' adds them)"
    parts = []
    if overall:
        parts.append(
            f"wsfast vs best peer, geometric mean over {len(overall)} workloads:"
            f" {format_ratio(geometric_mean(overall))}"
        )
    if drop_in:
        parts.append(
            f"drop-ins, speed-up of the library they accelerate, geometric mean over"
            f" {len(drop_in)} workloads: {format_ratio(geometric_mean(drop_in))}"
        )
    return "; ".join(parts)


def format_table(doc: Document) -> str:
    """The report: a header, then one aligned table per workload family, then the summary."""
    out = header_lines(doc)
    tables = group_tables(doc)
    for table in tables:
        out.append("")
        out.append(table.group + (f": {table.description}" if table.description else ""))
        out.extend(_align(table.rows))
        out.extend(f"  {note}" for note in table.notes)
    out.append("")
    out.append(
        "summary: wsfast vs the best peer in each family, then the drop-ins' speed-up of the"
        " library each accelerates (geometric mean, lowest, highest)"
    )
    out.extend(_align(summary_rows(tables)))
    out.append("")
    out.append(summary_line(tables))
    return "\n".join(out) + "\n"


def summary_rows(tables: Sequence[GroupTable]) -> list[list[str]]:
    """Per family: how many workloads, and wsfast vs the best peer (geometric mean and range);
    the peer families first with their mean ("all peers"), then the drop-in families with
    theirs ("all drop-ins"): the two are never averaged together."""
    rows = [["family", "workloads", "wsfast vs best peer", "lowest", "highest"]]
    for drop_in in (False, True):
        section = [t for t in tables if t.drop_in == drop_in]
        if drop_in and section:
            rows.append(["drop-ins:", "", "speed-up", "", ""])
        for table in section:
            count = str(len(table.rows) - 1)
            if table.ratios:
                ratios = table.ratios
                cells = [geometric_mean(ratios), min(ratios), max(ratios)]
                rows.append([table.group, count, *(format_ratio(c) for c in cells)])
            else:
                rows.append([table.group, count, "no peer", "-", "-"])
        overall = [r for table in section for r in table.ratios]
        if overall:
            cells = [geometric_mean(overall), min(overall), max(overall)]
            total = str(sum(len(t.rows) - 1 for t in section))
            label = "all drop-ins" if drop_in else "all peers"
            rows.append([label, total, *(format_ratio(c) for c in cells)])
    return rows


def format_markdown(doc: Document) -> str:
    """The same report as Markdown (for a README): header lines, a summary table per family,
    then one table per family."""
    out = [f"{line}  " for line in header_lines(doc)]
    tables = group_tables(doc)
    head, *body = summary_rows(tables)
    head[2] += " (geometric mean)"
    out.extend(["", "| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)])
    out.extend("| " + " | ".join(row) + " |" for row in body)
    for table in tables:
        out.append("")
        title = f"**{table.group}**" + (f": {table.description}" if table.description else "")
        out.extend([title, ""])
        head, *body = table.rows
        out.append("| " + " | ".join(head) + " |")
        out.append("| --- |" + " ---: |" * (len(head) - 1))
        out.extend("| " + " | ".join(row) + " |" for row in body)
        if table.notes:
            out.append("")
            out.extend(f"- {note}" for note in table.notes)
    out.extend(["", summary_line(tables)])
    return "\n".join(out) + "\n"


# -- comparison with an earlier run ---------------------------------------------------------------


def _relative_spread(case: dict[str, Any]) -> float:
    return case["iqr_ns"] / case["median_ns"] if case.get("samples", 0) >= 2 else 0.0


def compare(old: Document, new: Document, threshold: float = 0.05) -> list[dict[str, Any]]:
    """Per workload and wsfast case (compiled and twin) timed in both runs: the change in speed.

    ``change`` is ``old time / new time - 1`` (+0.25: 25 % faster now). A change is flagged
    ("regression" or "improvement") when it exceeds both ``threshold`` and the noise of the two
    runs (the sum of their relative interquartile ranges).
    """
    old_workloads = {w["name"]: w for w in old["workloads"]}
    rows = []
    for workload in new["workloads"]:
        before = old_workloads.get(workload["name"])
        if before is None:
            continue
        old_cases = {c["name"]: c for c in before["cases"]}
        for case in workload["cases"]:
            if case["kind"] not in ("wsfast", "wsfast-python") or case["status"] != "ok":
                continue
            prior = old_cases.get(case["name"])
            if prior is None or prior["status"] != "ok":
                continue
            change = prior["median_ns"] / case["median_ns"] - 1.0
            noise = _relative_spread(prior) + _relative_spread(case)
            limit = max(threshold, noise)
            flag = "regression" if change < -limit else "improvement" if change > limit else ""
            rows.append(
                {
                    "workload": workload["name"],
                    "case": case["name"],
                    "old": prior,
                    "new": case,
                    "change": change,
                    "noise": noise,
                    "flag": flag,
                    "old_vs_best_peer": before["summary"].get("vs_best_peer"),
                    "new_vs_best_peer": workload["summary"].get("vs_best_peer"),
                    "bytes_per_call": workload["bytes_per_call"],
                    "items_per_call": workload["items_per_call"],
                }
            )
    return rows


def format_compare(old: Document, new: Document, threshold: float = 0.05, label: str = "") -> str:
    """The comparison as an aligned table, regressions and improvements flagged."""
    rows = compare(old, new, threshold)
    out = [
        f"compared with {label or 'the earlier run'} ({old['created']}, wsfast"
        f" {old['versions'].get('wsfast')} {old['machine']['wsfast_implementation']},"
        f" {old['machine']['cpu']})"
    ]
    if old["machine"]["cpu"] != new["machine"]["cpu"]:
        out.append("  note: the two runs were on different CPUs; compare the 'vs best peer' ratios")
    if not rows:
        out.append("  no workload timed in both runs")
        return "\n".join(out) + "\n"
    table = [["workload", "case", "old", "new", "change", "vs best peer", "flag"]]
    for row in rows:
        w = {"bytes_per_call": row["bytes_per_call"], "items_per_call": row["items_per_call"]}
        peers = (
            f"{format_ratio(row['old_vs_best_peer'])} -> {format_ratio(row['new_vs_best_peer'])}"
        )
        flag = {"regression": "REGRESSION", "improvement": "improved"}.get(row["flag"], "")
        table.append(
            [
                row["workload"],
                row["case"],
                _speed(row["old"], w),
                _speed(row["new"], w),
                f"{100 * row['change']:+.1f}%",
                peers if row["case"] == "wsfast" else "",
                flag,
            ]
        )
    out.extend("  " + line for line in _align(table, numeric_from=2))
    regressions = sum(r["flag"] == "regression" for r in rows)
    improvements = sum(r["flag"] == "improvement" for r in rows)
    out.append(
        f"{regressions} regressions, {improvements} improvements,"
        f" {len(rows) - regressions - improvements} within noise"
        f" (threshold {100 * threshold:.0f}% or the runs' spread, whichever is larger)"
    )
    return "\n".join(out) + "\n"


# -- plot -----------------------------------------------------------------------------------------


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


#: Shades per kind: a family with several wsfast cases (plain, packed ...) gets one per case.
_KIND_COLORS = {
    "wsfast": ("#1f6feb", "#0a3069", "#54aeff", "#218bff"),
    "wsfast-lower": ("#54aeff", "#218bff"),
    "wsfast-setting": ("#54aeff", "#218bff"),
    "wsfast-python": ("#a5c8ff", "#cfe2ff"),
    "limit": ("#8c8c8c", "#c4c4c4"),
}
#: A fixed colour per peer across every chart; other cases (bytes.decode ...) take the rest in turn.
_NAMED_PEER_COLORS = {
    "websockets": "#e8590c",
    "aiohttp": "#ae3ec9",
    "wsproto": "#0c8599",
    "picows": "#2f9e44",
    "wsaccel": "#c2255c",
    "autobahn": "#f59f00",
}
_PEER_COLORS = ("#5c940d", "#845ef7", "#e67700", "#1098ad", "#d6336c", "#495057")


def plot(doc: Document, path: str) -> None:
    """Bar charts of ratios: on top, wsfast against the best peer per family (geometric mean);
    below, one chart per family with each implementation's speed relative to the best peer.

    Raises :class:`PlotUnavailable` when matplotlib is missing (``pip install 'wsfast[plot]'``).
    """
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        raise PlotUnavailable(
            "--plot needs matplotlib: pip install 'wsfast[plot]' (or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")
    pyplot: Any = importlib.import_module("matplotlib.pyplot")
    ticker: Any = importlib.import_module("matplotlib.ticker")

    groups = [
        (g, ws) for g, ws in _groups(doc).items() if any(reference_case(w["cases"]) for w in ws)
    ]
    if not groups:
        raise ValueError("nothing was timed: no plot to draw")
    tables = [t for t in group_tables(doc) if t.ratios]
    ncols = 1 if len(groups) <= 3 else 2
    nrows = math.ceil(len(groups) / ncols)
    summary_height = 3.2 if tables else 0.0
    height = 3.0 * nrows + summary_height + 1.0
    figure = pyplot.figure(figsize=(9.5 * ncols, height))
    grid = figure.add_gridspec(
        nrows + (1 if tables else 0),
        ncols,
        height_ratios=([summary_height] if tables else []) + [3.0] * nrows,
    )

    def log_axis(axis: Any) -> None:
        axis.set_yscale("log")
        # 1-2-5 ticks, so that a chart spanning less than a decade still has a scale.
        axis.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axis.yaxis.set_minor_formatter(ticker.NullFormatter())
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.grid(axis="y", which="both", alpha=0.3)

    if tables:
        axis = figure.add_subplot(grid[0, :])
        means = [geometric_mean(t.ratios) for t in tables]
        colors = [_KIND_COLORS["wsfast"][0] if m >= 1 else "#e8590c" for m in means]
        # Bars grow from 1 (as fast as the best peer), up when wsfast is faster, down when not.
        heights = [m - 1.0 for m in means]
        bars = axis.bar(range(len(tables)), heights, 0.6, bottom=1.0, color=colors)
        axis.bar_label(bars, labels=[format_ratio(m) for m in means], fontsize=7, padding=1)
        log_axis(axis)
        axis.set_xticks(range(len(tables)))
        axis.set_xticklabels([t.group for t in tables], fontsize=7, rotation=30, ha="right")
        axis.set_ylabel("wsfast vs best peer")
        overall = geometric_mean([r for t in tables if not t.drop_in for r in t.ratios] or [1.0])
        axis.set_title(
            "wsfast's speed relative to the fastest peer, geometric mean per family"
            f" (peer families: {format_ratio(overall)}; drop-ins: speed-up of the library they"
            " accelerate; above 1, wsfast is faster)",
            fontsize=10,
            loc="left",
        )

    peer_colors: dict[str, str] = {}
    first_row = 1 if tables else 0
    for index, (group, workloads) in enumerate(groups):
        axis = figure.add_subplot(grid[first_row + index // ncols, index % ncols])
        shade_index: dict[str, int] = {}
        columns = [
            (name, kind)
            for name, kind in _columns(workloads)
            if any(c["name"] == name and c["status"] == "ok" for w in workloads for c in w["cases"])
        ]
        any_peer = any(w["summary"]["best_peer"] for w in workloads)
        width = 0.8 / max(len(columns), 1)
        for column, (name, kind) in enumerate(columns):
            xs, heights = [], []
            for position, workload in enumerate(workloads):
                cases = {c["name"]: c for c in workload["cases"]}
                case = cases.get(name)
                base_name = workload["summary"]["best_peer"] or workload["summary"]["reference"]
                base = cases.get(base_name) if base_name else None
                if case is None or case["status"] != "ok" or base is None:
                    continue
                xs.append(position - 0.4 + width * (column + 0.5))
                heights.append(base["median_ns"] / case["median_ns"])
            if kind == "peer":
                color = _NAMED_PEER_COLORS.get(name) or peer_colors.setdefault(
                    name, _PEER_COLORS[len(peer_colors) % len(_PEER_COLORS)]
                )
            else:
                shades = _KIND_COLORS.get(kind, _KIND_COLORS["limit"])
                shade_index[kind] = shade_index.get(kind, -1) + 1
                color = shades[shade_index[kind] % len(shades)]
            bars = axis.bar(xs, heights, width, label=name, color=color)
            if kind == "wsfast" and any_peer and len(workloads) <= 8:
                # The headline figure on wsfast's bars, where there is room for it.
                axis.bar_label(bars, labels=[f"{h:.2g}x" for h in heights], fontsize=6, padding=1)
        log_axis(axis)
        labels = [w["name"].split("/", 1)[-1] for w in workloads]
        axis.set_xticks(range(len(workloads)))
        if len(workloads) > 6:
            axis.set_xticklabels(labels, fontsize=6, rotation=45, ha="right")
        else:
            axis.set_xticklabels(labels, fontsize=8)
        axis.set_ylabel("speed vs best peer" if any_peer else "speed vs wsfast")
        axis.set_title(group, fontsize=10, loc="left")
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    machine, versions = doc["machine"], doc["versions"]
    peers = ", ".join(f"{p} {versions[p]}" for p in PEERS if versions.get(p))
    figure.suptitle(
        f"wsfast {versions.get('wsfast')} ({machine['wsfast_implementation']}) vs peers,"
        f" {doc['created'][:10]}\n{machine['cpu']}, {machine.get('python_implementation', '')}"
        f" {machine['python']}; {peers}",
        fontsize=9,
    )
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 1.0 - 0.8 / height))
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
