"""The documentation site (``mkdocs.yml``, ``tools/docs_site.py``): it builds with warnings as
errors (MkDocs checks every internal link and anchor), its API reference has an entry with a
docstring for every public name of every public module, and it renders in headless Chromium.

The site needs the docs extra (``pip install '.[docs]'``, which the test extra includes); without
it these tests skip, and fail when ``WSFAST_REQUIRE_PEERS=1`` (as in CI). On Python 3.10, where
the documentation tools do not install, they skip. The navigation's rules need nothing and always
run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chromium import launched

ROOT = Path(__file__).resolve().parent.parent
#: What the docs extra brings (import names).
DOCS_EXTRA = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "griffe")
#: The modules issue 21 names; the generic rule (docs_site.api_modules) must keep them all.
REQUIRED_MODULES = (
    "wsfast",
    "wsfast.asyncio",
    "wsfast.connection",
    "wsfast.events",
    "wsfast.frames",
    "wsfast.masking",
    "wsfast.utf8",
    "wsfast.extensions",
    "wsfast.exceptions",
    "wsfast.compat.wsproto",
    "wsfast.compat.wsaccel",
)
BUILD_TIMEOUT = 300
BROWSER_TIMEOUT = 60


def load_docs_site() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("docs_site", ROOT / "tools" / "docs_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_site = load_docs_site()


def skip_or_fail(reason: str) -> None:
    """Skips, or fails when ``WSFAST_REQUIRE_PEERS=1`` (CI installs everything)."""
    if os.environ.get("WSFAST_REQUIRE_PEERS", "") not in ("", "0"):
        pytest.fail(f"{reason} (WSFAST_REQUIRE_PEERS is set)")
    pytest.skip(reason)


def require_docs_extra() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("the documentation tools (mkdocstrings, griffe) need Python 3.11 or newer")
    missing = []
    for name in DOCS_EXTRA:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name)
    if missing:
        skip_or_fail(f"the docs extra is not installed (pip install '.[docs]'): no {missing}")


@functools.cache
def reference_package() -> Any:
    """The package as the reference sees it: griffe, on the sources and the ``.pyi`` stubs, with
    the site's extension (mkdocs.yml has the same options)."""
    require_docs_extra()
    import griffe

    extensions = griffe.load_extensions(docs_site.TwinStubs())
    return griffe.load(
        "wsfast", search_paths=[ROOT / "src"], allow_inspection=False, extensions=extensions
    )


def reference_module(module_name: str) -> Any:
    package = reference_package()
    return package if module_name == "wsfast" else package[module_name.partition(".")[2]]


def public_names(module_name: str) -> list[str]:
    """``__all__``, or else the module's public names that are not submodules or imports.

    Read from the source, not by importing: a module may need an optional peer at import
    (a drop-in's library), and the reference is made from the source anyway."""
    module = reference_module(module_name)
    if module.exports is not None:
        return [str(name) for name in module.exports]
    return [
        name for name, member in module.members.items() if member.is_public and not member.is_module
    ]


# The navigation, made from the pages present.


def titles(nav: list[Any]) -> list[str]:
    found = []
    for entry in nav:
        if isinstance(entry, dict):
            for title, target in entry.items():
                found.append(title)
                if isinstance(target, list):
                    found += titles(target)
        else:
            found.append(entry)
    return found


def pages(nav: list[Any]) -> list[str]:
    found = []
    for entry in nav:
        targets = entry.values() if isinstance(entry, dict) else [entry]
        for target in targets:
            found += pages(target) if isinstance(target, list) else [target]
    return found


def test_nav_lists_the_pages_present_and_only_those(tmp_path: Path) -> None:
    for name in ("asyncio.md", "compression.md", "notes-from-elsewhere.md"):
        (tmp_path / name).write_text("# page\n")
    nav = docs_site.build_nav(tmp_path)
    listed = pages(nav)
    assert "asyncio.md" in listed and "compression.md" in listed
    assert "uvicorn.md" not in listed and "protocol.md" not in listed  # not written (here)
    assert "Compression and broadcast" in titles(nav)
    # A page nobody listed is still reachable, under "More", before the changelog.
    assert {"More": ["notes-from-elsewhere.md"]} in nav
    assert "index.md" in listed and "api/index.md" in listed


def test_nav_of_this_repository_has_every_page_once() -> None:
    listed = pages(docs_site.build_nav(ROOT / "docs"))
    on_disk = {path.relative_to(ROOT / "docs").as_posix() for path in (ROOT / "docs").rglob("*.md")}
    assert on_disk <= set(listed)
    assert len(listed) == len(set(listed))
    assert [f"api/{module}.md" for module in docs_site.api_modules()] == [
        page for page in listed if page.startswith("api/") and page != "api/index.md"
    ]


def test_api_modules_include_the_public_modules() -> None:
    modules = docs_site.api_modules()
    assert set(REQUIRED_MODULES) <= set(modules)
    assert not [name for name in modules if "._" in name or name.startswith("wsfast.bench")]
    # Compatibility modules are found by the rule, not by a list.
    assert "wsfast.compat.wsproto.events" in modules
    assert "wsfast.compat.wsaccel.xormask" in modules


def test_test_extra_installs_the_docs_extra() -> None:
    """The test extra spells the docs extra out (see pyproject.toml): they must not drift."""
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is in the standard library from Python 3.11")
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = extras["optional-dependencies"]
    assert extras["docs"] and set(extras["docs"]) <= set(extras["test"])


