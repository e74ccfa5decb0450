"""The pieces of ``cfdash ssh`` with no sockets: keys, the host key, a session's launch."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cfdash.ssh.child import read_credentials
from cfdash.ssh.cli import make_launch
from cfdash.ssh.server import SetupError, host_key, load_authorized_keys
from tests.ssh.conftest import keygen


def test_a_sessions_environment_has_no_credentials_and_the_clients_terminal(monkeypatch):
    monkeypatch.setenv("COINFLOOR_PASSPHRASE", "opensesame")
    monkeypatch.setenv("COINFLOOR_COOKIE", "cookie")
    monkeypatch.setenv("COLORTERM", "host's")
    monkeypatch.setenv("TMUX", "/tmp/host")
    client = {"COLORTERM": "truecolor", "LD_PRELOAD": "/evil.so", "LANG": "C.UTF-8"}
    launch = make_launch(["python", "-m", "cfdash.ssh.child"], "xterm-kitty", client, b"{}")
    assert not any(key.startswith("COINFLOOR_") for key in launch.env)
    assert "opensesame" not in " ".join([*launch.argv, *launch.env.values()])
    assert launch.env["TERM"] == "xterm-kitty" and launch.env["COLORTERM"] == "truecolor"
    assert launch.env["LANG"] == "C.UTF-8"
    assert "LD_PRELOAD" not in launch.env and "TMUX" not in launch.env
    assert launch.env["PYTHONPATH"].split(os.pathsep)[0] == str(Path(__file__).parents[2])


def test_credentials_go_through_a_pipe() -> None:
    read_end, write_end = os.pipe()
    data = {"COINFLOOR_USER_ID": "1", "COINFLOOR_COOKIE": "c", "COINFLOOR_PASSPHRASE": "p"}
    os.write(write_end, json.dumps({**data, "OTHER": "x"}).encode())
    os.close(write_end)
    assert read_credentials(read_end) == data
    with pytest.raises(OSError):
        os.fstat(read_end)  # closed once read


def test_authorized_keys_are_read_and_bad_ones_refused(tmp_path: Path) -> None:
    path = tmp_path / "authorized_keys"
    keygen(tmp_path / "id")
    path.write_text("# mine\n" + (tmp_path / "id.pub").read_text())
    assert load_authorized_keys(path) is not None
    path.write_text("ssh-ed25519 not-base64 me\n")
    with pytest.raises(SetupError, match=str(path)):
        load_authorized_keys(path)


def test_the_host_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ssh_host_ed25519_key"
    key = host_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert host_key(path).get_fingerprint() == key.get_fingerprint()
    path.chmod(0o644)
    with pytest.raises(SetupError, match="chmod 600"):
        host_key(path)
