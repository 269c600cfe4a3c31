"""websocket-client's and autobahn's own WebSocket tests pass with ``wsfast.accelerate`` active.

At test time (never stored in this repository) the libraries' sdists are downloaded from PyPI into
a temporary directory, autobahn's dependencies (and Twisted, which its WebSocket tests need) are
installed there with ``pip install --target``, and each library's tests run in a subprocess that
first calls ``accelerate("wsaccel", <library>)``. Classes and functions that count their calls are
put in place of wsfast's before that, so the test also proves wsfast did the masking and UTF-8
validation during the suite (not just that the suite passed).

Which of their tests run (all network-free; servers are on loopback only):

- websocket-client: the whole ``websocket/tests`` directory. Its tests that need a WebSocket
  server run against its own ``echo-server.py`` (on the ``websockets`` library) started on a free
  loopback port when ``websockets`` is installed; the ones that need the internet skip themselves.
- autobahn: ``autobahn/websocket/test`` (frames, protocol, compression, message size limits) and
  ``autobahn/twisted/test/test_tx_protocol.py``, with ``USE_TWISTED=1``. Not run:
  ``test_tx_websocket_agent.py`` (fails without wsfast too: a Twisted/pytest skip incompatibility)
  and the asyncio variants (they need pytest-asyncio and duplicate the protocol code paths).

Marked ``slow``; skipped with a clear reason when PyPI cannot be reached, or when
``WSFAST_OFFLINE=1``. ``WSFAST_COMPAT_WEBSOCKET_CLIENT`` / ``WSFAST_COMPAT_AUTOBAHN`` choose the
versions (defaults: the ones this was written against). Downloads take most of the time (the
autobahn sdist is 14 MB): ``WSFAST_COMPAT_CACHE=<dir>`` keeps the workspace there between runs
(outside the repository) instead of in a fresh temporary directory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_tools import pip, skip_if_offline, skip_unless

pytestmark = pytest.mark.slow

WEBSOCKET_CLIENT = os.environ.get("WSFAST_COMPAT_WEBSOCKET_CLIENT", "1.9.2")
AUTOBAHN = os.environ.get("WSFAST_COMPAT_AUTOBAHN", "26.10.2")

# Runs in the subprocess: counting stand-ins, accelerate(), the library's pytest, a report line.
RUNNER = r"""
import json, sys
config = json.loads(sys.argv[1])
sys.path[:0] = config["prepend"]
sys.path.extend(config["append"])

from collections import Counter
from wsfast.compat.wsaccel import utf8validator, xormask

counts = Counter()
BaseMasker, BaseValidator = xormask.XorMaskerSimple, utf8validator.Utf8Validator
valid_prefix = utf8validator._impl._valid_prefix


class XorMaskerSimple(BaseMasker):
    __slots__ = ()

    def __init__(self, mask):
        counts["XorMaskerSimple"] += 1
        super().__init__(mask)


class Utf8Validator(BaseValidator):
    __slots__ = ()

    def __init__(self):
        counts["Utf8Validator"] += 1
        super().__init__()


def _valid_prefix(data):
    counts["_valid_prefix"] += 1
    return valid_prefix(data)


xormask.XorMaskerSimple = XorMaskerSimple
utf8validator.Utf8Validator = Utf8Validator
utf8validator._impl._valid_prefix = _valid_prefix

from wsfast.accelerate import accelerate

patched = accelerate("wsaccel", config["library"])
module = __import__(config["module"])
assert module.__file__.startswith(config["prepend"][0]), module.__file__

import pytest

status = pytest.main(config["pytest_args"])
print("WSFAST-SUITE " + json.dumps({"status": int(status), "patched": patched,
                                    "counts": counts, "module": module.__file__}))
