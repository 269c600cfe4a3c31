"""The documentation site's own code: MkDocs hooks and a griffe extension (``mkdocs.yml``).

- The navigation is made from the pages present, in the order of :data:`NAV`; a page written later
  (in another branch) that is listed there appears when it lands, and a page listed nowhere goes
  under "More", so a strict build never fails on a page that does not exist yet, nor leaves one out.
- The home page is the README (one text for both), its ``docs/`` links made relative.
- The API reference has one generated page per public module (:func:`api_modules`): a new public
  module is documented, and checked by ``tests/test_docs.py``, without editing anything here.
- The hot-path modules bind their names at import (``Frame = _impl.Frame``, where
  ``_impl = _speedups.load("frames")`` is the compiled twin or the Python one); statically that is
  an attribute without a docstring. :class:`TwinStubs` turns each into an alias of the name in the
  twins' shared ``.pyi`` stub (``wsfast._frames.Frame``), whose docstrings are the contract.
- The code documents its constants with ``#:`` comments above them (Sphinx's convention, which
  griffe does not read); :class:`TwinStubs` makes them the attributes' docstrings. The docstrings'
  Sphinx roles (``:class:`~wsfast.frames.Frame```) become Markdown code (`` `Frame` ``).

``tests/test_docs.py`` loads this file by its path, for :func:`api_modules` and :class:`TwinStubs`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src"
PACKAGE = "wsfast"

#: Modules that are not library API: the command line's entry point and the benchmark tool
#: (documented as commands, in asyncio.md and bench.md), and the command line itself.
NOT_API = ("wsfast.__main__", "wsfast.cli", "wsfast.bench")

#: The site's order: (title, page) or (section, [entries]); a title of None takes the page's own
#: first heading. Pages that are not there are left out.
NAV: list[tuple[str | None, Any]] = [
    ("Home", "index.md"),
    ("Getting started", "getting-started.md"),
    (
        "Guide",
        [
            ("The asyncio API", "asyncio.md"),
            ("The callback style", "callbacks.md"),
            ("The sans-IO layer", "protocol.md"),
            ("Frames and masking", "frames.md"),
            ("UTF-8", "utf8.md"),
            ("uvicorn and FastAPI", "uvicorn.md"),
            ("Compression and broadcast", "compression.md"),
        ],
    ),
    (
        "Drop-ins",
        [
            ("wsproto", "wsproto-compat.md"),
            ("wsaccel, websocket-client, autobahn", "compat.md"),
        ],
    ),
    ("Benchmarks", [("The bench command", "bench.md"), ("A full run", "bench-results.md")]),
    ("Hardening", "hardening.md"),
    ("API reference", "api/"),
    ("Changelog", "changelog.md"),
]


def api_modules(source: Path = SOURCE) -> list[str]:
    """Every public module of the package, by dotted name, sorted: no part of the name starts
    with an underscore, and it is not in :data:`NOT_API`."""
    names = []
    for path in sorted((source / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if any(part.startswith("_") for part in parts):
            continue
        name = ".".join(parts)
        if any(name == excluded or name.startswith(excluded + ".") for excluded in NOT_API):
            continue
        names.append(name)
    return sorted(names)


def api_page(module: str, modules: list[str]) -> str:
    """The generated page of one module: its docstring, links to its submodules' pages, then
    every public name."""
    text = f"# `{module}`\n\n::: {module}\n"
    children = [name for name in modules if name.rpartition(".")[0] == module]
    if children:
        text += "\n## Submodules\n\n" + "".join(f"- [`{name}`]({name}.md)\n" for name in children)
    return text


def api_index(modules: list[str]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings and the `.pyi` stubs (the contract both builds of a hot",
        "path share). Every public name of every public module is here.",
        "",
    ]
    lines += [f"- [`{module}`]({module}.md)" for module in modules]
    return "\n".join(lines) + "\n"


def _nav_entries(entries: list[tuple[str | None, Any]], present: set[str]) -> list[Any]:
    nav: list[Any] = []
    for title, target in entries:
        if isinstance(target, list):
            section = _nav_entries(target, present)
            if section:
                nav.append({title: section})
        elif target == "api/":
            nav.append({title: ["api/index.md"] + [f"api/{m}.md" for m in api_modules()]})
        elif target in present:
            nav.append({title: target} if title else target)
    return nav


def _listed(entries: list[tuple[str | None, Any]]) -> set[str]:
    listed: set[str] = set()
    for _, target in entries:
        listed |= _listed(target) if isinstance(target, list) else {target}
    return listed


def build_nav(docs_dir: Path) -> list[Any]:
    """The navigation for the Markdown pages in ``docs_dir`` (plus the generated ones)."""
    present = {path.relative_to(docs_dir).as_posix() for path in docs_dir.rglob("*.md")}
    present.add("index.md")
    nav = _nav_entries(NAV, present)
    others = sorted(present - _listed(NAV))
    if others:
        nav.insert(-1, {"More": others})
    return nav


def readme_as_home() -> str:
    """The README with its links into ``docs/`` made relative to the site's root."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.sub(r"\]\(docs/", "](", text)


