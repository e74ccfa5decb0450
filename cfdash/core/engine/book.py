"""A price-time priority order book for one asset pair.

Each side maps price -> ``Level`` (a FIFO deque of orders) and keeps the level keys in a sorted
list whose last element is the best price, so reading or popping the touch is O(1) and inserting
a level near the touch moves few elements (``bisect``: O(log n) search). Cancelling is O(1):
the order is flagged dead and skipped lazily when it reaches the front of its level; a level
whose live count reaches zero is removed at once, and a level carrying many dead entries is
compacted.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from typing import Any, final

from ..assets import Pair


@final
class Order:
    """A limit order. ``remaining`` is positive; ``reserved`` is what it holds back
    (base units for an ask, counter units for a bid).

    ``ExchangeCore.place_limit`` builds its orders without calling the class (a third of the
    cost of placing a resting order was the call): keep its attribute list in step."""

    __slots__ = (
        "id",
        "is_bid",
        "live",
        "market",
        "persist",
        "price",
        "remaining",
        "reserved",
        "session",
        "stored",
        "time",
        "tonce",
        "user",
    )

    def __init__(
        self,
        order_id: int,
        user: int,
        market: Any,
        is_bid: bool,
        price: int,
        remaining: int,
        reserved: int,
        tonce: int | None,
        persist: bool,
        time: int,
        session: int | None = None,
    ) -> None:
        self.id = order_id
        self.user = user
        self.market = market  # the engine's market of ``pair``
        self.is_bid = is_bid
        self.price = price
        self.remaining = remaining
        self.reserved = reserved
        self.tonce = tonce
        self.persist = persist
        self.time = time
        self.session = session
        self.live = False  # True while it rests in a book
        self.stored = False  # a durability row holds it (the engine's bookkeeping)

    @property
    def pair(self) -> Pair:
        return self.market.pair  # type: ignore[no-any-return]

    @property
    def quantity(self) -> int:
        """The signed remaining quantity (negative for an ask), as the wire shows it."""
        return self.remaining if self.is_bid else -self.remaining

    def __repr__(self) -> str:
        side = "bid" if self.is_bid else "ask"
        return f"Order(id={self.id}, user={self.user}, {side} {self.remaining} @ {self.price})"


@final
class MarketTaker:
    """The taker side of a market order (no id, no reservation)."""

    __slots__ = ("spent", "tonce", "traded")

    def __init__(self, tonce: int | None) -> None:
        self.tonce = tonce
        self.traded = 0
        self.spent = 0


class Level:
    """The orders at one price, oldest first (dead ones are skipped lazily). ``text`` is the
    price as notices and rows render it."""

    __slots__ = ("live", "orders", "price", "quantity", "text")

    def __init__(self, price: int) -> None:
        self.price = price
        self.text = str(price)
        self.orders: deque[Order] = deque()
        self.live = 0
        self.quantity = 0

    def head(self) -> Order:
        """The oldest live order (the level must be non-empty)."""
        orders = self.orders
        order = orders[0]
        while not order.live:
            orders.popleft()
            order = orders[0]
        return order

    def __iter__(self) -> Iterator[Order]:
        return (o for o in self.orders if o.live)


class BookSide:
    """One side of a book. Keys are ``price`` for bids and ``-price`` for asks, kept ascending,
    so the best level is always ``keys[-1]``."""

    __slots__ = ("_sign", "is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._sign = 1 if is_bid else -1
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.keys)

    def best_price(self) -> int | None:
        keys = self.keys
        return keys[-1] * self._sign if keys else None

    def best_level(self) -> Level | None:
        keys = self.keys
        return self.levels[keys[-1] * self._sign] if keys else None

    def add(self, order: Order) -> Level:
        """Rest a live order at the back of its level; returns the level."""
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level(price)
            key = price * self._sign
            keys = self.keys
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        order.live = True
        level.orders.append(order)
        level.live += 1
        level.quantity += order.remaining
        return level

    def remove(self, order: Order) -> None:
        """Take a live order out (cancel or fill): O(1) apart from dropping an empty level.
        (``ExchangeCore._close`` inlines this.)"""
        order.live = False
        level = self.levels[order.price]
        level.live -= 1
        if level.live == 0:
            self.drop(level)
        else:
            level.quantity -= order.remaining
            if len(level.orders) > 2 * level.live + 16:
                self.compact(level)

    def drop(self, level: Level) -> None:
        """Remove a level whose last live order left."""
        price = level.price
        del self.levels[price]
        key = price * self._sign
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    @staticmethod
    def compact(level: Level) -> None:
        """Forget the dead entries of a level that carries many of them."""
        level.orders = deque(o for o in level.orders if o.live)

    def iter_levels(self) -> Iterator[Level]:
        """Levels from the best price outwards."""
        levels = self.levels
        sign = self._sign
        for key in reversed(self.keys):
            yield levels[key * sign]

    def iter_orders(self) -> Iterator[Order]:
        """Live orders in priority order (best price first, then time)."""
        for level in self.iter_levels():
            yield from level

    def top(self, depth: int) -> list[Order]:
        out: list[Order] = []
        if depth <= 0:
            return out
        for order in self.iter_orders():
            out.append(order)
            if len(out) >= depth:
                break
        return out


class Book:
    """Both sides of one pair's book."""

    __slots__ = ("asks", "bids", "pair")

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.bids = BookSide(True)
        self.asks = BookSide(False)

    def add(self, order: Order) -> None:
        (self.bids if order.is_bid else self.asks).add(order)

    def remove(self, order: Order) -> None:
        (self.bids if order.is_bid else self.asks).remove(order)
