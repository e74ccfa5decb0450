"""``BatchBuilder``: the client's views (``cfdash.core.views``) -> the dashboard's display rows.

Sans-I/O: no socket, no thread, no clock. ``ClientSource`` (``cfdash.tui.live``) owns one and
calls it under ``client.lock`` (the views are the client's), passing the connection status it
computed; the builder decides what a ``Batch`` or a ``MarketSnapshot`` holds. It also keeps
what only the dashboard knows about the views: the market on screen, the ticker's reference
price, the orders this dashboard is placing (by tonce) and the own fills not reported yet
(held for an order being placed, so that its outcome reports them, or fresh, to push), and
the orders of unknown outcome (listed until dismissed).
``mu`` guards that state against the source's other threads (it is never held while the
views' lock is taken).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any, Final

from cfdash.core.assets import PAIRS, SPOT_PAIRS, Pair, Scales
from cfdash.core.views import ClosedOrder, OwnOrder, OwnOrders, Views
from cfdash.core.views import Fill as ViewFill
from cfdash.tui.source import (
    BalanceRow,
    Batch,
    BookRows,
    ClosedOrderRow,
    ConnectionStatus,
    Fill,
    MarketSnapshot,
    OpenOrder,
    OrderRequest,
    OrderState,
    PairTicker,
    Quote,
    TickerRow,
    TradeRow,
)

TICKER: Final = "ticker:"
"""The prefix of the ticker views' names."""
ALL: Final = "*"
"""A pseudo view name: rebuild everything (after a login, a market switch, a state change)."""
FILL_HISTORY: Final = 1000
"""The session's fills kept for the fills and positions panels (the oldest go first)."""


