"""Shared configuration for the whole suite.

Helpers for testing both twins of a hot path live in ``twins.py`` (``from twins import
twin_fixture``); this conftest sits in ``tests/`` so that pytest puts that folder on ``sys.path``
for the test modules of every subfolder too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator

import pytest

#: CI sets ``WSFAST_REQUIRE_PEERS=1``: a test that would skip because a peer library, a third-party
#: suite or the package registry is missing fails instead, so a green run means they all ran.
REQUIRE_PEERS = os.environ.get("WSFAST_REQUIRE_PEERS", "") not in ("", "0")

#: Skip reasons that mean "something the test needs could not be had" (``pytest.importorskip``,
#: ``tests/compat/registry_tools.py``), as opposed to skips that are right on this build or CPU
#: (the compiled twin under ``WSFAST_NO_EXTENSIONS=1``, a SIMD level the CPU lacks).
MISSING_PEER = re.compile(r"could not import|not installed|no PyPI here|WSFAST_OFFLINE")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (REQUIRE_PEERS and report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if MISSING_PEER.search(reason):
        report.outcome = "failed"
        report.longrepr = f"required peer missing (WSFAST_REQUIRE_PEERS is set): {reason}"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a headless-capable Chromium (``chromium.py``); skips where there is none."""
    from chromium import find_chromium

    return find_chromium()
