"""The seam between the dashboard and whatever feeds it: plain data in, order requests out.

Widgets never see the client library or the local views. A ``DataSource`` hands the app a
``MarketSnapshot`` of wire integers on demand and pushes ``Batch`` objects (the parts that
changed) to a sink the app registers. The real source (``cfdash.tui.live``) wraps ``WSClient``
plus ``core.views`` and calls the sink from a bridge thread; the app hops to its own thread with
``call_from_thread`` (so the source must not hold a lock that ``snapshot()`` takes while it
calls the sink). Requests return ``concurrent.futures.Future`` objects, which is what the
client's calls return; the app awaits them without blocking its event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, TypeVar, runtime_checkable

from cfdash.core.assets import Pair, Scales
from cfdash.core.errors import CoinfloorError

_T = TypeVar("_T")
Side = Literal["buy", "sell"]
ConnectionState = Literal["connected", "connecting", "reconnecting", "disconnected"]
OrderState = Literal["open", "sending", "pending", "unknown"]
"""An order on the book ("open"), or one in flight: sent without a reply yet ("sending"),
whose reply did not come in time (``OrderPending``: "pending", settled later by its tonce), or
whose outcome cannot be known ("unknown", ``OutcomeUnknown``: listed until dismissed)."""

Level = tuple[int, int, int]
"""One book level as ``OrderBook.levels`` gives it: (price, size, order count), wire integers."""


@dataclass(frozen=True, slots=True)
class BookRows:
    """Aggregated levels, best first on each side; sizes are positive."""

    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()

    @property
    def best_bid(self) -> int | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0][0] if self.asks else None


@dataclass(frozen=True, slots=True)
class TradeRow:
    """A trade on the watched book. ``time`` is microseconds since the epoch (the wire's unit)."""

    time: int
    price: int
    quantity: int
    aggressor: Side
    own: bool = False
    """One of the user's own orders took part (the tape marks it)."""


@dataclass(frozen=True, slots=True)
class Fill:
    """A trade of one of the user's orders (its side of one ``OrdersMatched``).

    ``quantity`` (base) and ``total`` (counter) are positive wire integers; ``fee`` is in
    ``fee_asset`` (the counter asset: the exchange charges no other). ``order_id`` is None for
    a market order, which only its ``tonce`` names (None too if placed without one); ``time``
    is microseconds since the epoch.
    """

    pair: Pair
    side: Side
    quantity: int
    price: int
    total: int
    fee: int
    fee_asset: int
    time: int
    order_id: int | None = None
    tonce: int | None = None

    @property
    def key(self) -> tuple[str, int] | None:
        """What names its order: ("id", id), else ("tonce", tonce), else None."""
        if self.order_id is not None:
            return ("id", self.order_id)
        if self.tonce is not None:
            return ("tonce", self.tonce)
        return None


ClosedOutcome = Literal["filled", "partly filled", "cancelled", "unknown"]


@dataclass(frozen=True, slots=True)
class ClosedOrderRow:
    """One of the user's orders that closed (filled, or cancelled, maybe after some fills).

    Amounts are positive wire integers: ``original`` the quantity first seen, ``filled`` what
    traded as seen by this session, ``remaining`` what was left when it closed (0: filled).
    ``time`` (epoch seconds) is when the dashboard learnt it (the app stamps it).
    """

    id: int | None
    pair: Pair
    side: Side
    price: int | None
    original: int
    filled: int
    remaining: int
    tonce: int | None = None
    time: float | None = None
    outcome: ClosedOutcome | None = None
    """None: from the quantities (see ``result``); "unknown" for an order of unknown outcome
    the user dismissed."""

    @property
    def result(self) -> ClosedOutcome:
        """The outcome: "filled", "partly filled" (then cancelled or closed), "cancelled"."""
        if self.outcome is not None:
            return self.outcome
        if self.remaining == 0:
            return "filled"
        return "partly filled" if self.filled else "cancelled"


@dataclass(frozen=True, slots=True)
class Quote:
    """A market's best bid, best ask and last price (wire integers, None where unknown): what
    the positions panel values assets at."""

    pair: Pair
    bid: int | None = None
    ask: int | None = None
    last: int | None = None


@dataclass(frozen=True, slots=True)
class TickerRow:
    """The ticker fields (``None`` where the exchange has none).

    ``reference`` is the price the header measures the change against (the source decides:
    the first trade of the 24 h window, or the last price when watching began).
    """

    last: int | None = None
    bid: int | None = None
    ask: int | None = None
    low: int | None = None
    high: int | None = None
    volume: int | None = None
    reference: int | None = None


@dataclass(frozen=True, slots=True)
class PairTicker:
    """One market's ticker for the watchlist; ``ticker.reference`` is its last price when the
    session first saw one (the watchlist's change is since then)."""

    pair: Pair
    ticker: TickerRow


@dataclass(frozen=True, slots=True)
class BalanceRow:
    asset: int
    available: int
    reserved: int = 0

    @property
    def total(self) -> int:
        return self.available + self.reserved


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """One of the user's resting orders, or one in flight (``state`` not "open").

    ``quantity``/``remaining`` are signed (negative = ask). An order in flight has no ``id``
    yet (None) and ``time`` 0; a market order in flight has no ``price`` (None) and, when
    placed by total, its signed counter-asset ``total`` with ``quantity`` 0.
    """

    id: int | None
    pair: Pair
    price: int | None
    quantity: int
    remaining: int
    time: int
    tonce: int | None = None
    state: OrderState = "open"
    total: int | None = None

    @property
    def side(self) -> Side:
        amount = self.remaining or self.quantity or self.total or 0
        return "buy" if amount > 0 else "sell"

    @property
    def in_flight(self) -> bool:
        return self.state != "open"


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """Connection state; ``reconnect_at`` is epoch seconds, ``latency`` a round trip in seconds,
    ``attempt`` the number of the reconnection attempt being waited for (when known).

    ``silent_since`` (``time.monotonic()``) is set while the connection is open but an answer
    has been awaited for 2 s or more (``cfdash.tui.live.SILENCE``) with no frame at all: the
    time of the last frame, or of the request sent after it. ``login_error`` is why the
    credentials given at start were refused (the exchange's message; never the passphrase),
    until a login passes.
    """

    state: ConnectionState = "connecting"
    reconnect_at: float | None = None
    latency: float | None = None
    user_id: int | None = None
    attempt: int | None = None
    silent_since: float | None = None
    login_error: str | None = None

    @property
    def connected(self) -> bool:
        return self.state == "connected"


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Everything the dashboard shows, as plain data."""

    pair: Pair
    scales: Scales
    book: BookRows = field(default_factory=BookRows)
    trades: tuple[TradeRow, ...] = ()
    """Most recent first."""
    ticker: TickerRow = field(default_factory=TickerRow)
    balances: tuple[BalanceRow, ...] | None = None
    """``None`` until logged in."""
    orders: tuple[OpenOrder, ...] = ()
    status: ConnectionStatus = field(default_factory=ConnectionStatus)
    fee_rate: Decimal | None = None
    """The taker fee rate (e.g. ``Decimal("0.0025")``), if known."""
    fill_history: tuple[Fill, ...] = ()
    """Every fill of the account this session has seen (bounded), oldest first."""
    quotes: tuple[Quote, ...] = ()
    """Every market whose prices the source knows."""
    tickers: tuple[PairTicker, ...] = ()
    """Every watched market's ticker (the watchlist), in ``PAIRS`` order."""


@dataclass(frozen=True, slots=True)
class Batch:
    """The parts of a snapshot that changed; ``None`` means unchanged.

    ``book``, ``trades`` and ``ticker`` belong to ``pair`` and are ignored when it is not the
    market on screen; balances, orders (all pairs) and status are account-wide.
    """

    pair: Pair | None = None
    book: BookRows | None = None
    trades: tuple[TradeRow, ...] | None = None
    ticker: TickerRow | None = None
    balances: tuple[BalanceRow, ...] | None = None
    orders: tuple[OpenOrder, ...] | None = None
    status: ConnectionStatus | None = None
    fee_rate: Decimal | None = None
    fills: tuple[Fill, ...] = ()
    """The user's fills since the previous batch (every market), oldest first: news to report
    once, so merging batches keeps them all."""
    fill_history: tuple[Fill, ...] | None = None
    """Every fill this session has seen (bounded), oldest first, when it changed."""
    closed: tuple[ClosedOrderRow, ...] = ()
    """The user's orders closed since the previous batch, oldest first (news, like fills)."""
    quotes: tuple[Quote, ...] | None = None
    """Every market whose prices the source knows, when one changed."""
    tickers: tuple[PairTicker, ...] | None = None
    """Every watched market's ticker (the watchlist; any market), when one of them changed."""

    def merge(self, newer: Batch) -> Batch:
        """This batch followed by ``newer`` (for a bridge coalescing pushes)."""
        old = self
        if newer.pair is not None and self.pair is not None and newer.pair != self.pair:
            old = Batch()  # a different market: the older market data no longer applies
        return Batch(
            pair=newer.pair or self.pair,
            book=_later(old.book, newer.book),
            trades=_later(old.trades, newer.trades),
            ticker=_later(old.ticker, newer.ticker),
            balances=_later(self.balances, newer.balances),
            orders=_later(self.orders, newer.orders),
            status=_later(self.status, newer.status),
            fee_rate=_later(self.fee_rate, newer.fee_rate),
            fills=self.fills + newer.fills,
            fill_history=_later(self.fill_history, newer.fill_history),
            closed=self.closed + newer.closed,
            quotes=_later(self.quotes, newer.quotes),
            tickers=_later(self.tickers, newer.tickers),
        )


def _later(old: _T | None, new: _T | None) -> _T | None:
    return old if new is None else new


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order in wire integers; amounts are positive, ``side`` gives the sign.

    Shapes (WEBSOCKET-README): quantity + price (limit), quantity alone or total alone (market).
    """

    pair: Pair
    side: Side
    quantity: int | None = None
    price: int | None = None
    total: int | None = None

    def __post_init__(self) -> None:
        shape = (self.quantity is not None, self.price is not None, self.total is not None)
        if shape not in ((True, True, False), (True, False, False), (False, False, True)):
            raise ValueError("an order is quantity+price, quantity alone or total alone")
        for name in ("quantity", "price", "total"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def is_market(self) -> bool:
        return self.price is None

    def wire_fields(self) -> dict[str, int]:
        """``PlaceOrder`` fields: base, counter and the signed amount(s)."""
        sign = 1 if self.side == "buy" else -1
        fields = {"base": self.pair.base, "counter": self.pair.counter}
        if self.quantity is not None:
            fields["quantity"] = sign * self.quantity
        if self.price is not None:
            fields["price"] = self.price
        if self.total is not None:
            fields["total"] = sign * self.total
        return fields


@dataclass(frozen=True, slots=True)
class OrderResult:
    """A limit order's ``id``/``time``, or a market order's unfilled ``remaining``.

    ``fills`` are the order's fills known when its outcome came (the source does not push
    them in a ``Batch`` as well); later fills of a resting order come in batches. ``resting``
    is what a limit order has left on the book then (positive; 0: filled or closed at once),
    None if not known.
    """

    id: int | None = None
    time: int | None = None
    remaining: int | None = None
    tonce: int | None = None
    fills: tuple[Fill, ...] = ()
    resting: int | None = None


@dataclass(frozen=True, slots=True)
class OrderPending:
    """An order sent whose outcome is not known yet (no reply in time, or the connection
    dropped before it came): not refused, so the app must not invite sending it again.
    ``place_order``'s future resolves to one (a value, not an exception: nothing failed).

    ``message`` says why, for the user. ``outcome`` resolves when the source learns what
    happened (for the live source, when the client settles the order by its tonce after
    reconnecting): with an ``OrderResult``, or a ``CoinfloorError`` if it was refused, or
    ``OutcomeUnknown`` if it cannot be known whether it was placed.
    """

    message: str
    outcome: Future[OrderResult]


class OutcomeUnknown(CoinfloorError):
    """An order whose outcome cannot be known: the connection was lost before the exchange
    answered, and the order is neither open nor seen since. It may have been placed (and have
    traded, or been cancelled) or not; it is not sent again. The source lists it in the open
    orders as "unknown" until ``DataSource.dismiss``."""

    code = -1

    def __init__(self, message: str, tonce: int) -> None:
        super().__init__(message)
        self.tonce = tonce


OrderReply = OrderResult | OrderPending
"""What ``DataSource.place_order``'s future resolves to: the outcome, or "pending"."""


