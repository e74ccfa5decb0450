"""Fault injection in a ``cfdash serve`` process: only with --test-faults or the env var."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from cfdash.server.faults import CONTROL_METHOD, ENV_VAR
from tests.support.processes import ServeProcess, run_cfdash
from tests.support.servers import Client

ARGS = ("--db", ":memory:", "--no-traders")


def test_control_command_drops_another_connection() -> None:
    with (
        ServeProcess("--test-faults", *ARGS) as serve,
        Client(serve.url) as victim,
        Client(serve.url) as control,
    ):
        reply = control.call(CONTROL_METHOD, fault="drop")
        assert reply["error_code"] == 0 and reply["fired"] == {}
        with pytest.raises(ConnectionClosed):
            victim.call("WatchTicker", base=63488, counter=64032, watch=True)
        status = control.call(CONTROL_METHOD, fault="status")
        assert status["fired"] == {"drop": 1}
        assert len(status["sessions"]) == 1  # only the controller is left
        bad = control.call(CONTROL_METHOD, fault="explode")
        assert bad["error_code"] == 8 and "unknown fault" in bad["error_msg"]


def test_env_var_arms_drop_after_over_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "1")
    with ServeProcess(*ARGS) as serve, Client(serve.url) as client:
        reply = client.call(CONTROL_METHOD, fault="arm", target="PlaceOrder", action="drop_after")
        assert reply["error_code"] == 0
        assert client.authenticate()["error_code"] == 0
        with pytest.raises(ConnectionClosed):
            client.place(10_000_000, 90_000)  # executed, but the reply never comes
        with Client(serve.url) as fresh:
            assert fresh.authenticate()["error_code"] == 0
            orders = fresh.call("GetOrders")["orders"]
            assert [o["quantity"] for o in orders] == [10_000_000]


def test_without_the_flag_the_control_command_is_unknown() -> None:
    with ServeProcess(*ARGS) as serve, Client(serve.url) as client:
        reply = client.call(CONTROL_METHOD, fault="drop")
        assert reply["error_code"] == 8
        client.call("WatchTicker", base=63488, counter=64032, watch=True)  # still connected


def test_the_flag_is_hidden_from_help() -> None:
    result = run_cfdash("serve", "--help", timeout=30, check=True)
    assert "--add-user" in result.stdout and "test-faults" not in result.stdout
