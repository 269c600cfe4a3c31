#!/usr/bin/env python3
"""Runs wsfast's fuzz harnesses (``fuzz/fuzz_<target>.py``) for a time or an execution count.

    python fuzz/run.py                          # every target, 60 s each
    python fuzz/run.py frames utf8 --seconds 300
    python fuzz/run.py --runs 2000000           # every target, 2 M executions each

The harnesses run under the sanitized build made by ``tools/build_sanitized.sh`` (its
``asan-python`` wrapper: ASan + UBSan, libFuzzer coverage of the C code); ``--python`` picks
another interpreter (it needs atheris). libFuzzer reads the seeds in ``fuzz/corpus/<target>/``
(kept small, in git) and writes what it discovers to ``<work>/corpus/<target>/`` (outside git,
reused by the next run); a crashing input is saved to ``<work>/crashes/`` and the run fails. Replay
one with ``asan-python fuzz/fuzz_<target>.py <file>``; once fixed, copy it to
``fuzz/regressions/<target>/`` where ``tests/hardening/test_fuzz_regressions.py`` replays it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = ("mask", "utf8", "frames", "handshake", "deflate")
DEFAULT_PYTHON = (
    Path(os.environ.get("WSFAST_ASAN_VENV", "/tmp/wsfast-asan-venv")) / "bin" / "asan-python"
)


def run_target(target: str, args: argparse.Namespace) -> dict[str, object]:
    work = Path(args.work)
    corpus = work / "corpus" / target
    crashes = work / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    seeds = HERE / "corpus" / target
    command = [
        str(args.python),
        str(HERE / f"fuzz_{target}.py"),
        str(corpus),
        *([str(seeds)] if seeds.is_dir() else []),
        f"-artifact_prefix={crashes}/{target}-",
        "-print_final_stats=1",
        f"-max_len={args.max_len}",
        "-timeout=60",
        f"-rss_limit_mb={args.rss_limit_mb}",
    ]
    if args.runs:
        command.append(f"-runs={args.runs}")
    if args.seconds:
        command.append(f"-max_total_time={args.seconds}")
    log_path = work / f"{target}.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        result = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=HERE, check=False
        )
    elapsed = time.monotonic() - started
    text = log_path.read_text(errors="replace")
    executions = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    coverage = re.findall(r"\bcov: (\d+) ft: (\d+)", text)
    artifacts = re.findall(r"Test unit written to (\S+)", text)
    return {
        "target": target,
        "status": "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})",
        "executions": int(executions[-1]) if executions else 0,
        "seconds": elapsed,
        "coverage": coverage[-1] if coverage else ("?", "?"),
        "corpus": sum(1 for _ in corpus.iterdir()),
        "artifacts": artifacts,
        "log": log_path,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--seconds", type=int, default=None, help="per target (default 60)")
    parser.add_argument("--runs", type=int, default=None, help="executions per target")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter with atheris")
    parser.add_argument("--work", default=os.environ.get("WSFAST_FUZZ_WORK", "/tmp/wsfast-fuzz"))
    parser.add_argument("--max-len", type=int, default=8192)
    parser.add_argument("--rss-limit-mb", type=int, default=4096)
    parser.add_argument(
        "--no-python-coverage",
        action="store_true",
        help="leave the Python code uninstrumented (faster; C coverage only)",
    )
    args = parser.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {TARGETS}")
    if args.no_python_coverage:
        os.environ["WSFAST_FUZZ_PYTHON_COVERAGE"] = "0"
    if not args.seconds and not args.runs:
        args.seconds = 60
    if not Path(args.python).exists() and not shutil.which(str(args.python)):
        print(f"{args.python} not found: run tools/build_sanitized.sh first", file=sys.stderr)
        return 2
    results = []
    for target in args.targets or TARGETS:
        print(f"fuzzing {target} ...", flush=True)
        result = run_target(target, args)
        results.append(result)
        print(
            f"  {result['status']}: {result['executions']} executions in {result['seconds']:.0f} s",
            flush=True,
        )
        for artifact in result["artifacts"]:
            print(f"  crash input: {artifact} (log: {result['log']})")
            print(
                "  "
                + "\n  ".join(Path(result["log"]).read_text(errors="replace").splitlines()[-40:])
            )
    total = sum(int(r["executions"]) for r in results)
    row = "{:<10} {:<20} {:>12} {:>8} {:>6} {:>7} {:>7}"
    print("\n" + row.format("target", "status", "executions", "exec/s", "cov", "ft", "corpus"))
    for r in results:
        rate = int(r["executions"]) / max(float(r["seconds"]), 1e-9)
        cov, ft = r["coverage"]
        print(
            row.format(
                r["target"], r["status"], r["executions"], f"{rate:.0f}", cov, ft, r["corpus"]
            )
        )
    print(f"total executions: {total}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
