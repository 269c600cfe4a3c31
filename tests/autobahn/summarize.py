"""Summarise an Autobahn|Testsuite ``index.json`` per case group and behaviour.

``python tests/autobahn/summarize.py reports/servers/index.json [--agent wsfast] [--markdown]``
(several index.json files, e.g. of runs over parts of the suite, are merged).

Prints one row per case group (1 Framing, 2 Pings/Pongs ... 13 Compression parameters) with the
number of cases per behaviour (OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED), lists every
case that is not OK, and exits 1 when any case FAILED or is UNIMPLEMENTED (for its data or for its
closing handshake), 2 when the report is missing or has fewer cases than ``--expect``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

BEHAVIOURS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
BAD = frozenset({"FAILED", "UNIMPLEMENTED"})

#: Titles of the top-level case groups, as the suite names them.
GROUP_TITLES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Misc",
    "12": "Compression (payloads)",
    "13": "Compression (parameters)",
}


def case_key(case_id: str) -> tuple[int, ...]:
    """Sort "1.1.10" after "1.1.9"."""
    return tuple(int(part) for part in case_id.split("."))


def behaviour(result: dict[str, object]) -> str:
    """The behaviour of one case; a closing-handshake failure makes an OK case FAILED."""
    data = str(result.get("behavior", "MISSING"))
    close = str(result.get("behaviorClose", "OK"))
    if data not in BAD and close in BAD:
        return close
    return data


def summarize(results: dict[str, dict[str, object]]) -> tuple[dict[str, Counter[str]], list[str]]:
    """Counts per group and behaviour, and the lines describing every case that is not OK."""
    per_group: dict[str, Counter[str]] = {}
    not_ok: list[str] = []
    for case_id in sorted(results, key=case_key):
        result = results[case_id]
        outcome = behaviour(result)
        per_group.setdefault(case_id.split(".")[0], Counter())[outcome] += 1
        if outcome != "OK":
            not_ok.append(
                f"{case_id}: {outcome} (data {result.get('behavior')}, "
                f"close {result.get('behaviorClose')}, remote close code "
                f"{result.get('remoteCloseCode')})"
            )
    return per_group, not_ok


def table(per_group: dict[str, Counter[str]], markdown: bool) -> str:
    """The per-group table, with a total row."""
    header = ["Group", *BEHAVIOURS, "Total"]
    rows: list[list[str]] = []
    total: Counter[str] = Counter()
    for group in sorted(per_group, key=int):
        counts = per_group[group]
        total.update(counts)
        title = f"{group} {GROUP_TITLES.get(group, '')}".strip()
        rows.append([title, *(str(counts[b]) for b in BEHAVIOURS), str(sum(counts.values()))])
    rows.append(["All", *(str(total[b]) for b in BEHAVIOURS), str(sum(total.values()))])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row) for row in [header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path, nargs="+", help="index.json written by wstest")
    parser.add_argument("--agent", help="agent to summarise (default: the only one)")
    parser.add_argument("--expect", type=int, default=0, help="minimum number of cases")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)

    index: dict[str, dict[str, dict[str, object]]] = {}
    for path in args.index:
        if not path.is_file():
            print(f"no report at {path}", file=sys.stderr)
            return 2
        for agent, cases in json.loads(path.read_text()).items():
            index.setdefault(agent, {}).update(cases)
    if args.agent is None:
        if len(index) != 1:
            print(f"several agents in the report, choose one: {sorted(index)}", file=sys.stderr)
            return 2
        args.agent = next(iter(index))
    results = index.get(args.agent)
    if not results:
        print(f"no results for agent {args.agent!r}", file=sys.stderr)
        return 2

    per_group, not_ok = summarize(results)
    sources = ", ".join(str(path) for path in args.index)
    print(f"Autobahn|Testsuite results for {args.agent} ({sources}):")
    print(table(per_group, args.markdown))
    if not_ok:
        print("\nCases not OK:")
        print("\n".join(f"  {line}" for line in not_ok))
    total = sum(sum(c.values()) for c in per_group.values())
    bad = sum(c[b] for c in per_group.values() for b in BAD)
    if total < args.expect:
        print(f"\nonly {total} cases in the report, expected {args.expect}", file=sys.stderr)
        return 2
    if bad:
        print(f"\n{bad} case(s) FAILED or UNIMPLEMENTED", file=sys.stderr)
        return 1
    print(f"\n{total} cases, none FAILED or UNIMPLEMENTED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
