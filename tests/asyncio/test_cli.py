"""``python -m wsfast serve`` and ``python -m wsfast client`` as a user runs them (subprocesses),
Ctrl-C included (SIGINT: exit status 130, no traceback). Mistakes and network failures are in
``tests/test_cli_errors.py``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from wsfast.cli import build_parser

TIMEOUT = 10  # seconds a step may take before the test fails (each takes well under one)

needs_sigint = pytest.mark.skipif(
    sys.platform == "win32", reason="Popen.send_signal(SIGINT) is not Ctrl-C on Windows"
)


def wsfast(*args: str) -> subprocess.Popen[str]:
    """``python -m wsfast ARGS`` with pipes on stdin, stdout and stderr."""
    return subprocess.Popen(
        [sys.executable, "-m", "wsfast", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Waits for the end of ``process``, its stdin left as it is (``communicate`` would close
    it: end of input): its exit status, the rest of its stdout, and its stderr."""
    assert process.stdout is not None and process.stderr is not None
    try:
        process.wait(TIMEOUT)  # the outputs checked are far smaller than a pipe's buffer
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.stdin is not None:
        process.stdin.close()
    with process.stdout, process.stderr:
        return process.returncode, process.stdout.read(), process.stderr.read()


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m wsfast serve --port 0``: the process and its ws:// URL, read from its output."""
    process = wsfast("serve", "--host", "127.0.0.1", "--port", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (ws://\S+)", line)
        assert match, f"unexpected first line from the server: {line!r}"
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def echo_server(server: tuple[subprocess.Popen[str], str]) -> Iterator[str]:
    """The URL of a ``serve`` that must stop cleanly (status 0) on SIGTERM at the end."""
    process, url = server
    yield url
    process.terminate()
    assert finish(process) == (0, "server stopped\n", "")


def test_client_sends_lines_and_prints_messages(echo_server: str) -> None:
    process = wsfast("client", echo_server)
    assert process.stdin is not None and process.stdout is not None
    try:
        assert process.stdout.readline() == f"connected to {echo_server}\n"
        # Like a person typing: one line, then its echo, then the next.
        for line in ["hello", "second line é"]:
            process.stdin.write(line + "\n")
            process.stdin.flush()
            assert process.stdout.readline() == f"< {line}\n"
    finally:
        process.stdin.close()  # Ctrl-D: the client closes the connection
    assert finish(process) == (0, "connection closed: 1000\n", "")


def test_client_ends_when_the_server_closes(server: tuple[subprocess.Popen[str], str]) -> None:
    server_process, url = server
    process = wsfast("client", url)
    assert process.stdout is not None
    assert process.stdout.readline() == f"connected to {url}\n"
    server_process.terminate()  # closes every connection with 1001
    # The client stops without waiting for another line on its stdin, which stays open.
    status, out, err = finish(process)
    assert (status, out, err) == (0, "connection closed: 1001 server shutting down\n", "")


@needs_sigint
def test_ctrl_c_stops_serve_with_130(server: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = server
    process.send_signal(signal.SIGINT)
    assert finish(process) == (130, "server stopped\n", "")


@needs_sigint
def test_ctrl_c_stops_a_client_waiting_for_input_with_130(echo_server: str) -> None:
    process = wsfast("client", echo_server)
    assert process.stdout is not None
    assert process.stdout.readline() == f"connected to {echo_server}\n"
    process.send_signal(signal.SIGINT)
    status, _, err = finish(process)
    assert (status, err) == (130, "")


@pytest.mark.parametrize("command", [[], ["serve"], ["client"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: wsfast")
    if command == ["serve"]:
        assert "--port" in out and "--host" in out
    if command == ["client"]:
        assert "uri" in out
