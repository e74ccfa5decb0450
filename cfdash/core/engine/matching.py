"""The matching engine: users' money, books, orders, trades and the trailing windows.

``Engine`` holds the exchange's state and its hot paths (placing, matching, closing);
``exchange.ExchangeCore`` is the whole exchange built on it, with the command layer
(``commands``), the journal of durability rows (``journal``) and the outbox of notices
(``notices``) composed in.

Decisions where the spec is silent (documented here once):

- Re-authenticating a session as the user it already carries succeeds again; as another user
  it fails with code 8 (a connection belongs to one user).
- Trade totals and fees are rounded stochastically, so a trade of a few base units can have a
  total of 0 under the v2 scales.
- A bid can only trade what its reservation pays for including the worst-case (rounded up) fee,
  so one trade never overdraws it. After a fill its remainder is the largest quantity the rest of
  the reservation covers (IMPL-GUIDE) and the excess goes back to available at once. A bid whose
  reservation can no longer pay for a single unit (at its own price and the maker fee, or, for
  an incoming bid, at the best crossing ask and the taker fee) is closed: ``OrderClosed``
  reports that remaining quantity and a ``BalanceChanged`` then releases its reservation — the
  order in which IMPL-GUIDE's balance bookkeeping expects it.
- An incoming limit order that fills completely gets an ``OrderClosed`` (quantity 0) after its
  ``OrdersMatched`` notices, so every order id ends with a close.
- Market orders never fail for lack of funds (code 4): they trade what the balance allows and
  ``remaining`` says what was not traded. A market buy may spend trade totals plus fees up to
  the available counter balance; by total, the sum of trade totals (before fees) is at most
  ``|total|`` for both buys and sells.
- ``GetTradeVolume`` counts, per asset, the base quantities and the counter totals of the
  user's trades in the trailing ``volume_window`` (a self-trade counts once), kept in buckets of
  ``volume_bucket`` (1 h): a trade leaves the window between ``volume_window - volume_bucket``
  and ``volume_window`` after it happened (see ``accounts.VolumeWindow``). The ticker's 24 h
  low/high/volume are kept likewise in 1-minute buckets (``ticker.TickerWindow``). No per-trade
  history is kept, in memory or in the durability rows. ``TradeVolumeChanged`` is sent when a
  trade adds to the volume and when a bucket ages out (on ``tick`` or the next command).
- ``EstimateMarketOrder`` walks the book ignoring fees and balances; its total is the exact
  sum rounded half up. An empty book estimates quantity 0 and total 0.
- The ticker's ``volume`` is 0 (not null) when no trade happened in the last 24 h.
- ``GetBalances`` lists every asset the user has ever held (zero balances included).
"""

from __future__ import annotations

import random
from typing import Final, NoReturn

from ..assets import PAIRS, Pair
from ..errors import (
    BadRequestError,
    InsufficientFundsError,
    Msg,
    NotFoundError,
    TonceOutOfSequenceError,
    TooManyOrdersError,
)
from .accounts import VolumeWindow
from .book import Level, MarketTaker, Order
from .config import EngineConfig
from .journal import Journal
from .notices import Outbox
from .rounding import uniform_below
from .sessions import Market, Session, User
from .ticker import TickerWindow

NEVER: Final = 2**63
_new_order = object.__new__


