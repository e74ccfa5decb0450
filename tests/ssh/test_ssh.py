"""``cfdash ssh`` with the real OpenSSH client: sessions, auth, resizes, read-only, --trade."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
from tests.ssh.conftest import SSHServer, Tmux, clean_env, gone
from tests.support.processes import run_cfdash
from tests.support.servers import start_exchange
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow
DRAWN = "Book XBT:GBP"
REFUSED = "read-only: trading is off"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path]) -> Iterator[SSHServer]:
    """View only, on its own embedded exchange (traders on: a live market)."""
    home = tmp_path_factory.mktemp("server")
    ssh = SSHServer(home, "--authorized-keys", str(keys["authorized"]), "--seed", "7")
    yield ssh
    ssh.stop()


def session(tmux: Tmux, server: SSHServer, keys: dict[str, Path], **size: int) -> str:
    target = tmux.open(server.ssh(keys["friend"], "-tt"), **size)
    tmux.wait_for(target, DRAWN)
    tmux.wait_for(target, f"user {DEMO_USER_ID}")  # logged in with the server's credentials
    return target


def quit(tmux: Tmux, server: SSHServer, target: str) -> None:
    """``q`` once the footer offers it (no dialog, no field focused): the server ends the
    session, with the dashboard's status 0. (The server's log is the witness, not the pane: the
    ssh client does exit, but tmux sometimes leaves it a zombie for seconds, its pane dead with
    no exit status yet.)"""
    wait_until(lambda: "q Quit" in tmux.screen(target), what=f"q offered: {tmux.screen(target)}")
    ended = server.log().count(", exit 0, ")
    tmux.keys(target, "q")
    wait_until(
        lambda: server.log().count(", exit 0, ") > ended,
        what=f"the end of {target}: {tmux.screen(target)}",
    )


def _state(pid: int) -> str:
    """A process's state line and kernel wait channel (for a failure's message)."""
    if gone(pid):
        return f"{pid}: gone"
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return f"{pid}: {status[2]} wchan {Path(f'/proc/{pid}/wchan').read_text()}"


def width(screen: str) -> int:
    """How wide the dashboard is drawn: its status bar, which ends with the clock (the last
    column is left blank)."""
    return len(status_line(screen).rstrip()) + 1


def status_line(screen: str) -> str:
    return next(line for line in screen.splitlines() if line.rstrip().endswith("UTC"))


def test_an_authorized_key_sees_the_live_dashboard(server, tmux, keys) -> None:
    target = session(tmux, server, keys)
    screen = tmux.wait_for(target, f"user {DEMO_USER_ID}")
    # View only: logged in as the server's user, private mode on, nothing to trade with.
    assert "connected" in status_line(screen) and "read-only" in status_line(screen)
    clock = status_line(screen).split()[-2]
    wait_until(lambda: status_line(tmux.screen(target)).split()[-2] != clock, what="a new second")
    log = server.log()
    assert "logged in" in log and "started, 100x30" in log
    assert DEMO_PASSPHRASE not in log and DEMO_COOKIE not in log
    quit(tmux, server, target)


def test_a_strangers_key_is_refused(server, keys) -> None:
    done = subprocess.run(
        [*server.ssh(keys["stranger"], "-T"), "true"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 255
    assert "Permission denied (publickey)" in done.stderr
    assert "refused key" in server.log()


def test_a_session_without_a_pty_is_told_and_closed(server, keys) -> None:
    done = subprocess.run(
        [*server.ssh(keys["friend"], "-T")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "connect with a terminal (ssh -t)" in done.stdout


def test_a_resize_is_followed(server, tmux, keys) -> None:
    target = session(tmux, server, keys, width=100, height=30)
    assert width(tmux.screen(target)) == 100
    tmux.resize(target, 130, 36)

    def redrawn() -> bool:
        screen = tmux.screen(target)
        return width(screen) == 130 and len(screen.splitlines()) == 36

    wait_until(redrawn, what="the dashboard redrawn at 130x36")
    # The wide layout shows the balances beside the trades, masked (private mode).
    screen = tmux.wait_for(target, "Balances")
    assert "•••" in screen
    quit(tmux, server, target)
    wait_until(lambda: "last size 130x36" in server.log(), what="the end logged")


def test_read_only_refuses_trading_keys(server, tmux, keys) -> None:
    target = session(tmux, server, keys)
    tmux.keys(target, "b", "s", "c", "C")
    tmux.wait_for(target, REFUSED)
    screen = tmux.screen(target)
    assert "Buy XBT" not in screen and "Sell XBT" not in screen  # no order form opened
    tmux.keys(target, "h")  # the message history: one note per key
    wait_until(lambda: tmux.screen(target).count(REFUSED) == 4, what="4 refusals")
    tmux.keys(target, "Escape")
    quit(tmux, server, target)


def test_two_sessions_q_and_a_dropped_connection_end_only_their_own(server, tmux, keys) -> None:
    first, second, third = (session(tmux, server, keys) for _ in range(3))
    children = server.children()[-3:]
    quit(tmux, server, first)
    wait_until(lambda: gone(children[0]), what="the first dashboard reaped")
    # A dropped connection: the client killed, its dashboard is ended and reaped.
    os.kill(tmux.pid(second), signal.SIGKILL)
    wait_until(lambda: gone(children[1]), what="the second dashboard ended and reaped")
    # The third goes on: still drawing (its clock moves) and still taking keys.
    clock = status_line(tmux.screen(third)).split()[-2]
    wait_until(lambda: status_line(tmux.screen(third)).split()[-2] != clock, what="a new second")
    assert server.proc.poll() is None and not gone(children[2])
    tmux.keys(third, "?")
    tmux.wait_for(third, "Escape")
    tmux.keys(third, "Escape")
    quit(tmux, server, third)


@pytest.mark.parametrize(
    "content", [None, "", "# only a comment\n"], ids=["missing", "empty", "comment"]
)
def test_no_authorized_keys_refuses_to_start(tmp_path, content) -> None:
    path = tmp_path / "authorized_keys"
    if content is not None:
        path.write_text(content)
    done = run_cfdash("ssh", "--authorized-keys", str(path), env=clean_env(tmp_path))
    assert done.returncode == 2
    assert "ssh-keygen -t ed25519" in done.stderr and str(path) in done.stderr
    assert done.stdout == ""


def test_the_host_key_is_kept_the_cap_holds_and_sigterm_ends_the_sessions(tmp_path, tmux, keys):
    args = ("--authorized-keys", str(keys["authorized"]), "--max-sessions", "1", "--no-traders")
    first = SSHServer(tmp_path, *args)
    try:
        session(tmux, first, keys)
        full = subprocess.run(
            [*first.ssh(keys["friend"], "-tt")], capture_output=True, text=True, timeout=60
        )
        assert "the server is full (1 sessions" in full.stdout
        child = first.children()[0]
        assert first.stop() == 0, first.log()
        assert gone(child)
        assert "session 1 (" in first.log() and "ended after" in first.log()
    finally:
        first.close()
    key = tmp_path / "data" / "cfdash" / "ssh_host_ed25519_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = SSHServer(tmp_path, *args)
    try:
        assert again.fingerprint == first.fingerprint
    finally:
        assert again.stop() == 0


def test_trade_places_an_order_with_the_servers_credentials(tmp_path, tmux, keys) -> None:
    exchange = start_exchange()
    credentials = {
        "COINFLOOR_USER_ID": str(DEMO_USER_ID),
        "COINFLOOR_COOKIE": DEMO_COOKIE,
        "COINFLOOR_PASSPHRASE": DEMO_PASSPHRASE,
    }
    env = clean_env(tmp_path, **credentials)
    args = ("--authorized-keys", str(keys["authorized"]), "--trade", exchange.url)
    ssh = SSHServer(tmp_path, *args, env=env)
    try:
        assert "WARNING: --trade" in ssh.log()
        target = session(tmux, ssh, keys)
        tmux.wait_for(target, f"user {DEMO_USER_ID}")
        child = ssh.children()[0]
        # The credentials are in neither the dashboard's command line nor its environment.
        for secret in ("environ", "cmdline"):
            text = Path(f"/proc/{child}/{secret}").read_bytes()
            assert DEMO_PASSPHRASE.encode() not in text and DEMO_COOKIE.encode() not in text
        tmux.keys(target, "b", "0.1", "Tab", "1000", "Enter")
        tmux.wait_for(target, "order 1 placed")

        def placed() -> list:
            return exchange.call(lambda s: s.core.open_orders(DEMO_USER_ID))

        orders = wait_until(placed, what="the order on the exchange")
        assert len(orders) == 1
        tmux.keys(target, "Escape")  # leave the form, whose fields would take the q
        quit(tmux, ssh, target)
        assert DEMO_PASSPHRASE not in ssh.log()
    finally:
        ssh.stop()
        exchange.stop()
