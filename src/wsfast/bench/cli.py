"""``python -m wsfast bench``: times wsfast against every importable peer and prints the table.

``add_parser(subparsers)`` adds the ``bench`` subcommand to the ``wsfast`` command line;
``main(args)`` runs it. ``python -m wsfast.bench`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import registry, report
from .core import Workload
from .runner import FULL, QUICK, QUICK_ENV, Progress, Runner, WorkloadResult

__all__ = ["add_parser", "build_parser", "configure", "main", "select"]

DESCRIPTION = """\
Times wsfast's hot paths and protocol layers (masking, UTF-8 validation, frames, sans-IO protocol,
loopback echo) in its compiled build, its pure-Python twins and every importable peer (websockets,
aiohttp, wsproto, picows, wsaccel, autobahn), and prints one table per workload family: median
throughput, spread, and how many times faster wsfast is than the best peer. Peers that are not
installed are listed as skipped; pip install 'wsfast[bench]' installs them all."""


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the bench options to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short run (under a minute on two cores): shorter samples, fewer of them",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run the workloads whose name or family matches (substring, or glob with * ? []);"
        " repeat or separate with commas",
    )
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON (docs/bench.md)")
    parser.add_argument(
        "--plot", metavar="PATH.png", help="draw bar charts of the ratios (needs matplotlib)"
    )
    parser.add_argument(
        "--markdown", metavar="PATH.md", help="write the tables as Markdown too (for a README)"
    )
    parser.add_argument(
        "--compare",
        metavar="OLD.json",
        help="compare with an earlier --json file: regressions and improvements flagged",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=5.0,
        metavar="PERCENT",
        help="smallest change --compare flags (default 5; never less than the runs' spread)",
    )
    parser.add_argument(
        "--load",
        metavar="PATH",
        help="report, compare or plot a saved --json file instead of running the benchmarks",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="timing budget of the whole suite, shared among the cases (--quick: 30)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the workloads and their cases, and exit"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress counter on stderr")
    parser.set_defaults(func=main)
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``bench`` to the ``wsfast`` command line's subcommands (``func`` is :func:`main`)."""
    parser = subparsers.add_parser(
        "bench",
        help="benchmark wsfast against the other WebSocket libraries",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return configure(parser)


def build_parser(prog: str = "python -m wsfast.bench") -> argparse.ArgumentParser:
    """A stand-alone parser for the bench command."""
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return configure(parser)


def _patterns(values: Sequence[str]) -> list[str]:
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def select(workloads: Sequence[Workload], patterns: Sequence[str]) -> list[Workload]:
    """The workloads whose name or group matches any pattern (all of them when there is none).

    A pattern with ``*``, ``?`` or ``[`` is a glob over the whole name; otherwise a substring.
    """
    if not patterns:
        return list(workloads)

    def matches(workload: Workload, pattern: str) -> bool:
        if any(ch in pattern for ch in "*?["):
            return fnmatch.fnmatchcase(workload.name, pattern) or fnmatch.fnmatchcase(
                workload.group, pattern
            )
        return pattern in workload.name

    return [w for w in workloads if any(matches(w, p) for p in patterns)]


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:  # a console that cannot show ± or µ
        encoding = sys.stdout.encoding or "ascii"
        sys.stdout.write(text.encode(encoding, "replace").decode(encoding))
    sys.stdout.flush()


def _load(path: str) -> report.Document | None:
    """The results document in ``path``, or None once the reason it cannot be read is printed."""
    try:
        return report.load(path)
    except (OSError, ValueError) as exc:
        print(f"wsfast bench: cannot read {path}: {exc}", file=sys.stderr)
        return None


def main(args: argparse.Namespace) -> int:
    """Runs the bench command; returns the exit status (1 if a case failed, 2 on bad usage)."""
    patterns = _patterns(args.only)
    interrupted = False
    if args.load:
        loaded = _load(args.load)
        if loaded is None:
            return 2
        doc = loaded
        if patterns:
            names = {w.name for w in select(_stub_workloads(doc), patterns)}
            doc["workloads"] = [w for w in doc["workloads"] if w["name"] in names]
    else:
        if args.quick:  # before the workloads are built: a layer may make them smaller
            os.environ[QUICK_ENV] = "1"
        # picows warns on every flow-control pause, which a pipelined echo causes by design.
        logging.getLogger("picows").setLevel(logging.ERROR)
        workloads = select(registry.all_workloads(), patterns)
        if not workloads:
            print(f"wsfast bench: no workload matches {', '.join(patterns)}", file=sys.stderr)
            return 2
        if args.list:
            for workload in workloads:
                tags = f" [{', '.join(sorted(workload.tags))}]" if workload.tags else ""
                cases = ", ".join(case.name for case in workload.cases)
                _write(f"{workload.name}{tags}: {cases}\n")
            return 0
        settings = QUICK if args.quick else FULL
        if args.time_budget is not None:
            settings = settings.with_total_budget(args.time_budget)
        total = sum(len(w.cases) for w in workloads)
        progress = Progress(total, enabled=not args.no_progress)
        started = time.perf_counter()
        runner = Runner(settings)
        results = runner.run(workloads, progress)
        interrupted = runner.interrupted
        if interrupted:
            print("wsfast bench: interrupted; the cases timed so far:", file=sys.stderr)
        duration = time.perf_counter() - started
        if settings.total_budget_s is not None and duration > 2 * settings.total_budget_s:
            _explain_overrun(results, duration, settings.total_budget_s)
        doc = report.to_document(
            results,
            settings,
            duration_s=duration,
            argv=_command_line(),
            only=patterns,
        )
    old = None
    if args.compare:
        old = _load(args.compare)
        if old is None:
            return 2
    _write(report.format_table(doc))
    if old is not None:
        _write("\n" + report.format_compare(old, doc, args.threshold / 100, label=args.compare))
    if args.json and not args.load:
        report.save(doc, args.json)
        print(f"wsfast bench: results written to {args.json}", file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as file:
            file.write(report.format_markdown(doc))
        print(f"wsfast bench: Markdown tables written to {args.markdown}", file=sys.stderr)
    if args.plot:
        try:
            report.plot(doc, args.plot)
        except report.PlotUnavailable as exc:
            print(f"wsfast bench: {exc}", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"wsfast bench: --plot: {exc}", file=sys.stderr)
            return 2
        print(f"wsfast bench: plot written to {args.plot}", file=sys.stderr)
    if interrupted:
        return 130
    errors = sum(c["status"] == "error" for w in doc["workloads"] for c in w["cases"])
    if errors and not args.load:
        print(f"wsfast bench: {errors} case(s) failed (see ERROR above)", file=sys.stderr)
        return 1
    return 0


def _explain_overrun(results: Sequence[WorkloadResult], duration: float, budget: float) -> None:
    """Says which families' setups and calls took the time when a budgeted run overran."""
    per_family: dict[str, list[float]] = {}
    for result in results:
        spent = per_family.setdefault(result.workload.group, [0.0, 0.0])
        for case in result.cases:
            spent[0] += case.setup_s
            spent[1] += case.wall_s
    worst = sorted(per_family.items(), key=lambda item: -item[1][1])[:4]
    details = ", ".join(
        f"{name} {wall:.0f} s (setup {setup:.0f} s)" for name, (setup, wall) in worst
    )
    print(
        f"wsfast bench: the run took {duration:.0f} s for a {budget:g} s budget; the costliest"
        f" families: {details}",
        file=sys.stderr,
    )


def _command_line() -> list[str]:
    """``["python -m wsfast", "bench", "--quick"]`` rather than the path of ``__main__.py``."""
    argv = list(sys.argv)
    if argv and argv[0].endswith("__main__.py"):
        package = (
            "wsfast.bench" if argv[0].replace("\\", "/").endswith("bench/__main__.py") else "wsfast"
        )
        argv[0] = f"python -m {package}"
    return argv


def _stub_workloads(doc: report.Document) -> list[Workload]:
    """Name-only workloads of a saved document, for ``--only`` on ``--load``."""
    return [Workload(w["group"], w["name"], ()) for w in doc["workloads"]]


def run(argv: Sequence[str] | None = None) -> int:
    """``python -m wsfast.bench [options]``."""
    return main(build_parser().parse_args(argv))
