"""Issue 13, break 5: a full disk under a real ``cfdash serve`` process.

``fill_disk`` (a test fault: ``PRAGMA max_page_count``) makes the next commit that needs a new
page fail with SQLITE_FULL, as a full disk does. The exchange used to exit 1, close every
client with 1011 and log "cannot rollback - no transaction is active". Now it stays up:
orders and cancels are refused with error 8, reads, watches and the book go on, the cause is
logged once, and orders are accepted again once there is space. Nothing acknowledged is lost
and nothing refused appears after a SIGKILL and a restart.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from cfdash.server.faults import CONTROL_METHOD
from tests.support.processes import ServeProcess
from tests.support.servers import GBP, XBT, Client
from tests.support.wait import WAIT, wait_until

PRICE = 30_000_00
QTY = 1_000_000  # 0.01 XBT
REFUSED = "The exchange cannot store this now (disk full); nothing was changed."

_tags = itertools.count(10_000)


def ask(client: Client, method: str, **fields: Any) -> dict[str, Any]:
    """``client.call`` with a generous timeout (a loaded machine)."""
    tag = next(_tags)
    client.send({"method": method, "tag": tag, **fields})
    return client.reply(tag, timeout=WAIT)


def place(client: Client, tonce: int, price: int = PRICE) -> dict[str, Any]:
    return ask(
        client, "PlaceOrder", base=XBT, counter=GBP, quantity=QTY, price=price - tonce,
        tonce=tonce,
    )  # fmt: skip


def orders_by_tonce(client: Client) -> dict[int, int]:
    reply = ask(client, "GetOrders")
    assert reply["error_code"] == 0, reply
    return {o["tonce"]: o["id"] for o in reply["orders"]}


def test_a_full_disk_refuses_orders_and_keeps_serving(tmp_path: Path) -> None:
    db = tmp_path / "exchange.sqlite3"
    args = ("--db", str(db), "--no-traders")
    with ServeProcess("--test-faults", *args) as serve:
        with Client(serve.url) as trader, Client(serve.url) as watcher:
            assert trader.authenticate()["error_code"] == 0
            assert ask(watcher, "WatchOrders", base=XBT, counter=GBP, watch=True)["orders"] == []
            acknowledged = {1: place(trader, 1)["id"]}
            assert ask(trader, CONTROL_METHOD, fault="fill_disk")["error_code"] == 0

            # orders go on until one needs a page the disk does not have
            refused: dict[int, dict[str, Any]] = {}
            for tonce in range(2, 2000):
                reply = place(trader, tonce)
                if reply["error_code"]:
                    refused[tonce] = reply
                    break
                acknowledged[tonce] = reply["id"]
            assert refused, "the disk never filled up"
            # from now on orders and cancels are refused up front, with the same message
            first_refused = max(refused)
            refused[first_refused + 1] = place(trader, first_refused + 1)
            cancel = ask(trader, "CancelOrder", id=acknowledged[1])
            cancel_all = ask(trader, "CancelAllOrders")
            for reply in [*refused.values(), cancel, cancel_all]:
                assert reply["error_code"] == 8 and reply["error_msg"] == REFUSED, reply
            balances = trader.balances()

            # reads, watches and the book go on, and show only what was acknowledged
            assert orders_by_tonce(trader) == acknowledged
            estimate = ask(trader, "EstimateMarketOrder", base=XBT, counter=GBP, quantity=-QTY)
            assert estimate["error_code"] == 0 and estimate["quantity"] == QTY
            with Client(serve.url) as late:
                assert late.authenticate()["error_code"] == 0
                assert orders_by_tonce(late) == acknowledged
                snapshot = ask(late, "WatchOrders", base=XBT, counter=GBP, watch=True)
                assert {o["id"] for o in snapshot["orders"]} == set(acknowledged.values())
            # the watcher saw every acknowledged order open, and nothing else
            ask(watcher, "WatchTicker", base=XBT, counter=GBP, watch=True)  # a barrier
            opened = {n["id"] for n in watcher.notices if n["notice"] == "OrderOpened"}
            assert opened == set(acknowledged.values())
            assert serve.proc.poll() is None  # still serving

            # space comes back: orders are accepted again (the server retries every 5 s)
            assert ask(trader, CONTROL_METHOD, fault="free_disk")["error_code"] == 0
            after = max(refused) + 1
            wait_until(
                lambda: place(trader, after)["error_code"] == 0, what="accepted", interval=0.25
            )
            acknowledged[after] = orders_by_tonce(trader)[after]
            balances = trader.balances()
        serve.proc.kill()  # SIGKILL: nothing more is written
        serve.proc.wait(WAIT)
        assert serve.proc.stderr is not None
        log = serve.proc.stderr.read()
    full = [line for line in log.splitlines() if "full" in line]
    assert len(full) == 1 and "database or disk is full" in full[0], log
    assert "cannot rollback" not in log and "CRITICAL" not in log, log
    assert "can be stored again" in log, log

    with ServeProcess(*args) as again, Client(again.url) as client:
        assert client.authenticate()["error_code"] == 0
        assert orders_by_tonce(client) == acknowledged  # none lost, none of the refused
        assert client.balances() == balances
