"""A bug inside an engine command handler, over a real loopback server: it is logged with its
traceback and counted, and the server treats it like a failed commit (nothing half-applied is
acknowledged or committed, every session is closed)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from cfdash.server.app import CLOSE_FAILURE, ServerThread
from cfdash.server.faults import FaultInjected, Faults
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID

from .helpers import GBP, XBT, Client

PRICE = 30_000_00
QTY = 10_000_000


def test_an_internal_error_fails_the_server_like_a_failed_commit(
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
        with caplog.at_level(logging.ERROR, logger="cfdash.core.engine.commands"):
            client.send(
                {"method": "PlaceOrder", "tag": 99, "base": XBT, "counter": GBP,
                 "quantity": QTY, "price": PRICE - 1, "tonce": 2}
            )  # fmt: skip
            seen = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    seen.append(client.recv(timeout=30))
            with pytest.raises(ConnectionClosed) as watcher_closed:
                while True:
                    seen.append(watcher.recv(timeout=30))
            exchange.stop()
    finally:
        client.close()
        watcher.close()
    # nothing of the half-applied command was acknowledged: no reply, no notice
    assert not [m for m in seen if m.get("tag") == 99 or m.get("notice") == "OrderOpened"]
    for info in (closed, watcher_closed):
        assert info.value.rcvd is not None and info.value.rcvd.code == CLOSE_FAILURE
    server = exchange.server
    assert server is not None and server.core is not None
    assert server.core.internal_errors == 1
    # the handler had placed the order before it raised: the state in memory is half-applied
    assert len(server.core.open_orders(DEMO_USER_ID)) == 2
    assert isinstance(server.failure, FaultInjected)
    assert faults.fired["raise"] == 1
    # the engine logged the traceback at error level, without the cookie or the passphrase
    records = [r for r in caplog.records if r.name == "cfdash.core.engine.commands"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR and "PlaceOrder" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is FaultInjected
    assert DEMO_COOKIE not in caplog.text and DEMO_PASSPHRASE not in caplog.text
    # and nothing of it was committed: the store holds the state before it
    again = make_exchange()
    with Client(again.url) as client:
        assert client.authenticate()["error_code"] == 0
        orders = client.call("GetOrders")["orders"]
        assert [(o["id"], o["tonce"]) for o in orders] == [(first["id"], 1)]
        assert client.balances() == before
