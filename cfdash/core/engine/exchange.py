"""ExchangeCore: the embedded exchange's sans-I/O protocol state machine and matching engine.

The server shell feeds it connections, text frames and clock ticks; it answers with text frames
to send (``take_output``) and durable state rows to commit first (``take_changes``).

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
  user's trades in the trailing ``volume_window`` (a self-trade counts once).
  ``TradeVolumeChanged`` is sent when a trade adds to it and when trades age out (on ``tick``).
- ``EstimateMarketOrder`` walks the book ignoring fees and balances; its total is the exact
  sum rounded half up. An empty book estimates quantity 0 and total 0.
- The ticker's ``volume`` is 0 (not null) when no trade happened in the last 24 h.
- ``GetBalances`` lists every asset the user has ever held (zero balances included).
"""

from __future__ import annotations

import json
import os
import random
from base64 import b64decode
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any

from .. import messages
from ..assets import PAIRS, V2, Pair, Scales
from ..auth import b64, decode_nonce, verify
from ..errors import (
    AlreadyWatchingError,
    AuthenticationError,
    BadRequestError,
    CoinfloorError,
    InsufficientFundsError,
    Msg,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    TonceOutOfSequenceError,
    TooManyOrdersError,
)
from .accounts import Account, Trade, VolumeLog
from .book import Book, Order
from .limits import RateLimiter
from .rounding import ceil_div, stochastic_round
from .ticker import DAY_US, TradeWindow
from .ticker import FIELDS as TICKER_FIELDS

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_NEVER = 2**63
INTERNAL_ERROR = "Internal error."
_EMPTY_TICKER: tuple[int | None, ...] = (None, None, None, None, None, 0)

PUBLIC_METHODS = frozenset({"Authenticate", "EstimateMarketOrder", "WatchOrders", "WatchTicker"})
ORDER_METHODS = frozenset({"PlaceOrder", "CancelOrder", "CancelAllOrders", "EstimateMarketOrder"})
INFO_METHODS = frozenset({"GetBalances", "GetOrders", "GetTradeVolume"})


@dataclass(frozen=True)
class EngineConfig:
    scales: Scales = V2
    maker_fee: Fraction = Fraction(0)  # fee rate on the resting order's owner
    taker_fee: Fraction = Fraction(25, 10000)  # 0.25 % on the aggressor
    max_open_orders: int = 1000  # per user (LIMITS.md)
    auth_limit: tuple[int, float] = (1000, 3600.0)  # attempts per window, per user
    order_limit: tuple[int, float] = (1000, 1000.0)  # placements+cancels+estimates per user
    # (per session when unauthenticated)
    info_limit: tuple[int, float] = (10, 10.0)  # balances/orders/volume per session
    snapshot_depth: int = 1000
    volume_window: float = 30 * 86400.0  # GetTradeVolume trailing window (seconds)


class _User:
    __slots__ = (
        "account",
        "auth_limiter",
        "by_tonce",
        "cookie",
        "id",
        "order_limiter",
        "orders",
        "public_key",
        "sessions",
        "tonce",
    )

    def __init__(self, user_id: int, cookie: str, public_key: bytes, config: EngineConfig):
        self.id = user_id
        self.cookie = cookie
        self.public_key = public_key
        self.account = Account()
        self.tonce = 0
        self.orders: dict[int, Order] = {}
        self.by_tonce: dict[int, Order] = {}
        self.sessions: list[int] = []
        self.auth_limiter = RateLimiter(*config.auth_limit)
        self.order_limiter = RateLimiter(*config.order_limit)


class _Session:
    __slots__ = (
        "id",
        "info_limiter",
        "limited",
        "nonce",
        "order_limiter",
        "user",
        "volatile",
        "watch_orders",
        "watch_ticker",
    )

    def __init__(self, session_id: int, nonce: bytes, config: EngineConfig) -> None:
        self.id = session_id
        self.nonce = nonce
        self.user: _User | None = None
        self.limited = True
        self.watch_orders: set[Pair] = set()
        self.watch_ticker: set[Pair] = set()
        self.info_limiter = RateLimiter(*config.info_limit)
        self.order_limiter = RateLimiter(*config.order_limit)
        self.volatile: dict[int, Order] = {}  # its persist=false orders


class _Market:
    """One listed pair: its book, ticker window and watchers, and its exact scale ratio
    (the counter total of q at price p is q * p * c / d, with c / d reduced)."""

    __slots__ = (
        "book",
        "book_watchers",
        "c",
        "d",
        "pair",
        "ticker_pub",
        "ticker_watchers",
        "window",
    )

    def __init__(self, scales: Scales, pair: Pair) -> None:
        self.pair = pair
        self.book = Book(pair)
        self.window = TradeWindow()
        self.book_watchers: set[int] = set()
        self.ticker_watchers: set[int] = set()
        self.ticker_pub: tuple[int | None, ...] = _EMPTY_TICKER
        c = scales.asset(pair.counter)
        d = scales.asset(pair.base) * scales.price_scale(pair)
        g = gcd(c, d)
        self.c = c // g
        self.d = d // g


def _tag_of(cmd: Any) -> int | None:
    if isinstance(cmd, dict):
        tag = cmd.get("tag")
        if isinstance(tag, int) and not isinstance(tag, bool) and tag != 0:
            return tag
    return None


def _error_text(tag: int | None, code: int, message: str) -> str:
    reply: dict[str, Any] = {} if tag is None else {"tag": tag}
    reply["error_code"] = code
    reply["error_msg"] = message
    return _dumps(reply)


def _max_total(budget: int, fn: int, fd: int) -> int:
    """The largest trade total T with T + ceil(T * fn / fd) <= budget (worst-case fee)."""
    if budget <= 0:
        return 0
    if fn == 0:
        return budget
    t = budget * fd // (fd + fn)
    while t > 0 and t + ceil_div(t * fn, fd) > budget:
        t -= 1
    return t


