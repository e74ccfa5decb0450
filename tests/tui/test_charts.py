"""The price chart and the depth view on the real embedded exchange (see conftest): candles
from the trades a second session makes, checked against those trades; the depth view
following the book; snapshots of both panels."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from textual.pilot import Pilot

import cfdash.server.app
from cfdash.core.views.candles import INTERVALS, MINUTE, Candle
from cfdash.tui.app import DashboardApp
from cfdash.tui.source import TradeRow
from cfdash.tui.widgets.charts import DepthView, PriceChart
from cfdash.tui.widgets.tape import TradeTape

from .conftest import NOW, SMALL, WIDE, Exchange, lines, loaded, p, q, running, until

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
    app = exchange.dashboard().app
    async with running(app, SMALL) as pilot:
        depth = app.query_one("#depth", DepthView)
        while app.panel != "depth":
            await pilot.press("v")
        await until(pilot, lambda: depth.region.area > 0)
        print("\n".join(lines(depth)))