class BatchBuilder:
    """Builds batches and snapshots from ``views``: ``depth`` levels a side at most for the
    ladder, the ``tape`` most recent trades."""

    def __init__(self, views: Views, *, depth: int = 500, tape: int = 200) -> None:
        self.views = views
        self.depth = depth
        self.tape = tape
        self.mu = threading.Lock()
        self.pair: Pair | None = None
        """The market on screen."""
        self.names: frozenset[str] = frozenset()
        """Its views' names."""
        self._reference: dict[Pair, int] = {}
        self.watchlist: tuple[Pair, ...] = SPOT_PAIRS
        """The markets whose tickers are watched whatever the market on screen (the
        watchlist panel); that market's too."""
        self._since: dict[Pair, int] = {}
        """Each watched market's first last price this session (the watchlist's change)."""
        # Own fills (under ``mu``; taken from the views under ``client.lock``, see take_fills)
        self._fills_seen = views.own.fills_version
        self._fresh: list[Fill] = []
        """Fills taken from the views and not pushed yet."""
        self._placing: dict[int, tuple[OrderState, OrderRequest]] = {}
        """The orders this dashboard placed whose outcome is not known yet, by tonce."""
        self._held: dict[int, list[Fill]] = {}
        """Their fills, kept for the outcome (``OrderResult.fills``) rather than pushed."""
        self._unknown: dict[int, OrderRequest] = {}
        """The orders placed here whose outcome cannot be known, by tonce, until dismissed."""
        self._history: deque[Fill] = deque(maxlen=FILL_HISTORY)
        """Every own fill seen (under ``mu``), oldest first; ``_history_sent``: pushed."""
        self._history_version = self._history_sent = 0
        self._closed_seen = views.own.closed_version
        self._closed_news: list[ClosedOrderRow] = []
        """Market orders placed here that are done (under ``mu``): no ``OrderClosed`` names
        them, so their outcome does."""
        self._quotes: tuple[Quote, ...] = ()
        """The quotes last pushed."""

    # -- the market on screen --------------------------------------------------------------
    def watch(self, pair: Pair) -> tuple[Pair | None, frozenset[str]]:
        """Show ``pair`` from now on; the market shown before and its views' names."""
        with self.mu:
            old, self.pair = self.pair, pair
            old_names, self.names = self.names, market_names(pair)
        if old is not None and old != pair:
            self._reference.pop(old, None)
        return old, old_names

    def shown(self) -> tuple[Pair | None, frozenset[str]]:
        with self.mu:
            return self.pair, self.names

    def synced(self) -> bool:
        """Whether the book on screen is live (rebuilt from its snapshot), or has no view."""
        pair = self.shown()[0]
        book = None if pair is None else self.views.book(pair)
        return book is None or book.synced

    # -- orders being placed ---------------------------------------------------------------
    def placing(self, tonce: int, state: OrderState, order: OrderRequest) -> None:
        """An order is being placed with ``tonce`` ("sending"), or its reply is late
        ("pending": only if still being placed)."""
        with self.mu:
            if state == "sending" or tonce in self._placing:
                self._placing[tonce] = (state, order)

    def settled(self, tonce: int) -> tuple[Fill, ...]:
        """The order placed with ``tonce`` has its outcome: its fills so far (no longer held:
        later fills of a resting order are pushed as they come). Under ``client.lock``."""
        self.take_fills()
        with self.mu:
            self._placing.pop(tonce, None)
            return tuple(self._held.pop(tonce, ()))

    def market_done(self, tonce: int, remaining: int) -> None:
        """The market order placed with ``tonce`` is done, ``remaining`` not traded (its
        reply): list it with the closed orders. Under ``client.lock``, before ``settled``."""
        self.take_fills()
        with self.mu:
            entry = self._placing.get(tonce)
            if entry is None or not entry[1].is_market:
                return
            request = entry[1]
            filled = sum(f.quantity for f in self._held.get(tonce, ()))
            self._closed_news.append(
                ClosedOrderRow(
                    None,
                    request.pair,
                    request.side,
                    None,
                    request.quantity or 0,  # by total: its size is not known (0)
                    filled,
                    abs(remaining),
                    tonce,
                )
            )

    def release(self, tonce: int) -> None:
        """The order failed, or its outcome is unknown: its fills held are pushed."""
        with self.mu:
            self._placing.pop(tonce, None)
            self._fresh.extend(self._held.pop(tonce, ()))

    def unknown(self, tonce: int) -> None:
        """The outcome of the order placed with ``tonce`` cannot be known: list it as such
        (until ``dismiss``); its fills held, if any, are pushed."""
        with self.mu:
            entry = self._placing.get(tonce)
            if entry is not None:
                self._unknown[tonce] = entry[1]
        self.release(tonce)

    def dismiss(self, tonce: int) -> None:
        """Stop listing the order of unknown outcome placed with ``tonce``."""
        with self.mu:
            self._unknown.pop(tonce, None)

    def take_fills(self) -> None:
        """Move the own fills the views learnt since the last call to the fills to push, or
        to those held for an order being placed. Under ``client.lock``."""
        own = self.views.own
        new = own.fills_version - self._fills_seen
        if new <= 0:
            return
        self._fills_seen = own.fills_version
        recent = list(own.fills)[-new:]  # at most the deque's length (a burst drops the oldest)
        with self.mu:
            for raw in recent:
                fill = fill_row(raw)
                self._history.append(fill)
                self._history_version += 1
                if raw.tonce is not None and raw.tonce in self._placing:
                    self._held.setdefault(raw.tonce, []).append(fill)
                else:
                    self._fresh.append(fill)

    # -- batches and snapshots (under ``client.lock``) -------------------------------------
    def snapshot(
        self,
        pair: Pair,
        scales: Scales,
        status: ConnectionStatus,
        *,
        private: bool,
        fee_rate: Decimal | None = None,
    ) -> MarketSnapshot:
        """Everything about ``pair``; the account's panels only if ``private`` (logged in)."""
        return MarketSnapshot(
            pair=pair,
            scales=scales,
            book=self.book(pair),
            trades=self.trades(pair),
            ticker=self.ticker(pair),
            balances=self.balances() if private else None,
            orders=self.orders() if private else (),
            status=status,
            fee_rate=fee_rate,
            fill_history=self.fill_history() if private else (),
            quotes=self.quotes(),
            tickers=self.tickers(),
        )

    def build(
        self,
        dirty: AbstractSet[str],
        status: ConnectionStatus,
        *,
        status_changed: bool,
        private: bool,
    ) -> Batch | None:
        """One batch with every view in ``dirty`` (their names; ``ALL``: every view), None if
        nothing changed. A change of ``status`` rebuilds every view too."""
        full = ALL in dirty or status_changed
        pair, names = self.shown()
        book = trades = ticker = None
        balances: tuple[BalanceRow, ...] | None = None
        orders: tuple[OpenOrder, ...] | None = None
        own = full or OwnOrders.name in dirty
        if pair is not None and (full or not names.isdisjoint(dirty)):
            book_name, trades_name, ticker_name = market_names_ordered(pair)
            if full or book_name in dirty:
                book = self.book(pair)
            if full or trades_name in dirty:
                trades = self.trades(pair)
            if full or ticker_name in dirty:
                ticker = self.ticker(pair)
        tickers = None
        if full or any(name.startswith(TICKER) for name in dirty):
            tickers = self.tickers()
        if own or "balances" in dirty:
            balances = self.balances() if private else None
        if own:
            orders = self.orders() if private else ()
        self.take_fills()
        with self.mu:
            fills, self._fresh = tuple(self._fresh), []
            history_changed = full or self._history_version != self._history_sent
            self._history_sent = self._history_version
        history = (self.fill_history() if private else ()) if history_changed else None
        closed = self.take_closed()
        quotes = None
        if full or any(name.startswith(("book:", "ticker:")) for name in dirty):
            quotes = self.quotes()
            if quotes == self._quotes and not full:
                quotes = None
            else:
                self._quotes = quotes
        news = fills or closed or history is not None or quotes is not None
        parts = (book, trades, ticker, balances, orders, tickers)
        if not full and not news and parts == (None,) * 6:
            return None
        return Batch(
            pair=pair,
            book=book,
            trades=trades,
            ticker=ticker,
            balances=balances,
            orders=orders,
            status=status if full else None,
            fills=fills,
            fill_history=history,
            closed=closed,
            quotes=quotes,
            tickers=tickers,
        )

    def fill_history(self) -> tuple[Fill, ...]:
        with self.mu:
            return tuple(self._history)

    def take_closed(self) -> tuple[ClosedOrderRow, ...]:
        """The own orders the views saw close since the last call. Under ``client.lock``."""
        own = self.views.own
        new = own.closed_version - self._closed_seen
        with self.mu:
            news, self._closed_news = tuple(self._closed_news), []
        if new <= 0:
            return news
        self._closed_seen = own.closed_version
        return tuple(closed_row(c) for c in list(own.closed_orders)[-new:]) + news

    def quotes(self) -> tuple[Quote, ...]:
        """Every market with a book or a ticker view: its best bid and ask (from the book if
        it is live, else the ticker's) and last price."""
        rows = []
        for key, views in sorted(self.views.pairs.items()):
            book, ticker = views.book, views.ticker
            bid = ask = last = None
            if ticker is not None:
                bid, ask, last = ticker.bid, ticker.ask, ticker.last
            if book is not None and book.synced:
                bid, ask = book.best_bid(), book.best_ask()
            if (bid, ask, last) != (None, None, None):
                rows.append(Quote(Pair(*key), bid, ask, last))
        return tuple(rows)

    def book(self, pair: Pair) -> BookRows:
        book = self.views.book(pair)
        if book is None:
            return BookRows()
        return BookRows(
            tuple(book.levels("bid", self.depth)), tuple(book.levels("ask", self.depth))
        )

    def trades(self, pair: Pair) -> tuple[TradeRow, ...]:
        tape = self.views.trades(pair)
        if tape is None:
            return ()
        return tuple(
            # "buy" when the notice cannot tell (never for the exchange's own notices)
            TradeRow(t.time, t.price, t.quantity, t.aggressor or "buy", t.own)
            for t in tape.recent(self.tape)
        )

    def ticker(self, pair: Pair) -> TickerRow:
        view = self.views.ticker(pair)
        if view is None:
            return TickerRow()
        reference = self._reference.get(pair)
        if reference is None and view.last is not None:
            reference = self._reference[pair] = view.last  # the last price when watching began
        return TickerRow(view.last, view.bid, view.ask, view.low, view.high, view.volume, reference)

    def watched_tickers(self) -> tuple[Pair, ...]:
        """The markets whose tickers are watched: the watchlist's and the one on screen, in
        ``PAIRS`` order."""
        shown = self.shown()[0]
        wanted = set(self.watchlist) | ({shown} if shown is not None else set())
        return tuple(p for p in PAIRS if p in wanted)

    def tickers(self) -> tuple[PairTicker, ...]:
        """Every watched market's ticker, its reference the first last price seen this
        session (kept across market switches)."""
        rows = []
        for pair in self.watched_tickers():
            view = self.views.ticker(pair)
            if view is None:
                continue
            since = self._since.get(pair)
            if since is None and view.last is not None:
                since = self._since[pair] = view.last
            row = TickerRow(view.last, view.bid, view.ask, view.low, view.high, view.volume, since)
            rows.append(PairTicker(pair, row))
        return tuple(rows)

    def balances(self) -> tuple[BalanceRow, ...]:
        b = self.views.balances
        assets = sorted(b.assets(), key=lambda a: (a not in _SPOT_ASSETS, a))
        return tuple(BalanceRow(a, b.available(a), b.reserved(a)) for a in assets)

    def orders(self) -> tuple[OpenOrder, ...]:
        """The open orders, then those in flight (sent, no outcome yet), then those of unknown
        outcome (unless open after all)."""
        own = self.views.own
        shown = [
            OpenOrder(o.id, o.pair, o.price, o.original, o.quantity, o.time or 0, o.tonce)
            for o in own.open_orders()
            if o.id is not None and o.price is not None and o.quantity
        ]
        with self.mu:
            placing = dict(self._placing)
            unknown = dict(self._unknown)
        sending: tuple[OrderState, OrderRequest | None] = ("sending", None)
        for o in own.in_flight():
            state, request = placing.get(o.tonce or 0, sending)
            shown.append(in_flight_row(o, state, request))
        listed = {o.tonce for o in shown}
        shown.extend(unknown_row(t, r) for t, r in unknown.items() if t not in listed)
        return tuple(shown)


