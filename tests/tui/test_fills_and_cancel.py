"""Issue 10, defects 6, 8 and 9 (open orders): the cancel prompt cancels only the order it
names; every fill of the account's orders is reported (side, quantity, price, fee; a market
order's average price and total), also for orders placed from another session, and own trades
are marked in the tape; an order in flight shows in Open orders at once and its outcome
replaces the form's "pending" note.

The real app on the real embedded exchange (see conftest): user 7 rests a bid of 0.2 at
40,950 and an ask of 0.1 at 41,100; after the seeded trades the asks are 0.5 at 41,010,
1.2 at 41,025.50, 0.75 at 41,040 and 2 at 41,100 (plus ours), the best bid 0.7 at 40,990.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import pytest
from textual.widgets import Input

from cfdash.tui.fills import FILL_NOTICES
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.source import Batch
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.tape import OWN, TradeTape

from .conftest import (
    COOKIE,
    GBP,
    PAIR,
    SECRET,
    SMALL,
    USER,
    WIDE,
    Exchange,
    gbp,
    lines,
    p,
    q,
    record_notices,
    running,
    until,
)
from .conftest import (
    OWN as SEEDED,
)


def message(app) -> str:
    return str(app.query_one("#message").render())


def seeded_ids(exchange: Exchange) -> dict[int, int]:
    """Price -> id of user 7's seeded orders, by the exchange."""
    prices = {p(price) for _, price in SEEDED}
    return {price: oid for price, _, oid in exchange.open_orders() if price in prices}


# -- defect 6: the cancel prompt ------------------------------------------------------------


async def test_moving_the_selection_disarms_the_cancel_prompt(app, exchange) -> None:
    """c names the ask; j moves to the bid: the next c names the bid and cancels nothing;
    only a c after that cancels the bid, which the last prompt named."""
    ids = seeded_ids(exchange)
    ask, bid = ids[p("41100")], ids[p("40950")]
    async with running(app, SMALL) as pilot:
        view = app.query_one(OpenOrdersView)
        notices = record_notices(app)
        await pilot.press("c")
        await until(pilot, lambda: notices)
        assert notices == [
            f"SELL 0.10000000 XBT at 41,100.00 GBP (order {ask}): press c again to cancel it"
        ]
        assert view.armed == ask
        await pilot.press("j")
        assert view.selected is not None and view.selected.id == bid
        assert view.armed is None  # moved off the order the prompt named
        await pilot.press("c")
        await until(pilot, lambda: len(notices) == 2)
        assert notices[1] == (
            f"BUY 0.20000000 XBT at 40,950.00 GBP (order {bid}): press c again to cancel it"
        )
        await pilot.pause(0.2)
        assert sorted(oid for _, _, oid in exchange.open_orders()) == sorted([ask, bid])
        await pilot.press("c")
        await until(pilot, lambda: f"order {bid} cancelled" in notices)
        assert [oid for _, _, oid in exchange.open_orders()] == [ask]


async def test_the_prompt_is_disarmed_when_its_order_goes(app, exchange) -> None:
    """c names the ask; another session cancels it: the next c names the bid (now selected)
    instead of cancelling it."""
    ids = seeded_ids(exchange)
    ask, bid = ids[p("41100")], ids[p("40950")]
    async with running(app, SMALL) as pilot:
        view = app.query_one(OpenOrdersView)
        notices = record_notices(app)
        await pilot.press("c")
        await until(pilot, lambda: view.armed == ask)
        other = exchange.client((USER, COOKIE, SECRET))
        await asyncio.to_thread(lambda: other.cancel_order(ask).result(3))
        await until(pilot, lambda: [o.id for o in view.orders] == [bid])
        assert view.armed is None
        await pilot.press("c")
        await until(pilot, lambda: len(notices) >= 2)
        assert notices[-1].endswith(f"(order {bid}): press c again to cancel it")
        await pilot.pause(0.2)
        assert [oid for _, _, oid in exchange.open_orders()] == [bid]  # not cancelled


