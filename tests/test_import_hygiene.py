"""What importing wsfast pulls in, and which way imports go between its parts.

`import wsfast` must stay light for users of the sans-IO layer, and neither it nor
`import wsfast.asyncio` may load the benchmark tool, test tooling, plotting, or the peer
libraries wsfast is compared with or mirrors (they are optional, and loading one would change
what a program that uses it sees).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wsfast

#: Top-level packages that must never be imported by importing wsfast or wsfast.asyncio.
FORBIDDEN = (
    "websockets",
    "aiohttp",
    "picows",
    "wsproto",
    "h11",
    "uvloop",
    "wsaccel",
    "websocket",
    "autobahn",
    "uvicorn",
    "starlette",
    "httptools",
    "pytest",
    "_pytest",
    "hypothesis",
    "matplotlib",
    "numpy",
)

SOURCE = Path(wsfast.__file__).parent


def _modules_after(statement: str, pure_python: bool) -> set[str]:
    env = dict(os.environ)
    env.pop("WSFAST_NO_EXTENSIONS", None)
    if pure_python:
        env["WSFAST_NO_EXTENSIONS"] = "1"
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def _unwanted(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in FORBIDDEN
        or name == "wsfast.bench"
        or name.startswith("wsfast.bench.")
    )


@pytest.mark.parametrize("pure_python", [False, True], ids=["compiled", "python"])
@pytest.mark.parametrize("statement", ["import wsfast", "import wsfast.asyncio"])
def test_import_loads_no_bench_test_tool_or_peer_library(statement: str, pure_python: bool) -> None:
    assert _unwanted(_modules_after(statement, pure_python)) == []


def test_sans_io_import_does_not_load_asyncio() -> None:
    # `wsfast.connect`/`wsfast.serve` import the asyncio layer on first use (wsfast.__getattr__).
    modules = _modules_after("import wsfast", pure_python=False)
    assert "asyncio" not in modules
    assert "wsfast.asyncio" not in modules


def test_forbidden_list_catches_a_peer_import() -> None:
    # The check above must be able to fail: a module that is surely importable is caught.
    assert "wsfast.bench" in _unwanted({"wsfast.bench", "json"})
    assert "h11._state" in _unwanted({"h11._state"})


def _imported_wsfast_modules(path: Path) -> set[str]:
    """The wsfast modules a source file imports (absolute or relative, at any depth)."""
    package = ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "wsfast" or name.startswith("wsfast.")}


def test_compat_does_not_import_accelerate_back() -> None:
    # wsfast.accelerate builds on wsfast.compat; the other way round would be a cycle.
    offenders = {
        str(path.relative_to(SOURCE)): sorted(imported)
        for path in sorted((SOURCE / "compat").rglob("*.py"))
        if (imported := {m for m in _imported_wsfast_modules(path) if m == "wsfast.accelerate"})
    }
    assert offenders == {}
    # The scanner resolves relative imports: accelerate.py itself is seen importing compat.
    assert "wsfast.compat._patching" in _imported_wsfast_modules(SOURCE / "accelerate.py")
