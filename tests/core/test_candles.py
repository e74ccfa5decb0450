"""Candles from trades (``cfdash.core.views.candles``): checked against the trades that made
them, however the tape that carries them overlaps from one feed to the next."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.views.candles import (
    INTERVALS,
    MINUTE,
    Candle,
    CandleSeries,
    MarketCandles,
    interval_name,
)


class T(NamedTuple):
    time: int
    price: int
    quantity: int


def plain(trades: list[T], interval: int) -> list[Candle]:
    """The candles of ``trades`` (oldest first), the obvious way."""
    out: dict[int, list[T]] = {}
    for t in trades:
        out.setdefault(t.time // interval * interval, []).append(t)
    return [
        Candle(
            start,
            group[0].price,
            max(t.price for t in group),
            min(t.price for t in group),
            group[-1].price,
            sum(t.quantity for t in group),
            len(group),
        )
        for start, group in sorted(out.items())
    ]


@st.composite
def trade_lists(draw: st.DrawFn) -> list[T]:
    """Trades in time order, often several at the same microsecond (a sweep)."""
    gaps = draw(st.lists(st.sampled_from([0, 0, 1, 7_000_000, MINUTE, 3_600_000_000]), max_size=80))
    time = 1_700_000_000_000_000 + draw(st.integers(0, 10**9))
    trades = []
    for gap in gaps:
        time += gap
        trades.append(T(time, draw(st.integers(1, 10**8)), draw(st.integers(1, 10**9))))
    return trades


@given(trade_lists(), st.data())
@settings(max_examples=200)
def test_feeding_overlapping_tapes_counts_each_trade_once(
    trades: list[T], data: st.DataObject
) -> None:
    """The dashboard gets the newest trades again and again: each feed takes only the new ones
    (even among trades of one microsecond), so the candles are those of the trades, as long as
    the tape reaches back to the newest time seen before (it holds 200 trades)."""
    candles = MarketCandles()
    seen = 0
    while seen < len(trades):
        first = seen
        while first > 0 and trades[first - 1].time == trades[seen - 1].time:
            first -= 1  # the tape reaches back to every trade of the newest time seen
        seen = min(len(trades), seen + data.draw(st.integers(1, 20), label="new"))
        first = max(0, first - data.draw(st.integers(0, 5), label="older"))
        window = trades[first:seen][::-1]  # newest first, as the tape is
        candles.feed(window)
        candles.feed(window)  # the same tape again adds nothing
    for interval in INTERVALS:
        assert list(candles.series[interval].candles) == plain(trades, interval)
    if trades:
        assert candles.last_price == trades[-1].price and candles.last_time == trades[-1].time


@given(trade_lists(), st.integers(1, 10), st.data())
def test_a_tape_too_short_loses_trades_never_counts_one_twice(
    trades: list[T], tape: int, data: st.DataObject
) -> None:
    candles = MarketCandles()
    seen = 0
    while seen < len(trades):
        seen = min(len(trades), seen + data.draw(st.integers(1, 20), label="new"))
        candles.feed(trades[max(0, seen - tape) : seen][::-1])
    for interval in INTERVALS:
        series = list(candles.series[interval].candles)
        assert sum(c.trades for c in series) <= len(trades)
        assert sum(c.volume for c in series) <= sum(t.quantity for t in trades)


@given(trade_lists())
def test_candles_hold_their_trades(trades: list[T]) -> None:
    candles = MarketCandles()
    candles.feed(trades[::-1])
    for interval in INTERVALS:
        series = list(candles.series[interval].candles)
        assert sum(c.volume for c in series) == sum(t.quantity for t in trades)
        assert sum(c.trades for c in series) == len(trades)
        for c in series:
            assert c.start % interval == 0
            assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
        starts = [c.start for c in series]
        assert starts == sorted(set(starts))


def test_feed_returns_how_many_were_new() -> None:
    candles = MarketCandles()
    a, b, c = T(10, 5, 1), T(10, 6, 1), T(11, 7, 1)
    assert candles.feed([b, a]) == 2
    assert candles.feed([c, b, a]) == 1
    assert candles.feed([c, b]) == 0
    assert candles.version == 2


def test_series_keeps_the_newest_limit() -> None:
    series = CandleSeries(MINUTE, limit=3)
    for minute in range(5):
        series.add(minute * MINUTE, 100 + minute, 1)
    assert [c.start for c in series.candles] == [2 * MINUTE, 3 * MINUTE, 4 * MINUTE]
    series.add(0, 1, 1)  # older than all kept: dropped
    assert len(series) == 3


def test_an_older_trade_is_folded_into_its_candle() -> None:
    series = CandleSeries(MINUTE)
    series.add(0, 100, 1)
    series.add(2 * MINUTE, 200, 1)
    series.add(10, 50, 2)  # late: low and volume, not open or close
    series.add(MINUTE, 150, 1)  # a missing minute: inserted in order
    assert list(series.candles) == [
        Candle(0, 100, 100, 50, 100, 3, 2),
        Candle(MINUTE, 150, 150, 150, 150, 1),
        Candle(2 * MINUTE, 200, 200, 200, 200, 1),
    ]


def test_interval_names() -> None:
    assert [interval_name(i) for i in INTERVALS] == ["1m", "5m", "1h"]
    with pytest.raises(ValueError):
        CandleSeries(0)
