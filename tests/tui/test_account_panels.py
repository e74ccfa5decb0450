"""Issue 11: the fills, positions and P&L, and closed orders panels, on the real exchange.

The scenario (``trade_and_sell``): the maker (user 2) offers 0.8 at 40,995 and 0.2 at 41,000
inside the seeded spread (40,990 / 41,010); user 7, from another session, buys 0.8 then 0.2 at
market (the taker fee, 0.25 %, is exact on these totals: no stochastic rounding); the maker bids
0.5 at 41,000 and user 7 sells 0.5 at market into it. By hand:

- buy 0.8 @ 40,995: total 32,796.00, fee 81.99; buy 0.2 @ 41,000: total 8,200.00, fee 20.50;
  cost 41,098.49 for 1.0 XBT: average 41,098.49;
- sell 0.5 @ 41,000: total 20,500.00, fee 51.25, received 20,448.75; the half sold cost
  20,549.245: realised -100.495 (shown -100.50, half even);
- 0.5 left at 41,098.49 (cost 20,549.245); the mid is back at (40,990 + 41,010) / 2 = 41,000:
  worth 20,500, unrealised -49.245 (shown -49.24);
- XBT 2 + 1 - 0.5 = 2.5 worth 102,500.00; GBP 50,000 - 41,098.49 + 20,448.75 = 29,350.26;
  the account is worth 131,850.26 GBP.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from cfdash.core.assets import PAIRS, Assets
from cfdash.tui.screens.dashboard import PANELS
from cfdash.tui.widgets.closed import ClosedOrdersView
from cfdash.tui.widgets.fills import FillsView
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.positions import PositionsView
from cfdash.tui.widgets.table import Table

from .conftest import (
    COOKIE,
    MAKER,
    PAIR,
    SECRET,
    SMALL,
    USER,
    WIDE,
    Exchange,
    lines,
    p,
    running,
    until,
)

D = Decimal
EUR_PAIR = PAIRS[1]
ROOMY = (200, 44)
"""Wide and below the big layout: the panel chosen takes the chart's whole cell (wide
enough for the fills panel's fee and order columns)."""


def trade_and_sell(exchange: Exchange) -> None:
    """See the module docstring."""
    maker = exchange.client(MAKER)
    mine = exchange.client((USER, COOKIE, SECRET))
    maker.place_order(PAIR, "-0.8", "40995").result(3)
    maker.place_order(PAIR, "-0.2", "41000").result(3)
    mine.place_order(PAIR, "0.8").result(3)
    mine.place_order(PAIR, "0.2").result(3)
    maker.place_order(PAIR, "0.5", "41000").result(3)
    mine.place_order(PAIR, "-0.5").result(3)


def close_three(exchange: Exchange) -> tuple[int, int]:
    """User 7 (another session) closes three orders: an ask of 0.1 at 41,005 the taker lifts
    whole, one of 0.3 it lifts 0.1 of before it is cancelled, and the seeded bid, cancelled.
    The ids of the first two."""
    mine = exchange.client((USER, COOKIE, SECRET))
    seeded_bid = next(oid for price, _, oid in exchange.open_orders() if price == p("40950"))
    filled = mine.place_order(PAIR, "-0.1", "41005").result(3).id
    exchange.trade("0.1")
    partly = mine.place_order(PAIR, "-0.3", "41005").result(3).id
    exchange.trade("0.1")
    mine.cancel_order(id=partly).result(3)
    mine.cancel_order(id=seeded_bid).result(3)
    return filled, partly


def text(widget) -> list[str]:
    return [line.rstrip() for line in lines(widget) if line.strip()]


