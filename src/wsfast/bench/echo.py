"""Loopback echo: one connection, a server subprocess, messages of 256 B and 64 KiB.

What is measured is the *server*: every server is driven by the same client
(:class:`~wsfast.bench.loopback.FixedClient`, a plain asyncio protocol writing one pre-built
masked frame per message and counting the echoed bytes), so the figures differ only by what the
servers do. Two patterns: *request/response* (``rr``: send one message, wait for its echo,
repeat) and *pipelined* (every message written back to back, one write each, while the echoes
are counted).

Two families per pattern and event loop, each wsfast style against its direct peers:

- ``echo-coroutine-*``: wsfast's coroutine API (``async for message in ws: await
  ws.send(message)``) against ``picows.websockets`` (picows 2.x's websockets-compatible API on its
  compiled core), websockets and aiohttp, which serve the same way;
- ``echo-callback-*``: wsfast's callback API (``ws.on_message = ws.send_nowait``) against picows'
  ``WSListener`` (``on_ws_frame`` answering with ``transport.send``).

Each family shows ``tcp echo (reference)``: a plain asyncio TCP echo of the same bytes with no
WebSocket work, driven by the same client. It is a reference, not a floor: it copies each read
before writing it back, and a WebSocket server that copies less can spend less CPU per message
(measured: wsfast's callback server at 64 KiB), so it enters no ratio.

Two figures per case: messages per second seen by the client, and the server's CPU time per
message (``/proc/PID/task/*/schedstat`` of the server subprocess), which is what a server's
capacity depends on. Compression is off (the client offers no extension). Like every workload,
the cases are interleaved (one sample of each in turn), warmed up, and reported as the median of
their samples with the spread.

``python -m wsfast.bench.echo [--uvloop]`` runs these families alone; ``python -m wsfast bench``
runs them with the rest (asyncio only under ``--quick``); ``bench/bench_echo.py`` gives them to
pytest-benchmark.
"""

from __future__ import annotations

import argparse
import sys

from .core import Case, Workload, size_label
from .loopback import MODES, EchoServer, FixedClient, echo_case, process_cpu_ns
from .runner import quick_requested

__all__ = [
    "FAMILIES",
    "MODES",
    "SIZES",
    "EchoServer",
    "FixedClient",
    "messages_per_call",
    "process_cpu_ns",
    "workloads",
]

SIZES = (256, 64 * 1024)
#: Messages per timed call (per size); a quarter of it under ``--quick``.
WORKLOAD_MESSAGES = {256: 2000, 64 * 1024: 200}


def _check_compiled(peer: str) -> None:
    from .core import require_compiled_peer

    require_compiled_peer(peer)


def _check_ours() -> None:
    from wsfast import _speedups

    from .core import Skip

    if _speedups.NO_EXTENSIONS:
        raise Skip("WSFAST_NO_EXTENSIONS=1")


#: Family style -> its cases: (row name, echo_server library, kind, compiled part to require).
FAMILIES: dict[str, tuple[tuple[str, str, str, str | None], ...]] = {
    "coroutine": (
        ("wsfast", "wsfast", "wsfast", None),
        ("picows.websockets", "picows-websockets", "peer", "picows"),
        ("websockets", "websockets", "peer", "websockets"),
        ("aiohttp", "aiohttp", "peer", "aiohttp"),
        ("tcp echo (reference)", "tcp", "reference", None),
    ),
    "callback": (
        ("wsfast on_message", "wsfast-callback", "wsfast", None),
        ("picows", "picows", "peer", "picows"),
        ("tcp echo (reference)", "tcp", "reference", None),
    ),
}

_STYLE = {
    "coroutine": "async for message in ws: await ws.send(message)",
    "callback": "on_message answers with send_nowait (picows: on_ws_frame / transport.send)",
}


def messages_per_call(size: int) -> int:
    """Messages echoed per timed call: fewer under ``--quick``."""
    count = WORKLOAD_MESSAGES[size]
    return max(count // 4, 10) if quick_requested() else count


def _cases(style: str, mode: str, size: int, uvloop: bool) -> tuple[Case, ...]:
    count = messages_per_call(size)
    cases = []
    for name, library, kind, compiled in FAMILIES[style]:
        if kind == "wsfast":
            check = _check_ours
        elif compiled is not None:

            def check(peer: str = compiled) -> None:
                _check_compiled(peer)

        else:
            check = None
        cases.append(echo_case(name, library, kind, mode, size, count, uvloop, check))
    return tuple(cases)


def workloads(loops: tuple[bool, ...] | None = None) -> list[Workload]:
    """Loopback echo workloads; one call = :func:`messages_per_call` messages echoed. Asyncio
    and uvloop (asyncio alone under ``--quick``), unless ``loops`` says which."""
    if loops is None:
        loops = (False,) if quick_requested() else (False, True)
    found = []
    for uvloop in loops:
        loop_name = "uvloop" if uvloop else "asyncio"
        for style in FAMILIES:
            for mode in MODES:
                for size in SIZES:
                    count = messages_per_call(size)
                    group = f"echo-{style}-{mode}-{loop_name}"
                    found.append(
                        Workload(
                            group=group,
                            name=f"{group}/{size_label(size)}",
                            cases=_cases(style, mode, size, uvloop),
                            # msg/s, not bytes/s: what an echo server is judged by.
                            bytes_per_call=0,
                            items_per_call=count,
                            description=f"server echoes {count} messages ({mode}) to one fixed"
                            f" client, one connection, {loop_name}; {_STYLE[style]}",
                            tags=frozenset({"slow"}),
                        )
                    )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uvloop", action="store_true", help="client and servers on uvloop")
    parser.add_argument("--quick", action="store_true", help="fewer messages and samples")
    args = parser.parse_args(argv)
    if args.quick and args.uvloop:
        parser.error("--quick times the asyncio loop only")
    from . import cli

    loop_name = "uvloop" if args.uvloop else "asyncio"
    command = ["--only", f"echo-*-{loop_name}/*", "--no-progress"]
    if args.quick:
        command.append("--quick")
    return cli.main(cli.build_parser().parse_args(command))


if __name__ == "__main__":
    sys.exit(main())