class ExchangeCore:
    """The whole exchange: users, balances, books, sessions, notices and durability rows."""

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
        self._nonce_rng = None if seed is None else random.Random(f"welcome-nonce:{seed}")
        self._scales = cfg.scales
        self._maker = (cfg.maker_fee.numerator, cfg.maker_fee.denominator)
        self._taker = (cfg.taker_fee.numerator, cfg.taker_fee.denominator)
        self._users: dict[int, _User] = {}
        self._sessions: dict[int, _Session] = {}
        self._next_session = 1
        self._markets: dict[tuple[int, int], _Market] = {
            (pair.base, pair.counter): _Market(cfg.scales, pair) for pair in PAIRS
        }
        self._touched: set[_Market] = set()
        self._orders: dict[int, Order] = {}
        self._next_order_id = 1
        self._next_trade_seq = 1
        self._fees: dict[int, int] = {}
        self._volume_us = int(cfg.volume_window * 1_000_000)
        self._volumes = VolumeLog(self._volume_us)
        self._retention: list[Trade] = []  # trade rows kept for max(24 h, volume window)
        self._retention_start = 0
        self._retention_us = max(self._volume_us, DAY_US)
        self._next_expiry_us = _NEVER  # no window can drop a trade before this time
        self._min_window_us = min(self._volume_us, DAY_US)
        self._clock_us = 0
        self._out: list[tuple[int, str]] = []
        self._pending_volatile: list[int] = []
        # durability: what changed since the last take_changes
        self._dirty_users: set[int] = set()
        self._dirty_balances: set[tuple[int, int]] = set()
        self._dirty_tonces: set[int] = set()
        self._dirty_orders: set[int] = set()
        self._new_orders: set[int] = set()
        self._dirty_fees: set[int] = set()
        self._dirty_last: set[_Market] = set()
        self._new_trades: list[Trade] = []
        self._dead_trades: list[int] = []
        self._meta_dirty = False
        self._handlers: dict[str, Callable[[_Session, dict[str, Any], int, float], Any]] = {
            "Authenticate": self._cmd_authenticate,
            "GetBalances": self._cmd_get_balances,
            "GetOrders": self._cmd_get_orders,
            "EstimateMarketOrder": self._cmd_estimate,
            "PlaceOrder": self._cmd_place,
            "CancelOrder": self._cmd_cancel,
            "CancelAllOrders": self._cmd_cancel_all,
            "GetTradeVolume": self._cmd_trade_volume,
            "WatchOrders": self._cmd_watch_orders,
            "WatchTicker": self._cmd_watch_ticker,
        }

    # ------------------------------------------------------------------ users and money

    def add_user(self, user_id: int, cookie: str, public_key: bytes) -> None:
        """Create a user, or replace an existing user's cookie and public key."""
        user = self._users.get(user_id)
        if user is None:
            self._users[user_id] = _User(user_id, cookie, bytes(public_key), self.config)
        else:
            user.cookie = cookie
            user.public_key = bytes(public_key)
        self._dirty_users.add(user_id)

    def credit(self, user_id: int, asset: int, amount: int) -> None:
        """Deposit (or, negative, withdraw from available) ``amount`` of ``asset``."""
        user = self._users[user_id]
        avail = user.account.available
        new = avail.get(asset, 0) + amount
        if new < 0:
            raise ValueError("credit would make the available balance negative")
        avail[asset] = new
        user.account.reserved.setdefault(asset, 0)
        self._balance_changed(user, asset)

    def login(self, session: int, user_id: int, *, rate_limited: bool = True) -> None:
        """Authenticate a trusted in-process session (no signature, no auth rate limit).

        ``rate_limited=False`` also exempts the session from the order and information limits.
        """
        sess = self._sessions[session]
        self._bind(sess, self._users[user_id])
        sess.limited = rate_limited

    def _bind(self, sess: _Session, user: _User) -> None:
        if sess.user is user:
            return
        if sess.user is not None:
            raise BadRequestError("This connection is already authenticated as another user.")
        sess.user = user
        user.sessions.append(sess.id)

    # ------------------------------------------------------------------ sessions

    def connect(self, now: float) -> int:
        self._advance(now)
        sid = self._next_session
        self._next_session += 1
        rng = self._nonce_rng
        nonce = os.urandom(16) if rng is None else rng.randbytes(16)
        self._sessions[sid] = _Session(sid, nonce, self.config)
        self._out.append((sid, _dumps({"notice": "Welcome", "nonce": b64(nonce)})))
        return sid

    def disconnect(self, session: int, now: float) -> None:
        sess = self._sessions.pop(session, None)
        if sess is None:
            return
        now_us = self._time(now)
        for pair in sess.watch_orders:
            self._market(pair).book_watchers.discard(session)
        for pair in sess.watch_ticker:
            self._market(pair).ticker_watchers.discard(session)
        if sess.user is not None:
            sess.user.sessions.remove(session)
        for order in list(sess.volatile.values()):
            if order.live:
                self._cancel_order(order, now_us)
        self._publish_tickers()

    def tick(self, now: float) -> None:
        self._advance(now)

    def _advance(self, now: float) -> None:
        now_us = self._time(now)
        if self._pending_volatile:
            pending, self._pending_volatile = self._pending_volatile, []
            for oid in pending:
                order = self._orders.get(oid)
                if order is not None and order.live:
                    self._cancel_order(order, now_us)
        self._expire(now_us)
        self._publish_tickers()

    def _time(self, now: float) -> int:
        us = int(now * 1_000_000)
        if us > self._clock_us:
            self._clock_us = us
        return self._clock_us

    def take_output(self) -> list[tuple[int, str]]:
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------ commands

    def receive(self, session: int, text: str, now: float) -> None:
        sess = self._sessions.get(session)
        if sess is None:
            return
        out = self._out
        try:
            cmd = messages.decode_frame(text)
        except Exception as exc:  # ProtocolError for bad JSON; anything else is refused too
            out.append((session, _error_text(None, 8, _message_of(exc))))
            return
        if not isinstance(cmd, dict):
            out.append((session, _error_text(None, 8, "A command must be a JSON object.")))
            return
        tag = _tag_of(cmd)
        try:
            validated = messages.validate_command(cmd, self._scales)
            if isinstance(validated, dict):
                cmd = validated
            method = cmd.get("method")
            handler = self._handlers.get(method) if isinstance(method, str) else None
            if handler is None:
                raise BadRequestError(f"Unknown method: {method!r}")
            now_us = self._time(now)
            if self._pending_volatile or now_us >= self._next_expiry_us:
                self._advance(now)
            if method not in PUBLIC_METHODS and sess.user is None:
                raise AuthenticationError(Msg.NOT_AUTHENTICATED)
            if sess.limited:
                if method in ORDER_METHODS:
                    limiter = sess.order_limiter if sess.user is None else sess.user.order_limiter
                    if not limiter.allow(now):
                        raise RateLimitedError(Msg.ORDERS_TOO_RAPID)
                elif method in INFO_METHODS and not sess.info_limiter.allow(now):
                    raise RateLimitedError(Msg.INFO_TOO_RAPID)
            result = handler(sess, cmd, now_us, now)
        except CoinfloorError as exc:
            out.append((session, _error_text(tag, exc.code or 8, exc.message)))
            self._publish_tickers()
            return
        except ProtocolError as exc:
            out.append((session, _error_text(tag, 8, _message_of(exc))))
            return
        except Exception:  # a bug: still answer, never raise into the server loop
            out.append((session, _error_text(tag, 8, INTERNAL_ERROR)))
            self._publish_tickers()
            return
        out.append((session, _render_reply(tag, result)))
        if self._touched:
            self._publish_tickers()

    def _pair(self, cmd: dict[str, Any]) -> Pair:
        market = self._markets.get((cmd.get("base"), cmd.get("counter")))  # type: ignore[arg-type]
        if market is None:
            raise NotFoundError(Msg.INVALID_PAIR)
        return market.pair

    def _market(self, pair: Pair) -> _Market:
        market = self._markets.get((pair.base, pair.counter))
        if market is None:
            raise NotFoundError(Msg.INVALID_PAIR)
        return market

    def _cmd_authenticate(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> None:
        user_id = cmd.get("user_id")
        user = self._users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            raise NotFoundError(Msg.NO_SUCH_USER)
        if not user.auth_limiter.allow(now):
            raise RateLimitedError(Msg.AUTH_TOO_RAPID)
        if cmd.get("cookie") != user.cookie:
            raise AuthenticationError(Msg.BAD_COOKIE)
        try:
            client_nonce = decode_nonce(cmd.get("nonce"))
        except ValueError:
            raise BadRequestError("The nonce must be 16 bytes, base64.") from None
        signature = cmd.get("signature")
        if not (
            isinstance(signature, list | tuple)
            and len(signature) == 2
            and all(isinstance(c, str) for c in signature)
            and verify(user.public_key, user.id, sess.nonce, client_nonce, signature)
        ):
            raise AuthenticationError(Msg.BAD_SIGNATURE)
        self._bind(sess, user)

    def _cmd_get_balances(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        assert sess.user is not None
        account = sess.user.account
        return {
            "balances": [
                {"asset": a, "balance": account.available.get(a, 0)} for a in account.assets()
            ]
        }

    def _cmd_get_orders(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        assert sess.user is not None
        return {"orders": [_order_info(o) for o in sess.user.orders.values()]}

    def _cmd_trade_volume(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        assert sess.user is not None
        asset = cmd.get("asset")
        if not isinstance(asset, int) or isinstance(asset, bool):
            raise BadRequestError("asset must be an integer.")
        return {"volume": sess.user.account.volume.get(asset, 0)}

    def _cmd_watch_orders(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any] | None:
        pair = self._pair(cmd)
        market = self._market(pair)
        watchers = market.book_watchers
        if cmd.get("watch"):
            if pair in sess.watch_orders:
                raise AlreadyWatchingError(Msg.ALREADY_WATCHING_ORDERS)
            sess.watch_orders.add(pair)
            watchers.add(sess.id)
            book = market.book
            depth = self.config.snapshot_depth
            orders = book.bids.top(depth) + book.asks.top(depth)
            return {
                "orders": [
                    {"id": o.id, "quantity": o.quantity, "price": o.price, "time": o.time}
                    for o in orders
                ]
            }
        if pair not in sess.watch_orders:
            raise NotFoundError(Msg.NOT_WATCHING_ORDERS)
        sess.watch_orders.discard(pair)
        watchers.discard(sess.id)
        return None

    def _cmd_watch_ticker(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any] | None:
        pair = self._pair(cmd)
        watchers = self._market(pair).ticker_watchers
        if cmd.get("watch"):
            if pair in sess.watch_ticker:
                raise AlreadyWatchingError(Msg.ALREADY_WATCHING_TICKER)
            self._publish_tickers()
            sess.watch_ticker.add(pair)
            watchers.add(sess.id)
            return self.ticker(pair)
        if pair not in sess.watch_ticker:
            raise NotFoundError(Msg.NOT_WATCHING_TICKER)
        sess.watch_ticker.discard(pair)
        watchers.discard(sess.id)
        return None

    def _cmd_estimate(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        pair = self._pair(cmd)
        quantity, total = cmd.get("quantity"), cmd.get("total")
        if quantity is not None:
            if quantity == 0:
                raise BadRequestError(Msg.QUANTITY_ZERO)
            return self.estimate(pair, quantity=quantity)
        if total is not None:
            if total == 0:
                raise BadRequestError(Msg.TOTAL_ZERO)
            return self.estimate(pair, total=total)
        raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)

    def _cmd_place(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        user = sess.user
        assert user is not None
        pair = self._pair(cmd)
        tonce = cmd.get("tonce")
        quantity, price, total = cmd.get("quantity"), cmd.get("price"), cmd.get("total")
        if tonce == 0:
            raise BadRequestError(Msg.TONCE_ZERO)
        if tonce is not None and tonce <= user.tonce:
            raise TonceOutOfSequenceError(Msg.TONCE_OUT_OF_SEQUENCE)
        if price is not None:
            if quantity is None or total is not None:
                raise BadRequestError("A limit order needs quantity and price, and no total.")
            order = self.place_limit(
                user.id,
                pair,
                quantity,
                price,
                tonce=tonce,
                persist=cmd.get("persist", True) is not False,
                session=sess.id,
                now_us=now_us,
            )
            return {"id": order.id, "time": order.time}
        if quantity is not None and total is not None:
            raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        if quantity is None and total is None:
            raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        remaining = self.place_market(
            user.id, pair, quantity=quantity, total=total, tonce=tonce, now_us=now_us
        )
        return {"remaining": remaining}

    def _cmd_cancel(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        user = sess.user
        assert user is not None
        return _order_info(self.cancel(user.id, cmd.get("id"), cmd.get("tonce")))

    def _cmd_cancel_all(
        self, sess: _Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> dict[str, Any]:
        user = sess.user
        assert user is not None
        orders = list(user.orders.values())
        infos = [_order_info(o) for o in orders]
        for order in orders:
            self._cancel_order(order, now_us)
        if user.tonce:
            user.tonce = 0
            self._dirty_tonces.add(user.id)
        return {"orders": infos}

    # ------------------------------------------------------------------ the engine proper

    def bid_reservation(self, pair: Pair, quantity: int, price: int) -> int:
        m = self._market(pair)
        return ceil_div(abs(quantity) * price * m.c, m.d)

    def _bid_can_trade(self, order: Order, price: int, fee: tuple[int, int]) -> bool:
        """Whether the bid's reservation pays for one unit at ``price`` with worst-case fee."""
        m = self._market(order.pair)
        unit = ceil_div(price * m.c, m.d)
        return unit + ceil_div(unit * fee[0], fee[1]) <= order.reserved

    def place_limit(
        self,
        user_id: int,
        pair: Pair,
        quantity: int,
        price: int,
        *,
        tonce: int | None = None,
        persist: bool = True,
        session: int | None = None,
        now_us: int | None = None,
    ) -> Order:
        """Place a limit order (the validated ``PlaceOrder`` with a price); raises on refusal."""
        user = self._users[user_id]
        if now_us is None:
            now_us = self._clock_us
        if quantity == 0:
            raise BadRequestError(Msg.QUANTITY_ZERO)
        if price <= 0:
            raise BadRequestError(Msg.PRICE_ZERO if price == 0 else "Price must be positive.")
        if tonce is not None and tonce <= user.tonce:
            raise TonceOutOfSequenceError(Msg.TONCE_OUT_OF_SEQUENCE)
        if len(user.orders) >= self.config.max_open_orders:
            raise TooManyOrdersError(Msg.TOO_MANY_ORDERS)
        market = self._market(pair)
        book = market.book
        is_bid = quantity > 0
        qty = quantity if is_bid else -quantity
        if is_bid:
            m = market
            asset = pair.counter
            need = ceil_div(qty * price * m.c, m.d)
        else:
            asset = pair.base
            need = qty
        account = user.account
        avail = account.available.get(asset, 0)
        if avail < need:
            raise InsufficientFundsError(Msg.INSUFFICIENT_FUNDS)
        # accepted
        if tonce is not None:
            user.tonce = tonce
            self._dirty_tonces.add(user_id)
        account.available[asset] = avail - need
        account.reserved[asset] = account.reserved.get(asset, 0) + need
        self._balance_changed(user, asset)
        oid = self._next_order_id
        self._next_order_id = oid + 1
        self._meta_dirty = True
        order = Order(oid, user_id, pair, is_bid, price, qty, need, tonce, persist, now_us)
        if not persist and session is not None:
            order.session = session
        self._touched.add(market)
        blocked = self._match(market, user, order, is_bid, price, qty, None, now_us)
        if (
            order.remaining
            and not blocked
            and (not is_bid or self._bid_can_trade(order, price, self._maker))
        ):
            book.add(order)
            user.orders[oid] = order
            if tonce is not None:
                user.by_tonce[tonce] = order
            self._orders[oid] = order
            self._dirty_orders.add(oid)
            self._new_orders.add(oid)
            if order.session is not None:
                sess = self._sessions.get(order.session)
                if sess is not None:
                    sess.volatile[oid] = order
            self._order_notice(order, "OrderOpened", order.time)
        else:
            self._close(order, user, resting=False)
        return order

    def place_market(
        self,
        user_id: int,
        pair: Pair,
        *,
        quantity: int | None = None,
        total: int | None = None,
        tonce: int | None = None,
        now_us: int | None = None,
    ) -> int:
        """Execute a market order by quantity or by total; returns what could not trade."""
        user = self._users[user_id]
        if now_us is None:
            now_us = self._clock_us
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
            self._dirty_tonces.add(user_id)
        market = self._market(pair)
        self._touched.add(market)
        taker = _MarketTaker(tonce)
        if quantity is not None:
            is_bid = quantity > 0
            want = abs(quantity)
            qty_left = want
            if not is_bid:
                qty_left = min(want, user.account.available.get(pair.base, 0))
            traded, _ = self._run_market(market, user, taker, is_bid, qty_left, None, now_us)
            return want - traded
        assert total is not None
        is_bid = total > 0
        want = abs(total)
        qty_left = None if is_bid else user.account.available.get(pair.base, 0)
        _, spent = self._run_market(market, user, taker, is_bid, qty_left, want, now_us)
        return want - spent

    def _run_market(
        self,
        market: _Market,
        user: _User,
        taker: _MarketTaker,
        is_bid: bool,
        qty_left: int | None,
        total_left: int | None,
        now_us: int,
    ) -> tuple[int, int]:
        before_q, before_t = taker.traded, taker.spent
        self._match(market, user, taker, is_bid, None, qty_left, total_left, now_us)
        return taker.traded - before_q, taker.spent - before_t

    def _match(
        self,
        market: _Market,
        user: _User,
        taker: Order | _MarketTaker,
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
        c, d = market.c, market.d
        tfn, tfd = self._taker
        mfn, mfd = self._maker
        is_order = isinstance(taker, Order)
        account = user.account
        counter = market.pair.counter
        while opp.keys:
            if qty_left is not None and qty_left <= 0:
                break
            if total_left is not None and total_left <= 0:
                break
            level = opp.best_level()
            assert level is not None
            p = level.price
            if limit is not None and (p > limit if is_bid else p < limit):
                break
            maker = level.head()
            q = maker.remaining
            if qty_left is not None and qty_left < q:
                q = qty_left
            unit = p * c
            if is_bid:
                budget = taker.reserved if is_order else account.available.get(counter, 0)
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
                cap = _max_total(maker.reserved, mfn, mfd) * d // unit
                if cap <= 0:  # cannot happen for a maker bid kept affordable; be safe
                    self._close(maker, self._users[maker.user], resting=True)
                    continue
                if cap < q:
                    q = cap
            spent = self._trade(market, user, taker, maker, is_bid, q, p, now_us)
            if qty_left is not None:
                qty_left -= q
            if total_left is not None:
                total_left -= spent
        return False

    def _trade(
        self,
        market: _Market,
        taker_user: _User,
        taker: Order | _MarketTaker,
        maker: Order,
        taker_is_bid: bool,
        q: int,
        p: int,
        now_us: int,
    ) -> int:
        """Execute one trade of ``q`` at ``p``; emits its notices; returns the total."""
        pair = market.pair
        book = market.book
        m = market
        rng = self._rng
        total = stochastic_round(q * p * m.c, m.d, rng)
        tfn, tfd = self._taker
        mfn, mfd = self._maker
        taker_fee = stochastic_round(total * tfn, tfd, rng) if tfn else 0
        maker_fee = stochastic_round(total * mfn, mfd, rng) if mfn else 0
        maker_user = self._users[maker.user]
        base, counter = pair.base, pair.counter
        if taker_is_bid:
            bid, ask, buyer, seller = taker, maker, taker_user, maker_user
            bid_fee, ask_fee = taker_fee, maker_fee
        else:
            bid, ask, buyer, seller = maker, taker, maker_user, taker_user
            bid_fee, ask_fee = maker_fee, taker_fee
        bacct, sacct = buyer.account, seller.account
        # buyer: base in; counter out of the bid's reservation (or available for a market bid)
        bacct.available[base] = bacct.available.get(base, 0) + q
        bacct.reserved.setdefault(base, 0)
        bid_rem: int | None = None
        counter_changed_buyer = True
        if isinstance(bid, Order):
            left = bid.reserved - total - bid_fee
            r = min(bid.remaining - q, left * m.d // (bid.price * m.c))
            keep = ceil_div(r * bid.price * m.c, m.d)
            excess = left - keep
            bacct.reserved[counter] -= bid.reserved - keep
            bid.reserved = keep
            shrink = bid.remaining - r
            if bid.live:
                book.reduce(bid, shrink)
                self._dirty_orders.add(bid.id)
            else:
                bid.remaining = r
            if excess:
                bacct.available[counter] += excess
            else:
                counter_changed_buyer = False
            bid_rem = r
        else:
            bacct.available[counter] -= total + bid_fee
            bid.traded += q
            bid.spent += total
            counter_changed_buyer = bool(total + bid_fee)
        # seller: base out of the ask's reservation (or available), counter proceeds less fee
        ask_rem: int | None = None
        if isinstance(ask, Order):
            sacct.reserved[base] -= q
            ask.reserved -= q
            if ask.live:
                book.reduce(ask, q)
                self._dirty_orders.add(ask.id)
            else:
                ask.remaining -= q
            ask_rem = ask.remaining
        else:
            sacct.available[base] -= q
            ask.traded += q
            ask.spent += total
        sacct.available[counter] = sacct.available.get(counter, 0) + total - ask_fee
        sacct.reserved.setdefault(counter, 0)
        fees = bid_fee + ask_fee
        if fees:
            self._fees[counter] = self._fees.get(counter, 0) + fees
            self._dirty_fees.add(counter)
        self._dirty_balances.add((buyer.id, base))
        self._dirty_balances.add((buyer.id, counter))
        self._dirty_balances.add((seller.id, base))
        self._dirty_balances.add((seller.id, counter))
        # trade log
        seq = self._next_trade_seq
        self._next_trade_seq = seq + 1
        self._meta_dirty = True
        trade = Trade(seq, now_us, base, counter, p, q, total, buyer.id, seller.id)
        self._volumes.add(trade, {buyer.id: bacct, seller.id: sacct})
        market.window.add(seq, now_us, p, q)
        self._retention.append(trade)
        self._new_trades.append(trade)
        self._dirty_last.add(market)
        expiry = now_us + self._min_window_us
        if expiry < self._next_expiry_us:
            self._next_expiry_us = expiry
        # notices, in engine order
        self._matched_notice(
            pair, bid, ask, buyer, seller, q, p, total, bid_rem, ask_rem, now_us, bid_fee, ask_fee
        )
        self._send_balance(buyer, base)
        if counter_changed_buyer:
            self._send_balance(buyer, counter)
        if ask_fee != total:
            self._send_balance(seller, counter)
        if not isinstance(ask, Order):
            self._send_balance(seller, base)
        self._volume_changed(buyer, base)
        if total:
            self._volume_changed(buyer, counter)
        if seller is not buyer:
            self._volume_changed(seller, base)
            if total:
                self._volume_changed(seller, counter)
        # a resting maker that is done closes now (the taker is settled by its caller)
        if maker.remaining == 0 or (
            maker.is_bid and not self._bid_can_trade(maker, maker.price, self._maker)
        ):
            self._close(maker, maker_user, resting=True)
        return total

    def _close(self, order: Order, user: _User, *, resting: bool) -> None:
        """Close an order (filled, cancelled or unaffordable): OrderClosed, then release."""
        market = self._markets[(order.pair.base, order.pair.counter)]
        if resting and order.live:
            market.book.remove(order)
        order.live = False
        oid = order.id
        if user.orders.pop(oid, None) is not None:
            if order.tonce is not None and user.by_tonce.get(order.tonce) is order:
                del user.by_tonce[order.tonce]
            del self._orders[oid]
            if order.session is not None:
                sess = self._sessions.get(order.session)
                if sess is not None:
                    sess.volatile.pop(oid, None)
            self._dirty_orders.add(oid)
        self._touched.add(market)
        self._order_notice(order, "OrderClosed", None)
        if order.reserved:
            asset = order.pair.counter if order.is_bid else order.pair.base
            account = user.account
            account.reserved[asset] -= order.reserved
            account.available[asset] = account.available.get(asset, 0) + order.reserved
            order.reserved = 0
            self._balance_changed(user, asset)

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
        self._cancel_order(order, self._clock_us)
        return order

    def _cancel_order(self, order: Order, now_us: int) -> None:
        self._close(order, self._users[order.user], resting=True)

    def estimate(
        self, pair: Pair, *, quantity: int | None = None, total: int | None = None
    ) -> dict[str, int]:
        """What a market order would trade now, fees and balances ignored."""
        m = self._market(pair)
        book = m.book
        is_bid = (quantity if quantity is not None else total or 0) > 0
        opp = book.asks if is_bid else book.bids
        got_q = 0
        num = 0  # exact total * d
        if quantity is not None:
            left = abs(quantity)
            for level in opp.iter_levels():
                q = min(left, level.quantity)
                got_q += q
                num += q * level.price * m.c
                left -= q
                if not left:
                    break
        else:
            assert total is not None
            left_num = abs(total) * m.d
            for level in opp.iter_levels():
                unit = level.price * m.c
                q = min(level.quantity, left_num // unit)
                if q <= 0:
                    break
                got_q += q
                num += q * unit
                left_num -= q * unit
        return {"quantity": got_q, "total": (2 * num + m.d) // (2 * m.d)}

    # ------------------------------------------------------------------ notices

    def _balance_changed(self, user: _User, asset: int) -> None:
        self._dirty_balances.add((user.id, asset))
        self._send_balance(user, asset)

    def _send_balance(self, user: _User, asset: int) -> None:
        if user.sessions:
            text = (
                f'{{"notice":"BalanceChanged","asset":{asset},'
                f'"balance":{user.account.available.get(asset, 0)}}}'
            )
            out = self._out
            for s in user.sessions:
                out.append((s, text))

    def _volume_changed(self, user: _User, asset: int) -> None:
        if user.sessions:
            text = (
                f'{{"notice":"TradeVolumeChanged","asset":{asset},'
                f'"volume":{user.account.volume.get(asset, 0)}}}'
            )
            out = self._out
            for s in user.sessions:
                out.append((s, text))

    def _order_notice(self, order: Order, kind: str, time: int | None) -> None:
        owner = self._users[order.user]
        watchers = self._markets[(order.pair.base, order.pair.counter)].book_watchers
        if not owner.sessions and not watchers:
            return
        pair = order.pair
        tail = f',"quantity":{order.quantity},"price":{order.price}'
        if time is not None:
            tail += f',"time":{time}'
        head = f'{{"notice":"{kind}","id":{order.id}'
        mid = f',"base":{pair.base},"counter":{pair.counter}'
        out = self._out
        if owner.sessions:
            tonce = "null" if order.tonce is None else order.tonce
            private = f'{head},"tonce":{tonce}{mid}{tail}}}'
            for s in owner.sessions:
                out.append((s, private))
        if watchers:
            public = None
            owned = owner.sessions
            for s in watchers:
                if s in owned:
                    continue
                if public is None:
                    public = f"{head}{mid}{tail}}}"
                out.append((s, public))

    def _matched_notice(
        self,
        pair: Pair,
        bid: Order | _MarketTaker,
        ask: Order | _MarketTaker,
        buyer: _User,
        seller: _User,
        q: int,
        p: int,
        total: int,
        bid_rem: int | None,
        ask_rem: int | None,
        time: int,
        bid_fee: int,
        ask_fee: int,
    ) -> None:
        watchers = self._markets[(pair.base, pair.counter)].book_watchers
        if not (buyer.sessions or seller.sessions or watchers):
            return
        bid_id = bid.id if isinstance(bid, Order) else None
        ask_id = ask.id if isinstance(ask, Order) else None

        # rendered by hand (all fields are ints or null): the hottest notice
        body = (
            f',"base":{pair.base},"counter":{pair.counter},"quantity":{q},"price":{p}'
            f',"total":{total}'
        )
        if bid_rem is not None:
            body += f',"bid_rem":{bid_rem}'
        if ask_rem is not None:
            body += f',"ask_rem":{ask_rem}'
        body += f',"time":{time}'
        bid_part = "" if bid_id is None else f',"bid":{bid_id}'
        ask_part = "" if ask_id is None else f',"ask":{ask_id}'

        def build(for_bid: bool, for_ask: bool) -> str:
            text = '{"notice":"OrdersMatched"' + bid_part
            if for_bid:
                text += f',"bid_tonce":{_null(bid.tonce)}'
            text += ask_part
            if for_ask:
                text += f',"ask_tonce":{_null(ask.tonce)}'
            text += body
            if for_bid:
                text += f',"bid_base_fee":0,"bid_counter_fee":{bid_fee}'
            if for_ask:
                text += f',"ask_base_fee":0,"ask_counter_fee":{ask_fee}'
            return text + "}"

        out = self._out
        if buyer is seller:
            if buyer.sessions:
                text = build(True, True)
                for s in buyer.sessions:
                    out.append((s, text))
            owned: list[int] = buyer.sessions
        else:
            if buyer.sessions:
                text = build(True, False)
                for s in buyer.sessions:
                    out.append((s, text))
            if seller.sessions:
                text = build(False, True)
                for s in seller.sessions:
                    out.append((s, text))
            owned = buyer.sessions + seller.sessions if seller.sessions else buyer.sessions
        if watchers:
            public = None
            for s in watchers:
                if s in owned:
                    continue
                if public is None:
                    public = build(False, False)
                out.append((s, public))

    def _ticker_values(self, market: _Market) -> tuple[int | None, ...]:
        book, window = market.book, market.window
        return (
            window.last,
            book.bids.best_price(),
            book.asks.best_price(),
            window.low,
            window.high,
            window.volume,
        )

    def _publish_tickers(self) -> None:
        if not self._touched:
            return
        touched, self._touched = self._touched, set()
        for market in touched:
            values = self._ticker_values(market)
            old = market.ticker_pub
            if old == values:
                continue
            market.ticker_pub = values
            watchers = market.ticker_watchers
            if not watchers:
                continue
            pair = market.pair
            d: dict[str, Any] = {"notice": "TickerChanged", "base": pair.base}
            d["counter"] = pair.counter
            for i, name in enumerate(TICKER_FIELDS):
                if old[i] != values[i]:
                    d[name] = values[i]
            text = _dumps(d)
            out = self._out
            for s in watchers:
                out.append((s, text))

    # ------------------------------------------------------------------ time windows

    def _expire(self, now_us: int) -> None:
        if now_us < self._next_expiry_us:
            return
        nxt = _NEVER
        self._meta_dirty = True  # the stored clock lets load() expire the same trades
        for market in self._markets.values():
            window = market.window
            if window.expire(now_us):
                self._touched.add(market)
            if window.trades:
                nxt = min(nxt, window.trades[0][1] + window.window_us)
        changed: dict[tuple[int, int], _User] = {}
        volumes = self._volumes
        if volumes.trades and volumes.trades[0].time <= now_us - self._volume_us:
            accounts = {uid: u.account for uid, u in self._users.items()}
            for trade, uid in volumes.expire(now_us, accounts):
                user = self._users[uid]
                changed[(uid, trade.base)] = user
                changed[(uid, trade.counter)] = user
        for (_, asset), user in changed.items():
            self._volume_changed(user, asset)
        retention = self._retention
        cutoff = now_us - self._retention_us
        start = self._retention_start
        while start < len(retention) and retention[start].time <= cutoff:
            self._dead_trades.append(retention[start].seq)
            start += 1
        if start > 1024 and start * 2 > len(retention):
            del retention[:start]
            start = 0
        self._retention_start = start
        if volumes.trades:
            nxt = min(nxt, volumes.trades[0].time + self._volume_us)
        if start < len(retention):
            nxt = min(nxt, retention[start].time + self._retention_us)
        self._next_expiry_us = nxt

    # ------------------------------------------------------------------ durability

    def take_changes(self) -> list[tuple[str, str, str | None]]:
        """Rows changed since the last call: (kind, key, JSON value), value None = delete.

        ``user`` id -> {cookie, public_key (base64)}; ``balance`` "user:asset" ->
        [available, reserved]; ``tonce`` user -> last tonce; ``order`` id -> [user, base,
        counter, signed remaining, price, tonce, persist, time, reservation]; ``fees`` asset ->
        collected; ``last`` "base:counter" -> last trade price; ``trade`` seq -> [time, base,
        counter, price, quantity, total, buyer, seller] (kept max(24 h, volume window));
        ``meta`` next_order_id / next_trade_seq / clock (microseconds).
        """
        rows: list[tuple[str, str, str | None]] = []
        for uid in self._dirty_users:
            user = self._users[uid]
            rows.append(
                (
                    "user",
                    str(uid),
                    _dumps({"cookie": user.cookie, "public_key": b64(user.public_key)}),
                )
            )
        for uid, asset in self._dirty_balances:
            account = self._users[uid].account
            value = [account.available.get(asset, 0), account.reserved.get(asset, 0)]
            rows.append(("balance", f"{uid}:{asset}", f"[{value[0]},{value[1]}]"))
        for uid in self._dirty_tonces:
            rows.append(("tonce", str(uid), str(self._users[uid].tonce)))
        new_orders = self._new_orders
        for oid in self._dirty_orders:
            order = self._orders.get(oid)
            if order is None:
                if oid not in new_orders:
                    rows.append(("order", str(oid), None))
                continue
            pair = order.pair
            value = (
                f"[{order.user},{pair.base},{pair.counter},{order.quantity},{order.price},"
                f"{_null(order.tonce)},{'true' if order.persist else 'false'},{order.time},"
                f"{order.reserved}]"
            )
            rows.append(("order", str(oid), value))
        for asset in self._dirty_fees:
            rows.append(("fees", str(asset), str(self._fees[asset])))
        for market in self._dirty_last:
            pair = market.pair
            rows.append(("last", f"{pair.base}:{pair.counter}", _dumps(market.window.last)))
        new_seqs = set()
        for trade in self._new_trades:
            new_seqs.add(trade.seq)
            rows.append(("trade", str(trade.seq), _dumps(trade.row())))
        for seq in self._dead_trades:
            if seq in new_seqs:
                rows = [r for r in rows if not (r[0] == "trade" and r[1] == str(seq))]
            else:
                rows.append(("trade", str(seq), None))
        if self._meta_dirty:
            rows.append(("meta", "next_order_id", str(self._next_order_id)))
            rows.append(("meta", "next_trade_seq", str(self._next_trade_seq)))
            rows.append(("meta", "clock", str(self._clock_us)))
        self._dirty_users = set()
        self._dirty_balances = set()
        self._dirty_tonces = set()
        self._dirty_orders = set()
        self._new_orders = set()
        self._dirty_fees = set()
        self._dirty_last = set()
        self._new_trades = []
        self._dead_trades = []
        self._meta_dirty = False
        return rows

    def load(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Rebuild the state stored by ``take_changes`` (call on a fresh core, before any
        session). Orders with persist=false are cancelled on the first connect or tick."""
        orders: list[tuple[int, list[Any]]] = []
        trades: list[Trade] = []
        balances: list[tuple[int, int, list[int]]] = []
        tonces: list[tuple[int, int]] = []
        lasts: dict[Pair, int | None] = {}
        for kind, key, text in rows:
            if text is None:
                continue
            value = json.loads(text)
            if kind == "user":
                self.add_user(int(key), value["cookie"], b64decode(value["public_key"]))
            elif kind == "balance":
                uid, asset = (int(x) for x in key.split(":"))
                balances.append((uid, asset, value))
            elif kind == "tonce":
                tonces.append((int(key), int(value)))
            elif kind == "order":
                orders.append((int(key), value))
            elif kind == "fees":
                self._fees[int(key)] = int(value)
            elif kind == "last":
                base, counter = (int(x) for x in key.split(":"))
                lasts[Pair(base, counter)] = value
            elif kind == "trade":
                trades.append(Trade.from_row(int(key), value))
            elif kind == "meta":
                if key == "next_order_id":
                    self._next_order_id = int(value)
                elif key == "next_trade_seq":
                    self._next_trade_seq = int(value)
                elif key == "clock":
                    self._clock_us = max(self._clock_us, int(value))
        for uid, asset, (avail, reserved) in balances:
            account = self._users[uid].account
            account.available[asset] = avail
            account.reserved[asset] = reserved
        for uid, tonce in tonces:
            self._users[uid].tonce = tonce
        for oid, (uid, base, counter, quantity, price, tonce, persist, time, reserved) in sorted(
            orders, key=lambda item: item[0]
        ):
            pair = Pair(base, counter)
            book = self._market(pair).book
            is_bid = quantity > 0
            order = Order(
                oid, uid, pair, is_bid, price, abs(quantity), reserved, tonce, persist, time
            )
            book.add(order)
            user = self._users[uid]
            user.orders[oid] = order
            if tonce is not None:
                user.by_tonce[tonce] = order
            self._orders[oid] = order
            if not persist:
                self._pending_volatile.append(oid)
            self._next_order_id = max(self._next_order_id, oid + 1)
            self._clock_us = max(self._clock_us, time)
        trades.sort(key=lambda t: t.seq)
        accounts = {uid: u.account for uid, u in self._users.items()}
        for trade in trades:
            self._volumes.add(trade, accounts)
            self._market(Pair(trade.base, trade.counter)).window.add(
                trade.seq, trade.time, trade.price, trade.quantity
            )
            self._retention.append(trade)
            self._next_trade_seq = max(self._next_trade_seq, trade.seq + 1)
            self._clock_us = max(self._clock_us, trade.time)
        for pair, last in lasts.items():
            self._market(pair).window.last = last
        self._next_expiry_us = 0 if trades else _NEVER
        self._expire(self._clock_us)
        self._touched.clear()
        for market in self._markets.values():
            market.ticker_pub = self._ticker_values(market)
        self.take_changes()
        self._out.clear()

    # ------------------------------------------------------------------ introspection

    def user_ids(self) -> list[int]:
        return sorted(self._users)

    def balances(self, user_id: int) -> dict[int, tuple[int, int]]:
        """``{asset: (available, reserved)}`` of one user."""
        account = self._users[user_id].account
        avail, reserved = account.available, account.reserved
        return {a: (avail.get(a, 0), reserved.get(a, 0)) for a in account.assets()}

    def open_orders(self, user_id: int) -> list[Order]:
        return list(self._users[user_id].orders.values())

    def book(self, pair: Pair) -> Book:
        return self._market(pair).book

    def fees_collected(self) -> dict[int, int]:
        return dict(self._fees)

    def tonce(self, user_id: int) -> int:
        return self._users[user_id].tonce

    def trade_volume(self, user_id: int, asset: int) -> int:
        return self._users[user_id].account.volume.get(asset, 0)

    def ticker(self, pair: Pair) -> dict[str, int | None]:
        return dict(zip(TICKER_FIELDS, self._ticker_values(self._market(pair)), strict=True))


class _MarketTaker:
    """The taker side of a market order (no id, no reservation)."""

    __slots__ = ("spent", "tonce", "traded")

    def __init__(self, tonce: int | None) -> None:
        self.tonce = tonce
        self.traded = 0
        self.spent = 0


def _order_info(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "tonce": order.tonce,
        "base": order.pair.base,
        "counter": order.pair.counter,
        "quantity": order.quantity,
        "price": order.price,
        "time": order.time,
    }


def _null(value: int | None) -> str:
    return "null" if value is None else str(value)


def _render_reply(tag: int | None, result: dict[str, Any] | None) -> str:
    """A success reply; flat all-int replies (PlaceOrder's) are rendered without json."""
    head = '{"error_code":0' if tag is None else f'{{"tag":{tag},"error_code":0'
    if not result:
        return head + "}"
    parts = [head]
    for key, value in result.items():
        if type(value) is not int:
            reply: dict[str, Any] = {} if tag is None else {"tag": tag}
            reply["error_code"] = 0
            reply.update(result)
            return _dumps(reply)
        parts.append(f'"{key}":{value}')
    return ",".join(parts) + "}"


def _message_of(exc: BaseException) -> str:
    if isinstance(exc, CoinfloorError):
        return exc.message
    text = str(exc.args[0]) if exc.args else ""
    return text or "Malformed command."
