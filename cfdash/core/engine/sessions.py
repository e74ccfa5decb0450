"""The engine's per-user, per-connection and per-pair state records."""

from __future__ import annotations

from math import gcd
from typing import Final

from ..assets import Pair, Scales
from ..errors import BadRequestError
from .accounts import Account
from .book import Book, Order
from .config import EngineConfig
from .limits import RateLimiter, address_key
from .ticker import FIELDS as TICKER_FIELDS
from .ticker import TickerWindow

EMPTY_TICKER: Final[tuple[int | None, ...]] = (None, None, None, None, None, 0)


class User:
    """An account holder: credentials, money, open orders (by id and by tonce), sessions."""

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


class Session:
    """One connection: its Welcome nonce, user (once authenticated), subscriptions, limits.

    ``address`` is the key of its peer address (``limits.address_key``), or None when the
    caller gave none: the per-address limits then do not apply."""

    __slots__ = (
        "address",
        "auth_fail_limiter",
        "id",
        "info_limiter",
        "limited",
        "nonce",
        "order_limiter",
        "user",
        "volatile",
        "watch_limiter",
        "watch_orders",
        "watch_ticker",
    )

    def __init__(
        self, session_id: int, nonce: bytes, config: EngineConfig, address: str | None = None
    ) -> None:
        self.id = session_id
        self.nonce = nonce
        self.address = address_key(address)
        self.user: User | None = None
        self.limited = True
        self.watch_orders: set[Pair] = set()
        self.watch_ticker: set[Pair] = set()
        self.info_limiter = RateLimiter(*config.info_limit)
        self.order_limiter = RateLimiter(*config.order_limit)
        self.watch_limiter = RateLimiter(*config.watch_limit)
        self.auth_fail_limiter = RateLimiter(*config.session_auth_fail_limit)
        self.volatile: dict[int, Order] = {}  # its persist=false orders

    def bind(self, user: User) -> None:
        """Authenticate as ``user`` (again: a no-op; as another user: refused)."""
        if self.user is user:
            return
        if self.user is not None:
            raise BadRequestError("This connection is already authenticated as another user.")
        self.user = user
        user.sessions.append(self.id)


class Market:
    """One listed pair: its book, ticker window and watchers, and its exact scale ratio
    (the counter total of q at price p is q * p * c / d, with c / d reduced).

    The rest are pre-rendered pieces of the hot notices and rows: ``fields`` is the pair's
    ``,"base":B,"counter":C``, ``null_tonce`` the ``,"tonce":null,"base":B,"counter":C,
    "quantity":`` of an OrderOpened/OrderClosed without tonce, ``balance_base`` (``_counter``)
    the head of a BalanceChanged of the base (counter) asset up to its balance and
    ``volume_base`` (``_counter``) that of a TradeVolumeChanged; ``row_pair`` is the pair's
    ``,B,C`` in order rows and ``row_heads`` caches ``[user,B,C,`` per user."""

    __slots__ = (
        "balance_base",
        "balance_counter",
        "book",
        "book_watchers",
        "c",
        "d",
        "fields",
        "null_tonce",
        "pair",
        "row_heads",
        "row_pair",
        "ticker_pub",
        "ticker_watchers",
        "volume_base",
        "volume_counter",
        "window",
    )

    def __init__(self, scales: Scales, pair: Pair, window: TickerWindow) -> None:
        self.pair = pair
        self.book = Book(pair)
        self.window = window
        self.book_watchers: set[int] = set()
        self.ticker_watchers: set[int] = set()
        self.ticker_pub: tuple[int | None, ...] = EMPTY_TICKER
        base, counter = pair.base, pair.counter
        self.fields = f',"base":{base},"counter":{counter}'
        self.null_tonce = f',"tonce":null{self.fields},"quantity":'
        self.balance_base = f'{{"notice":"BalanceChanged","asset":{base},"balance":'
        self.balance_counter = f'{{"notice":"BalanceChanged","asset":{counter},"balance":'
        self.volume_base = f'{{"notice":"TradeVolumeChanged","asset":{base},"volume":'
        self.volume_counter = f'{{"notice":"TradeVolumeChanged","asset":{counter},"volume":'
        self.row_pair = f",{base},{counter}"
        self.row_heads: dict[int, str] = {}
        c = scales.asset(pair.counter)
        d = scales.asset(pair.base) * scales.price_scale(pair)
        g = gcd(c, d)
        self.c = c // g
        self.d = d // g

    def ticker_values(self) -> tuple[int | None, ...]:
        """(last, bid, ask, low, high, volume), as ``ticker.FIELDS`` names them."""
        book, window = self.book, self.window
        return (
            window.last,
            book.bids.best_price(),
            book.asks.best_price(),
            window.low,
            window.high,
            window.volume,
        )

    def ticker(self) -> dict[str, int | None]:
        """The ticker's fields by name (``ticker.FIELDS``)."""
        return dict(zip(TICKER_FIELDS, self.ticker_values(), strict=True))

    def estimate(self, quantity: int | None = None, total: int | None = None) -> dict[str, int]:
        """What a market order would trade now, fees and balances ignored: the quantity and
        the exact total rounded half up."""
        book = self.book
        c, d = self.c, self.d
        is_bid = (quantity if quantity is not None else total or 0) > 0
        opp = book.asks if is_bid else book.bids
        got_q = 0
        num = 0  # exact total * d
        if quantity is not None:
            left = abs(quantity)
            for level in opp.iter_levels():
                q = min(left, level.quantity)
                got_q += q
                num += q * level.price * c
                left -= q
                if not left:
                    break
        else:
            assert total is not None
            left_num = abs(total) * d
            for level in opp.iter_levels():
                unit = level.price * c
                q = min(level.quantity, left_num // unit)
                if q <= 0:
                    break
                got_q += q
                num += q * unit
                left_num -= q * unit
        return {"quantity": got_q, "total": (2 * num + d) // (2 * d)}
