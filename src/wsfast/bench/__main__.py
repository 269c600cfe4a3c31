"""``python -m wsfast.bench``: the bench command on its own, as ``python -m wsfast bench``."""

from __future__ import annotations

import sys

from .cli import run

if __name__ == "__main__":
    sys.exit(run())
