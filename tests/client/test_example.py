"""``cfdash example`` against the scripted server, as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.support.processes import interruptible

from .scripted_server import COOKIE, PASSPHRASE, USER_ID, ScriptedServer


def _run_example(
    server: ScriptedServer, *extra: str, env: dict[str, str] | None = None, until: int = 1
) -> tuple[str, str, int]:
    """Start ``cfdash example``, wait until ``until`` balance requests, Ctrl-C it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfdash", "example", server.url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
        env={**os.environ, **(env or {})},
    )
    try:
        session = server.session(timeout=10)
        server.wait_for(lambda: len(session.received) >= 2, timeout=10)
        session.push({"notice": "TickerChanged", "base": 63488, "counter": 64128, "last": 42})
        if until:
            server.wait_received("GetBalances", until, timeout=10)
        else:
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return out, err, proc.returncode


def _messages(out: str) -> list[dict]:
    messages = []
    for line in out.splitlines():
        stamp, _, text = line.partition(": ")
        assert float(stamp) > 1_600_000_000
        messages.append(json.loads(text))
    return messages


def test_example_prints_the_feed_and_balances(server: ScriptedServer) -> None:
    out, err, code = _run_example(
        server, "-i", str(USER_ID), "-c", COOKIE, "-p", PASSPHRASE, "--interval", "0.2", until=2
    )
    assert code == 0, err
    messages = _messages(out)
    assert messages[0]["notice"] == "Welcome"
    assert {"notice": "TickerChanged", "base": 63488, "counter": 64128, "last": 42} in messages
    assert any("orders" in m and m.get("error_code") == 0 for m in messages)
    assert sum("balances" in m for m in messages) >= 1
    methods = server.session().methods()
    assert methods[:2] == ["WatchOrders", "WatchTicker"]
    assert methods[2] == "Authenticate" and "GetBalances" in methods
    assert server.session().authenticated
    assert PASSPHRASE not in out + err


def test_example_passphrase_from_the_environment(server: ScriptedServer) -> None:
    _, err, code = _run_example(
        server,
        "-i",
        "1",
        "-c",
        COOKIE,
        "--interval",
        "0.2",
        env={"COINFLOOR_PASSPHRASE": PASSPHRASE},
    )
    assert code == 0, err
    assert server.session().authenticated
    assert "warning:" not in err  # only -p on the command line is warned about


def test_example_without_credentials_only_watches(server: ScriptedServer) -> None:
    out, err, code = _run_example(server, "--interval", "0.1", until=0)
    assert code == 0, err
    assert server.session().methods() == ["WatchOrders", "WatchTicker"]
    assert any(m.get("last") == 42 for m in _messages(out))


def test_example_asks_for_the_passphrase(server: ScriptedServer) -> None:
    command = [sys.executable, "-m", "cfdash", "example", server.url, "-i", "1", "-c", COOKIE]
    proc = subprocess.Popen(
        [*command, "--interval", "0.2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
        env={k: v for k, v in os.environ.items() if k != "COINFLOOR_PASSPHRASE"},
        start_new_session=True,  # no controlling terminal: getpass would warn and fall back
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.flush()
        server.wait_received("GetBalances", timeout=10)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert server.session().authenticated
    assert PASSPHRASE not in out + err
    assert err == ""  # read from stdin (not a terminal) without a GetPassWarning


def test_example_without_a_passphrase_on_stdin_says_so() -> None:
    """stdin not a terminal and empty: a clear message and status 2 (was: exit 130 with only
    a GetPassWarning). Nothing is connected to: it fails before."""
    result = subprocess.run(
        [sys.executable, "-m", "cfdash", "example", "ws://127.0.0.1:9/", "-i", "1", "-c", COOKIE],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
        env={k: v for k, v in os.environ.items() if k != "COINFLOOR_PASSPHRASE"},
        start_new_session=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "cfdash example: no passphrase: stdin is not a terminal and gave none; pipe it in "
        "(one line), set $COINFLOOR_PASSPHRASE, or run in a terminal to be asked"
    )


def test_example_reports_a_refused_connection() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cfdash", "example", "ws://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert out.returncode == 1
    assert "error:" in out.stderr and out.stdout == ""


def test_passphrase_on_the_command_line_is_warned_about(server: ScriptedServer) -> None:
    _, err, code = _run_example(
        server, "-i", str(USER_ID), "-c", COOKIE, "-p", PASSPHRASE, "--interval", "0.2"
    )
    assert code == 0, err
    assert server.session().authenticated  # -p still works (the seed's option)
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "visible to other users" in warnings[0] and "COINFLOOR_PASSPHRASE" in warnings[0]
    assert PASSPHRASE not in err


def test_help_says_the_option_is_visible_to_other_users() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cfdash", "example", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "visible to other users" in text and "COINFLOOR_PASSPHRASE" in text
