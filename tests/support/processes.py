"""Subprocess runners: ``python -m cfdash ...`` in a real child process.

``ServeProcess`` is ``cfdash serve`` on a free port (its url read from its first line);
``run_cfdash`` runs a command to the end, ``start_cfdash`` starts one and returns at once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any


def interruptible() -> None:
    """``preexec_fn`` for a child the test stops with SIGINT (Ctrl-C): a test run started in
    the background of a non-interactive shell ignores SIGINT, and its children would inherit
    that (Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cfdash_command(*args: str) -> list[str]:
    """The command line of ``python -m cfdash *args`` with this interpreter."""
    return [sys.executable, "-m", "cfdash", *args]


def run_cfdash(*args: str, timeout: float = 60, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run ``cfdash *args`` to the end, its output captured as text; ``options`` go to
    ``subprocess.run`` (``env``, ``stdin``, ``check``...)."""
    return subprocess.run(
        cfdash_command(*args), capture_output=True, text=True, timeout=timeout, **options
    )


def start_cfdash(*args: str, **options: Any) -> subprocess.Popen[str]:
    """Start ``cfdash *args`` with its stdout and stderr piped (text, unbuffered); ``options``
    go to ``subprocess.Popen``. The caller waits for it, or kills it."""
    options.setdefault("env", {**os.environ, "PYTHONUNBUFFERED": "1"})
    options.setdefault("preexec_fn", interruptible)
    return subprocess.Popen(
        cfdash_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options
    )


LISTENING = re.compile(r"^listening on (ws://127\.0\.0\.1:(\d+)/)$")


class ServeProcess:
    """``python -m cfdash serve --port 0 ...`` in a child process; ``url`` from its first line."""

    def __init__(self, *args: str, stdin_text: str | None = None, timeout: float = 20.0):
        self.proc = start_cfdash("serve", "--port", "0", *args, stdin=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text)
        self.proc.stdin.close()
        line = self.proc.stdout.readline().rstrip("\n")
        match = LISTENING.match(line)
        if match is None:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=timeout)
            raise AssertionError(f"unexpected first line {line!r}; stderr: {err}")
        self.url = match.group(1)
        self.port = int(match.group(2))

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
