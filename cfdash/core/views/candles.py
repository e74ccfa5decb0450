"""Candles (OHLC and volume) built from the trades seen since start: sans-I/O.

The API has no history call, so a chart can only show the trades this client has seen. The
dashboard gets the watched market's tape (the newest trades, newest first) again and again;
``MarketCandles.feed`` takes from it only the trades it has not seen yet (by time: those newer
than the last one seen, and at the last time seen the ones beyond the count already taken), so
feeding the same tape twice adds nothing. Prices and quantities are wire integers; times are
microseconds since the epoch, as on the wire.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

MINUTE: Final = 60_000_000
"""One minute in microseconds."""
INTERVALS: Final = (MINUTE, 5 * MINUTE, 60 * MINUTE)
"""The chart's intervals: 1 m, 5 m, 1 h."""
LIMIT: Final = 500
"""Candles kept per interval (the oldest go first)."""


class TradeLike(Protocol):
    """What a candle needs of a trade (``TradeRow``, ``TradePrint``)."""

    @property
    def time(self) -> int: ...

    @property
    def price(self) -> int: ...

    @property
    def quantity(self) -> int: ...


@dataclass(slots=True)
class Candle:
    """The trades of one interval: ``start`` (µs, a multiple of the interval), open, high,
    low, close prices, the ``volume`` traded (base asset, wire units) and the trade count."""

    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    trades: int = 1

    @property
    def up(self) -> bool:
        """Closed at or above its open (drawn as a rising candle)."""
        return self.close >= self.open


def interval_name(interval: int) -> str:
    """'1m', '5m', '1h'."""
    minutes = interval // MINUTE
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


class CandleSeries:
    """The candles of one interval, oldest first, at most ``limit`` (intervals without a
    trade have no candle)."""

    __slots__ = ("candles", "interval", "limit")

    def __init__(self, interval: int, limit: int = LIMIT) -> None:
        if interval <= 0 or limit <= 0:
            raise ValueError("interval and limit must be positive")
        self.interval = interval
        self.limit = limit
        self.candles: deque[Candle] = deque(maxlen=limit)

    def add(self, time: int, price: int, quantity: int) -> None:
        """One trade. Trades come in time order; an older one (never from ``feed``) is
        folded into its candle's high, low and volume, its open and close kept."""
        start = time - time % self.interval
        candles = self.candles
        last = candles[-1] if candles else None
        if last is None or start > last.start:
            candles.append(Candle(start, price, price, price, price, quantity))
            return
        if start == last.start:
            last.close = price
            _fold(last, price, quantity)
            return
        for candle in reversed(candles):
            if candle.start == start:
                _fold(candle, price, quantity)
                return
            if candle.start < start:
                break
        # no candle for that older interval: keep time order (dropped if older than all kept)
        index = next(i for i, c in enumerate(candles) if c.start > start)
        if len(candles) == self.limit and index == 0:
            return
        if len(candles) == self.limit:
            candles.popleft()
            index -= 1
        candles.insert(index, Candle(start, price, price, price, price, quantity))

    def __len__(self) -> int:
        return len(self.candles)


def _fold(candle: Candle, price: int, quantity: int) -> None:
    candle.high = max(candle.high, price)
    candle.low = min(candle.low, price)
    candle.volume += quantity
    candle.trades += 1


class MarketCandles:
    """One market's candles at every interval of ``intervals``, fed from its trade tape."""

    __slots__ = ("_at_last", "last_price", "last_time", "series", "version")

    def __init__(self, intervals: Iterable[int] = INTERVALS, limit: int = LIMIT) -> None:
        self.series = {i: CandleSeries(i, limit) for i in intervals}
        self.last_time: int | None = None
        """The newest trade's time."""
        self._at_last = 0
        """How many trades at ``last_time`` were taken."""
        self.last_price: int | None = None
        self.version = 0
        """Counts the feeds that added a trade (a chart redraws when it moves)."""

    def add(self, time: int, price: int, quantity: int) -> None:
        """One trade, newer than (or as new as) every one before."""
        for series in self.series.values():
            series.add(time, price, quantity)
        if self.last_time is None or time > self.last_time:
            self.last_time, self._at_last = time, 0
        self._at_last += 1
        self.last_price = price

    def feed(self, tape: Sequence[TradeLike]) -> int:
        """Take the trades of ``tape`` (newest first) not seen yet; how many were new.

        A trade older than the newest seen is taken as seen: the tape holds the newest
        trades, in time order. If the tape overflowed between two feeds (more new trades
        than it keeps), the ones it dropped are missing from the candles.
        """
        last = self.last_time
        newer: list[TradeLike] = []
        same: list[TradeLike] = []
        for trade in tape:
            if last is not None and trade.time < last:
                break
            (same if trade.time == last else newer).append(trade)
        fresh = newer + same[: max(0, len(same) - self._at_last)]
        for trade in reversed(fresh):
            self.add(trade.time, trade.price, trade.quantity)
        if fresh:
            self.version += 1
        return len(fresh)
