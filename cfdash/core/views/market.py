"""Per-pair market views: the ticker and the trade tape."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from ..assets import Pair

TICKER_FIELDS = ("last", "bid", "ask", "low", "high", "volume")


class TickerView:
    """A pair's ticker: a WatchTicker reply, then ``TickerChanged`` partial updates."""

    __slots__ = (
        "ask",
        "base",
        "bid",
        "counter",
        "high",
        "last",
        "loaded",
        "low",
        "name",
        "version",
        "volume",
    )

    def __init__(self, base: int, counter: int) -> None:
        self.base = base
        self.counter = counter
        self.name = f"ticker:{Pair(base, counter).name}"
        self.loaded = False
        self.version = 0
        self.last: int | None = None
        self.bid: int | None = None
        self.ask: int | None = None
        self.low: int | None = None
        self.high: int | None = None
        self.volume: int | None = None

    def load(self, reply: Mapping[str, Any]) -> None:
        """Take every field of a WatchTicker reply (absent or null -> None)."""
        for field in TICKER_FIELDS:
            setattr(self, field, reply.get(field))
        self.loaded = True
        self.version += 1

    def apply(self, notice: Mapping[str, Any]) -> bool:
        """A ``TickerChanged`` of this pair: update only the fields it carries."""
        if notice.get("base") != self.base or notice.get("counter") != self.counter:
            return False
        changed = False
        for field in TICKER_FIELDS:
            if field in notice:
                value = notice[field]
                if getattr(self, field) != value:
                    setattr(self, field, value)
                    changed = True
        if changed:
            self.version += 1
        return changed

    def reset(self) -> None:
        for field in TICKER_FIELDS:
            setattr(self, field, None)
        self.loaded = False
        self.version += 1

    def as_dict(self) -> dict[str, int | None]:
        return {field: getattr(self, field) for field in TICKER_FIELDS}


Aggressor = Literal["buy", "sell"]


class TradePrint(NamedTuple):
    """One trade from an ``OrdersMatched`` notice."""

    time: int
    price: int
    quantity: int
    total: int
    aggressor: Aggressor | None
    bid: int | None
    ask: int | None
    own: bool = False
    """One of the user's orders took part: the notice carries its ``bid_tonce``/``ask_tonce``
    (sent only to the owner)."""


def aggressor_of(notice: Mapping[str, Any]) -> Aggressor | None:
    """The side that took liquidity: "buy" if the bid was the incoming order, else "sell".

    A side without an order id is a market order, which is always the taker. With both ids
    present the newer (larger) id is the taker: order ids increase with placement, and only an
    incoming order can match a resting one. None when neither rule decides.
    """
    bid = notice.get("bid")
    ask = notice.get("ask")
    if bid is None:
        return "buy" if ask is not None else None
    if ask is None:
        return "sell"
    if bid == ask:
        return None
    return "buy" if bid > ask else "sell"


class Trades:
    """A bounded tape of a pair's recent trades (newest last) and a longer price history."""

    __slots__ = ("base", "counter", "name", "prices", "trades", "version")

    def __init__(self, base: int, counter: int, maxlen: int = 500, history: int = 2000) -> None:
        self.base = base
        self.counter = counter
        self.name = f"trades:{Pair(base, counter).name}"
        self.trades: deque[TradePrint] = deque(maxlen=maxlen)
        self.prices: deque[int] = deque(maxlen=history)
        """Trade prices, oldest first, for a sparkline."""
        self.version = 0

    def apply(self, notice: Mapping[str, Any]) -> bool:
        """Record an ``OrdersMatched`` of this pair."""
        if notice.get("base") != self.base or notice.get("counter") != self.counter:
            return False
        return self.matched(notice)

    def matched(self, n: Mapping[str, Any]) -> bool:
        """``OrdersMatched`` of this pair (the caller has checked the pair)."""
        price = n["price"]
        self.trades.append(
            TradePrint(
                n.get("time", 0),
                price,
                n["quantity"],
                n.get("total", 0),
                aggressor_of(n),
                n.get("bid"),
                n.get("ask"),
                "bid_tonce" in n or "ask_tonce" in n,
            )
        )
        self.prices.append(price)
        self.version += 1
        return True

    @property
    def last(self) -> TradePrint | None:
        return self.trades[-1] if self.trades else None

    def recent(self, n: int) -> list[TradePrint]:
        """The ``n`` newest trades, newest first."""
        out: list[TradePrint] = []
        for trade in reversed(self.trades):
            if len(out) >= n:
                break
            out.append(trade)
        return out

    def clear(self) -> None:
        self.trades.clear()
        self.prices.clear()
        self.version += 1

    def __len__(self) -> int:
        return len(self.trades)
