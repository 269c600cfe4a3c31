"""A real browser as a client of a wsfast server: headless Chromium runs ``browser_peer.html``.

Browsers offer permessage-deflate by themselves (``permessage-deflate; client_max_window_bits``):
this is the negotiation most servers meet first. The page sends the messages of ``peers.py``,
checks the echoes and reports; the server then pings it (the browser answers on its own) and the
page closes with 4001.

Chromium is found and started by ``tests/chromium.py`` (``WSFAST_CHROMIUM``, ``chromium``,
``chromium-browser``, ``google-chrome``; Debian: ``apt-get install chromium``). Without one the
test skips (fails with ``WSFAST_REQUIRE_PEERS=1``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from chromium import launched
from wsfast.asyncio import WebSocket, serve

from .peers import CLIENT_CLOSE, MESSAGES, TEST_TIMEOUT, run, until

PAGE = Path(__file__).with_name("browser_peer.html")


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
            async with launched(chromium, f"{PAGE.as_uri()}?port={server.port}"):
                await until(lambda: peer.close is not None, steps=(TEST_TIMEOUT - 10) * 200)

    run(main())
    assert peer.report is not None, "the page sent no report"
    assert peer.report["ok"], peer.report
    assert peer.offered is not None and peer.offered.startswith("permessage-deflate")
    assert [ext.name for ext in peer.extensions] == ["permessage-deflate"]
    assert peer.report["extensions"].startswith("permessage-deflate")
    assert peer.received == MESSAGES
    assert peer.close == CLIENT_CLOSE
