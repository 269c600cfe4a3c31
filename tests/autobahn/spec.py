"""Write the wstest spec files for the Autobahn|Testsuite conformance runs.

``python tests/autobahn/spec.py fuzzingclient --quick --out FILE --url ws://127.0.0.1:9001``
writes the spec for wstest's fuzzing *client* (it tests our server) and prints how many cases the
run must report;
``python tests/autobahn/spec.py fuzzingserver --full --out FILE --url ws://127.0.0.1:9002``
the spec for wstest's fuzzing *server* (it tests our client, driven by ``client_runner.py``).

The full set is every case (``*``: 1.* to 13.*). The quick set, run by CI on every change, is every
case except the 216 slow compression cases 12.* and 13.* (about 7 s each under wstest), plus the
fixed sample :data:`COMPRESSION_SAMPLE` of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: Groups of the suite that are not compression: wstest resolves "N.*" to every case of group N.
NON_COMPRESSION_GROUPS = ("1", "2", "3", "4", "5", "6", "7", "9", "10")

#: A fixed sample of the compression cases, covering every sub-group and parameter set.
#: 12.1-12.5 are five payloads (JSON, a bitmap, German text, HTML, a PDF) sent with the default
#: permessage-deflate offer; 13.1-13.7 are seven offer/accept combinations (context takeover on or
#: off, window bits 9 or 15, and a list of three offers). Within each sub-group, case N uses message
#: size/fragmentation N of wstest's table: 1 = 16 B, 5 = 4 KiB, 6 = 8 KiB (unfragmented),
#: 11 = 8 KiB in 256-byte frames. Each case sends 1000 messages; the larger sizes (up to 128 KiB)
#: take 15-40 s each under wstest and run only in the full suite.
COMPRESSION_SAMPLE = (
    "12.1.1", "12.1.11",
    "12.2.1", "12.2.5",
    "12.3.1", "12.3.11",
    "12.4.1", "12.4.6",
    "12.5.1", "12.5.5",
    "13.1.1", "13.1.5",
    "13.2.1", "13.2.11",
    "13.3.1", "13.3.5", "13.3.11",
    "13.4.1", "13.4.6",
    "13.5.1", "13.5.11",
    "13.6.1", "13.6.6",
    "13.7.1", "13.7.11",
)  # fmt: skip


#: Cases in the whole suite (1.* to 13.*), and in its compression groups 12.* and 13.*.
ALL_CASES = 517
COMPRESSION_CASES = 216


def expected_cases(full: bool, cases: list[str] | None = None) -> int:
    """How many cases a run of this set must report: a shorter report means wstest stopped early.

    For explicit ``cases``, only exact case ids can be counted; a pattern counts as at least one.
    """
    if cases:
        return len(cases)
    if full:
        return ALL_CASES
    return ALL_CASES - COMPRESSION_CASES + len(COMPRESSION_SAMPLE)


def case_patterns(full: bool, cases: list[str] | None = None) -> list[str]:
    """The ``cases`` list of the spec: ``cases`` if given, else everything or the quick set."""
    if cases:
        return cases
    if full:
        return ["*"]
    return [f"{group}.*" for group in NON_COMPRESSION_GROUPS] + list(COMPRESSION_SAMPLE)


def fuzzingclient_spec(
    url: str, agent: str, outdir: str, full: bool, cases: list[str] | None = None
) -> dict[str, object]:
    """Spec of ``wstest -m fuzzingclient``: wstest connects to the server under test at ``url``."""
    return {
        "outdir": outdir,
        "servers": [{"agent": agent, "url": url}],
        "cases": case_patterns(full, cases),
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }


def fuzzingserver_spec(
    url: str, outdir: str, full: bool, cases: list[str] | None = None
) -> dict[str, object]:
    """Spec of ``wstest -m fuzzingserver``: wstest listens at ``url`` for the client under test."""
    return {
        "url": url,
        "outdir": outdir,
        "cases": case_patterns(full, cases),
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("fuzzingclient", "fuzzingserver"))
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--quick", dest="full", action="store_false", help="CI set (default)")
    scope.add_argument("--full", dest="full", action="store_true", help="every case")
    parser.add_argument("--url", required=True, help="ws:// URL of the server (ours or wstest's)")
    parser.add_argument("--agent", default="wsfast", help="agent name in the reports")
    parser.add_argument("--outdir", required=True, help="directory wstest writes reports to")
    parser.add_argument("--out", required=True, help="spec file to write")
    parser.add_argument(
        "--cases", default="", help="comma-separated case patterns instead of the set (12.1.*)"
    )
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()] or None

    if args.mode == "fuzzingclient":
        spec = fuzzingclient_spec(args.url, args.agent, args.outdir, args.full, cases)
    else:
        spec = fuzzingserver_spec(args.url, args.outdir, args.full, cases)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(spec, indent=2) + "\n")
    # run.sh passes this on to summarize.py --expect.
    print(expected_cases(args.full, cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