# -- defect 8: fills -------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_market_buy_reports_average_price_total_and_fee(app, exchange) -> None:
    """0.6 XBT at market takes 0.5 at 41,010 and 0.1 at 41,025.50: one report with the
    average price, the total and the fee the exchange charged; both trades marked as ours."""
    before = exchange.balances()[GBP][0]
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        await pilot.press("b", "ctrl+t", *"0.6", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        note = "market order done: bought 0.60 XBT at avg 41,012.58 · type a quantity"
        await until(pilot, lambda: message(app) == note)
        report = next(n for n in notices if n.startswith("BUY"))
        match = re.fullmatch(
            r"BUY 0\.60000000 XBT at avg 41,012\.58 GBP, total 24,607\.55 GBP, "
            r"fee (\d+\.\d\d) GBP \(2 trades\)",
            report,
        )
        assert match, report
        spent = before - exchange.balances()[GBP][0]
        assert gbp(match.group(1)) == spent - gbp("24607.55")  # the fee really charged
        assert len([n for n in notices if "XBT at" in n]) == 1  # one report, not one per trade
        tape = app.query_one(TradeTape)
        await until(pilot, lambda: sum(line.startswith(OWN) for line in lines(tape)) == 2)
        own = [line.split() for line in lines(tape) if line.startswith(OWN)]
        assert [row[1:3] for row in own] == [
            ["41,025.50", "0.10000000"],
            ["41,010.00", "0.50000000"],
        ]
        # someone else's trade is not marked
        await asyncio.to_thread(exchange.trade, "0.05")
        await until(pilot, lambda: lines(tape)[1].split()[1:3] == ["41,025.50", "0.05000000"])
        assert lines(tape)[1].startswith(" ")


@pytest.mark.slow
async def test_a_limit_order_that_fills_at_once_says_so(app, exchange) -> None:
    """A sell at the best bid fills at once: it says filled (how much, at what price, the
    fee), not just "placed"."""
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        await pilot.press("s", *"0.1", "tab", *"40990", "enter")
        await until(pilot, lambda: message(app).startswith("filled #"))
        report = next(n for n in notices if "filled at once" in n)
        assert re.fullmatch(
            r"order \d+ filled at once: SELL 0\.10000000 XBT at 40,990\.00 GBP, "
            r"total 4,099\.00 GBP, fee \d+\.\d\d GBP",
            report,
        ), report
        order_id = report.split()[1]
        assert message(app) == f"filled #{order_id}: sold 0.10 XBT at 40,990.00 · type a quantity"
        assert not any("placed" in n for n in notices)
        assert len(exchange.open_orders()) == 2  # nothing rests


@pytest.mark.slow
async def test_a_bid_filled_at_once_says_what_was_not_traded(app, exchange) -> None:
    """A buy of 0.1 at 41,010 takes what its reservation pays for, fee included: the report
    says filled, how much, and that the rest was closed untraded."""
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        await pilot.press("b", *"0.1", "tab", *"41010", "enter")
        await until(pilot, lambda: message(app).startswith("filled #"))
        report = next(n for n in notices if "filled at once" in n)
        match = re.fullmatch(
            r"order \d+ filled at once: BUY (0\.\d{8}) XBT at 41,010\.00 GBP, "
            r"total [\d,.]+ GBP, fee \d+\.\d\d GBP; closed with (0\.\d{8}) XBT not traded",
            report,
        )
        assert match, report
        assert q(match.group(1)) + q(match.group(2)) == q("0.1")
        assert len(exchange.open_orders()) == 2  # nothing rests


@pytest.mark.slow
async def test_a_limit_order_partly_filled_at_once_says_how_much(app, exchange) -> None:
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        await pilot.press("s", *"1", "tab", *"40990", "enter")
        await until(pilot, lambda: message(app).startswith("placed #"))
        report = next(n for n in notices if "part filled at once" in n)
        assert re.fullmatch(
            r"order \d+ placed, part filled at once: SELL 0\.70000000 XBT at 40,990\.00 GBP, "
            r"total 28,693\.00 GBP, fee \d+\.\d\d GBP; 0\.30000000 XBT on the book",
            report,
        ), report
        assert message(app).endswith("sold 0.70 XBT at 40,990.00 · type a quantity")
        assert (p("40990"), -q("0.3")) in [(pr, left) for pr, left, _ in exchange.open_orders()]


async def test_fills_of_orders_placed_in_another_session_are_reported(app, exchange) -> None:
    """User 7 places an ask from another client; the taker lifts it, then user 7's other
    session sells at market: the dashboard reports both fills."""
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        other = exchange.client((USER, COOKIE, SECRET))
        placed = await asyncio.to_thread(lambda: other.place_order(PAIR, "-0.1", "41000").result(3))
        await asyncio.to_thread(exchange.trade, "0.1")
        await until(pilot, lambda: any(f"(order {placed.id})" in n for n in notices))
        sold = next(n for n in notices if f"(order {placed.id})" in n)
        assert re.fullmatch(
            r"SELL 0\.10000000 XBT at 41,000\.00 GBP, total 4,100\.00 GBP, "
            rf"fee \d+\.\d\d GBP \(order {placed.id}\)",
            sold,
        ), sold
        await asyncio.to_thread(lambda: other.place_order(PAIR, "-0.05").result(3))
        await until(pilot, lambda: any("(market order)" in n for n in notices))
        market = next(n for n in notices if "(market order)" in n)
        assert market.startswith("SELL 0.05000000 XBT at 40,990.00 GBP, total 2,049.50 GBP, fee ")


async def test_a_sweep_through_many_own_orders_is_not_a_toast_per_fill(app, exchange) -> None:
    """Ten of user 7's asks (placed elsewhere) swept by one market buy: a few notifications,
    each order named once, the rest summed up."""
    other = exchange.client((USER, COOKIE, SECRET))
    for n in range(10):
        other.place_order(PAIR, "-0.01", str(41000 + n)).result(3)
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        filled: list[Batch] = []
        app.source.subscribe(lambda b: b.fills and filled.append(b))
        await asyncio.to_thread(exchange.trade, "0.1")
        await until(pilot, lambda: sum(len(b.fills) for b in filled) == 10)
        await until(pilot, lambda: any("more order" in n for n in notices))
        await pilot.pause(0.2)
        reports = [n for n in notices if "SELL" in n]
        assert len(reports) <= FILL_NOTICES * len(filled)
        summary = next(n for n in reports if "more order" in n)
        # the orders not named one by one are summed up: nothing filled goes unsaid
        match = re.search(
            r"and (\d+) more orders: SELL (\S+) XBT at avg 41,0\d\d\.\d\d GBP", summary
        )
        assert match, summary
        assert Decimal(match.group(2)) == Decimal("0.01") * int(match.group(1))
        assert all(f.side == "sell" and f.quantity == q("0.01") for b in filled for f in b.fills)


# -- defect 9: orders in flight ------------------------------------------------------------


@pytest.mark.slow
async def test_an_order_in_flight_is_listed_and_its_outcome_replaces_pending(
    faulty_exchange,
) -> None:
    """The exchange holds the order 1.5 s: it shows in Open orders at once ("sending…", then
    "pending" once the dashboard stops waiting); then it becomes the real order, and the
    form's "pending" note becomes its outcome."""
    exchange, faults = faulty_exchange
    exchange.seed_market(book=False)
    dashboard = exchange.dashboard()
    app = dashboard.app
    dashboard.source.timeout = 0.5
    async with running(app, WIDE) as pilot:
        view = app.query_one(OpenOrdersView)
        faults.arm("PlaceOrder", "delay", delay=1.5)
        await pilot.press("b", *"0.1", "tab", *"40000", "enter")
        row = await until(
            pilot, lambda: next((line for line in lines(view) if "40,000.00" in line), None)
        )
        assert row.split()[0] == "BUY" and row.split()[-1] in ("sending…", "pending")
        assert "1 in flight" in str(view.border_title)
        await until(pilot, lambda: message(app).startswith("order pending"))
        await until(pilot, lambda: any(line.split()[-1:] == ["pending"] for line in lines(view)))
        await pilot.press("escape")  # leave the form untouched
        await until(pilot, lambda: message(app).startswith("placed #"))
        placed = [oid for price, _, oid in exchange.open_orders() if price == p("40000")]
        assert message(app).split(" · ")[0] == f"placed #{placed[0]}"
        # an age now (the screen clock is 3 minutes ahead of the exchange's)
        aged = ["40,000.00", "3m"]
        await until(pilot, lambda: any(line.split()[1::4] == aged for line in lines(view)))
        assert "in flight" not in str(view.border_title)
        assert app.query_one("#quantity", Input).value == ""


@pytest.mark.slow
async def test_a_pending_market_order_reports_its_fills_when_settled(faulty_exchange) -> None:
    exchange, faults = faulty_exchange
    exchange.seed_market()
    dashboard = exchange.dashboard()
    app = dashboard.app
    dashboard.source.timeout = 0.3
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        view = app.query_one(OpenOrdersView)
        faults.arm("PlaceOrder", "delay", delay=1.0)
        await pilot.press("b", "ctrl+t", *"0.2", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        row = await until(
            pilot, lambda: next((line for line in lines(view) if "market" in line), None)
        )
        assert row.split()[:3] == ["BUY", "market", "0.20000000"]
        await until(pilot, lambda: message(app).startswith("order pending"))
        done = "market order done: bought 0.20 XBT at 41,010.00"
        await until(pilot, lambda: message(app).startswith(done))
        report = next(n for n in notices if n.startswith("BUY"))
        assert report.startswith("BUY 0.20000000 XBT at 41,010.00 GBP, total 8,202.00 GBP")
        await until(pilot, lambda: not any("market" in line for line in lines(view)))
        fee = Decimal(report.rsplit("fee ", 1)[1].split()[0])
        assert fee > 0


def test_merged_batches_keep_every_fill() -> None:
    """Fills are news: a bridge coalescing batches keeps them all, in order, also across a
    market switch (they concern the account, not the market on screen)."""
    from cfdash.core.assets import PAIRS
    from cfdash.tui.source import Fill

    def fill(n: int) -> Fill:
        return Fill(PAIR, "buy", q("0.01"), p("41000"), gbp("410"), gbp("1.03"), GBP, n, n, None)

    merged = Batch(pair=PAIR, fills=(fill(1),)).merge(Batch(pair=PAIR, fills=(fill(2),)))
    merged = merged.merge(Batch(pair=PAIRS[1], fills=(fill(3),))).merge(Batch())
    assert [f.time for f in merged.fills] == [1, 2, 3]


async def test_orders_in_flight_fit_every_width_and_say_so() -> None:
    """A market order by total and a limit order in flight among a resting one: marked in
    the age column (shorter when narrow), the by-total one by its amount, every line fits."""
    from cfdash.core.assets import V2
    from cfdash.tui.source import OpenOrder

    from .conftest import NOW
    from .test_widgets import PanelApp

    orders = (
        OpenOrder(1, PAIR, p("41100"), -q("0.1"), -q("0.1"), int(NOW * 1e6), 1),
        OpenOrder(None, PAIR, None, 0, 0, 0, 5, "sending", gbp("1000")),
        OpenOrder(None, PAIR, p("40000"), q("0.5"), q("0.5"), 0, 6, "pending"),
    )
    view = OpenOrdersView(lambda: NOW + 125)
    async with PanelApp(view).run_test(size=(100, 5)) as pilot:
        view.set_market(V2, PAIR)
        view.update_orders(orders)
        assert view.border_title == "Open orders (1, 2 in flight)"
        for width in (100, 50, 36):
            await pilot.resize_terminal(width, 5)
            await pilot.pause()
            rows = [view.line_text(y).split() for y in range(1, 4)]
            assert all(len(view.line_text(y).rstrip()) <= width for y in range(5))
            assert rows[0][:2] == ["▸BUY", "market"] and "1,000 GBP" in " ".join(rows[0])
            assert rows[0][-1] in ("sending…", "sent…") and rows[2][-1] in ("pending", "pend…")
            assert rows[1][-1] == "2m"  # the resting order keeps its age
