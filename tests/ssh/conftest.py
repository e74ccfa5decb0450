"""``cfdash ssh`` run for real: the server in a child process, the OpenSSH client in tmux.

tmux is the terminal: it runs ``ssh -tt`` in a pane of a known size, takes the keys
(``send-keys``), resizes the window and gives back what is drawn (``capture-pane``). Every
tmux here has its own server socket in a temporary directory, killed at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import interruptible
from tests.support.wait import wait_until

if not (shutil.which("ssh") and shutil.which("ssh-keygen") and shutil.which("tmux")):
    pytest.skip("needs the OpenSSH client, ssh-keygen and tmux", allow_module_level=True)

LISTENING = re.compile(r"^listening on ssh://127\.0\.0\.1:(\d+)/$")
SSH_OPTIONS = (
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "IdentitiesOnly=yes",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
)  # fmt: skip


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINFLOOR_", "TEXTUAL"))}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class SSHServer:
    """``python -m cfdash ssh --port 0 ...``: its port and host key from its first two lines,
    its log (stderr) in a file."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log_path = home / f"ssh-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cfdash", "ssh", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env or clean_env(home),
            preexec_fn=interruptible,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().rstrip("\n")
        match = LISTENING.match(line)
        if match is None:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"unexpected first line {line!r}; log: {self.log()}")
        self.port = int(match.group(1))
        self.fingerprint = self.proc.stdout.readline().split()[-1]

    def log(self) -> str:
        return self.log_path.read_text()

    def children(self) -> list[int]:
        """The pids of the sessions' dashboards, in the order they started."""
        return [int(pid) for pid in re.findall(r"child (\d+)", self.log())]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(20)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()

    def ssh(self, key: Path, *args: str) -> list[str]:
        return ["ssh", "-p", str(self.port), "-i", str(key), *SSH_OPTIONS, *args, "me@127.0.0.1"]


class Tmux:
    """A private tmux server; each ``open`` is a window running one command."""

    def __init__(self, directory: Path) -> None:
        self.socket = str(directory / "tmux.sock")
        self.windows = 0

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def open(self, command: list[str], width: int = 100, height: int = 30) -> str:
        """Run ``command`` in a new window of ``width`` x ``height``; the window's target."""
        name = f"w{self.windows}"
        self.windows += 1
        if name == "w0":  # the session, with a placeholder window: the options first
            size = ("-x", str(width), "-y", str(height))
            self("new-session", "-d", "-s", "t", "-n", "idle", *size, "sleep", "3600")
            self("set-option", "-g", "remain-on-exit", "on")
        self("new-window", "-d", "-t", "t", "-n", name, *command)  # run directly, no shell
        self.resize(f"t:{name}", width, height)
        return f"t:{name}"

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-t", target)

    def keys(self, target: str, *keys: str) -> None:
        self("send-keys", "-t", target, *keys)

    def resize(self, target: str, width: int, height: int) -> None:
        self("resize-window", "-t", target, "-x", str(width), "-y", str(height))

    def dead(self, target: str) -> str:
        """The exit status of the window's command once it has ended, else ""."""
        out = self("display", "-p", "-t", target, "#{pane_dead}:#{pane_dead_status}").strip()
        dead, _, status = out.partition(":")
        return status if dead == "1" else ""

    def pid(self, target: str) -> int:
        return int(self("display", "-p", "-t", target, "#{pane_pid}"))

    def wait_for(self, target: str, text: str, timeout: float = 30.0) -> str:
        def shown() -> str:
            screen = self.screen(target)
            return screen if text in screen else ""

        return wait_until(shown, timeout, f"{text!r} on {target}: {self.screen(target)}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``friend`` (listed in ``authorized``) and ``stranger`` (not)."""
    home = tmp_path_factory.mktemp("keys")
    friend, stranger = keygen(home / "friend"), keygen(home / "stranger")
    authorized = home / "authorized_keys"
    authorized.write_text((home / "friend.pub").read_text())
    return {"friend": friend, "stranger": stranger, "authorized": authorized}


@pytest.fixture(scope="module")
def tmux(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tmux]:
    terminal = Tmux(tmp_path_factory.mktemp("tmux"))
    yield terminal
    terminal.kill()


def gone(pid: int) -> bool:
    """The process has ended and been reaped (no zombie left)."""
    return not Path(f"/proc/{pid}").exists()
