"""A local view of one pair's order book: WatchOrders snapshot plus incremental notices.

Implements IMPL-GUIDE "Maintaining a Local View of an Order Book" on the raw wire dicts:

* Until ``load_snapshot`` the view is unsynced and buffers every notice for its pair; the
  snapshot is then loaded and the buffer replayed in arrival order.
* The buffer may hold notices the snapshot already reflects: the session receives the notices of
  the user's *own* orders (as their owner) before the server processes WatchOrders and takes the
  snapshot. Replaying them must not roll the book back, and an own-order ``OrdersMatched`` also
  names the *other* side, whose later notices the session did not get. Two facts make replay
  safe: an order's remaining quantity never grows, so a match that would raise it is stale and
  ignored; and an ``OrderOpened`` for an id the view holds is an early copy of what the snapshot
  already shows, so it is ignored too. An own order opened before the snapshot but left out of it
  (deeper than the top 1000) is added by its buffered ``OrderOpened`` and kept current by its
  later notices, which the owner receives in full.
* ``OrderClosed`` or ``OrdersMatched`` for an id the view does not hold is ignored: the order
  was deeper than the snapshot's top 1000 (or already gone).
* An ``OrdersMatched`` remaining of 0 drops the order at once (its ``OrderClosed`` follows and is
  then ignored), so the depth per level is always the sum of the visible orders' remaining.

Layout, for speed in pure Python: ``id -> BookOrder``; per side ``price -> [size, count]``; and
per side a sorted key list whose *last* element is the best price (bids keyed by price, asks by
minus price), touched only when a level appears or disappears (``bisect``). Best bid/ask are
O(1); a notice costs O(1) plus O(log n) search when a level appears or disappears.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal

from ..assets import Pair

Side = Literal["bid", "ask"]
Level = tuple[int, int, int]
"""(price, size, order count); size is positive on both sides."""


class BookOrder:
    """An order in the view; ``quantity`` is the signed remaining (+ bid, - ask)."""

    __slots__ = ("id", "price", "quantity", "time")

    def __init__(self, order_id: int, quantity: int, price: int, time: int) -> None:
        self.id = order_id
        self.quantity = quantity
        self.price = price
        self.time = time

    @property
    def side(self) -> Side:
        return "bid" if self.quantity > 0 else "ask"

    def as_dict(self) -> dict[str, int]:
        """The order as a WatchOrders snapshot entry."""
        return {"id": self.id, "quantity": self.quantity, "price": self.price, "time": self.time}

    def __repr__(self) -> str:
        return f"BookOrder(id={self.id}, quantity={self.quantity}, price={self.price})"


class OrderBook:
    """The local view of one pair's book (not thread-safe: the client serialises access)."""

    __slots__ = (
        "_ask_keys",
        "_asks",
        "_bid_keys",
        "_bids",
        "_handlers",
        "_orders",
        "_pending",
        "ask_depth",
        "base",
        "bid_depth",
        "counter",
        "name",
        "orders",
        "synced",
        "version",
    )

    def __init__(self, base: int, counter: int) -> None:
        self.base = base
        self.counter = counter
        self.name = f"book:{Pair(base, counter).name}"
        """The view name ``Views.route`` reports when this book changes."""
        self.synced = False
        self.version = 0
        """Incremented on every visible change (the UI redraws when it moves)."""
        self.bid_depth = 0
        """Sum of the visible bids' remaining quantity."""
        self.ask_depth = 0
        """Sum of the visible asks' remaining quantity (positive)."""
        self._orders: dict[int, BookOrder] = {}
        self.orders: Mapping[int, BookOrder] = MappingProxyType(self._orders)
        self._bids: dict[int, list[int]] = {}
        self._asks: dict[int, list[int]] = {}
        self._bid_keys: list[int] = []
        self._ask_keys: list[int] = []
        self._pending: list[dict[str, Any]] = []
        self._handlers = {
            "OrderOpened": self.opened,
            "OrdersMatched": self.matched,
            "OrderClosed": self.closed,
        }

    # -- feeding -----------------------------------------------------------------------------

    def apply(self, notice: Mapping[str, Any]) -> bool:
        """Apply one raw notice; return whether the visible book changed.

        Notices of another pair or kind are ignored; before the snapshot they are buffered.
        """
        if notice.get("base") != self.base or notice.get("counter") != self.counter:
            return False
        handler = self._handlers.get(notice.get("notice"))  # type: ignore[arg-type]
        return handler(notice) if handler is not None else False

    def opened(self, n: Mapping[str, Any]) -> bool:
        """``OrderOpened`` of this pair (the caller has checked the pair)."""
        if not self.synced:
            self._pending.append(n)  # type: ignore[arg-type]
            return False
        oid = n["id"]
        quantity = n["quantity"]
        if not quantity or oid in self._orders:  # known: an early copy of the snapshot's state
            return False
        order = self._orders[oid] = BookOrder(oid, quantity, n["price"], n.get("time", 0))
        self._link(order)
        self.version += 1
        return True

    def matched(self, n: Mapping[str, Any]) -> bool:
        """``OrdersMatched`` of this pair: set each known side's remaining quantity.

        A remaining quantity only ever shrinks; a notice that would raise it is a stale replay.
        """
        if not self.synced:
            self._pending.append(n)  # type: ignore[arg-type]
            return False
        orders = self._orders
        changed = False
        bid = n.get("bid")
        if bid is not None:
            order = orders.get(bid)
            rem = n.get("bid_rem")
            if order is not None and rem is not None and 0 <= rem < order.quantity:
                changed = self._reduce(order, rem)
        ask = n.get("ask")
        if ask is not None:
            order = orders.get(ask)
            rem = n.get("ask_rem")
            if order is not None and rem is not None and 0 <= rem < -order.quantity:
                changed = self._reduce(order, -rem) or changed
        if changed:
            self.version += 1
        return changed

    def closed(self, n: Mapping[str, Any]) -> bool:
        """``OrderClosed`` of this pair: delete the order (unknown ids are ignored)."""
        if not self.synced:
            self._pending.append(n)  # type: ignore[arg-type]
            return False
        order = self._orders.pop(n["id"], None)
        if order is None:
            return False
        self._unlink(order)
        self.version += 1
        return True

    def load_snapshot(self, orders: Iterable[Mapping[str, Any]]) -> None:
        """Build the view from a WatchOrders reply's ``orders``, then replay buffered notices."""
        self._clear()
        book = self._orders
        bids, asks = self._bids, self._asks
        for o in orders:
            quantity = o["quantity"]
            if not quantity:
                continue
            oid = o["id"]
            if oid in book:  # the server never repeats an id; keep the first
                continue
            order = book[oid] = BookOrder(oid, quantity, o["price"], o.get("time", 0))
            if quantity > 0:
                level = bids.setdefault(order.price, [0, 0])
                self.bid_depth += quantity
            else:
                level = asks.setdefault(order.price, [0, 0])
                self.ask_depth -= quantity
            level[0] += abs(quantity)
            level[1] += 1
        self._bid_keys = sorted(bids)
        self._ask_keys = sorted(-p for p in asks)
        self.synced = True
        pending, self._pending = self._pending, []
        handlers = self._handlers
        for n in pending:
            handlers[n["notice"]](n)
        self.version += 1

    def reset(self) -> None:
        """Drop everything and the buffer; unsynced until the next snapshot (resubscribe)."""
        self._clear()
        self._pending = []
        self.synced = False
        self.version += 1

    @property
    def pending(self) -> int:
        """How many notices are buffered awaiting the snapshot."""
        return len(self._pending)

    # -- queries -----------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        keys = self._bid_keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self._ask_keys
        return -keys[-1] if keys else None

    def spread(self) -> int | None:
        """Best ask minus best bid (negative if the view is crossed), or None."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask - bid

    def levels(self, side: Side, n: int | None = None) -> list[Level]:
        """The best ``n`` (default all) price levels of ``side``, best first."""
        if side == "bid":
            sign, keys, table = 1, self._bid_keys, self._bids
        elif side == "ask":
            sign, keys, table = -1, self._ask_keys, self._asks
        else:
            raise ValueError(f"side must be 'bid' or 'ask', not {side!r}")
        stop = len(keys) if n is None else min(max(n, 0), len(keys))
        out: list[Level] = []
        for i in range(1, stop + 1):
            price = keys[-i] * sign
            size, count = table[price]
            out.append((price, size, count))
        return out

    def level(self, side: Side, price: int) -> tuple[int, int]:
        """(size, count) at ``price`` on ``side``; (0, 0) when there is no such level."""
        size_count = (self._bids if side == "bid" else self._asks).get(price)
        return (size_count[0], size_count[1]) if size_count else (0, 0)

    def level_count(self, side: Side) -> int:
        return len(self._bid_keys if side == "bid" else self._ask_keys)

    def iter_orders(self, side: Side) -> Iterator[BookOrder]:
        """Orders of ``side`` in priority order (best price, then time, then id): O(n log n)."""
        if side == "bid":
            chosen = [o for o in self._orders.values() if o.quantity > 0]
            chosen.sort(key=lambda o: (-o.price, o.time, o.id))
        else:
            chosen = [o for o in self._orders.values() if o.quantity < 0]
            chosen.sort(key=lambda o: (o.price, o.time, o.id))
        return iter(chosen)

    def as_orders(self) -> dict[int, tuple[int, int]]:
        """``id -> (quantity, price)``, for comparing with a server snapshot."""
        return {oid: (o.quantity, o.price) for oid, o in self._orders.items()}

    def same_as(self, orders: Iterable[Mapping[str, Any]], depth: int | None = None) -> bool:
        """Whether the view agrees with a WatchOrders snapshot ``orders``.

        With ``depth`` (the server's per-side cap) only the view's top ``depth`` orders per side
        are compared: a view legitimately holds orders deeper than its own snapshot's cap.
        """
        theirs = {o["id"]: (o["quantity"], o["price"]) for o in orders if o["quantity"]}
        if depth is None:
            return theirs == self.as_orders()
        mine: dict[int, tuple[int, int]] = {}
        for side in ("bid", "ask"):
            for i, o in enumerate(self.iter_orders(side)):
                if i >= depth:
                    break
                mine[o.id] = (o.quantity, o.price)
        return theirs == mine

    def __len__(self) -> int:
        return len(self._orders)

    def __repr__(self) -> str:
        state = "synced" if self.synced else f"unsynced, {len(self._pending)} buffered"
        return (
            f"OrderBook({self.name}, {state}, {len(self._orders)} orders, "
            f"bid={self.best_bid()}, ask={self.best_ask()})"
        )

    # -- internals ---------------------------------------------------------------------------

    def _clear(self) -> None:
        self._orders.clear()
        self._bids = {}
        self._asks = {}
        self._bid_keys = []
        self._ask_keys = []
        self.bid_depth = 0
        self.ask_depth = 0

    def _link(self, order: BookOrder) -> None:
        quantity = order.quantity
        price = order.price
        if quantity > 0:
            table, keys, key = self._bids, self._bid_keys, price
            self.bid_depth += quantity
        else:
            table, keys, key = self._asks, self._ask_keys, -price
            quantity = -quantity
            self.ask_depth += quantity
        level = table.get(price)
        if level is None:
            table[price] = [quantity, 1]
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        else:
            level[0] += quantity
            level[1] += 1

    def _unlink(self, order: BookOrder) -> None:
        quantity = order.quantity
        price = order.price
        if quantity > 0:
            table, keys, key = self._bids, self._bid_keys, price
            self.bid_depth -= quantity
        else:
            table, keys, key = self._asks, self._ask_keys, -price
            quantity = -quantity
            self.ask_depth -= quantity
        level = table[price]
        if level[1] == 1:
            del table[price]
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]
        else:
            level[0] -= quantity
            level[1] -= 1

    def _reduce(self, order: BookOrder, quantity: int) -> bool:
        """Set a smaller remaining (same sign, or 0 to drop the order)."""
        old = order.quantity
        if quantity == 0:
            self._unlink(order)
            del self._orders[order.id]
            return True
        if old > 0:
            self._bids[order.price][0] += quantity - old
            self.bid_depth += quantity - old
        else:
            self._asks[order.price][0] += old - quantity
            self.ask_depth += old - quantity
        order.quantity = quantity
        return True
