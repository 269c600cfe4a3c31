"""A real browser as a client of a wsfast server: headless Chromium runs ``browser_peer.html``.

Browsers offer permessage-deflate by themselves (``permessage-deflate; client_max_window_bits``):
this is the negotiation most servers meet first. The page sends the messages of ``peers.py``,
checks the echoes and reports; the server then pings it (the browser answers on its own) and the
page closes with 4001.

Chromium is looked up as ``WSFAST_CHROMIUM``, ``chromium``, ``chromium-browser``, ``google-chrome``
(Debian: ``apt-get install chromium``). Without one the test skips (fails with
``WSFAST_REQUIRE_PEERS=1``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest

from wsfast.asyncio import WebSocket, serve

from .peers import CLIENT_CLOSE, MESSAGES, TEST_TIMEOUT, require_peer, run, until

PAGE = Path(__file__).with_name("browser_peer.html")

#: Headless, and nothing that reaches out to the network on its own (this machine refuses it).
CHROMIUM_FLAGS = [
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


@pytest.fixture(scope="module")
def chromium() -> str:
    names = (os.environ.get("WSFAST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome")
    for name in names:
        path = shutil.which(name) if name else None
        if path:
            return path
    require_peer("no Chromium here (Debian: apt-get install chromium)")
    raise AssertionError("unreachable")


def browser_environment() -> dict[str, str]:
    """This process's environment without what the sanitized build's ``asan-python`` sets for
    itself: Chromium started with ASan's runtime preloaded never gets to open the page."""
    names = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")
    return {name: value for name, value in os.environ.items() if name not in names}


class BrowserPeer:
    """The server side: echoes, takes the page's report, pings, records the close."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.report: dict[str, Any] | None = None
        self.offered: str | None = None
        self.extensions: tuple[Any, ...] = ()
        self.close: tuple[int | None, str | None] | None = None

    async def __call__(self, ws: WebSocket) -> None:
        headers = ws.request_headers
        self.offered = headers.get("Sec-WebSocket-Extensions") if headers else None
        self.extensions = ws.extensions
        try:
            async for message in ws:
                if isinstance(message, str) and message.startswith("report:"):
                    self.report = json.loads(message.removeprefix("report:"))
                    await asyncio.wait_for(ws.ping(b"browser, are you there"), 10)
                    await ws.send("pinged")
                else:
                    self.received.append(message)
                    await ws.send(message)
        finally:
            self.close = (ws.close_code, ws.close_reason)


def test_chromium_against_wsfast_server(chromium: str) -> None:
    assert PAGE.is_file(), f"{PAGE} is missing"  # else Chromium shows an error page: a timeout
    peer = BrowserPeer()

    async def main() -> None:
        async with serve(peer, "127.0.0.1", 0) as server:
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
                browser = await asyncio.create_subprocess_exec(
                    chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                    f"{PAGE.as_uri()}?port={server.port}",
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                    start_new_session=True,  # its renderer and GPU processes go with it
                    env=browser_environment(),
                )  # fmt: skip
                try:
                    await until(lambda: peer.close is not None, steps=(TEST_TIMEOUT - 10) * 200)
                finally:
                    os.killpg(browser.pid, signal.SIGKILL)
                    await browser.wait()

    run(main())
    assert peer.report is not None, "the page sent no report"
    assert peer.report["ok"], peer.report
    assert peer.offered is not None and peer.offered.startswith("permessage-deflate")
    assert [ext.name for ext in peer.extensions] == ["permessage-deflate"]
    assert peer.report["extensions"].startswith("permessage-deflate")
    assert peer.received == MESSAGES
    assert peer.close == CLIENT_CLOSE
