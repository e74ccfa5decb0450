"""The ``cfdash`` command: the dashboard, ``serve`` (the embedded exchange) and ``example``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cfdash import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cfdash",
        description="Coinfloor trading dashboard, client library and embedded exchange.",
    )
    parser.add_argument("--version", action="version", version=f"cfdash {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
