"""Under ``WSFAST_REQUIRE_PEERS=1`` (as in CI) a test skipped for a missing peer fails instead."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()

TESTS = """
import pytest

def test_missing_module():
    pytest.importorskip("wsfast_no_such_peer")

def test_missing_registry():
    pytest.skip("pip download failed (no PyPI here?): ...")

@pytest.mark.skipif(True, reason="the real wsproto is not installed")
def test_missing_marked():
    pass

def test_not_for_this_build():
    pytest.skip("WSFAST_NO_EXTENSIONS=1: compiled twin not under test")
"""


@pytest.mark.parametrize("required", ["1", ""])
def test_missing_peers_fail_only_when_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, required: str
) -> None:
    monkeypatch.setenv("WSFAST_REQUIRE_PEERS", required)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    # A fresh process: the conftest reads the variable when it is imported.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfs")
    if required:
        # A skipif mark acts at setup, where a failure is reported as an error.
        result.assert_outcomes(failed=2, errors=1, skipped=1)
        result.stdout.fnmatch_lines(["*required peer missing*wsfast_no_such_peer*"])
    else:
        result.assert_outcomes(skipped=4)