@dataclass(frozen=True, slots=True)
class EstimateRow:
    """``EstimateMarketOrder``'s answer: what a market order would trade (fees ignored)."""

    quantity: int
    total: int


Sink = Callable[[Batch], None]


@runtime_checkable
class DataSource(Protocol):
    """What the dashboard reads from and sends orders to.

    Request methods return futures that fail with ``cfdash.core.errors.CoinfloorError``
    subclasses carrying the exchange's own message.
    """

    @property
    def scales(self) -> Scales: ...

    def subscribe(self, sink: Sink) -> None:
        """Push every later change to ``sink`` (from any thread)."""

    def unsubscribe(self, sink: Sink) -> None: ...

    def watch(self, pair: Pair) -> None:
        """Make ``pair`` the market whose book, ticker and trades are pushed."""

    def snapshot(self, pair: Pair) -> MarketSnapshot:
        """The current state, quickly and without network I/O."""

    def login(self, user_id: int, cookie: str, passphrase: str) -> Future[None]:
        """Authenticate. The passphrase must not outlive the call."""

    def place_order(self, order: OrderRequest) -> Future[OrderReply]:
        """Send ``order``: its ``OrderResult``, or ``OrderPending`` when no answer came in time."""

    def cancel_order(self, order_id: int) -> Future[OpenOrder]: ...

    def dismiss(self, tonce: int) -> None:
        """Stop listing the order of unknown outcome placed with ``tonce`` (the user has
        seen it)."""

    def cancel_all(self) -> Future[tuple[OpenOrder, ...]]: ...

    def estimate(
        self, pair: Pair, side: Side, *, quantity: int | None = None, total: int | None = None
    ) -> Future[EstimateRow]: ...
