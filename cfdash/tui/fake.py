"""An in-memory ``DataSource``: one signed-in user trading against seeded liquidity.

It keeps real orders and matches them by price-time priority, with the spec's reservations
(an ask holds its base quantity, a bid ``Scales.bid_reservation`` of the counter asset, a
cancel returns it), its error classes and messages, and pushes a ``Batch`` after every change.
Other traders' balances are not tracked (they have unlimited funds). Simplifications, said
plainly: no fees are charged (``fee_rate`` is only reported), trade totals round half up
instead of stochastically, and tonces are not used.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from decimal import Decimal

from cfdash.core.assets import V2, Pair, Scales, is_listed
from cfdash.core.auth import derive_private_key
from cfdash.core.errors import (
    AuthenticationError,
    CoinfloorError,
    InsufficientFundsError,
    Msg,
    NotFoundError,
    ValidationError,
)
from cfdash.tui.source import (
    Balance,
    Batch,
    Book,
    ConnectionStatus,
    Estimate,
    MarketSnapshot,
    OpenOrder,
    OrderRequest,
    OrderResult,
    Side,
    Sink,
    Ticker,
    Trade,
)

OTHERS = 0
"""Owner id of the seeded liquidity (any user but the one signed in)."""
TAPE_LENGTH = 200
DAY = 86400.0


@dataclass(slots=True)
class _Order:
    id: int
    owner: int
    pair: Pair
    price: int
    quantity: int  # signed, as placed
    remaining: int  # signed
    time: int
    reserved: int = 0  # owner's held amount (own orders only)


def _done(value: object = None, error: BaseException | None = None) -> Future:
    future: Future = Future()
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
    return future


class FakeSource:
    """A faithful stand-in for the client-backed source (see the module docstring)."""

    def __init__(
        self,
        *,
        scales: Scales = V2,
        fee_rate: Decimal | None = Decimal("0.0025"),
        clock: Callable[[], float] = time.time,
        users: Mapping[int, tuple[str, str]] | None = None,
        user_id: int | None = None,
        status: ConnectionStatus | None = None,
        pair: Pair | None = None,
    ) -> None:
        """``users`` maps user id -> (cookie, passphrase) for ``login``; only each user's
        public key is kept. ``user_id`` starts already signed in."""
        self._scales = scales
        self._fee_rate = fee_rate
        self._clock = clock
        self._accounts = {
            uid: (cookie, derive_private_key(uid, secret).public_key())
            for uid, (cookie, secret) in (users or {}).items()
        }
        self._status = status or ConnectionStatus("connected")
        self._user: int | None = None
        self._balances: dict[int, list[int]] = {}  # asset -> [available, reserved]
        self._orders: dict[int, _Order] = {}
        self._ids = itertools.count(1)
        self._trades: dict[Pair, deque[tuple[Trade, float]]] = {}
        self._reference: dict[Pair, int] = {}
        self._sinks: list[Sink] = []
        self._watched = pair
        self._lock = threading.RLock()
        self.placed: list[OrderRequest] = []
        """Every order request received, accepted or not (for tests to inspect)."""
        self.cancelled: list[int] = []
        self.estimates: list[tuple[Pair, Side, int | None, int | None]] = []
        if user_id is not None:
            self._sign_in(user_id)

    # -- DataSource ------------------------------------------------------------------------
    @property
    def scales(self) -> Scales:
        return self._scales

    def subscribe(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: Sink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def watch(self, pair: Pair) -> None:
        self._watched = pair

    def snapshot(self, pair: Pair) -> MarketSnapshot:
        with self._lock:
            return MarketSnapshot(
                pair=pair,
                scales=self._scales,
                book=self._book(pair),
                trades=self._tape(pair),
                ticker=self._ticker(pair),
                balances=self._balance_rows(),
                orders=self._own_orders(),
                status=self._status,
                fee_rate=self._fee_rate,
            )

    def login(self, user_id: int, cookie: str, passphrase: str) -> Future[None]:
        account = self._accounts.get(user_id)
        if account is None:
            return _done(error=NotFoundError(Msg.NO_SUCH_USER))
        if cookie != account[0]:
            return _done(error=AuthenticationError(Msg.BAD_COOKIE))
        if derive_private_key(user_id, passphrase).public_key() != account[1]:
            return _done(error=AuthenticationError(Msg.BAD_SIGNATURE))
        with self._lock:
            self._sign_in(user_id)
        self._push(
            Batch(balances=self._balance_rows(), orders=self._own_orders(), status=self._status)
        )
        return _done()

    def place_order(self, order: OrderRequest) -> Future[OrderResult]:
        self.placed.append(order)
        try:
            with self._lock:
                result = self._place(order)
        except CoinfloorError as exc:
            return _done(error=exc)
        self._push_all(order.pair)
        return _done(result)

    def cancel_order(self, order_id: int) -> Future[OpenOrder]:
        self.cancelled.append(order_id)
        with self._lock:
            if self._user is None:
                return _done(error=AuthenticationError(Msg.NOT_AUTHENTICATED))
            order = self._orders.get(order_id)
            if order is None or order.owner != self._user:
                return _done(error=NotFoundError(Msg.ORDER_NOT_FOUND))
            self._cancel(order)
        self._push_all(order.pair)
        return _done(self._open(order))

    def cancel_all(self) -> Future[tuple[OpenOrder, ...]]:
        with self._lock:
            if self._user is None:
                return _done(error=AuthenticationError(Msg.NOT_AUTHENTICATED))
            mine = [o for o in self._orders.values() if o.owner == self._user]
            for order in mine:
                self.cancelled.append(order.id)
                self._cancel(order)
        for pair in {o.pair for o in mine}:
            self._push_all(pair)
        if not mine:
            self._push(Batch(orders=()))
        return _done(tuple(self._open(o) for o in mine))

    def estimate(
        self, pair: Pair, side: Side, *, quantity: int | None = None, total: int | None = None
    ) -> Future[Estimate]:
        self.estimates.append((pair, side, quantity, total))
        if not is_listed(pair.base, pair.counter):
            return _done(error=NotFoundError(Msg.INVALID_PAIR))
        if (quantity is None) == (total is None):
            return _done(error=ValidationError(Msg.MARKET_NEEDS_QTY_OR_TOTAL))
        if quantity == 0:
            return _done(error=ValidationError(Msg.QUANTITY_ZERO))
        if total == 0:
            return _done(error=ValidationError(Msg.TOTAL_ZERO))
        filled_q = filled_t = 0
        with self._lock:
            for maker in self._opposite(pair, side):
                q = self._take_size(maker, side, quantity, total, filled_q, filled_t, None)
                if q <= 0:
                    break
                filled_q += q
                filled_t += self._total(pair, q, maker.price)
        return _done(Estimate(filled_q, filled_t))

    # -- test and simulation helpers -------------------------------------------------------
    def credit(self, asset: int, amount: int) -> None:
        """Deposit into the signed-in user's available balance."""
        with self._lock:
            self._balance(asset)[0] += amount
        self._push(Batch(balances=self._balance_rows()))

    def add_order(self, pair: Pair, side: Side, quantity: int, price: int) -> int | None:
        """Another trader's limit order: it trades against the book, then rests. Its id, or
        ``None`` when it filled completely."""
        with self._lock:
            order = _Order(next(self._ids), OTHERS, pair, price, 0, 0, self._now_us())
            order.quantity = order.remaining = quantity if side == "buy" else -quantity
            self._match(order, side, limit=price)
            if order.remaining:
                self._orders[order.id] = order
        self._push_all(pair)
        return order.id if order.remaining else None

    def set_status(self, status: ConnectionStatus) -> None:
        self._status = replace(status, user_id=status.user_id or self._user)
        self._push(Batch(status=self._status))

    # -- internals -------------------------------------------------------------------------
    def _sign_in(self, user_id: int) -> None:
        self._user = user_id
        self._status = replace(self._status, user_id=user_id)

    def _now_us(self) -> int:
        return int(Decimal(repr(self._clock())) * 1_000_000)

    def _balance(self, asset: int) -> list[int]:
        return self._balances.setdefault(asset, [0, 0])

    def _balance_rows(self) -> tuple[Balance, ...] | None:
        if self._user is None:
            return None
        return tuple(Balance(a, av, rs) for a, (av, rs) in sorted(self._balances.items()))

    def _open(self, o: _Order) -> OpenOrder:
        return OpenOrder(o.id, o.pair, o.price, o.quantity, o.remaining, o.time)

    def _own_orders(self) -> tuple[OpenOrder, ...]:
        if self._user is None:
            return ()
        return tuple(self._open(o) for o in self._orders.values() if o.owner == self._user)

    def _side(self, pair: Pair, side: Side) -> list[_Order]:
        """Resting orders of one side, best first, then oldest first."""
        orders = [o for o in self._orders.values() if o.pair == pair]
        if side == "buy":
            return sorted((o for o in orders if o.remaining > 0), key=lambda o: (-o.price, o.id))
        return sorted((o for o in orders if o.remaining < 0), key=lambda o: (o.price, o.id))

    def _opposite(self, pair: Pair, side: Side) -> list[_Order]:
        return self._side(pair, "sell" if side == "buy" else "buy")

    def _book(self, pair: Pair) -> Book:
        def levels(orders: Iterable[_Order]) -> tuple[tuple[int, int, int], ...]:
            out: list[list[int]] = []
            for o in orders:
                if out and out[-1][0] == o.price:
                    out[-1][1] += abs(o.remaining)
                    out[-1][2] += 1
                else:
                    out.append([o.price, abs(o.remaining), 1])
            return tuple((p, s, n) for p, s, n in out)

        return Book(levels(self._side(pair, "buy")), levels(self._side(pair, "sell")))

    def _tape(self, pair: Pair) -> tuple[Trade, ...]:
        return tuple(t for t, _ in reversed(self._trades.get(pair, ())))

    def _ticker(self, pair: Pair) -> Ticker:
        book = self._book(pair)
        now = self._clock()
        recent = [t for t, at in self._trades.get(pair, ()) if now - at < DAY]
        last = recent[-1].price if recent else None
        return Ticker(
            last=last,
            bid=book.best_bid,
            ask=book.best_ask,
            low=min((t.price for t in recent), default=None),
            high=max((t.price for t in recent), default=None),
            volume=sum(t.quantity for t in recent) if recent else None,
            reference=recent[0].price if recent else None,
        )

    def _total(self, pair: Pair, quantity: int, price: int) -> int:
        whole, rem, div = self._scales.total_exact(pair, quantity, price)
        return whole + (1 if 2 * rem >= div else 0)

    def _take_size(
        self,
        maker: _Order,
        side: Side,
        quantity: int | None,
        total: int | None,
        filled_q: int,
        filled_t: int,
        budget: int | None,
    ) -> int:
        """How much of ``maker`` a taker can take: by quantity left, total left, budget left."""
        size = abs(maker.remaining)
        if quantity is not None:
            size = min(size, quantity - filled_q)
        per_unit_den = self._scales.asset(maker.pair.base) * self._scales.price_scale(maker.pair)
        per_unit_num = maker.price * self._scales.asset(maker.pair.counter)
        if total is not None:
            size = min(size, (total - filled_t) * per_unit_den // per_unit_num)
        if budget is not None:
            if side == "buy":  # budget is counter currency
                size = min(size, budget * per_unit_den // per_unit_num)
            else:  # budget is base quantity
                size = min(size, budget)
        return size

    def _place(self, req: OrderRequest) -> OrderResult:
        if self._user is None:
            raise AuthenticationError(Msg.NOT_AUTHENTICATED)
        pair = req.pair
        if not is_listed(pair.base, pair.counter):
            raise NotFoundError(Msg.INVALID_PAIR)
        sign = 1 if req.side == "buy" else -1
        if req.price is not None:
            assert req.quantity is not None
            if req.side == "buy":
                asset, need = (
                    pair.counter,
                    self._scales.bid_reservation(pair, req.quantity, req.price),
                )
            else:
                asset, need = pair.base, req.quantity
            funds = self._balance(asset)
            if need > funds[0]:
                raise InsufficientFundsError(Msg.INSUFFICIENT_FUNDS)
            funds[0] -= need
            funds[1] += need
            order = _Order(
                next(self._ids),
                self._user,
                pair,
                req.price,
                sign * req.quantity,
                sign * req.quantity,
                self._now_us(),
                need,
            )
            self._match(order, req.side, limit=req.price)
            if order.remaining:
                self._orders[order.id] = order
            else:
                self._release(order)
            return OrderResult(id=order.id, time=order.time)
        taker = _Order(0, self._user, pair, 0, 0, 0, self._now_us())
        filled_q, filled_t = self._match(taker, req.side, quantity=req.quantity, total=req.total)
        if req.quantity is not None:
            return OrderResult(remaining=req.quantity - filled_q)
        assert req.total is not None
        return OrderResult(remaining=req.total - filled_t)

    def _match(
        self,
        taker: _Order,
        side: Side,
        *,
        limit: int | None = None,
        quantity: int | None = None,
        total: int | None = None,
    ) -> tuple[int, int]:
        """Trade ``taker`` against the book; returns (quantity, total) filled."""
        pair = taker.pair
        filled_q = filled_t = 0
        own_market = taker.owner == self._user and limit is None
        if limit is not None:
            quantity = abs(taker.remaining)
        for maker in self._opposite(pair, side):
            if limit is not None and (
                maker.price > limit if side == "buy" else maker.price < limit
            ):
                break
            budget = None
            if own_market:
                budget = self._balance(pair.counter if side == "buy" else pair.base)[0]
            q = self._take_size(maker, side, quantity, total, filled_q, filled_t, budget)
            if q <= 0:
                break
            t = self._total(pair, q, maker.price)
            filled_q += q
            filled_t += t
            self._fill(taker, side, q, t, maker.price)
            self._fill(maker, "sell" if side == "buy" else "buy", q, t, maker.price)
            self._record(pair, Trade(self._now_us(), maker.price, q, side))
        return filled_q, filled_t

    def _fill(self, order: _Order, side: Side, q: int, t: int, price: int) -> None:
        """Apply a fill of ``q`` for total ``t`` to one side's order and owner's balances."""
        sign = 1 if side == "buy" else -1
        resting = order.id != 0
        if resting:
            order.remaining -= sign * q
        if order.owner != self._user or self._user is None:
            if resting and order.remaining == 0:
                self._orders.pop(order.id, None)
            return
        pair = order.pair
        base, counter = self._balance(pair.base), self._balance(pair.counter)
        if side == "buy":
            base[0] += q
            if resting:
                still = self._scales.bid_reservation(pair, abs(order.remaining), order.price)
                counter[1] -= order.reserved
                counter[0] += order.reserved - t - still
                counter[1] += still
                order.reserved = still
            else:
                counter[0] -= t
        else:
            counter[0] += t
            if resting:
                base[1] -= q
                order.reserved -= q
            else:
                base[0] -= q
        if resting and order.remaining == 0:
            self._orders.pop(order.id, None)

    def _release(self, order: _Order) -> None:
        asset = order.pair.counter if order.quantity > 0 else order.pair.base
        funds = self._balance(asset)
        funds[1] -= order.reserved
        funds[0] += order.reserved
        order.reserved = 0

    def _cancel(self, order: _Order) -> None:
        self._orders.pop(order.id, None)
        self._release(order)

    def _record(self, pair: Pair, trade: Trade) -> None:
        tape = self._trades.setdefault(pair, deque(maxlen=TAPE_LENGTH))
        tape.append((trade, self._clock()))

    def _push_all(self, pair: Pair) -> None:
        with self._lock:
            market = pair == self._watched
            batch = Batch(
                pair=pair if market else None,
                book=self._book(pair) if market else None,
                trades=self._tape(pair) if market else None,
                ticker=self._ticker(pair) if market else None,
                balances=self._balance_rows(),
                orders=self._own_orders() if self._user is not None else None,
            )
        self._push(batch)

    def _push(self, batch: Batch) -> None:
        for sink in list(self._sinks):
            sink(batch)
