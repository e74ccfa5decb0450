"""The price chart and the depth view on the real embedded exchange (see conftest): candles
from the trades a second session makes, checked against those trades; the depth view
following the book; snapshots of both panels."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual.pilot import Pilot

import cfdash.server.app
from cfdash.core.views.candles import INTERVALS, MINUTE, Candle
from cfdash.server.users import fund
from cfdash.tui.app import DashboardApp
from cfdash.tui.source import TradeRow
from cfdash.tui.widgets.charts import DepthView, PriceChart
from cfdash.tui.widgets.tape import TradeTape

from .conftest import (
    EUR_PAIR,
    MAKER,
    NOW,
    PAIR,
    SMALL,
    WIDE,
    Exchange,
    lines,
    loaded,
    p,
    q,
    running,
    until,
)

TIMED = ((0, "0.02"), (30, "-0.15"), (45, "0.3"), (50, "-0.05"), (160, "0.1"), (165, "-0.6"))
"""(seconds after NOW, size): the taker's market orders, at these exchange times. NOW is 20 s
into its minute: the first two fall in one minute, the next two in the next, the last two
(the sell sweeps two bid levels) in the fourth."""


def at(seconds: float) -> None:
    """Set the frozen exchange clock (see conftest's ``freeze_exchange_clock``)."""
    cfdash.server.app.time.now = NOW + seconds  # type: ignore[attr-defined]


def trade_at(exchange: Exchange, timed: Sequence[tuple[float, str]]) -> None:
    for seconds, size in timed:
        at(seconds)
        exchange.trade(size)


def expected(trades: Sequence[TradeRow], interval: int) -> list[Candle]:
    """The candles the trades (newest first) make, worked out the plain way."""
    out: dict[int, Candle] = {}
    for t in reversed(trades):
        start = t.time // interval * interval
        c = out.get(start)
        if c is None:
            out[start] = Candle(start, t.price, t.price, t.price, t.price, t.quantity)
        else:
            c.high, c.low, c.close = max(c.high, t.price), min(c.low, t.price), t.price
            c.volume += t.quantity
            c.trades += 1
    return [out[k] for k in sorted(out)]


async def test_trades_of_a_second_session_become_candles(exchange: Exchange) -> None:
    app = exchange.dashboard().app
    async with running(app, WIDE) as pilot:
        chart = app.query_one("#chart", PriceChart)
        tape = app.query_one(TradeTape)
        await asyncio.to_thread(trade_at, exchange, TIMED)
        await until(pilot, lambda: len(tape.trades) == len(TIMED) + 1)  # the sweep: two
        await until(pilot, lambda: chart.candles and chart.candles.last_time == tape.trades[0].time)
        candles = chart.candles
        assert candles is not None
        for interval in INTERVALS:
            assert list(candles.series[interval].candles) == expected(tape.trades, interval)
        minute = list(candles.series[MINUTE].candles)
        start = int(NOW) * 1_000_000 // MINUTE * MINUTE
        assert [c.start for c in minute] == [start, start + MINUTE, start + 3 * MINUTE]
        buy, sell = p("41010"), p("40990")  # the best ask lifted, the best bid hit
        assert [(c.open, c.high, c.low, c.close) for c in minute] == [
            (buy, buy, sell, sell),
            (buy, buy, sell, sell),
            (buy, buy, p("40950"), p("40950")),
        ]
        assert [c.volume for c in minute] == [q("0.17"), q("0.35"), q("0.7")]
        assert [c.trades for c in minute] == [2, 2, 3]
        text = "\n".join(lines(chart))
        assert "◀" in text
        await pilot.press("i")
        assert chart.interval == 5 * MINUTE and chart.border_title == "Price · 5m"


async def test_depth_view_follows_the_book(exchange: Exchange) -> None:
    """The seeded book: 7.7 XBT of bids down to 40,800, 4.55 XBT of asks up to 41,100; the
    depth view spans 200 each side of the mid (41,000), the bids filling its height. A second
    session's 10 XBT ask at 41,150 makes the asks the deeper side."""
    app = exchange.dashboard().app
    async with running(app, SMALL) as pilot:
        depth = app.query_one("#depth", DepthView)
        while app.panel != "depth":
            await pilot.press("v")
        await until(pilot, lambda: depth.region.area > 0)
        assert sum(s for _, s, _ in depth.book.bids) == q("7.7")
        assert sum(s for _, s, _ in depth.book.asks) == q("4.55")
        text = lines(depth)
        axis = text[0].index("│")
        rows = len(text) - 1
        assert "".join(line[axis + 1] for line in text[:rows]) == "█" * rows
        assert " 41,000.00 " in text[-1] and "40,800.00" in text[-1]
        exchange.server.call(lambda s: fund(s.core, MAKER[0], {"XBT": 10}))
        maker = exchange.client(MAKER)
        await asyncio.to_thread(lambda: maker.place_order(PAIR, "-10", "41150").result(3))
        await until(pilot, lambda: sum(s for _, s, _ in depth.book.asks) == q("14.55"))
        text = lines(depth)
        assert "".join(line[-1] for line in text[: len(text) - 1]) == "█" * rows
        assert "".join(line[axis + 1] for line in text[:rows]).strip() != "█" * rows
        assert "41,200.00" in text[-1]  # 200 each side still (the bids reach farther)


async def test_a_hidden_chart_lays_out_nothing_until_shown(exchange: Exchange) -> None:
    """At 80x24 the trades panel is shown: trades feed the chart's candles, but neither the
    chart nor the depth view computes a layout until shown."""
    app = exchange.dashboard().app
    async with running(app, SMALL) as pilot:
        chart = app.query_one("#chart", PriceChart)
        depth = app.query_one("#depth", DepthView)
        tape = app.query_one(TradeTape)
        await asyncio.to_thread(trade_at, exchange, TIMED[:2])
        await until(pilot, lambda: len(tape.trades) == 2)
        await until(pilot, lambda: chart.candles and chart.candles.last_time == tape.trades[0].time)
        assert chart.renders == 0 and depth.renders == 0
        await pilot.press("i")  # the interval key shows the chart
        assert app.panel == "chart" and chart.interval == 5 * MINUTE
        await until(pilot, lambda: chart.renders > 0)
        assert any("◀ 40,990.00" in line for line in lines(chart))
        assert depth.renders == 0


def timed_market(exchange: Exchange) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """``run_before``: the seeded market, then the timed trades on the tape and the chart."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: DashboardApp = pilot.app  # type: ignore[assignment]
        await until(pilot, lambda: loaded(app))
        await asyncio.to_thread(trade_at, exchange, TIMED)
        tape = app.query_one(TradeTape)
        await until(pilot, lambda: len(tape.trades) == len(TIMED) + 1)
        await pilot.pause(0.2)  # the bridge's last batch (book, ticker, balances)

    return run_before


def test_chart_snapshot_compact(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    press = ["v", "v", "v"]  # trades, orders, balances, chart
    assert snap_compare(app, press=press, terminal_size=SMALL, run_before=timed_market(exchange))


def test_depth_snapshot_compact(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    press = ["v", "v", "v", "v"]
    assert snap_compare(app, press=press, terminal_size=SMALL, run_before=timed_market(exchange))


def test_chart_snapshot_large(snap_compare, exchange: Exchange) -> None:
    """200x60: the chart in its cell under the balances."""
    app = exchange.dashboard().app
    assert snap_compare(app, terminal_size=(200, 60), run_before=timed_market(exchange))


async def test_wide_depth_takes_the_chart_cell_while_active(exchange: Exchange) -> None:
    app = exchange.dashboard().app
    async with running(app, WIDE) as pilot:
        chart = app.query_one("#chart", PriceChart)
        depth = app.query_one("#depth", DepthView)
        assert chart.region.area > 0 and depth.region.area == 0
        cell = chart.region
        while app.panel != "depth":
            await pilot.press("v")
        await until(pilot, lambda: depth.region.area > 0)
        assert chart.region.area == 0 and depth.region == cell
        assert any("41,000.00" in line for line in lines(depth))
        await pilot.press("i")  # the interval key brings the chart back
        await until(pilot, lambda: chart.region.area > 0)
        assert app.panel == "chart" and depth.region.area == 0
        assert (
            "i",
            "chart: the next candle interval (1m, 5m, 1h; shows the chart)",
            "interval",
        ) in (app.help_rows())


async def test_each_market_keeps_its_candles(exchange: Exchange) -> None:
    """Switching market shows that market's candles (none yet); switching back shows the
    first market's again, as they were."""
    app = exchange.dashboard().app
    async with running(app, WIDE) as pilot:
        chart = app.query_one("#chart", PriceChart)
        tape = app.query_one(TradeTape)
        await asyncio.to_thread(trade_at, exchange, TIMED[:4])
        await until(pilot, lambda: len(tape.trades) == 4)
        await until(pilot, lambda: chart.candles and chart.candles.last_time == tape.trades[0].time)
        before = list(chart.candles.series[MINUTE].candles)
        app.switch_pair(EUR_PAIR)
        await pilot.pause()
        assert chart.pair == EUR_PAIR and chart.candles is not None
        assert chart.candles.last_time is None
        await until(pilot, lambda: any("no trades yet" in line for line in lines(chart)))
        app.switch_pair(PAIR)
        await until(pilot, lambda: app.book.bids)
        assert list(chart.candles.series[MINUTE].candles) == before
