"""``cfdash 2>err.log`` draws on the terminal (Textual draws on stderr): a real process in a
real pty, its stderr a file; and without any terminal it says so and exits 2."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cfdash.tui.main import NO_TERMINAL

ALT_SCREEN = b"\x1b[?1049h"
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINFLOOR_", "TEXTUAL"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        TERM="xterm-256color",
        PYTHONUNBUFFERED="1",
    )
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


def read_until(
    master: int,
    proc: subprocess.Popen[bytes],
    done: Callable[[bytes], bool],
    timeout: float = 20.0,
    *,
    exit_ok: bool = False,
) -> bytes:
    """Read the terminal (so that the child never blocks writing) until ``done(output)``."""
    output = b""
    deadline = time.monotonic() + timeout
    while not done(output):
        if time.monotonic() > deadline or (proc.poll() is not None and not exit_ok):
            raise AssertionError(f"exit {proc.poll()}; screen: {output[-600:]!r}")
        if select.select([master], [], [], 0.05)[0]:
            try:
                output += os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                time.sleep(0.05)
    return output


@pytest.mark.parametrize("stdout", ["pty", "file"])
def test_the_dashboard_draws_on_the_terminal_with_stderr_redirected(
    env: dict[str, str], tmp_path: Path, stdout: str
) -> None:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    attrs = termios.tcgetattr(slave)
    err_log = tmp_path / "err.log"
    out_file = tmp_path / "out.txt"
    with err_log.open("wb") as err, out_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cfdash", "--no-traders"],
            stdin=slave,
            stdout=slave if stdout == "pty" else out,
            stderr=err,
            start_new_session=True,
            env=env,
        )
    try:
        # A whole first frame on the terminal: the order book of the embedded exchange.
        screen = read_until(
            master, proc, lambda o: ALT_SCREEN in o and b"XBT:GBP" in o and b"Price" in o
        )
        os.write(master, b"q")
        screen += read_until(master, proc, lambda o: LEAVE_ALT_SCREEN in o, exit_ok=True)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0
    assert LEAVE_ALT_SCREEN in screen[screen.find(ALT_SCREEN) :]
    assert termios.tcgetattr(slave) == attrs  # echo, canonical mode: back
    os.close(slave)
    os.close(master)
    for path in (err_log, out_file):
        assert b"\x1b[" not in path.read_bytes()  # nothing drawn into the files


def test_without_a_terminal_the_dashboard_says_so(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cfdash", "--no-traders"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        env=env,
        start_new_session=True,
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip() == f"cfdash: {NO_TERMINAL}"
    assert b"\x1b[" not in result.stdout + result.stderr


def test_help_says_where_the_dashboard_draws() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cfdash", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "draws on the terminal even when stderr or stdout is redirected" in text
    assert "(cfdash 2>err.log)" in text