async def test_the_fills_panel_lists_every_fill_newest_first(app, exchange) -> None:
    """Fills of every market (XBT:EUR too, not on screen), newest first, with fee and order;
    the own trades are marked on the tape as well."""
    app.source.rows.watchlist = ()  # no watchlist: only the market on screen has a ticker
    async with running(app, ROOMY) as pilot:
        await asyncio.to_thread(trade_and_sell, exchange)

        def eur_sale() -> int:
            maker = exchange.client(MAKER)
            placed = maker.place_order(EUR_PAIR, "0.1", "35000").result(3)
            exchange.client((USER, COOKIE, SECRET)).place_order(EUR_PAIR, "-0.1").result(3)
            return placed.id

        await asyncio.to_thread(eur_sale)
        fills = app.query_one(FillsView)
        await until(pilot, lambda: len(fills.fills) == 4)
        await pilot.press(*"v" * PANELS.index("fills"))  # from the trades, v by v
        assert app.panel == "fills" and fills.display
        await pilot.pause()
        assert fills.border_title == "Fills (4)"
        assert [line.split() for line in text(fills)] == [
            ["Time", "Side", "Price", "Size", "Fee", "Order", "Market"],
            ["22:13:20", "SELL", "35,000.00", "0.10", "8.75", "market", "XBT:EUR"],
            ["22:13:20", "SELL", "41,000.00", "0.50", "51.25", "market", "XBT:GBP"],
            ["22:13:20", "BUY", "41,000.00", "0.20", "20.50", "market", "XBT:GBP"],
            ["22:13:20", "BUY", "40,995.00", "0.80", "81.99", "market", "XBT:GBP"],
        ]
        tape = app.query_one("#tape")
        assert sum(t.own for t in tape.trades) == 3  # the tape marks them (not shown now)
        # XBT:EUR is not watched: no price, so no unrealised P&L and no value for the euros
        app.show_panel("positions")
        view = app.query_one(PositionsView)
        await until(pilot, lambda: any("not valued" in line for line in text(view)))
        rows = [line.split() for line in text(view)]
        assert ["XBT:EUR", "34,912.50", "—", "—", "+0.00"] in rows  # short 0.1: no P&L yet
        assert ["EUR", "3,491.25", "—"] in rows
        assert rows[-1] == ["not", "valued", "(no", "price):", "EUR"]


async def test_fills_of_a_resting_order_name_it(app, exchange) -> None:
    """User 7's seeded bid (0.2 at 40,950) filled by the taker: a maker fill, no fee, its id;
    in the compact layout (one panel at a time)."""
    bid = next(oid for price, _, oid in exchange.open_orders() if price == p("40950"))
    built: list[int] = []
    async with running(app, SMALL) as pilot:
        fills = app.query_one(FillsView)
        table = fills.table

        def counted(width: int, rows: int) -> Table:
            built.append(width)
            return table(width, rows)

        fills.table = counted  # type: ignore[method-assign]
        await asyncio.to_thread(exchange.trade, "-1.2")  # 0.7 @ 40,990, 0.3 + 0.2 @ 40,950
        await until(pilot, lambda: fills.fills)
        assert not fills.display and built == []  # not shown: no text laid out
        app.show_panel("fills")
        await pilot.pause()
        assert text(fills) == [
            " Time     Side     Price Size Market",
            " 22:13:20 B    40,950.00 0.20 XBT:GBP",
        ]
        assert fills.fills[0].order_id == bid and fills.fills[0].fee == 0
        assert built  # laid out once shown


async def positions_after_the_scenario(pilot, exchange: Exchange) -> PositionsView:
    """``trade_and_sell``, then the positions panel shown once its fills, the book back at
    40,990 / 41,010 and the total are in."""
    app = pilot.app
    await asyncio.to_thread(trade_and_sell, exchange)
    view = app.query_one(PositionsView)
    await until(pilot, lambda: len(view.fills) == 3)
    await until(pilot, lambda: app.book.best_bid == p("40990"))
    app.show_panel("positions")
    await until(pilot, lambda: any("Total 131,850.26" in line for line in text(view)))
    return view


