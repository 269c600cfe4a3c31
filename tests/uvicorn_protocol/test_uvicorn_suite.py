"""uvicorn's own WebSocket tests pass with :class:`wsfast.uvicorn.WebSocketProtocol`.

At test time (never stored in this repository) the sdist of the installed uvicorn is downloaded
from PyPI into a temporary directory, and its ``tests/protocols/test_websocket.py`` runs in a
subprocess with its ``ws_protocol_cls`` fixture pointed at our class (a ``conftest.py`` written
beside the test file overrides uvicorn's parametrised one), over every HTTP protocol uvicorn's
fixture offers and this machine has (h11 always; httptools and zttp when installed). The
subprocess reports how many connections our class handled, so a pass proves it ran.

Not run (``--deselect``), each for a reason that has nothing to do with the protocol's behaviour:

- ``test_server_keepalive_ping_pong`` and ``test_server_keepalive_disabled`` assert that the
  protocol object is an instance of uvicorn's built-in classes before reading its keepalive
  attributes; ``test_keepalive_*`` in ``test_protocol.py`` check the same behaviour on ours.
- ``test_unparseable_upgrade_closes_connection`` and
  ``test_send_binary_data_to_server_bigger_than_default_on_websockets`` name uvicorn's
  websockets-sansio class instead of using the fixture: they would pass without testing ours.
  ``test_protocol.py`` covers those paths (oversized head: 431; ``ws_max_size``: 1009).

Marked ``slow``; skipped with the reason when PyPI cannot be reached or with ``WSFAST_OFFLINE=1``,
and failed instead when ``WSFAST_REQUIRE_PEERS=1``. ``WSFAST_COMPAT_CACHE=<dir>`` keeps the
unpacked sdist there between runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("httpx2")  # what uvicorn's tests use as HTTP client

#: Tests of uvicorn's file that are not run, with the reason (see the module docstring).
EXCLUDED = {
    "test_server_keepalive_ping_pong": "asserts isinstance of uvicorn's built-in classes",
    "test_server_keepalive_disabled": "asserts isinstance of uvicorn's built-in classes",
    "test_unparseable_upgrade_closes_connection": "uses uvicorn's websockets-sansio by name",
    "test_send_binary_data_to_server_bigger_than_default_on_websockets": (
        "uses uvicorn's websockets-sansio by name"
    ),
}

#: Written beside uvicorn's test file: the fixture override and the proof that our class ran.
CONFTEST = """
import json
import pytest
from wsfast.uvicorn import WebSocketProtocol

handled = []
_made = WebSocketProtocol.connection_made


def _counting_connection_made(self, transport):
    handled.append(1)
    return _made(self, transport)


WebSocketProtocol.connection_made = _counting_connection_made


@pytest.fixture
def ws_protocol_cls():
    return WebSocketProtocol


def pytest_sessionfinish(session, exitstatus):
    print("\\nWSFAST-UVICORN " + json.dumps({"connections": len(handled)}))
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("WSFAST_REQUIRE_PEERS", "") not in ("", "0"):
        pytest.fail(f"{reason} (WSFAST_REQUIRE_PEERS is set)")
    pytest.skip(reason)


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def uvicorn_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked sdist of the installed uvicorn, with our conftest beside its test file."""
    if os.environ.get("WSFAST_OFFLINE", "") not in ("", "0"):
        _unavailable("WSFAST_OFFLINE is set")
    version = metadata.version("uvicorn")
    cache = os.environ.get("WSFAST_COMPAT_CACHE")
    root = (
        Path(cache) / f"uvicorn-{version}-sdist"
        if cache
        else tmp_path_factory.mktemp("uvicorn-sdist")
    )
    source = root / f"uvicorn-{version}"
    if not (source / "tests" / "protocols" / "test_websocket.py").is_file():
        root.mkdir(parents=True, exist_ok=True)
        try:
            downloaded = _pip(
                "download", "--no-deps", "--no-binary", ":all:", "-d", str(root),
                f"uvicorn=={version}",
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            _unavailable("pip download of uvicorn's sdist timed out (no PyPI here?)")
        if downloaded.returncode != 0:
            lines = [line for line in downloaded.stderr.splitlines() if "is ignored" not in line]
            _unavailable(f"pip download of uvicorn's sdist failed: {' | '.join(lines[-3:])}")
        archive = next(root.glob(f"uvicorn-{version}.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    (source / "tests" / "protocols" / "conftest.py").write_text(CONFTEST)
    return source


def test_uvicorn_websocket_suite(uvicorn_tests: Path) -> None:
    command = [
        sys.executable, "-m", "pytest", "tests/protocols/test_websocket.py",
        "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rs", "--rootdir", str(uvicorn_tests),
    ]  # fmt: skip
    for name in EXCLUDED:
        command += ["--deselect", f"tests/protocols/test_websocket.py::{name}"]
    result = subprocess.run(
        command,
        cwd=uvicorn_tests,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    tail = "\n".join(result.stdout.splitlines()[-40:]) + "\n" + result.stderr[-3000:]
    assert result.returncode == 0, f"uvicorn's WebSocket tests failed with wsfast:\n{tail}"
    counts = {
        kind: int(number)
        for number, kind in re.findall(r"(\d+) (passed|failed|skipped|error)", result.stdout)
    }
    report = [line for line in result.stdout.splitlines() if line.startswith("WSFAST-UVICORN ")]
    assert report, f"no report from the conftest:\n{tail}"
    connections = json.loads(report[-1].removeprefix("WSFAST-UVICORN "))["connections"]
    print(f"uvicorn {metadata.version('uvicorn')}: {counts}; our protocol took {connections}")
    # Every test of the file but the excluded ones, over h11 at least.
    assert counts.get("passed", 0) >= 70, tail
    assert connections >= counts["passed"] // 2, "our class did not handle the connections"
