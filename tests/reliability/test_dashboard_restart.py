"""The dashboard across an exchange crash: ``cfdash serve`` is SIGKILLed under a live dashboard
(a real ``WSClient`` with reconnection, ``ClientSource`` and the app, driven with Textual's
pilot) holding an open order.

While the exchange is down the status bar says reconnecting, the data is marked stale and an
order is refused at once with a clear message. Meanwhile the market moves (a second server on
the same database fills part of the order and changes the book, then exits). When the exchange
is back on the same port and database the dashboard recovers by itself: connected, the book
equal to a fresh connection's snapshot, the (partly filled) order still listed, the balances
equal to the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from cfdash.client import WSClient
from cfdash.core.assets import PAIRS, V2
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
from cfdash.tui.app import DashboardApp
from cfdash.tui.live import ClientSource, Credentials
from cfdash.tui.source import BookRows
from cfdash.tui.widgets.balances import BalancesView
from cfdash.tui.widgets.ladder import OrderBookLadder
from cfdash.tui.widgets.orders import OpenOrdersView
from tests.support import wait
from tests.support.processes import ServeProcess
from tests.support.servers import Client, free_port

pytestmark = pytest.mark.slow  # every test here takes seconds (see pyproject's markers)

PAIR = PAIRS[0]  # XBT:GBP
OTHER = (2, "b3RoZXIgdXNlcidzIGNvb2tpZQ==", "another passphrase")
SIZE = (120, 36)
WAIT = wait.WAIT


def q(text: str) -> int:
    return V2.quantity_to_wire(PAIR, text)


def p(text: str) -> int:
    return V2.price_to_wire(PAIR, text)


def serve(db: Path, port: int, *, add_other: bool = False) -> ServeProcess:
    """``cfdash serve`` on ``db`` (no traders); on ``port`` (0: any free port)."""
    args = ["--db", str(db), "--no-traders", "--port", str(port)]
    if add_other:
        args += ["--add-user", str(OTHER[0]), "--cookie", OTHER[1]]
        return ServeProcess(*args, stdin_text=OTHER[2] + "\n")
    return ServeProcess(*args)


def other_client(url: str) -> Client:
    client = Client(url)
    assert client.authenticate(OTHER[0], OTHER[2], OTHER[1])["error_code"] == 0
    return client


def truth(url: str) -> dict[str, Any]:
    """A fresh connection's view: the book as levels, the demo user's orders and balances."""
    with Client(url) as fresh:
        assert fresh.authenticate()["error_code"] == 0
        snapshot = fresh.call("WatchOrders", base=PAIR.base, counter=PAIR.counter, watch=True)
        orders = fresh.call("GetOrders")
        assert snapshot["error_code"] == 0 and orders["error_code"] == 0
        return {
            "book": levels(snapshot["orders"]),
            "orders": {o["id"]: o["quantity"] for o in orders["orders"]},
            "balances": fresh.balances(),
        }


def levels(orders: list[dict[str, Any]]) -> BookRows:
    """A snapshot aggregated as the ladder shows it: (price, size, count), best first."""
    bids: dict[int, list[int]] = {}
    asks: dict[int, list[int]] = {}
    for order in orders:
        side = bids if order["quantity"] > 0 else asks
        level = side.setdefault(order["price"], [0, 0])
        level[0] += abs(order["quantity"])
        level[1] += 1
    return BookRows(
        bids=tuple((price, *bids[price]) for price in sorted(bids, reverse=True)),  # type: ignore[misc]
        asks=tuple((price, *asks[price]) for price in sorted(asks)),  # type: ignore[misc]
    )


def shown(app: DashboardApp) -> dict[str, Any]:
    """What the dashboard shows, in the terms of ``truth``."""
    balances = app.query_one(BalancesView).balances or ()
    return {
        "book": app.book,
        "orders": {o.id: o.remaining for o in app.query_one(OpenOrdersView).orders},
        "balances": {b.asset: b.available for b in balances},
    }


def status_text(app: DashboardApp) -> str:
    return str(app.query_one("#status").render())


async def until(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = WAIT) -> Any:
    """:func:`tests.support.wait.until`, with this module's longer timeout and slower poll."""
    return await wait.until(pilot, condition, timeout, interval=0.05)


