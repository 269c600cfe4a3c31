"""Headless Chromium for the tests that drive a real browser (``interop/test_browser.py``,
``uvicorn_protocol/test_browser.py``, ``test_docs.py``).

Chromium is looked up as ``WSFAST_CHROMIUM``, ``chromium``, ``chromium-browser``,
``google-chrome`` (Debian: ``apt-get install chromium``); the ``chromium`` fixture of
``conftest.py`` gives its path or skips (fails with ``WSFAST_REQUIRE_PEERS=1``).
:func:`launched` runs it on a page for the length of a ``with`` block.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

#: Headless, and nothing that reaches out to the network on its own (this machine refuses it).
FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str:
    """The path of a Chromium; skips the test where there is none (the skip reason says "not
    installed", which ``WSFAST_REQUIRE_PEERS=1`` turns into a failure, see ``conftest.py``)."""
    names = (os.environ.get("WSFAST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome")
    for name in names:
        path = shutil.which(name) if name else None
        if path:
            return path
    pytest.skip("Chromium not installed (Debian: apt-get install chromium)")


def browser_environment() -> dict[str, str]:
    """This process's environment without what the sanitized build's ``asan-python`` sets for
    itself: Chromium started with ASan's runtime preloaded never gets to open the page."""
    names = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")
    return {name: value for name, value in os.environ.items() if name not in names}


@contextlib.asynccontextmanager
async def launched(chromium: str, url: str, *flags: str) -> AsyncIterator[Path]:
    """Chromium (:data:`FLAGS` and ``flags``) showing ``url`` with a fresh profile, whose folder
    it yields (Chromium writes ``DevToolsActivePort`` there); killed at the end of the block,
    with its renderer and GPU processes."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        browser = await asyncio.create_subprocess_exec(
            chromium, *FLAGS, *flags, f"--user-data-dir={profile}", url,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its renderer and GPU processes go with it
            env=browser_environment(),
        )  # fmt: skip
        try:
            yield Path(profile)
        finally:
            os.killpg(browser.pid, signal.SIGKILL)
            await browser.wait()
