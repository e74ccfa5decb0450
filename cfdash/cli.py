"""The ``cfdash`` command.

``cfdash [URL] [options]`` opens the dashboard (on the embedded exchange when no URL is given);
``cfdash serve`` runs the embedded exchange; ``cfdash example URL`` is the seed's client example.
Each lives in its own module exposing ``configure_parser(parser)`` and ``run(args) -> int``,
imported only when needed so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence

from cfdash import __version__

DASHBOARD = "cfdash.tui.main"
# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("cfdash.server.cli", "run the embedded Coinfloor exchange"),
    "ssh": ("cfdash.ssh.cli", "serve the dashboard to SSH clients (read-only by default)"),
    "example": ("cfdash.client.example", "the seed library's clientExample: print a live feed"),
}


TERMINAL_NOTE = """\
the dashboard draws on the terminal even when stderr or stdout is redirected
(cfdash 2>err.log): on the one of stdin, stdout and stderr that is a terminal;
the files get what is written before and after it. Without any terminal it
refuses (status 2)."""


def _epilog() -> str:
    lines = ["commands (cfdash COMMAND --help for their options):"]
    lines += [f"  {name:<10}{help_text}" for name, (_, help_text) in SUBCOMMANDS.items()]
    return "\n".join([*lines, "", TERMINAL_NOTE])


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The dashboard's parser (``command`` None) or a subcommand's."""
    if command is None:
        parser = argparse.ArgumentParser(
            prog="cfdash",
            description="Coinfloor trading dashboard, client library and embedded exchange.",
            epilog=_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"cfdash {__version__}")
        module = DASHBOARD
    else:
        module, help_text = SUBCOMMANDS[command]
        parser = argparse.ArgumentParser(prog=f"cfdash {command}", description=help_text)
    parser.set_defaults(_module=module)
    with contextlib.suppress(ImportError):  # a command not built yet
        importlib.import_module(module).configure_parser(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = args_list[0] if args_list and args_list[0] in SUBCOMMANDS else None
    parser = build_parser(command)
    args = parser.parse_args(args_list[1:] if command else args_list)
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