async def test_positions_match_the_hand_computed_pnl_with_fees(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        view = await positions_after_the_scenario(pilot, exchange)
        assert " Total 131,850.26 GBP" in text(view)
        assert text(view) == [
            " Asset   Holding  Value GBP",
            " XBT        2.50 102,500.00",
            "   avg 41,098.49 GBP",
            "   mid 41,000.00",
            "   unreal. -49.24  real. -100.50",
            " GBP   29,350.26  29,350.26",
            " Total 131,850.26 GBP",
        ]
        position = view.ledger.positions[(PAIR.base, PAIR.counter)]
        assert position.quantity == D("0.5")
        assert position.average == D("41098.49")
        assert position.realised == D("-100.495")
        assert position.unrealised(D("41000")) == D("-49.245")
        assert position.fees == D("81.99") + D("20.50") + D("51.25")


async def test_a_starting_cost_from_the_settings(exchange) -> None:
    """``[start_cost] "XBT:GBP" = "40000"``: the 2 XBT held at start count as bought at 40,000.
    Then 3 XBT cost 121,098.49 (average 40,366.163…); the sale of 0.5 received 20,448.75 for
    what cost 20,183.08166…: realised +265.67; 2.5 left at 41,000: unrealised +1,584.59."""
    app = exchange.dashboard().app
    app.start_costs = {PAIR: D("40000")}
    async with running(app, ROOMY) as pilot:
        view = await positions_after_the_scenario(pilot, exchange)
        assert [line.split() for line in text(view)] == [
            ["Asset", "Holding", "Avg", "cost", "Mid", "Unrealised", "Realised", "Value", "GBP"],
            ["XBT", "2.50", "40,366.16", "41,000.00", "+1,584.59", "+265.67", "102,500.00"],
            ["GBP", "29,350.26", "29,350.26"],
            ["Total", "131,850.26", "GBP"],
        ]
        position = view.ledger.positions[(PAIR.base, PAIR.counter)]
        assert position.quantity == D("2.5")
        assert position.realised == D("20448.75") - D("121098.49") / 6


async def test_private_mode_hides_positions(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        view = app.query_one(PositionsView)
        app.show_panel("positions")
        await until(pilot, lambda: any("Total" in line for line in text(view)))
        await pilot.press("p")
        await until(pilot, lambda: text(view) == [" hidden in private mode (p shows it)"])
        await pilot.press("p")
        await until(pilot, lambda: any("Total" in line for line in text(view)))


async def test_closed_orders_say_how_they_ended(app, exchange) -> None:
    """Filled (lifted whole by the taker), partly filled then cancelled, cancelled: newest
    first, with the quantity filled; the market orders of the scenario never rest."""
    seeded_bid = next(oid for price, _, oid in exchange.open_orders() if price == p("40950"))
    async with running(app, WIDE) as pilot:
        filled, partly = await asyncio.to_thread(close_three, exchange)
        view = app.query_one(ClosedOrdersView)
        await until(pilot, lambda: len(view.orders) == 3)
        assert [(o.id, o.result, o.filled) for o in reversed(view.orders)] == [
            (seeded_bid, "cancelled", 0),
            (partly, "partly filled", 10_000_000),
            (filled, "filled", 10_000_000),
        ]
        app.show_panel("closed")
        await pilot.pause()
        assert view.border_title == "Closed orders (3)"
        assert [line.split() for line in text(view)] == [
            ["Side", "Price", "Filled", "Outcome", "Market"],
            ["B", "40,950.00", "0.00", "cancel", "XBT:GBP"],
            ["S", "41,005.00", "0.10", "part", "XBT:GBP"],
            ["S", "41,005.00", "0.10", "filled", "XBT:GBP"],
        ]
        await pilot.resize_terminal(*ROOMY)  # time, size and order id too
        await pilot.pause()
        assert [line.split() for line in text(view)] == [
            ["Time", "Side", "Price", "Filled", "Size", "Outcome", "Order", "Market"],
            [
                "22:16:20",
                "BUY",
                "40,950.00",
                "0.00",
                "0.20",
                "cancelled",
                str(seeded_bid),
                "XBT:GBP",
            ],
            [
                "22:16:20",
                "SELL",
                "41,005.00",
                "0.10",
                "0.30",
                "part",
                "filled",
                str(partly),
                "XBT:GBP",
            ],
            ["22:16:20", "SELL", "41,005.00", "0.10", "0.10", "filled", str(filled), "XBT:GBP"],
        ]


async def test_a_dismissed_order_of_unknown_outcome_is_closed_as_unknown(faulty_exchange) -> None:
    """The exchange drops the connection before it sees the order: its outcome is unknown;
    once the user removes it from Open orders (c) it is listed as closed, outcome unknown."""
    exchange, faults = faulty_exchange
    exchange.seed_market(book=False)
    app = exchange.dashboard().app
    async with running(app, WIDE) as pilot:
        orders = app.query_one(OpenOrdersView)
        faults.arm("PlaceOrder", "drop_before")
        await pilot.press("b", *"0.1", "tab", *"40000", "enter")
        await until(pilot, lambda: any(o.state == "unknown" for o in orders.orders))
        await pilot.press("escape", "c")
        await until(pilot, lambda: orders.armed is not None)
        below = next(n for n, o in enumerate(orders.orders) if o.state == "unknown")
        await pilot.press(*"j" * below)
        await until(pilot, lambda: orders.selected is not None)
        assert orders.selected is not None and orders.selected.state == "unknown"
        await pilot.press("c")
        closed = app.query_one(ClosedOrdersView)
        await until(pilot, lambda: closed.orders)
        app.show_panel("closed")
        await pilot.pause()
        assert [line.split() for line in text(closed)] == [
            ["Side", "Price", "Filled", "Outcome", "Market"],
            ["B", "40,000.00", "—", "unknown", "XBT:GBP"],
        ]


async def test_v_reaches_every_panel_one_at_a_time_at_80x24(app) -> None:
    async with running(app, SMALL) as pilot:
        seen = []
        for _ in range(len(PANELS) + 1):
            await pilot.pause()
            shown = [w.id for w in app.query(".panel") if w.region.area > 0]
            assert len(shown) == 1
            seen.append(shown[0])
            await pilot.press("v")
        assert seen == [*PANELS, "tape"]
        assert {"fills", "positions", "closed"} <= set(PANELS)


async def test_in_the_wide_layout_the_chosen_account_panel_takes_the_charts_place(app) -> None:
    async with running(app, WIDE) as pilot:
        everything = ["tape", "balances", "chart", "orders"]
        assert [w.id for w in app.query(".panel") if w.region.area > 0] == everything
        chart_region = app.query_one("#chart").region
        for name in ("fills", "positions", "closed"):
            app.show_panel(name)
            await pilot.pause()
            shown = [w.id for w in app.query(".panel") if w.region.area > 0]
            assert shown == ["tape", "balances", name, "orders"]
            assert app.query_one(f"#{name}").region == chart_region
        app.show_panel("tape")
        await pilot.pause()
        assert [w.id for w in app.query(".panel") if w.region.area > 0] == everything


async def test_a_market_order_placed_here_is_listed_closed_when_done(app, exchange) -> None:
    """No OrderClosed names a market order: its outcome does (0.6 bought: filled)."""
    from cfdash.tui.screens.confirm import ConfirmScreen

    async with running(app, ROOMY) as pilot:
        await pilot.press("b", "ctrl+t", *"0.6", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        closed = app.query_one(ClosedOrdersView)
        await until(pilot, lambda: closed.orders)
        (order,) = closed.orders
        assert (order.id, order.price, order.result) == (None, None, "filled")
        assert (order.original, order.filled, order.remaining) == (60_000_000, 60_000_000, 0)
        await pilot.press("escape")
        app.show_panel("closed")
        await pilot.pause()
        assert [line.split() for line in text(closed)][1] == [
            "22:16:20",
            "BUY",
            "market",
            "0.60",
            "0.60",
            "filled",
            "—",
            "XBT:GBP",
        ]


async def test_positions_leave_out_the_expired_futures_as_the_balances_do(app, exchange) -> None:
    def credit(s) -> None:
        s.core.credit(USER, Assets["XBTJAN18"], 10 * s.core.config.scales.asset(Assets["XBTJAN18"]))

    exchange.server.call(credit)
    async with running(app, ROOMY) as pilot:
        await pilot.press(str(PANELS.index("positions") + 1))
        view = app.query_one(PositionsView)
        await until(pilot, lambda: any("Total" in line for line in text(view)))
        assert not any("XBTJAN18" in line for line in text(view))
        app.screen.show_expired = True  # as Ctrl+O in the market picker, or the setting
        await until(pilot, lambda: any("XBTJAN18" in line for line in text(view)))
        assert any("not valued" in line and "XBTJAN18" in line for line in text(view))