_SPOT_ASSETS = frozenset(a for pair in SPOT_PAIRS for a in (pair.base, pair.counter))
"""Listed first in the balances panel (the 2018 futures follow)."""


def market_names_ordered(pair: Pair) -> tuple[str, str, str]:
    """The names of ``pair``'s book, trades and ticker views."""
    name = pair.name
    return f"book:{name}", f"trades:{name}", f"ticker:{name}"


def market_names(pair: Pair) -> frozenset[str]:
    return frozenset(market_names_ordered(pair))


def fill_row(fill: ViewFill) -> Fill:
    pair = Pair(fill.base, fill.counter)
    fee, asset = fill.fee, pair.counter
    if not fee and fill.base_fee:  # the exchange charges counter fees only; just in case
        fee, asset = fill.base_fee, pair.base
    return Fill(
        pair,
        fill.side,
        fill.quantity,
        fill.price,
        fill.total,
        fee,
        asset,
        fill.time,
        fill.id,
        fill.tonce,
    )


def closed_row(order: ClosedOrder) -> ClosedOrderRow:
    return ClosedOrderRow(
        order.id,
        Pair(order.base, order.counter),
        order.side,
        order.price,
        order.original,
        order.filled,
        order.remaining,
        order.tonce,
    )


def in_flight_row(order: OwnOrder, state: OrderState, request: OrderRequest | None) -> OpenOrder:
    """An order sent without an outcome yet. The view keeps a market order by total as its
    signed total in ``quantity``: the request tells which (a market order sent by someone else
    on this client is shown by quantity)."""
    quantity, total = order.original, None
    if request is not None and request.total is not None:
        quantity, total = 0, order.original
    return OpenOrder(
        None, order.pair, order.price, quantity, quantity, 0, order.tonce, state, total
    )


def unknown_row(tonce: int, request: OrderRequest) -> OpenOrder:
    """An order of unknown outcome, as it was asked for (signed: negative for a sell)."""
    sign = 1 if request.side == "buy" else -1
    quantity = sign * (request.quantity or 0)
    total = None if request.total is None else sign * request.total
    return OpenOrder(
        None, request.pair, request.price, quantity, quantity, 0, tonce, "unknown", total
    )


def cancelled_row(order: Any, original: int | None) -> OpenOrder:
    """A cancelled order from a ``CancelOrder``/``CancelAllOrders`` reply."""
    return OpenOrder(
        order.id,
        Pair(order.base, order.counter),
        order.price,
        original if original is not None else order.quantity,
        order.quantity,
        order.time,
        order.tonce,
    )
