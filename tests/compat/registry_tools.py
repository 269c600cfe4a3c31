"""Fetching third-party packages at test time (their test suites run against our drop-ins).

Nothing of theirs is kept in the repository: sdists are downloaded into temporary directories.
Without a reachable package registry, or with ``WSFAST_OFFLINE=1``, the tests skip with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Seconds for one download or install; past that the test skips as offline.
PIP_TIMEOUT = 240


def skip_if_offline() -> None:
    """Skips the calling test or fixture when ``WSFAST_OFFLINE`` is set."""
    if os.environ.get("WSFAST_OFFLINE", "") not in ("", "0"):
        pytest.skip("WSFAST_OFFLINE is set")


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs this interpreter's pip, capturing its output; never raises on a pip failure."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )


def skip_unless(result: subprocess.CompletedProcess[str], what: str) -> None:
    """Skips with pip's last error lines when ``result`` failed (registry unreachable ...)."""
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if "is ignored" not in line]
        pytest.skip(f"{what} failed (no PyPI here?): {' | '.join(lines[-3:])}")
