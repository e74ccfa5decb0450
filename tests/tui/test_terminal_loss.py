"""``cfdash`` exits once its terminal is gone (issue 4): a real process in a real pty.

Closing the master side of a pseudo-terminal is what sshd does when the connection drops and
tmux on ``kill-session``: Linux hangs the slave up, and sends SIGHUP only if it was the
controlling terminal of the process's session (not under ``setsid``). Both cases are run: the
child either takes the pty as its controlling terminal or just has it on 0, 1 and 2.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cfdash.tui.terminal import LOST_STATUS, TerminalGuard, gone, terminals
from tests.server.helpers import ServeProcess

LAUNCHER = r"""
import fcntl, os, sys, termios
if sys.argv[1] == "ctty":  # as a login shell, sshd's or tmux's child, does
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""
"""Runs ``python ARGS...`` in a new session, with the pty on 0-2 as its controlling terminal
(``ctty``: a hang-up sends SIGHUP) or not (``plain``, like ``setsid``: no SIGHUP)."""
ALT_SCREEN = b"\x1b[?1049h"
LEAVE_ALT_SCREEN = b"\x1b[?1049l"

STUCK_APP = r"""
import os, sys, time
from cfdash.tui.terminal import TerminalGuard

marker, hang = sys.argv[1], sys.argv[2] == "hang"

def cleanup():
    with open(marker, "w") as f:
        f.write("cleanup ran")
    if hang:
        time.sleep(60)

guard = TerminalGuard(cleanup, interval=0.05, grace=0.5, cleanup_timeout=0.3)
guard.start(lambda: None)  # an app that never gets to exit
os.write(1, b"ready\n")
while True:
    time.sleep(1)
"""
"""A guarded program whose exit never comes (and whose cleanup may hang too)."""


class PtyChild:
    """``python ARGS...`` on the slave side of a new 80x24 pty; the test holds the master."""

    def __init__(self, args: list[str], *, ctty: bool, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.attrs = termios.tcgetattr(slave)
        self.slave: int | None = slave
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "ctty" if ctty else "plain", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=env,
        )
        self.output = b""
        self.status: int | None = None

    def read_until(self, done: Callable[[bytes], bool], timeout: float = 15.0) -> None:
        """Read the screen until ``done(output)``."""
        deadline = time.monotonic() + timeout
        while not done(self.output):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no screen (exit {self.proc.poll()}): {self.output[-800:]!r}")
            self.read(0.05)

    def read(self, timeout: float) -> None:
        if select.select([self.master], [], [], timeout)[0]:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:  # EIO: the child closed its side
                time.sleep(timeout)

    def close_slave(self) -> None:
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None

    def hang_up(self) -> None:
        """Close the master, as a dropped SSH connection or a killed tmux session does."""
        self.close_slave()
        os.close(self.master)
        self.master = -1

    def cpu(self) -> float:
        """CPU seconds the child has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait(self, timeout: float) -> tuple[int | None, float, float]:
        """Exit status (None: still running), seconds waited and CPU seconds used in all."""
        start = time.monotonic()
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.status = self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.status, time.monotonic() - start, usage.ru_utime + usage.ru_stime
            if time.monotonic() - start > timeout:
                return None, time.monotonic() - start, self.cpu()
            if self.master >= 0:
                self.read(0.02)
            else:
                time.sleep(0.02)

    def kill(self) -> None:
        if self.status is None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.close_slave()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


def drawn(output: bytes) -> bool:
    """The alternate screen is on and a whole first frame (an 80x24 one is ~4 KB) is out."""
    start = output.find(ALT_SCREEN)
    return start >= 0 and len(output) - start > 2000


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    with ServeProcess("--db", ":memory:", "--no-traders") as serve:
        yield serve


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINFLOOR_", "TEXTUAL"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        PYTHONUNBUFFERED="1",
    )
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


@pytest.fixture
def children() -> Iterator[list[PtyChild]]:
    started: list[PtyChild] = []
    yield started
    for child in started:
        child.kill()


def refused_url() -> str:
    """A loopback port nobody listens on: the dashboard keeps reconnecting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}/"


