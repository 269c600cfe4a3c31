"""``python -m wsfast serve`` and ``python -m wsfast client`` as a user runs them (subprocesses)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from wsfast.cli import build_parser

TIMEOUT = 30


@pytest.fixture
def echo_server() -> Iterator[str]:
    """``python -m wsfast serve --port 0``; yields its ws:// URL (read from its output)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wsfast", "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (ws://\S+)", line)
        assert match, f"unexpected first line from the server: {line!r}"
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0  # SIGTERM is a clean shutdown


def test_client_sends_lines_and_prints_messages(echo_server: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wsfast", "client", echo_server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        assert process.stdout.readline() == f"connected to {echo_server}\n"
        # Like a person typing: one line, then its echo, then the next.
        for line in ["hello", "second line é"]:
            process.stdin.write(line + "\n")
            process.stdin.flush()
            assert process.stdout.readline() == f"< {line}\n"
        process.stdin.close()  # Ctrl-D: the client closes the connection
        assert process.stdout.readline() == "connection closed: 1000\n"
        assert process.wait(TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_client_reports_a_refused_connection() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsfast", "client", "ws://127.0.0.1:1/"],
        input="",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 1
    assert "cannot connect" in result.stderr


@pytest.mark.parametrize("command", [[], ["serve"], ["client"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m wsfast")
    if command == ["serve"]:
        assert "--port" in out and "--host" in out
    if command == ["client"]:
        assert "uri" in out
