"""One SSH session's dashboard: ``python -m cfdash.ssh.child [options] URL``.

Started by ``cfdash ssh`` in a new session (``setsid``) with a fresh pty on 0, 1 and 2. It takes
the pty as its controlling terminal, as a login shell does, so that a window change reaches it
as SIGWINCH and the end of the session as a hang-up; reads the server's credentials, if any,
from an inherited pipe (``--credentials-fd``: never the command line, never the environment);
and runs the dashboard on them. The dashboard's options are the bare ``cfdash`` ones.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import termios
from collections.abc import Sequence

CREDENTIAL_KEYS = ("COINFLOOR_USER_ID", "COINFLOOR_COOKIE", "COINFLOOR_PASSPHRASE")


def read_credentials(fd: int) -> dict[str, str]:
    """The credentials the server wrote on pipe ``fd`` (a JSON object of ``CREDENTIAL_KEYS``),
    read to the end; the pipe is closed."""
    chunks = []
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read(4096):
            chunks.append(chunk)
    data = json.loads(b"".join(chunks) or b"{}")
    return {key: str(data[key]) for key in CREDENTIAL_KEYS if key in data}


def main(argv: Sequence[str] | None = None) -> int:
    from cfdash.tui import main as dashboard

    parser = argparse.ArgumentParser(prog="cfdash-ssh-session")
    dashboard.configure_parser(parser)
    parser.add_argument("--credentials-fd", type=int, metavar="FD")
    args = parser.parse_args(argv)
    args.remember = False  # a viewer's market or theme is not the host user's
    args.screenshots = False  # nor may a viewer write files on the host
    with contextlib.suppress(OSError):  # already ours, or not a terminal: nothing to take
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    env = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_KEYS}
    if args.credentials_fd is not None:
        env.update(read_credentials(args.credentials_fd))
    return dashboard.run(args, env)


if __name__ == "__main__":
    sys.exit(main())
