"""wsfast against node's ``ws`` (the WebSocket library under most of node's ecosystem), both roles,
permessage-deflate on both sides (``node_peer.js``).

``ws`` comes from the npm registry at test time, into ``WSFAST_NPM_CACHE`` (default
``<tmp>/wsfast-npm``), reused by later runs; nothing is vendored. Without node or npm, or with
``WSFAST_OFFLINE=1``, the tests skip (fail with ``WSFAST_REQUIRE_PEERS=1``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from wsfast.asyncio import connect, serve

from .peers import (
    CLIENT_CLOSE,
    SERVER_SIDE_CLOSE,
    TEST_TIMEOUT,
    RecordingEcho,
    require_peer,
    run,
    until,
    wsfast_client_conversation,
)

NODE_PEER = Path(__file__).with_name("node_peer.js")
#: The major version of ``ws`` tested (8: current since 2021).
WS_SPEC = "ws@8"


@pytest.fixture(scope="module")
def node_env() -> dict[str, str]:
    """The environment in which ``node node_peer.js`` finds ``ws``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        require_peer("node and npm are not installed")
    cache = Path(os.environ.get("WSFAST_NPM_CACHE") or Path(tempfile.gettempdir(), "wsfast-npm"))
    modules = cache / "node_modules"
    if not (modules / "ws" / "package.json").exists():
        if os.environ.get("WSFAST_OFFLINE", "") not in ("", "0"):
            require_peer("WSFAST_OFFLINE is set and ws is not in the npm cache")
        cache.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache), WS_SPEC],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            require_peer(f"npm install {WS_SPEC} failed: {result.stderr.strip()[-300:]}")
    return {**os.environ, "NODE_PATH": str(modules)}


def test_node_ws_client_against_wsfast_server(node_env: dict[str, str]) -> None:
    handler = RecordingEcho()

    async def main() -> dict[str, Any]:
        async with serve(handler, "127.0.0.1", 0) as server:
            node = await asyncio.create_subprocess_exec(
                "node", str(NODE_PEER), "client", f"ws://127.0.0.1:{server.port}/",
                env=node_env, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(node.communicate(), TEST_TIMEOUT - 10)
            await until(lambda: handler.close is not None)
        report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        assert node.returncode == 0, report
        return report

    report = run(main())
    assert report["extensions"] == "permessage-deflate"
    assert report["close"][0] == CLIENT_CLOSE[0]  # we echo its close code (RFC 6455 §5.5.1)
    handler.check()
    assert handler.received[-1] == "frag" + "mented " + "méssage"  # sent as three frames


def test_wsfast_client_against_node_ws_server(node_env: dict[str, str]) -> None:
    async def main() -> tuple[int | None, dict[str, Any]]:
        node = await asyncio.create_subprocess_exec(
            "node", str(NODE_PEER), "server",
            env=node_env, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert node.stdout is not None
        try:
            line = await asyncio.wait_for(node.stdout.readline(), 20)
            port = json.loads(line)["port"]
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                echoed = await wsfast_client_conversation(ws)
            line = await asyncio.wait_for(node.stdout.readline(), 20)
            await asyncio.wait_for(node.wait(), 20)
        finally:
            if node.returncode is None:
                node.kill()
                await node.wait()
        return echoed, json.loads(line)

    echoed, seen = run(main())
    assert echoed == SERVER_SIDE_CLOSE[0]
    assert seen["close"] == list(SERVER_SIDE_CLOSE)
    assert seen["offered"].startswith("permessage-deflate")
    assert seen["extensions"] == "permessage-deflate"
