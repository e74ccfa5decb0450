"""A bug inside an engine command handler, over a real loopback server: it is logged with its
traceback and counted, and the server undoes its batch like a refused commit (nothing
half-applied is acknowledged or committed; the command is refused) and goes on serving."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from cfdash.server.app import ServerThread
from cfdash.server.durability import BUG_REFUSAL
from cfdash.server.faults import FaultInjected, Faults
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE

from .helpers import GBP, XBT, Client

PRICE = 30_000_00
QTY = 10_000_000


def test_an_internal_error_undoes_its_batch_and_the_server_goes_on(
    make_exchange: Callable[..., ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    faults = Faults()
    exchange = make_exchange(faults=faults)
    client = Client(exchange.url)
    watcher = Client(exchange.url)
    try:
        assert client.authenticate()["error_code"] == 0
        first = client.place(QTY, PRICE, tonce=1)
        assert first["error_code"] == 0, first
        before = client.balances()
        assert watcher.call("WatchOrders", base=XBT, counter=GBP, watch=True)["error_code"] == 0
        faults.arm("PlaceOrder", "raise")
        with caplog.at_level(logging.ERROR):
            bad = client.place(QTY, PRICE - 1, tonce=2)
            # refused, and nothing of it shows: not in the orders, not in the balances
            assert bad == {"tag": bad["tag"], "error_code": 8, "error_msg": BUG_REFUSAL}
            orders = client.call("GetOrders")["orders"]
            assert [(o["id"], o["tonce"]) for o in orders] == [(first["id"], 1)]
            assert client.balances() == before
            # the server goes on: the same connection trades, the watcher stays
            third = client.place(QTY, PRICE - 2, tonce=3)
            assert third["error_code"] == 0, third
            opened = watcher.wait_notice(lambda n: n.get("notice") == "OrderOpened", timeout=30)
            after = client.balances()
    finally:
        client.close()
        watcher.close()
    # the watcher saw the third order, never the half-applied one
    assert opened["id"] == third["id"]
    assert not [n for n in watcher.notices if n.get("price") == PRICE - 1]
    server = exchange.server
    assert server is not None and server.core is not None
    assert server.failure is None and server.core.internal_errors == 1
    assert faults.fired["raise"] == 1
    # the engine logged the traceback at error level, without the cookie or the passphrase
    records = [r for r in caplog.records if r.name == "cfdash.core.engine.commands"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR and "PlaceOrder" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is FaultInjected
    assert any("batch was undone" in r.getMessage() for r in caplog.records)
    assert DEMO_COOKIE not in caplog.text and DEMO_PASSPHRASE not in caplog.text
    # the store holds what was acknowledged, and nothing of the refused order
    exchange.stop()
    again = make_exchange()
    with Client(again.url) as client:
        assert client.authenticate()["error_code"] == 0
        orders = client.call("GetOrders")["orders"]
        assert sorted((o["id"], o["tonce"]) for o in orders) == [(first["id"], 1), (third["id"], 3)]
        assert client.balances() == after