sys.exit(int(status))
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two sdists, unpacked, and autobahn's dependencies, in a fresh temporary directory."""
    skip_if_offline()
    cache = os.environ.get("WSFAST_COMPAT_CACHE")
    if cache:
        root = Path(cache) / f"websocket-client-{WEBSOCKET_CLIENT}-autobahn-{AUTOBAHN}"
        if (root / "complete").exists():
            return root
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = tmp_path_factory.mktemp("third-party-suites")
    sdists = root / "sdists"
    try:
        downloaded = pip(
            "download", "--no-deps", "--no-binary", ":all:", "-d", str(sdists),
            f"websocket-client=={WEBSOCKET_CLIENT}", f"autobahn=={AUTOBAHN}",
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip("pip download timed out (no PyPI here?)")
    skip_unless(downloaded, "pip download of the sdists")
    for archive in sdists.glob("*.tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    try:
        installed = pip(
            "install", "--quiet", "--target", str(root / "deps"),
            f"autobahn[twisted]=={AUTOBAHN}",
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip("pip install of autobahn's dependencies timed out (no PyPI here?)")
    skip_unless(installed, "pip install of autobahn's dependencies")
    (root / "complete").touch()
    return root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def echo_server(workspace: Path) -> Iterator[int | None]:
    """websocket-client's own echo server on a loopback port (None without ``websockets``)."""
    try:
        import websockets  # noqa: F401
    except ImportError:
        yield None
        return
    script = next(workspace.glob("websocket_client-*/websocket/tests/echo-server.py"))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "LOCAL_WS_SERVER_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"echo server did not start: {server.communicate()[1]!r}")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _run_suite(
    workspace: Path,
    library: str,
    module: str,
    source: Path,
    tests: list[str],
    env: dict[str, str],
) -> dict[str, object]:
    runner = workspace / "run_suite.py"
    runner.write_text(RUNNER)
    config = {
        "library": library,
        "module": module,
        "prepend": [str(source)],
        "append": [str(workspace / "deps")],
        "pytest_args": [
            *tests, "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(source),
        ],
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(runner), json.dumps(config)],
        cwd=source,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = [line for line in result.stdout.splitlines() if line.startswith("WSFAST-SUITE ")]
    tail = "\n".join(result.stdout.splitlines()[-40:]) + "\n" + result.stderr[-3000:]
    assert result.returncode == 0, f"{library}'s tests failed with wsfast:\n{tail}"
    assert report, f"no report from the runner:\n{tail}"
    summary: dict[str, object] = json.loads(report[-1][len("WSFAST-SUITE ") :])
    outcome = [line for line in result.stdout.splitlines() if " passed" in line][-1:]
    print(f"{library}: {' '.join(outcome)}; calls to wsfast's classes: {summary['counts']}")
    return summary


def test_websocket_client_suite(workspace: Path, echo_server: int | None) -> None:
    source = next(workspace.glob("websocket_client-*/"))
    env = {"TEST_WITH_INTERNET": "0", "LOCAL_WS_SERVER_PORT": str(echo_server or -1)}
    summary = _run_suite(
        workspace, "websocket-client", "websocket", source, ["websocket/tests"], env
    )
    assert "websocket._abnf._mask" in summary["patched"]  # type: ignore[operator]
    counts = summary["counts"]
    assert isinstance(counts, dict)
    # Frames were masked and text was validated by wsfast while websocket-client's tests ran.
    assert counts.get("XorMaskerSimple", 0) > 0
    assert counts.get("_valid_prefix", 0) > 0


def test_autobahn_suite(workspace: Path) -> None:
    source = next(workspace.glob("autobahn-*/")) / "src"
    tests = ["autobahn/websocket/test", "autobahn/twisted/test/test_tx_protocol.py"]
    summary = _run_suite(workspace, "autobahn", "autobahn", source, tests, {"USE_TWISTED": "1"})
    assert "autobahn.websocket.protocol.create_xor_masker" in summary["patched"]  # type: ignore[operator]
    counts = summary["counts"]
    assert isinstance(counts, dict)
    assert counts.get("XorMaskerSimple", 0) > 0
    assert counts.get("Utf8Validator", 0) > 0