# MkDocs hooks (mkdocs.yml: hooks).


def on_config(config: Any) -> Any:
    config.nav = build_nav(Path(config.docs_dir))
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    modules = api_modules()
    generated = {"index.md": readme_as_home(), "api/index.md": api_index(modules)}
    generated |= {f"api/{module}.md": api_page(module, modules) for module in modules}
    for src_uri, content in generated.items():
        files.append(File.generated(config, src_uri, content=content))
    return files


# The griffe extension (mkdocs.yml: plugins.mkdocstrings.handlers.python.options.extensions).

#: A Sphinx cross-reference role: ``:class:`Frame```, ``:func:`~wsfast.accelerate.accelerate```.
SPHINX_ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")


def markdown_roles(text: str) -> str:
    """Sphinx roles as Markdown code; ``~`` keeps the last part of the name, as Sphinx shows it."""

    def code(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"`{name.rpartition('.')[2] if match.group(1) else name}`"

    return SPHINX_ROLE.sub(code, text)


def _twin_loads(module_source: str) -> dict[str, str]:
    """``{"_impl": "frames"}`` for each ``_impl = _speedups.load("frames")`` in a module."""
    loads = {}
    for node in ast.parse(module_source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Call)
            and ast.unparse(value.func) == "_speedups.load"
            and len(value.args) == 1
            and isinstance(value.args[0], ast.Constant)
        ):
            loads[target.id] = str(value.args[0].value)
    return loads


try:
    import griffe
except ImportError:  # the hooks above do not need it; the docs extra installs it
    griffe = None  # type: ignore[assignment]

if griffe is not None:

    class TwinStubs(griffe.Extension):  # type: ignore[misc]
        """``name = _impl.name`` becomes an alias of ``wsfast._<twin>.name`` (the ``.pyi``)."""

        def on_module_members(self, *, mod: Any, **kwargs: Any) -> None:
            if mod.filepath is None or Path(str(mod.filepath)).suffix != ".py":
                return
            loads = _twin_loads(Path(str(mod.filepath)).read_text(encoding="utf-8"))
            if not loads:
                return
            package = mod.path.split(".")[0]
            for name, member in list(mod.members.items()):
                if member.is_alias or not member.is_attribute or member.value is None:
                    continue
                base, _, attribute = str(member.value).partition(".")
                if base in loads and attribute.isidentifier():
                    target = f"{package}._{loads[base]}.{attribute}"
                    mod.set_member(name, griffe.Alias(name, target, lineno=member.lineno))

        def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
            for obj in _objects(pkg):
                if obj.docstring is not None:
                    obj.docstring.value = markdown_roles(obj.docstring.value)

        def on_attribute_instance(self, *, attr: Any, **kwargs: Any) -> None:
            if attr.docstring is not None or attr.filepath is None or attr.lineno is None:
                return
            comment = _doc_comment(attr.lines_collection[attr.filepath], attr.lineno)
            if comment:
                attr.docstring = griffe.Docstring(comment, parent=attr)


def _objects(obj: Any) -> Any:
    """The object and every object defined in it (aliases are their targets' business)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


def _doc_comment(lines: list[str], lineno: int) -> str:
    """The ``#:`` comment lines just above line ``lineno`` (1-based), as one text."""
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        found.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    return " ".join(found)
