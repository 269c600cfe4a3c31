"""Headless Chromium against uvicorn with wsfast's protocol, permessage-deflate negotiated.

The page and the conversation are those of ``tests/interop/test_browser.py``
(``browser_peer.html``: the messages of ``peers.py``, each echo checked, a report, then a close
with 4001), here with an ASGI application under uvicorn on the server side. uvicorn's keepalive
runs every 0.1 s during it: the browser answers our Pings by itself, which the protocol's
measured round trip shows. Without Chromium the test skips (fails with
``WSFAST_REQUIRE_PEERS=1``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("uvicorn")

from chromium import launched
from interop.peers import CLIENT_CLOSE, MESSAGES, TEST_TIMEOUT, run, until
from interop.test_browser import PAGE

from .servers import protocols, running


class BrowserApp:
    """The ASGI application: echoes, takes the page's report, records the close."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.report: dict[str, Any] | None = None
        self.offered: bytes | None = None
        self.close: tuple[int, str] | None = None
        #: Set once the browser answered a keepalive Ping; the page closes after that.
        self.pinged = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        self.offered = dict(scope["headers"]).get(b"sec-websocket-extensions")
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.close = (message["code"], message.get("reason", ""))
                return
            text = message.get("text")
            if text is not None and text.startswith("report:"):
                self.report = json.loads(text.removeprefix("report:"))
                await asyncio.wait_for(self.pinged.wait(), 10)
                await send({"type": "websocket.send", "text": "pinged"})
                continue
            self.received.append(text if text is not None else message["bytes"])
            await send({**message, "type": "websocket.send"})


def test_chromium_against_uvicorn_with_wsfast_protocol(chromium: str) -> None:
    app = BrowserApp()
    round_trips: list[float] = []

    async def main() -> None:
        async with running(app, ws_ping_interval=0.1, ws_ping_timeout=10.0) as (server, port):
            async with launched(chromium, f"{PAGE.as_uri()}?port={port}"):

                def record() -> bool:
                    for protocol in protocols(server):
                        if protocol.last_ping_rtt > 0:
                            round_trips.append(protocol.last_ping_rtt)
                            app.pinged.set()
                    return app.close is not None

                await until(record, steps=(TEST_TIMEOUT - 10) * 200)

    run(main())
    assert app.report is not None, "the page sent no report"
    assert app.report["ok"], app.report
    assert app.offered is not None and app.offered.startswith(b"permessage-deflate")
    assert app.report["extensions"].startswith("permessage-deflate")
    assert app.received == MESSAGES
    assert app.close == CLIENT_CLOSE
    assert round_trips, "the browser answered no keepalive Ping"
