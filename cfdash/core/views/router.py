"""``Views``: every local view of one connection, and the router that feeds them raw notices.

The client's event thread calls ``route(message)`` once per incoming notice (the decoded JSON
dict, untouched); the dashboard reads the views and redraws those whose names come back.
Per-pair views exist only once the client opens them (``open_book`` when it sends WatchOrders,
``open_ticker`` for WatchTicker): a notice for a pair without views only reaches the account
views.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ..assets import V2, Pair, Scales
from .balances import Balances, TradeVolumes
from .book import OrderBook
from .market import TickerView, Trades
from .orders import OwnOrders

Notice = Mapping[str, Any]
Changed = AbstractSet[str]
"""A set of view names; read it, do not mutate it (it may be shared)."""

_NONE: frozenset[str] = frozenset()


class PairViews:
    """The views of one pair; any may be absent."""

    __slots__ = ("book", "ticker", "trades")

    def __init__(self) -> None:
        self.book: OrderBook | None = None
        self.ticker: TickerView | None = None
        self.trades: Trades | None = None


def _key(pair: Pair | tuple[int, int]) -> tuple[int, int]:
    return (pair.base, pair.counter) if isinstance(pair, Pair) else (pair[0], pair[1])


class Views:
    """All local views of one connection.

    View names reported by ``route``: ``"balances"``, ``"orders"``, ``"fills"``, ``"volume"``
    and, per pair, the ``name`` of its book/ticker/trades (``"book:XBT:GBP"`` ...).
    """

    def __init__(self, scales: Scales = V2, *, tape: int = 500, max_fills: int = 500) -> None:
        self.scales = scales
        self.tape = tape
        self.own = OwnOrders(scales, max_fills=max_fills)
        self.balances = Balances(self.own)
        self.volumes = TradeVolumes()
        self.pairs: dict[tuple[int, int], PairViews] = {}
        self._routes: dict[str, Callable[[Notice], Changed]] = {
            "OrderOpened": self._opened,
            "OrdersMatched": self._matched,
            "OrderClosed": self._closed,
            "BalanceChanged": self._balance,
            "TickerChanged": self._ticker,
            "TradeVolumeChanged": self._volume,
        }
        self._balances_only = frozenset({Balances.name})
        self._volume_only = frozenset({TradeVolumes.name})

    # -- opening and closing per-pair views --------------------------------------------------

    def open_book(self, pair: Pair | tuple[int, int]) -> OrderBook:
        """The pair's book, reset and buffering (call before sending WatchOrders), plus a tape."""
        key = _key(pair)
        views = self.pairs.setdefault(key, PairViews())
        if views.book is None:
            views.book = OrderBook(*key)
        else:
            views.book.reset()
        if views.trades is None:
            views.trades = Trades(*key, maxlen=self.tape)
        return views.book

    def close_book(self, pair: Pair | tuple[int, int]) -> None:
        """Drop the pair's book and tape (after WatchOrders watch=false)."""
        views = self.pairs.get(_key(pair))
        if views is not None:
            views.book = None
            views.trades = None

    def open_ticker(self, pair: Pair | tuple[int, int]) -> TickerView:
        key = _key(pair)
        views = self.pairs.setdefault(key, PairViews())
        if views.ticker is None:
            views.ticker = TickerView(*key)
        return views.ticker

    def close_ticker(self, pair: Pair | tuple[int, int]) -> None:
        views = self.pairs.get(_key(pair))
        if views is not None:
            views.ticker = None

    def book(self, pair: Pair | tuple[int, int]) -> OrderBook | None:
        views = self.pairs.get(_key(pair))
        return views.book if views is not None else None

    def ticker(self, pair: Pair | tuple[int, int]) -> TickerView | None:
        views = self.pairs.get(_key(pair))
        return views.ticker if views is not None else None

    def trades(self, pair: Pair | tuple[int, int]) -> Trades | None:
        views = self.pairs.get(_key(pair))
        return views.trades if views is not None else None

    def reset(self) -> None:
        """After a reconnect: every book unsynced and empty (never patch a stale book)."""
        for views in self.pairs.values():
            if views.book is not None:
                views.book.reset()

    # -- routing -----------------------------------------------------------------------------

    def route(self, message: Notice) -> Changed:
        """Apply one raw notice to every view it concerns; return the names of those changed.

        Replies (no ``notice`` key) and unknown notices change nothing.
        """
        handler = self._routes.get(message.get("notice"))  # type: ignore[arg-type]
        return handler(message) if handler is not None else _NONE

    def _opened(self, n: Notice) -> Changed:
        changed: set[str] = set()
        views = self.pairs.get((n["base"], n["counter"]))
        if views is not None and (book := views.book) is not None and book.opened(n):
            changed.add(book.name)
        if "tonce" in n:
            self._own(self.own.opened, n, changed)
        return changed

    def _matched(self, n: Notice) -> Changed:
        changed: set[str] = set()
        views = self.pairs.get((n["base"], n["counter"]))
        if views is not None:
            book = views.book
            if book is not None and book.matched(n):
                changed.add(book.name)
            trades = views.trades
            if trades is not None and trades.matched(n):
                changed.add(trades.name)
        if "bid_tonce" in n or "ask_tonce" in n:
            self._own(self.own.matched, n, changed)
            changed.add(OwnOrders.fills_name)
        return changed

    def _closed(self, n: Notice) -> Changed:
        changed: set[str] = set()
        views = self.pairs.get((n["base"], n["counter"]))
        if views is not None and (book := views.book) is not None and book.closed(n):
            changed.add(book.name)
        if "tonce" in n:
            self._own(self.own.closed, n, changed)
        return changed

    def _own(self, handler: Callable[[Notice], bool], n: Notice, changed: set[str]) -> None:
        own = self.own
        before = own.reserve_version
        if handler(n):
            changed.add(OwnOrders.name)
        if own.reserve_version != before:
            changed.add(Balances.name)

    def _balance(self, n: Notice) -> Changed:
        return self._balances_only if self.balances.changed(n) else _NONE

    def _ticker(self, n: Notice) -> Changed:
        views = self.pairs.get((n["base"], n["counter"]))
        if views is None or views.ticker is None:
            return _NONE
        ticker = views.ticker
        return {ticker.name} if ticker.apply(n) else _NONE

    def _volume(self, n: Notice) -> Changed:
        return self._volume_only if self.volumes.apply(n) else _NONE
