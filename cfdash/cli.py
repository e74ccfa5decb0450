"""The ``cfdash`` command: the dashboard, ``serve`` (the embedded exchange) and ``example``.

Each subcommand lives in its own module exposing ``configure_parser(parser)`` and
``run(args) -> int``; they are imported only when used, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence

from cfdash import __version__

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("cfdash.server.cli", "run the embedded Coinfloor exchange"),
    "example": ("cfdash.client.example", "the seed library's clientExample: print a live feed"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cfdash",
        description="Coinfloor trading dashboard, client library and embedded exchange.",
    )
    parser.add_argument("--version", action="version", version=f"cfdash {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module)
        with contextlib.suppress(ImportError):  # a subcommand not built yet
            importlib.import_module(module).configure_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