def _max_total(budget: int, fn: int, fd: int) -> int:
    """The largest trade total T with T + ceil(T * fn / fd) <= budget (worst-case fee)."""
    if budget <= 0:
        return 0
    if fn == 0:
        return budget
    t = budget * fd // (fd + fn)
    while t > 0 and t + -(-(t * fn) // fd) > budget:
        t -= 1
    return t


def _refuse(user: User, quantity: int, price: int, tonce: int | None) -> NoReturn:
    """Why ``place_limit`` refuses an order before looking at the balance."""
    if quantity == 0:
        raise BadRequestError(Msg.QUANTITY_ZERO)
    if price <= 0:
        raise BadRequestError(Msg.PRICE_ZERO if price == 0 else "Price must be positive.")
    if tonce is not None and tonce <= user.tonce:
        raise TonceOutOfSequenceError(Msg.TONCE_OUT_OF_SEQUENCE)
    raise TooManyOrdersError(Msg.TOO_MANY_ORDERS)


def _markets(cfg: EngineConfig) -> dict[tuple[int, int], Market]:
    """The listed pairs' markets, by (base, counter)."""
    ticker_us = int(cfg.ticker_window * 1_000_000)
    ticker_bucket_us = max(1, int(cfg.ticker_bucket * 1_000_000))
    return {
        (pair.base, pair.counter): Market(
            cfg.scales, pair, TickerWindow(ticker_us, ticker_bucket_us)
        )
        for pair in PAIRS
    }


class Engine:
    """The exchange's state and its hot paths; ``ExchangeCore`` adds the rest of its API.

    The hot path (placing, matching, closing) is written for speed: attributes are bound to
    locals, small helpers are inlined (``Order.__init__``, ``BookSide.add``/``remove``,
    ``rounding.stochastic_round``) and the outbox renders notices by hand, once, for the
    sessions that receive them. tests/bench/bench_engine.py measures it."""

    # slots: the hot path reads these on every command (``__dict__`` keeps the instance open
    # to other attributes, e.g. a test's spy)
    __slots__ = (
        "__dict__", "_below", "_clock_us", "_dirty_balances", "_dirty_fees", "_dirty_orders",
        "_dirty_tonces", "_fees", "_journal", "_last_market", "_last_pair", "_maker", "_maker_fn",
        "_markets", "_max_orders", "_next_expiry_us", "_next_order_id", "_next_session",
        "_nonce_rng", "_outbox", "_pending_volatile", "_rng", "_scales", "_sessions", "_taker",
        "_touched", "_traded", "_users", "_volumes", "config",
    )  # fmt: skip

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``rng`` (tests) replaces the seeded generator used for stochastic rounding."""
        self.config = cfg = config or EngineConfig()
        self._rng = rng if rng is not None else random.Random(seed)
        self._below = uniform_below(self._rng)  # n -> self._rng.randrange(n)
        self._nonce_rng = None if seed is None else random.Random(f"welcome-nonce:{seed}")
        self._scales = cfg.scales
        self._maker = (cfg.maker_fee.numerator, cfg.maker_fee.denominator)
        self._maker_fn = cfg.maker_fee.numerator
        self._taker = (cfg.taker_fee.numerator, cfg.taker_fee.denominator)
        self._max_orders = cfg.max_open_orders
        self._users: dict[int, User] = {}
        self._sessions: dict[int, Session] = {}
        self._next_session = 1
        self._markets = _markets(cfg)
        self._touched: set[Market] = set()
        self._next_order_id = 1
        self._fees: dict[int, int] = {}
        self._volumes = VolumeWindow(
            int(cfg.volume_window * 1_000_000), max(1, int(cfg.volume_bucket * 1_000_000))
        )
        self._next_expiry_us = NEVER  # no window can drop a bucket before this time
        self._clock_us = 0
        self._outbox = Outbox()
        self._pending_volatile: list[Order] = []
        # durability: the journal owns what changed since its last take_changes; the hot path
        # marks its sets through these references
        assets = {a for pair in PAIRS for a in (pair.base, pair.counter)}
        self._journal = journal = Journal(self._users, self._fees, self._volumes, assets)
        self._dirty_balances = journal.balances
        self._dirty_tonces = journal.tonces
        self._dirty_orders = journal.orders
        self._dirty_fees = journal.fees
        self._traded = journal.traded
        first = PAIRS[0]  # place_limit's last pair and its market
        self._last_pair: Pair = first
        self._last_market: Market = self._markets[(first.base, first.counter)]

    def _advance(self, now: float) -> None:
        now_us = int(now * 1_000_000)
        if now_us > self._clock_us:
            self._clock_us = now_us
        now_us = self._clock_us
        if self._pending_volatile:
            pending, self._pending_volatile = self._pending_volatile, []
            for order in pending:
                if order.live:
                    self._close(order, self._users[order.user])
        self._expire(now_us)
        self._publish_tickers()

    def _market(self, pair: Pair) -> Market:
        market = self._markets.get((pair.base, pair.counter))
        if market is None:
            raise NotFoundError(Msg.INVALID_PAIR)
        return market

    def _publish_tickers(self) -> None:
        if not self._touched:
            return
        touched, self._touched = self._touched, set()
        self._outbox.tickers(touched)

    def place_limit(
        self,
        user_id: int,
        pair: Pair,
        quantity: int,
        price: int,
        tonce: int | None = None,
        persist: bool = True,
        session: int | None = None,
        now_us: int | None = None,
    ) -> Order:
        """Place a limit order (the validated ``PlaceOrder`` with a price); raises on refusal.

        (Pass the options by keyword: they are not keyword-only only because filling in a
        keyword-only default costs a dict lookup per call.) Over 100 lines: the hottest path,
        inlined (see the class docstring)."""
        user = self._users[user_id]
        if pair is self._last_pair:
            market = self._last_market
        else:
            market = self._market(pair)
            self._last_pair, self._last_market = pair, market
        if now_us is None:
            now_us = self._clock_us
        orders = user.orders
        if (
            quantity == 0
            or price <= 0
            or (tonce is not None and tonce <= user.tonce)
            or len(orders) >= self._max_orders
        ):
            _refuse(user, quantity, price, tonce)
        if quantity > 0:
            is_bid = True
            qty = quantity
            asset = market.pair.counter
            need = -(-(qty * price * market.c) // market.d)
            balance_head = market.balance_counter
        else:
            is_bid = False
            qty = -quantity
            asset = market.pair.base
            need = qty
            balance_head = market.balance_base
        account = user.account
        available = account.available
        avail = available.get(asset, 0) - need
        if avail < 0:
            raise InsufficientFundsError(Msg.INSUFFICIENT_FUNDS)
        # accepted
        uid = user.id
        if tonce is not None:
            user.tonce = tonce
            self._dirty_tonces.add(uid)
        available[asset] = avail
        reserved = account.reserved
        reserved[asset] = reserved.get(asset, 0) + need
        self._dirty_balances.add((uid, asset))
        sessions = user.sessions
        if sessions:
            text = f"{balance_head}{avail}}}"
            out = self._outbox.out
            for s in sessions:
                out.append((s, text))
        oid = self._next_order_id
        self._next_order_id = oid + 1
        self._journal.meta = True
        order = _new_order(Order)  # Order.__init__, inlined
        order.id = oid
        order.user = uid
        order.market = market
        order.is_bid = is_bid
        order.price = price
        order.remaining = qty
        order.reserved = need
        order.tonce = tonce
        order.persist = persist
        order.time = now_us
        order.session = None if persist else session
        order.live = False
        order.stored = False
        if market.ticker_watchers:  # nobody else reads _touched (see _publish_tickers)
            self._touched.add(market)
        book = market.book
        if is_bid:
            side = book.bids
            keys = book.asks.keys
            crossed = keys and -keys[-1] <= price
            if crossed and self._match(market, user, order, True, price, qty, None, now_us):
                self._close(order, user)  # its reservation cannot pay for a crossing unit
                return order
            # it must also pay for one unit at its own price with the maker fee (as a fresh
            # bid's reservation always does when there is no maker fee)
            if crossed or self._maker_fn:
                fn, fd = self._maker
                unit = -(-(price * market.c) // market.d)
                if unit + -(-(unit * fn) // fd) > order.reserved:
                    self._close(order, user)
                    return order
        else:
            side = book.asks
            keys = book.bids.keys
            if keys and keys[-1] >= price:
                self._match(market, user, order, False, price, qty, None, now_us)
        left = order.remaining  # after any fills
        if not left:
            self._close(order, user)
            return order
        # rest it (BookSide.add, inlined for the common case of an existing level)
        level = side.levels.get(price)
        if level is None:
            level = side.add(order)
        else:
            order.live = True
            level.orders.append(order)
            level.live += 1
            level.quantity += left
        orders[oid] = order
        if tonce is not None:
            user.by_tonce[tonce] = order
        self._dirty_orders[oid] = order
        if not persist and session is not None:
            sess = self._sessions.get(session)
            if sess is not None:
                sess.volatile[oid] = order
        watchers = market.book_watchers
        if sessions or watchers:
            outbox = self._outbox
            out = outbox.out
            ps = level.text
            if now_us != outbox.time_us:
                outbox.time_us, outbox.time_text = now_us, str(now_us)
            ts = outbox.time_text
            quantity = left if is_bid else -left
            if sessions:
                mid = (
                    market.null_tonce
                    if tonce is None
                    else f',"tonce":{tonce}{market.fields},"quantity":'
                )
                text = (
                    f'{{"notice":"OrderOpened","id":{oid}{mid}{quantity},"price":{ps},"time":{ts}}}'
                )
                for s in sessions:
                    out.append((s, text))
            if watchers:
                text = (
                    f'{{"notice":"OrderOpened","id":{oid}{market.fields},"quantity":{quantity}'
                    f',"price":{ps},"time":{ts}}}'
                )
                outbox.public(watchers, sessions, text)
        return order

    def _place_market(
        self,
        user: User,
        market: Market,
        quantity: int | None,
        total: int | None,
        tonce: int | None,
        now_us: int,
    ) -> int:
        if (quantity is None) == (total is None):
            raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        if quantity == 0:
            raise BadRequestError(Msg.QUANTITY_ZERO)
        if total == 0:
            raise BadRequestError(Msg.TOTAL_ZERO)
        if tonce is not None and tonce <= user.tonce:
            raise TonceOutOfSequenceError(Msg.TONCE_OUT_OF_SEQUENCE)
        if tonce is not None:
            user.tonce = tonce
            self._dirty_tonces.add(user.id)
        if market.ticker_watchers:
            self._touched.add(market)
        taker = MarketTaker(tonce)
        qty_left: int | None
        base = market.pair.base
        if quantity is not None:
            is_bid = quantity > 0
            want = abs(quantity)
            qty_left = want
            if not is_bid:
                qty_left = min(want, user.account.available.get(base, 0))
            self._match(market, user, taker, is_bid, None, qty_left, None, now_us)
            return want - taker.traded
        assert total is not None
        is_bid = total > 0
        want = abs(total)
        qty_left = None if is_bid else user.account.available.get(base, 0)
        self._match(market, user, taker, is_bid, None, qty_left, want, now_us)
        return want - taker.spent

    def _match(
        self,
        market: Market,
        user: User,
        taker: Order | MarketTaker,
        is_bid: bool,
        limit: int | None,
        qty_left: int | None,
        total_left: int | None,
        now_us: int,
    ) -> bool:
        """Cross ``taker`` against the opposite side. True iff a limit bid stopped because its
        reservation cannot pay for one unit at a crossing price."""
        book = market.book
        opp = book.asks if is_bid else book.bids
        keys, levels, sign = opp.keys, opp.levels, opp._sign
        c, d = market.c, market.d
        tfn, tfd = self._taker
        mfn, mfd = self._maker
        is_order = type(taker) is Order
        account = user.account
        counter = market.pair.counter
        while keys:
            if qty_left is not None and qty_left <= 0:
                break
            if total_left is not None and total_left <= 0:
                break
            p = keys[-1] * sign
            if limit is not None and (p > limit if is_bid else p < limit):
                break
            level = levels[p]
            maker = level.orders[0]
            if not maker.live:
                maker = level.head()
            q = maker.remaining
            if qty_left is not None and qty_left < q:
                q = qty_left
            unit = p * c
            if is_bid:
                budget = taker.reserved if is_order else account.available.get(counter, 0)  # type: ignore[union-attr]
                tmax = _max_total(budget, tfn, tfd)
                if total_left is not None and total_left < tmax:
                    tmax = total_left
                cap = tmax * d // unit
                if cap < q:
                    q = cap
                if q <= 0:
                    return is_order
            else:
                if total_left is not None:
                    cap = total_left * d // unit
                    if cap < q:
                        q = cap
                    if q <= 0:
                        break
                budget = maker.reserved
                cap = (_max_total(budget, mfn, mfd) if mfn else budget) * d // unit
                if cap <= 0:  # cannot happen for a maker bid kept affordable; be safe
                    self._close(maker, self._users[maker.user])
                    continue
                if cap < q:
                    q = cap
            spent = self._trade(market, user, taker, maker, level, is_bid, q, now_us)
            if qty_left is not None:
                qty_left -= q
            if total_left is not None:
                total_left -= spent
        return False

    def _trade(
        self,
        market: Market,
        taker_user: User,
        taker: Order | MarketTaker,
        maker: Order,
        level: Level,
        taker_is_bid: bool,
        q: int,
        now_us: int,
    ) -> int:
        """Trade ``q`` at the maker's ``level``, with its notices; returns the total."""
        p = level.price
        c, d = market.c, market.d
        # stochastic rounding (rounding.stochastic_round, inlined): total, taker fee, maker fee
        below = self._below
        total, rem = divmod(q * p * c, d)
        if rem and below(d) < rem:
            total += 1
        fn, fd = self._taker
        taker_fee = 0
        if fn:
            taker_fee, rem = divmod(total * fn, fd)
            if rem and below(fd) < rem:
                taker_fee += 1
        mfn, mfd = self._maker
        maker_fee = 0
        if mfn:
            maker_fee, rem = divmod(total * mfn, mfd)
            if rem and below(mfd) < rem:
                maker_fee += 1
        maker_user = self._users[maker.user]
        pair = market.pair
        base, counter = pair.base, pair.counter
        bid: Order | MarketTaker
        ask: Order | MarketTaker
        if taker_is_bid:
            bid, ask, buyer, seller = taker, maker, taker_user, maker_user
            bid_fee, ask_fee = taker_fee, maker_fee
        else:
            bid, ask, buyer, seller = maker, taker, maker_user, taker_user
            bid_fee, ask_fee = maker_fee, taker_fee
        bacct, sacct = buyer.account, seller.account
        # buyer: base in; counter out of the bid's reservation (or available for a market bid)
        bavail = bacct.available
        bavail[base] = bavail.get(base, 0) + q
        bid_rem: int | None = None
        counter_changed_buyer = True
        if type(bid) is Order:
            price = bid.price
            left = bid.reserved - total - bid_fee
            r = left * d // (price * c)
            if r > bid.remaining - q:
                r = bid.remaining - q
            keep = -(-(r * price * c) // d)
            excess = left - keep
            bacct.reserved[counter] -= bid.reserved - keep
            bid.reserved = keep
            if bid.live:  # the maker
                level.quantity -= bid.remaining - r
                self._dirty_orders[bid.id] = bid
            bid.remaining = r
            if excess:
                bavail[counter] += excess
            else:
                counter_changed_buyer = False
            bid_rem = r
        else:
            bavail[counter] -= total + bid_fee
            bid.traded += q
            bid.spent += total
            counter_changed_buyer = (total + bid_fee) != 0
        # seller: base out of the ask's reservation (or available), counter proceeds less fee
        savail = sacct.available
        ask_rem: int | None = None
        if type(ask) is Order:
            sacct.reserved[base] -= q
            ask.reserved -= q
            if ask.live:  # the maker
                level.quantity -= q
                self._dirty_orders[ask.id] = ask
            ask_rem = ask.remaining = ask.remaining - q
        else:
            savail[base] -= q
            ask.traded += q
            ask.spent += total
        savail[counter] = savail.get(counter, 0) + total - ask_fee
        fees = bid_fee + ask_fee
        if fees:
            self._fees[counter] = self._fees.get(counter, 0) + fees
            self._dirty_fees.add(counter)
        dirty = self._dirty_balances
        bid_uid, ask_uid = buyer.id, seller.id
        dirty.add((bid_uid, base))
        dirty.add((bid_uid, counter))
        dirty.add((ask_uid, base))
        dirty.add((ask_uid, counter))
        # trailing windows (bucketed: no per-trade history)
        self._traded.add(market)
        window = market.window
        if window.add(now_us, p, q):
            self._expiry_at(now_us + window.window_us)
        volumes = self._volumes
        bucket = volumes.tail
        if bucket is None or now_us >= bucket.start + volumes.bucket_us:
            bucket = volumes.current(now_us)
            self._expiry_at(now_us + volumes.window_us)
        volumes.add_trade(bucket, bid_uid, bacct, ask_uid, sacct, base, q, counter, total)
        # notices, in engine order: OrdersMatched, BalanceChanged, TradeVolumeChanged
        if buyer.sessions or seller.sessions or market.book_watchers:
            outbox = self._outbox
            outbox.matched(
                market, level, bid, ask, buyer, seller, q, total, bid_rem, ask_rem, now_us,
                bid_fee, ask_fee,
            )  # fmt: skip
            outbox.traded(
                market, buyer, seller, total, ask_fee, type(ask) is Order, counter_changed_buyer
            )
        # a resting maker that is done closes now (the taker is settled by its caller)
        if maker.remaining == 0:
            self._close(maker, maker_user)
        elif maker.is_bid:  # can its reservation still pay for a unit (with the maker fee)?
            unit = -(-(maker.price * c) // d)
            if unit + -(-(unit * mfn) // mfd) > maker.reserved:
                self._close(maker, maker_user)
        return total

    def _close(self, order: Order, user: User) -> None:
        """Close an order (filled, cancelled or unaffordable): take it off the book if it rests
        there, send OrderClosed, then release its reservation."""
        market = order.market
        is_bid = order.is_bid
        price = order.price
        remaining = order.remaining
        price_text = ""
        if order.live:  # take it off the book (BookSide.remove, inlined)
            order.live = False
            side = market.book.bids if is_bid else market.book.asks
            level = side.levels[price]
            price_text = level.text
            live = level.live = level.live - 1
            if not live:
                side.drop(level)
            else:
                level.quantity -= remaining
                if len(level.orders) > 2 * live + 16:
                    side.compact(level)
        oid = order.id
        tonce = order.tonce
        if user.orders.pop(oid, None) is not None:
            if tonce is not None and user.by_tonce.get(tonce) is order:
                del user.by_tonce[tonce]
            if order.session is not None:
                sess = self._sessions.get(order.session)
                if sess is not None:
                    sess.volatile.pop(oid, None)
            self._dirty_orders[oid] = order
        if market.ticker_watchers:
            self._touched.add(market)
        sessions = user.sessions
        watchers = market.book_watchers
        if sessions or watchers:
            out = self._outbox.out
            ps = price_text or str(price)
            quantity = remaining if is_bid else -remaining
            if sessions:
                mid = (
                    market.null_tonce
                    if tonce is None
                    else f',"tonce":{tonce}{market.fields},"quantity":'
                )
                text = f'{{"notice":"OrderClosed","id":{oid}{mid}{quantity},"price":{ps}}}'
                for s in sessions:
                    out.append((s, text))
            if watchers:
                text = (
                    f'{{"notice":"OrderClosed","id":{oid}{market.fields},"quantity":{quantity}'
                    f',"price":{ps}}}'
                )
                self._outbox.public(watchers, sessions, text)
        reserved = order.reserved
        if reserved:
            if is_bid:
                asset = market.pair.counter
                balance_head = market.balance_counter
            else:
                asset = market.pair.base
                balance_head = market.balance_base
            account = user.account
            account.reserved[asset] -= reserved
            available = account.available
            avail = available[asset] = available.get(asset, 0) + reserved
            order.reserved = 0
            self._dirty_balances.add((user.id, asset))
            if sessions:
                text = f"{balance_head}{avail}}}"
                out = self._outbox.out
                for s in sessions:
                    out.append((s, text))

    def cancel(self, user_id: int, order_id: int | None = None, tonce: int | None = None) -> Order:
        """Cancel one of the user's open orders by id or tonce (``NotFoundError`` if none)."""
        user = self._users[user_id]
        if order_id is not None:
            order = user.orders.get(order_id)
        elif tonce is not None:
            order = user.by_tonce.get(tonce)
        else:
            raise BadRequestError(Msg.CANCEL_NEEDS_ID_OR_TONCE)
        if order is None:
            raise NotFoundError(Msg.ORDER_NOT_FOUND)
        self._close(order, user)
        return order

    def _expiry_at(self, when_us: int) -> None:
        if when_us < self._next_expiry_us:
            self._next_expiry_us = when_us

    def _expire(self, now_us: int) -> None:
        """Drop ticker and volume buckets that left their windows (with their rows)."""
        if now_us < self._next_expiry_us:
            return
        self._journal.meta = True  # the stored clock lets load() expire the same buckets
        self._next_expiry_us = _expire_windows(self, now_us)


def _expire_windows(engine: Engine, now_us: int) -> int:
    """``Engine._expire``'s work; returns the time of the next expiry."""
    nxt = NEVER
    dead = engine._journal.dead
    for market in engine._markets.values():
        window = market.window
        dropped = window.expire(now_us)
        if dropped:
            engine._touched.add(market)
            pair = market.pair
            dead.extend(("ticker", f"{pair.base}:{pair.counter}:{s}", None) for s in dropped)
        when = window.next_expiry()
        if when is not None and when < nxt:
            nxt = when
    changed: dict[tuple[int, int], User] = {}
    volumes = engine._volumes
    for bucket in volumes.expire(now_us):
        for uid, amounts in bucket.amounts.items():
            user = engine._users[uid]
            volume = user.account.volume
            for asset, amount in amounts.items():
                volume[asset] -= amount
                changed[(uid, asset)] = user
            dead.append(("volume", f"{bucket.start}:{uid}", None))
    for (_, asset), user in changed.items():
        engine._outbox.volume(user, asset)
    when = volumes.next_expiry()
    if when is not None and when < nxt:
        nxt = when
    return nxt
