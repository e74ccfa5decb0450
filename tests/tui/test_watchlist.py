"""The watchlist: every spot market's last price, change since the session started and spread,
live, on the real embedded exchange; Enter on a row (``w`` focuses the panel) switches market."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from cfdash.core.assets import SPOT_PAIRS, V2
from cfdash.tui.source import PairTicker, TickerRow
from cfdash.tui.watchlist import change_percent, change_text, watch_line
from cfdash.tui.widgets.watch import WatchlistView

from .conftest import EUR_PAIR, MAKER, PAIR, SMALL, TAKER, Exchange, lines, p, running, until
from .test_keys import burst, settle


def test_change_is_in_per_cent_to_two_places() -> None:
    assert change_percent(p("41000"), p("40000")) == Decimal("2.50")
    assert change_percent(p("39988"), p("40000")) == Decimal("-0.03")
    assert change_percent(p("39990"), p("40000")) == Decimal("-0.02")  # -0.025: half even
    assert change_percent(None, p("40000")) is None
    assert change_percent(p("1"), None) is None and change_percent(p("1"), 0) is None
    assert change_text(Decimal("2.5")) == "+2.50%"
    assert change_text(Decimal("-0.03")) == "-0.03%"
    assert change_text(Decimal("0.00")) == "0.00%"
    assert change_text(None) == "—"


def test_a_watch_line_has_last_change_and_spread() -> None:
    ticker = TickerRow(last=p("41010"), bid=p("40990"), ask=p("41025.50"), reference=p("41000"))
    line = watch_line(V2, PairTicker(PAIR, ticker))
    assert line.cells == ("XBT:GBP", "41,010.00", "+0.02%", "35.50")
    assert line.direction == 1
    empty = watch_line(V2, PairTicker(EUR_PAIR, TickerRow()))
    assert empty.cells == ("XBT:EUR", "—", "—", "—") and empty.direction == 0


def eur(text: str) -> int:
    return V2.price_to_wire(EUR_PAIR, text)


def trade_eur(exchange: Exchange, *prices: str) -> None:
    """The maker rests asks on XBT:EUR and the taker lifts them, one trade per price."""
    maker, taker = exchange.client(MAKER), exchange.client(TAKER)
    for price in prices:
        maker.place_order(EUR_PAIR, "-0.1", price).result(3)
        taker.place_order(EUR_PAIR, "0.1").result(3)
    maker.stop()
    taker.stop()


def row(view: WatchlistView, name: str) -> list[str]:
    return next(line.split() for line in lines(view) if name in line)


async def test_every_market_live_and_enter_switches(app, exchange) -> None:
    maker = exchange.client(MAKER)
    await asyncio.to_thread(lambda: maker.place_order(EUR_PAIR, "0.5", "38000").result(3))
    await asyncio.to_thread(lambda: maker.place_order(EUR_PAIR, "-0.5", "39000").result(3))
    async with running(app, SMALL) as pilot:
        await pilot.press("w")
        view = app.query_one(WatchlistView)
        assert app.focused is view and view.region.area  # shown, in the compact layout too
        await until(pilot, lambda: len(view.tickers) == len(SPOT_PAIRS))
        assert [t.pair for t in view.tickers] == list(SPOT_PAIRS)
        await until(pilot, lambda: row(view, "XBT:GBP")[1:] == ["40,990.00", "0.00%", "20.00"])
        assert row(view, "XBT:EUR")[1:] == ["—", "—", "1,000.00"]  # no trade yet: its spread
        # trades on another market: its last price and change since the first one seen
        await asyncio.to_thread(trade_eur, exchange, "38100")
        await until(pilot, lambda: row(view, "XBT:EUR")[1] == "38,100.00")
        await asyncio.to_thread(trade_eur, exchange, "38481")
        await until(pilot, lambda: row(view, "XBT:EUR")[1:3] == ["38,481.00", "+1.00%"])
        assert view.tickers[1].ticker.reference == eur("38100")
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.pair == EUR_PAIR)
        await until(pilot, lambda: app.book.best_bid == eur("38000"))
        assert row(view, "XBT:EUR")[0] == "▸XBT:EUR"  # the cursor on the market shown
        await pilot.press("escape")  # nothing: the panel keeps the focus, no dialog
        assert app.pair == EUR_PAIR and len(app.screen_stack) == 1
        # the reference stays across switches: the change is since the session started
        await pilot.press("up", "enter")
        await until(pilot, lambda: app.pair == PAIR)
        assert row(view, "XBT:EUR")[1:3] == ["38,481.00", "+1.00%"]


async def test_a_burst_w_down_enter_switches_once(app) -> None:
    async with running(app, SMALL) as pilot:
        view = app.query_one(WatchlistView)
        await until(pilot, lambda: len(view.tickers) == len(SPOT_PAIRS))
        burst(app, "w", "down", "down", "enter", "b")
        await until(pilot, lambda: app.pair == SPOT_PAIRS[2])
        await settle(pilot, app)
        assert app.query_one("#entry").border_title.startswith("Buy XBT:USD")


async def test_v_cycles_to_the_watchlist_in_the_wide_layout(app) -> None:
    async with running(app, (120, 36)) as pilot:
        view = app.query_one(WatchlistView)
        assert not view.region.area  # the wide layout shows it when asked (v, w)
        while app.panel != "watch":
            await pilot.press("v")
        await pilot.pause()
        assert view.region.height >= 7
        await until(pilot, lambda: "XBT:GBP" in "\n".join(lines(view)))