async def test_dashboard_recovers_from_an_exchange_crash(tmp_path: Path) -> None:
    db, port = tmp_path / "exchange.sqlite3", free_port()
    first = await asyncio.to_thread(serve, db, port, add_other=True)
    url = first.url
    assert url == f"ws://127.0.0.1:{port}/"
    with other_client(url) as other:
        assert other.place(-q("0.5"), p("41000"))["error_code"] == 0

    client = WSClient(
        url, reconnect=True, socket_timeout=3, ping_interval=15, backoff_base=0.1, backoff_cap=0.5
    )
    credentials = Credentials(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)
    source = ClientSource(client, credentials=credentials)
    app = DashboardApp(source, pair=PAIR)
    servers = [first]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.status.connected and app.status.user_id == DEMO_USER_ID)
            await until(pilot, lambda: app.book.asks == ((p("41000"), q("0.5"), 1),))
            # an open order, placed from the keyboard
            await pilot.press("b", *"0.25", "tab", *"40000", "enter")
            view = app.query_one(OpenOrdersView)
            order = await until(pilot, lambda: next(iter(view.orders), None))
            assert (order.side, order.price, order.remaining) == ("buy", p("40000"), q("0.25"))
            await until(pilot, lambda: shown(app) == truth(url))

            # the exchange dies
            first.kill()
            await until(pilot, lambda: app.status.state == "reconnecting")
            await pilot.pause(0.1)
            assert "reconnecting" in status_text(app) and "stale" in status_text(app)
            assert app.query_one(OrderBookLadder).stale and view.stale
            assert app.query_one(BalancesView).stale
            # an order now is refused at once, with the reason in the form
            started = time.monotonic()
            await pilot.press("escape", "s", *"0.1", "tab", *"45000", "enter")
            message = app.query_one("#message")
            await until(pilot, lambda: "Not connected" in str(message.render()), timeout=5)
            assert "reconnecting" in str(message.render())
            assert time.monotonic() - started < 3  # not queued behind the reconnection

            # the market moves while the dashboard is away: a fill and a new ask
            def move() -> None:
                with serve(db, 0) as aside, other_client(aside.url) as trader:
                    assert trader.place(-q("0.1"), p("40000"))["error_code"] == 0  # partial fill
                    asks = trader.call("GetOrders")["orders"]
                    assert trader.call("CancelOrder", id=asks[0]["id"])["error_code"] == 0
                    assert trader.place(-q("0.3"), p("42000"))["error_code"] == 0
                    aside.proc.terminate()  # a clean shutdown commits everything
                    assert aside.wait() == 0

            await asyncio.to_thread(move)
            assert app.status.state == "reconnecting"  # still nothing on the dashboard's port

            # back on the same port and database: recovery by itself
            second = await asyncio.to_thread(serve, db, port)
            servers.append(second)
            assert second.url == url
            await until(pilot, lambda: app.status.connected and app.status.user_id == 1)
            want = await asyncio.to_thread(truth, url)
            assert want["book"] == BookRows(
                bids=((p("40000"), order.remaining - q("0.1"), 1),),
                asks=((p("42000"), q("0.3"), 1),),
            )
            assert want["orders"] == {order.id: q("0.15")}  # the refused sell never reached it
            await until(pilot, lambda: shown(app) == want)
            assert "stale" not in status_text(app) and not app.query_one(OrderBookLadder).stale
            assert not view.stale and not app.query_one(BalancesView).stale
            gbp = next(
                b for b in app.query_one(BalancesView).balances or () if b.asset == PAIR.counter
            )
            assert gbp.reserved == V2.bid_reservation(PAIR, q("0.15"), p("40000"))

            # and it trades again: the refused order, still in the form, is sent again
            assert [app.query_one(f"#{name}", Input).value for name in ("quantity", "price")] == [
                "0.1",
                "45000",
            ]
            app.query_one("#price", Input).focus()
            await pilot.press("enter")
            await until(pilot, lambda: len(view.orders) == 2)
            assert {o.remaining for o in view.orders} == {q("0.15"), -q("0.1")}
            assert shown(app)["orders"] == (await asyncio.to_thread(truth, url))["orders"]
    finally:
        source.close()
        for server in servers:
            server.__exit__()