def dashboard(
    url: str, log: Path, children: list[PtyChild], env: dict[str, str], ctty: bool
) -> PtyChild:
    args = ["-m", "cfdash", "--read-only", "--log", str(log), url]
    child = PtyChild(args, ctty=ctty, env=env)
    children.append(child)
    child.read_until(drawn)
    return child


@pytest.mark.parametrize(
    ("ctty", "live"),
    [(True, True), (False, True), (True, False)],
    ids=["sighup", "no-sighup", "sighup-reconnecting"],
)
def test_the_dashboard_exits_when_its_terminal_goes(
    server: ServeProcess,
    env: dict[str, str],
    children: list[PtyChild],
    tmp_path: Path,
    ctty: bool,
    live: bool,
) -> None:
    log = tmp_path / "cfdash.log"
    child = dashboard(server.url if live else refused_url(), log, children, env, ctty)
    if live:  # connected: the exit has a connection to close
        deadline = time.monotonic() + 5
        while "connected to" not in log.read_text() and time.monotonic() < deadline:
            child.read(0.05)
    used = child.cpu()
    child.hang_up()
    status, seconds, cpu = child.wait(timeout=6)
    assert status is not None, f"still running {seconds:.1f} s after the hang-up"
    assert status == LOST_STATUS
    assert seconds < 3.0
    assert cpu - used < 1.5  # no spinning on the dead terminal
    text = log.read_text()
    reasons = ["SIGHUP", "the terminal is gone"] if ctty else ["the terminal is gone"]
    assert any(f"{reason}: exiting" in text for reason in reasons), text
    assert "ending it" not in text  # the graceful exit made it, the client stopped by it
    if live:
        assert "connected to" in text


def test_q_still_quits_and_restores_the_terminal(
    server: ServeProcess, env: dict[str, str], children: list[PtyChild], tmp_path: Path
) -> None:
    log = tmp_path / "cfdash.log"
    child = dashboard(server.url, log, children, env, ctty=True)
    os.write(child.master, b"q")
    status, seconds, _ = child.wait(timeout=6)
    assert status == 0
    assert seconds < 5
    assert LEAVE_ALT_SCREEN in child.output[child.output.find(ALT_SCREEN) :]
    assert child.slave is not None
    assert termios.tcgetattr(child.slave) == child.attrs  # echo, canonical mode: back
    assert "exiting" not in log.read_text()


@pytest.mark.parametrize("hang", [False, True], ids=["cleanup-runs", "cleanup-hangs"])
def test_the_watchdog_ends_an_exit_that_never_comes(
    env: dict[str, str], children: list[PtyChild], tmp_path: Path, hang: bool
) -> None:
    marker = tmp_path / "cleaned"
    args = ["-c", STUCK_APP, str(marker), "hang" if hang else "no"]
    child = PtyChild(args, ctty=False, env=env)
    children.append(child)
    child.read_until(lambda output: b"ready\r\n" in output)
    child.hang_up()
    status, seconds, _ = child.wait(timeout=5)
    assert status == LOST_STATUS
    assert 0.5 <= seconds < 3.0  # the grace, the cleanup's time if it hangs
    assert marker.read_text() == "cleanup ran"


def test_gone_notices_a_hung_up_pty() -> None:
    master, slave = os.openpty()
    try:
        assert terminals((slave,)) == (slave,) and not gone(slave)
        os.close(master)
        assert gone(slave) and terminals((slave,)) == ()
    finally:
        os.close(slave)
    read, write = os.pipe()
    try:
        assert terminals((read, write)) == ()
    finally:
        os.close(read)
        os.close(write)


def test_finish_without_a_loss_stands_down() -> None:
    cleaned: list[int] = []
    before = signal.getsignal(signal.SIGHUP)
    guard = TerminalGuard(lambda: cleaned.append(1), fds=(), interval=0.01)
    guard.start(lambda: None)
    assert signal.getsignal(signal.SIGHUP) not in (before, signal.SIG_DFL)
    time.sleep(0.05)
    guard.finish()
    guard.finish()
    assert cleaned == [1] and not guard.lost
    assert signal.getsignal(signal.SIGHUP) == before
