"""``python -m wsfast``: the command-line interface (see :mod:`wsfast.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m wsfast"))
