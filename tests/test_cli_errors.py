"""``python -m wsfast`` run as a user would, getting things wrong: usage mistakes exit 2, network
failures exit 1, each with exactly one line on stderr (``PROG: error: MESSAGE``), never a
traceback. The servers that fail on purpose are plain sockets in a thread."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import wsfast
from wsfast import masking

TIMEOUT = 10  # seconds a command may take before the test fails (they take well under one)


def run_wsfast(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsfast", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def error_line(result: subprocess.CompletedProcess[str], status: int, prog: str) -> str:
    """The one line on stderr, once its exit status and its form are checked."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == status, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    return lines[0]


# --- usage mistakes: exit status 2 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "prog", "says"),
    [
        (["client", "http://example.com"], "client", "is not a ws:// or wss:// URI"),
        (["client", "ws://[::1"], "client", "Invalid IPv6 URL"),
        (["client", "ws://example.com:99999/"], "client", "invalid port"),
        (["client", "ws:///path"], "client", "has no host"),
        (["client", "ws://example.com/#here"], "client", "fragment"),
        (["client", "ws://127.0.0.1:1/", "-H", "no-colon"], "client", "expected NAME:VALUE"),
        (["client", "ws://127.0.0.1:1/", "-H", "X: a\r\nEvil: b"], "client", "header X"),
        (["client", "ws://127.0.0.1:1/", "-H", "X: trailing\r\n"], "client", "header X"),
        (["client", "ws://127.0.0.1:1/", "--header", "Bad Name: v"], "client", "header name"),
        (["client", "ws://127.0.0.1:1/", "--subprotocol", "a b"], "client", "subprotocol"),
        (["client", "ws://127.0.0.1:1/", "--open-timeout", "-1"], "client", "positive"),
        (["client", "ws://127.0.0.1:1/", "--bogus"], "client", "unrecognized arguments: --bogus"),
        (["client"], "client", "required: uri"),
        (["serve", "--port", "70000"], "serve", "invalid port 70000"),
        (["serve", "--port", "http"], "serve", "invalid port 'http'"),
        (["serve", "--max-message-size", "0"], "serve", "positive"),
        (["serve", "--keyfile", "key.pem"], "serve", "--keyfile needs --certfile"),
        (["bench", "--bogus"], "bench", "unrecognized arguments: --bogus"),
        (["bench", "--threshold", "x"], "bench", "--threshold"),
        ([], "", "required: COMMAND"),
        (["nonsense"], "", "invalid choice: 'nonsense'"),
        (["--bogus"], "", "required: COMMAND"),
    ],
)
def test_a_usage_mistake_is_one_line_and_status_2(args: list[str], prog: str, says: str) -> None:
    line = error_line(run_wsfast(*args), 2, f"python -m wsfast {prog}".rstrip())
    assert says in line


def test_an_http_uri_gets_a_hint() -> None:
    line = error_line(run_wsfast("client", "https://example.com/x"), 2, "python -m wsfast client")
    assert "did you mean wss://example.com/x?" in line


@pytest.mark.parametrize("level", masking.available_simd_levels())
def test_version(level: str) -> None:
    # Each run picks its SIMD level afresh; WSFAST_SIMD caps it (the pure-Python twin has one).
    env = {**os.environ, "WSFAST_SIMD": level} if level != "python" else None
    result = subprocess.run(
        [sys.executable, "-m", "wsfast", "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"wsfast {wsfast.__version__} ({wsfast.implementation}, {level})\n"


@pytest.mark.parametrize("command", [[], ["serve"], ["client"]])
def test_help_documents_the_exit_statuses(command: list[str]) -> None:
    result = run_wsfast(*command, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for status in ("0 success", "1 failure", "2 usage error", "130 interrupted"):
        assert status in text


# --- network failures: exit status 1 ------------------------------------------------------------


@contextlib.contextmanager
def raw_server(reply: bytes | None) -> Iterator[int]:
    """A TCP server on 127.0.0.1 (yields its port) for one connection: it reads the request (an
    HTTP head, or the first bytes of a TLS handshake), sends ``reply`` and closes; with no reply it
    holds the connection open, silent, until the test is over."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                received = conn.recv(65536)
                while received[:1] != b"\x16" and b"\r\n\r\n" not in received:  # 0x16: TLS
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                if reply is None:
                    done.wait(TIMEOUT)
                else:
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()
        thread.join(TIMEOUT)


def unused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
    return port  # nobody listens there now (the kernel does not hand it out again at once)


def test_refused() -> None:
    uri = f"ws://127.0.0.1:{unused_port()}/"
    line = error_line(run_wsfast("client", uri), 1, "python -m wsfast client")
    assert line.endswith(f"cannot connect to {uri}: connection refused")


def test_unknown_host() -> None:
    # RFC 6761 §6.4: names under .invalid never resolve.
    line = error_line(run_wsfast("client", "ws://wsfast.invalid/"), 1, "python -m wsfast client")
    assert "cannot connect to ws://wsfast.invalid/: unknown host" in line


def test_tls_to_a_plain_server() -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with raw_server(reply) as port:
        result = run_wsfast("client", f"wss://127.0.0.1:{port}/")
    line = error_line(result, 1, "python -m wsfast client")
    assert "TLS handshake failed" in line


def test_handshake_rejected_says_the_status() -> None:
    reply = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nConnection: close\r\n\r\nno way"
    with raw_server(reply) as port:
        result = run_wsfast("client", f"ws://127.0.0.1:{port}/")
    line = error_line(result, 1, "python -m wsfast client")
    assert line.endswith("handshake rejected with HTTP 403 Forbidden")


def test_invalid_handshake_response() -> None:
    reply = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    with raw_server(reply) as port:
        result = run_wsfast("client", f"ws://127.0.0.1:{port}/")
    line = error_line(result, 1, "python -m wsfast client")
    assert "Sec-WebSocket-Accept" in line


def test_open_timeout() -> None:
    with raw_server(None) as port:
        result = run_wsfast("client", f"ws://127.0.0.1:{port}/", "--open-timeout", "0.5")
    line = error_line(result, 1, "python -m wsfast client")
    assert "timed out after 0.5 s" in line


def test_serve_on_a_port_in_use() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run_wsfast("serve", "--port", str(port))
    line = error_line(result, 1, "python -m wsfast serve")
    assert f"cannot listen on 127.0.0.1:{port}: " in line


def test_serve_with_a_missing_certificate() -> None:
    result = run_wsfast("serve", "--port", "0", "--certfile", "/nonexistent/cert.pem")
    line = error_line(result, 1, "python -m wsfast serve")
    assert "cannot load the certificate '/nonexistent/cert.pem'" in line


@pytest.fixture
def self_signed_server(tmp_path: Path) -> Iterator[str]:
    """``python -m wsfast serve`` with a self-signed certificate; yields its wss:// URL."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    serve = ["serve", "--port", "0", "--certfile", str(cert), "--keyfile", str(key)]
    process = subprocess.Popen(
        [sys.executable, "-m", "wsfast", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (wss://\S+)", line)
        assert match, f"unexpected first line from the server: {line!r}"
        yield match.group(1)
    finally:
        process.kill()
        process.communicate()


def test_tls_certificate_check(self_signed_server: str) -> None:
    result = run_wsfast("client", self_signed_server)
    line = error_line(result, 1, "python -m wsfast client")
    assert "TLS certificate check failed: self-signed certificate" in line
    # --insecure skips the check: the client connects, then closes at the end of its input.
    result = run_wsfast("client", "--insecure", self_signed_server)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"connected to {self_signed_server}\nconnection closed: 1000\n"
