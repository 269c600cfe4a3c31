"""Every ```python block of README.md and docs/**/*.md runs, or says why it cannot.

A block runs unless the line just before its fence is ``<!-- not-runnable: REASON -->``. Each
runs in its own interpreter, in a temporary folder, with a timeout:

- ``>>>`` blocks run as doctests (the output is checked);
- other blocks run as scripts; top-level ``await`` is allowed (the block runs in an event loop);
- the examples' port, :data:`EXAMPLE_PORT`, becomes a free port. A block that connects there
  without serving gets an echo server (``python -m wsfast serve``) started for it; a block that
  serves forever (``serve_forever``) is checked as a server: it must answer a message with its
  echo, then it is stopped.

Files are found by pattern, so a page added in any branch is covered by this test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The port the examples use for their servers.
EXAMPLE_PORT = "8765"
#: Seconds an example may run: they are meant to finish at once.
EXAMPLE_TIMEOUT = 30
NOT_RUNNABLE = re.compile(r"^<!--\s*not-runnable:\s*(\S.*?)\s*-->$")
FENCE = re.compile(r"^```\s*python\s*$")

#: Runs a script block: top-level await allowed, the file's own name in tracebacks.
RUNNER = textwrap.dedent(
    """
    import ast, asyncio, sys
    path = sys.argv[1]
    with open(path, encoding="utf-8") as file:
        code = compile(file.read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, {"__name__": "__main__", "__file__": path})
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    """
)

#: Runs a doctest block.
DOCTEST_RUNNER = textwrap.dedent(
    """
    import doctest, sys
    with open(sys.argv[1], encoding="utf-8") as file:
        text = file.read()
    test = doctest.DocTestParser().get_doctest(text, {}, sys.argv[2], sys.argv[2], 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    sys.exit(1 if runner.failures else 0)
    """
)


@dataclass(frozen=True)
class Example:
    file: Path
    line: int  # of the opening fence, 1-based
    code: str
    reason: str | None  # why it does not run, or None

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def documentation_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def examples_in(path: Path) -> Iterator[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        if FENCE.match(lines[index].strip()):
            start = index
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                index += 1
            if index == len(lines):
                raise AssertionError(f"{path.relative_to(ROOT)}:{start + 1}: unclosed ```python")
            marker = NOT_RUNNABLE.match(lines[start - 1].strip()) if start else None
            code = "\n".join(lines[start + 1 : index]) + "\n"
            yield Example(path, start + 1, code, marker.group(1) if marker else None)
        index += 1


def all_examples() -> list[Example]:
    return [example for path in documentation_files() for example in examples_in(path)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[str], where: str) -> None:
    deadline = time.monotonic() + EXAMPLE_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.communicate()[0]
            pytest.fail(f"{where}: the server ended before listening:\n{output}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{where}: nothing listens on port {port} after {EXAMPLE_TIMEOUT} s")


def stop(process: subprocess.Popen[str]) -> str:
    """Ends the process and what it started (its process group, where there are groups)."""
    if process.poll() is None:
        signal_group(process, "SIGTERM")
        try:
            return process.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            signal_group(process, "SIGKILL")
    return process.communicate()[0]


def signal_group(process: subprocess.Popen[str], name: str) -> None:
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, getattr(signal, name))
    else:  # Windows: no process groups to signal
        process.kill()


def start(command: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # stop() ends what it started, too
    )  # fmt: skip


def check_echo(port: int, where: str) -> None:
    from wsfast.asyncio import connect

    async def exchange() -> None:
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send("hello from the docs test")
            assert await ws.recv() == "hello from the docs test", where

    asyncio.run(asyncio.wait_for(exchange(), EXAMPLE_TIMEOUT))


EXAMPLES = all_examples()
RUNNABLE = [example for example in EXAMPLES if example.reason is None]


def test_examples_are_found() -> None:
    files = {example.file for example in EXAMPLES}
    assert ROOT / "README.md" in files and len(files) > 5
    assert len(RUNNABLE) > len(EXAMPLES) // 2, "most examples should run"


def test_readme_quick_start_runs() -> None:
    """The README's first example is its quick start; it must be one of those that run."""
    first = next(example for example in EXAMPLES if example.file.name == "README.md")
    assert first.reason is None, f"{first.where}: the quick start must run"
    assert "serve(" in first.code and "connect(" in first.code


def test_not_runnable_markers_sit_on_python_blocks() -> None:
    """A marker that is not on the line before a ```python fence marks nothing."""
    stray = []
    for path in documentation_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines[:-1], 1):
            if NOT_RUNNABLE.match(line.strip()) and not FENCE.match(lines[number].strip()):
                stray.append(f"{path.relative_to(ROOT)}:{number}")
    assert not stray, f"not-runnable markers not followed by a ```python block: {stray}"


@pytest.mark.parametrize("example", RUNNABLE, ids=[example.where for example in RUNNABLE])
def test_example_runs(example: Example, tmp_path: Path) -> None:
    port = free_port()
    code = example.code.replace(EXAMPLE_PORT, str(port))
    script = tmp_path / f"{example.file.stem}_line{example.line}.py"
    script.write_text(code, encoding="utf-8")
    if code.lstrip().startswith(">>>"):
        command = [sys.executable, "-c", DOCTEST_RUNNER, str(script), example.where]
    else:
        command = [sys.executable, "-c", RUNNER, str(script)]

    echo_server = None
    if "serve(" not in code and "ws://" in code:
        echo_server = start(
            [sys.executable, "-m", "wsfast", "serve", "--host", "127.0.0.1", "--port", str(port)],
            tmp_path,
        )
        wait_listening(port, echo_server, example.where)
    try:
        process = start(command, tmp_path)
        if "serve_forever" in code:
            try:
                wait_listening(port, process, example.where)
                check_echo(port, example.where)
            finally:
                output = stop(process)
            return
        try:
            output = process.communicate(timeout=EXAMPLE_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            output = stop(process)
            pytest.fail(f"{example.where}: still running after {EXAMPLE_TIMEOUT} s:\n{output}")
        missing = re.search(r"No module named '([\w.]+)'", output)
        if process.returncode != 0 and missing and not missing.group(1).startswith("wsfast"):
            # A peer library the example uses (autobahn, uvicorn ...) that this interpreter
            # cannot install: a skip, which CI's WSFAST_REQUIRE_PEERS turns into a failure.
            # Asked of a fresh interpreter where the example ran: this process's sys.path has
            # tests/, whose autobahn/ folder would pass for a namespace package.
            top = missing.group(1).split(".")[0]
            probe = [sys.executable, "-c", f"import {top}"]
            if subprocess.run(probe, cwd=tmp_path, capture_output=True, check=False).returncode:
                pytest.skip(f"{example.where}: {top} is not installed")
        assert process.returncode == 0, (
            f"{example.where}: the example failed (exit {process.returncode}); mark it with "
            f"<!-- not-runnable: REASON --> on the line before its fence if it cannot run:\n"
            f"{output}"
        )
    finally:
        if echo_server is not None:
            stop(echo_server)
