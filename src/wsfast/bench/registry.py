"""All benchmark workloads, collected from the per-layer modules of this package."""

from __future__ import annotations

import importlib

from .core import Workload

#: Modules of wsfast.bench that define ``workloads()``, in the order the CLI reports them.
MODULES = (
    "mask",
    "utf8",
    "frames",
    "protocol",
    "echo",
    "compression",
    "broadcast",
    "compat",
    "wsproto_compat",
    "uvicorn",
)


def all_workloads() -> list[Workload]:
    """Every workload of every module that exists in this version."""
    found: list[Workload] = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"wsfast.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"wsfast.bench.{name}":
                raise
            continue
        found.extend(module.workloads())
    return found