# The built site.


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_docs_extra()
    site_dir = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    environment = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=environment
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    assert not re.search(r"^WARNING", output, re.MULTILINE), output
    return site_dir


def test_site_has_every_page(site: Path) -> None:
    for page in pages(docs_site.build_nav(ROOT / "docs")):
        assert (site / page).with_suffix(".html").is_file(), page


def test_every_public_name_has_an_entry_in_the_reference(site: Path) -> None:
    """A name's entry is its heading (``id`` is its dotted path) in its module's page; a
    submodule's is its own page, linked from its package's."""
    missing = []
    modules = docs_site.api_modules()
    for module in modules:
        html = (site / "api" / f"{module}.html").read_text(encoding="utf-8")
        ids = set(re.findall(r'id="([^"]+)"', html))
        for name in public_names(module):
            path = f"{module}.{name}"
            if path in modules:
                if f'href="{path}.html"' not in html:
                    missing.append(f"{path} (no link to its page)")
            elif path not in ids:
                missing.append(path)
    assert not missing, f"public names without an entry in the API reference: {missing}"


def test_every_public_name_has_a_docstring() -> None:
    """As the reference shows it: the module's own docstring, or the ``.pyi`` stub's for a name a
    hot-path module binds from its twin, or a ``#:`` comment above a constant."""
    undocumented = []
    for module_name in docs_site.api_modules():
        module = reference_module(module_name)
        if not module.docstring:
            undocumented.append(module_name)
        for name in public_names(module_name):
            member = module[name]
            target = member.final_target if member.is_alias else member
            if not (target.docstring and target.docstring.value.strip()):
                undocumented.append(f"{module_name}.{name}")
    assert not undocumented, f"public names without a docstring: {undocumented}"


# The site in a browser.

#: Chromium's DevTools endpoint, on a free port (written to the profile's DevToolsActivePort),
#: that wsfast's own client connects to.
DEVTOOLS_FLAGS = ("--remote-debugging-port=0", "--remote-allow-origins=*")


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    """The site over HTTP on a free port (the search's web worker does not run from file://)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


class DevTools:
    """A page driven over the Chrome DevTools Protocol, through wsfast's own client."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        await self.ws.send(json.dumps(message))
        while True:
            answer = json.loads(await self.ws.recv())
            if answer.get("id") == self.next_id:
                assert "error" not in answer, (method, answer)
                return dict(answer["result"])
            self.events.append(answer)

    async def wait_for(self, method: str) -> None:
        while not any(event.get("method") == method for event in self.events):
            self.events.append(json.loads(await self.ws.recv()))

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(json.dumps(params["args"])[:500])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found


async def open_page(devtools_port_file: Path, url: str) -> dict[str, Any]:
    """Loads ``url`` in a new tab; returns what the page shows and the console's errors."""
    from wsfast.asyncio import connect

    while not devtools_port_file.is_file() or len(devtools_port_file.read_text().split()) < 2:
        await asyncio.sleep(0.05)
    port, path = devtools_port_file.read_text().split()[:2]
    async with connect(f"ws://127.0.0.1:{port}{path}", max_message_size=None) as ws:
        devtools = DevTools(ws)
        target = await devtools.call("Target.createTarget", url="about:blank")
        attached = await devtools.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        devtools.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            await devtools.call(f"{domain}.enable")
        await devtools.call("Page.navigate", url=url)
        await devtools.wait_for("Page.loadEventFired")
        await asyncio.sleep(0.5)  # scripts run after load (the theme's, the search's worker)
        shown = await devtools.call(
            "Runtime.evaluate",
            returnByValue=True,
            expression="""JSON.stringify({
                title: document.title,
                nav: Array.from(document.querySelectorAll("nav.md-nav--primary .md-nav__link"),
                                a => a.textContent.trim()),
                ids: Array.from(document.querySelectorAll(".doc-heading[id]"), h => h.id),
                h1: (document.querySelector("article h1 code") || {}).textContent || "",
            })""",
        )
        page = json.loads(shown["result"]["value"])
        page["errors"] = devtools.errors()
        return dict(page)


def browse(chromium: str, urls: list[str]) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        async with launched(chromium, "about:blank", *DEVTOOLS_FLAGS) as profile:
            port_file = profile / "DevToolsActivePort"
            return [await open_page(port_file, url) for url in urls]

    return asyncio.run(asyncio.wait_for(main(), BROWSER_TIMEOUT))


def test_home_page_and_api_reference_render_in_chromium(site: Path, chromium: str) -> None:
    with served(site) as base:
        home, reference = browse(chromium, [f"{base}/index.html", f"{base}/api/wsfast.html"])
    assert home["errors"] == [], home["errors"]
    assert home["title"].startswith("wsfast"), home["title"]
    for title in ("Getting started", "API reference", "Changelog"):
        assert title in home["nav"], (title, home["nav"])
    assert reference["errors"] == [], reference["errors"]
    assert reference["title"].startswith("wsfast"), reference["title"]
    assert reference["h1"] == "wsfast"
    assert "wsfast.connection" in reference["nav"], reference["nav"]
    for name in ("wsfast.ClientConnection", "wsfast.mask", "wsfast.connect"):
        assert name in reference["ids"], name
