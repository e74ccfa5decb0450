"""The authenticated user's own orders (open and in flight), their reservations and fills.

Own-order notices are recognised by the presence of their ``tonce`` (``bid_tonce``/``ask_tonce``)
key, which the server sends only to the owner (its value is null for an order placed without a
tonce). Fills that arrive before the PlaceOrder reply are matched to the order by tonce
(IMPL-GUIDE "Tracking Fills of Your Orders"); the first notice that carries the order's id teaches
it to the view.

Reserved balances are computed from the open orders: an ask reserves its remaining base quantity,
a bid ``Scales.bid_reservation(pair, remaining, price)`` of the counter asset. This is exact
because the exchange returns any excess reservation after each fill (IMPL-GUIDE "How Fees Affect
Trade Quantities"). An order counts once the view knows it is on the book (OrderOpened, GetOrders,
the PlaceOrder reply, or an OrdersMatched with its id and remaining); an order merely sent does
not, so between its reservation's ``BalanceChanged`` and its ``OrderOpened`` the total dips.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, Literal, NamedTuple

from ..assets import V2, Pair, Scales

PENDING: Final = "pending"
"""Sent with a tonce, no reply or notice yet."""
OPEN: Final = "open"
"""Known to be on the book (possibly with 0 remaining until its OrderClosed)."""

OrderStatus = Literal["pending", "open"]


class OwnOrder:
    """One of the user's orders. ``quantity`` is the signed remaining (+ bid, - ask)."""

    __slots__ = (
        "base",
        "counter",
        "filled",
        "id",
        "is_bid",
        "original",
        "price",
        "quantity",
        "reserved",
        "status",
        "time",
        "tonce",
    )

    def __init__(
        self,
        order_id: int | None,
        tonce: int | None,
        base: int,
        counter: int,
        quantity: int,
        price: int | None,
        time: int | None,
        status: OrderStatus,
    ) -> None:
        self.id = order_id
        self.tonce = tonce
        self.base = base
        self.counter = counter
        self.quantity = quantity
        self.original = quantity
        """The quantity first seen (placed, or as opened/loaded), signed."""
        self.is_bid = quantity > 0
        self.price = price
        """None for a market order in flight."""
        self.time = time
        self.status: OrderStatus = status
        self.filled = 0
        """Base quantity traded as seen by this view."""
        self.reserved = 0
        """What this order currently holds back (counter units for a bid, base for an ask)."""

    @property
    def side(self) -> Literal["bid", "ask"]:
        return "bid" if self.is_bid else "ask"

    @property
    def pair(self) -> Pair:
        return Pair(self.base, self.counter)

    @property
    def reserve_asset(self) -> int:
        return self.counter if self.is_bid else self.base

    def __repr__(self) -> str:
        return (
            f"OwnOrder(id={self.id}, tonce={self.tonce}, {self.status}, "
            f"{self.quantity} @ {self.price})"
        )


class Fill(NamedTuple):
    """A trade of one of the user's orders (one side of an ``OrdersMatched``)."""

    time: int
    base: int
    counter: int
    side: Literal["buy", "sell"]
    price: int
    quantity: int
    total: int
    fee: int
    """The counter-asset fee (the only kind the exchange charges)."""
    base_fee: int
    id: int | None
    """The order id; None for a market order."""
    tonce: int | None


class ClosedOrder(NamedTuple):
    """One of the user's orders that closed (an ``OrderClosed`` of an order the view knew)."""

    id: int
    tonce: int | None
    base: int
    counter: int
    side: Literal["buy", "sell"]
    price: int | None
    original: int
    """The quantity first seen (positive)."""
    filled: int
    """Base quantity traded as seen by this view."""
    remaining: int
    """What was left when it closed (positive; 0: filled)."""


class _Recent:
    """A bounded set remembering the last ``size`` keys added."""

    __slots__ = ("_order", "_set")

    def __init__(self, size: int) -> None:
        self._order: deque[int] = deque(maxlen=size)
        self._set: set[int] = set()

    def add(self, key: int) -> None:
        if key in self._set:
            return
        order = self._order
        if len(order) == order.maxlen:
            self._set.discard(order[0])
        order.append(key)
        self._set.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._set


class OwnOrders:
    """The user's open and in-flight orders, their reservations, and recent own fills."""

    name = "orders"
    fills_name = "fills"

    def __init__(
        self, scales: Scales = V2, max_fills: int = 500, remember: int = 4096, max_closed: int = 500
    ) -> None:
        self.scales = scales
        self.version = 0
        self.reserve_version = 0
        """Incremented whenever a reservation changes."""
        self.fills_version = 0
        self.fills: deque[Fill] = deque(maxlen=max_fills)
        self.closed_version = 0
        self.closed_orders: deque[ClosedOrder] = deque(maxlen=max_closed)
        """The orders seen to close, oldest first (``closed_version`` counts them)."""
        self._by_id: dict[int, OwnOrder] = {}
        self._by_tonce: dict[int, OwnOrder] = {}
        self._reserved: dict[int, int] = {}
        self._closed_ids = _Recent(remember)
        self._pairs: dict[tuple[int, int], Pair] = {}
        self._handlers = {
            "OrderOpened": self.opened,
            "OrdersMatched": self.matched,
            "OrderClosed": self.closed,
        }

    # -- commands and replies ----------------------------------------------------------------

    def load(self, orders: Iterable[Mapping[str, Any]]) -> None:
        """Replace the open orders with a GetOrders reply's ``orders`` (in-flight ones stay).

        Orders the view saw close recently are skipped: their OrderClosed may overtake the reply.
        """
        pending = [o for o in self._by_tonce.values() if o.status == PENDING]
        self._by_id.clear()
        self._by_tonce = {o.tonce: o for o in pending if o.tonce is not None}
        for row in orders:
            oid = row["id"]
            if oid in self._closed_ids or not row["quantity"]:
                continue
            tonce = row.get("tonce")
            order = self._by_tonce.get(tonce) if tonce is not None else None
            if order is None:
                order = OwnOrder(
                    oid, tonce, row["base"], row["counter"], row["quantity"], None, None, OPEN
                )
            self._set_open(order, oid, row)
            if tonce is not None:
                self._by_tonce[tonce] = order
        self._reserved = {}
        for order in self._by_tonce.values():
            order.reserved = 0
        for order in self._by_id.values():
            order.reserved = 0
            self._reserve(order)
        self.reserve_version += 1
        self.version += 1

    def expect(
        self, tonce: int, base: int, counter: int, quantity: int, price: int | None = None
    ) -> OwnOrder:
        """Register a PlaceOrder in flight (``price`` None for a market order)."""
        order = OwnOrder(None, tonce, base, counter, quantity, price, None, PENDING)
        self._by_tonce[tonce] = order
        self.version += 1
        return order

    def placed(
        self, tonce: int | None, order_id: int | None = None, time: int | None = None
    ) -> bool:
        """The PlaceOrder reply: ``{id, time}`` for a limit order, no id for a market order."""
        order = self._by_tonce.get(tonce) if tonce is not None else None
        if order_id is None or order_id in self._closed_ids:
            # A market order is done when its reply comes; so is a limit order already closed.
            if order is not None and order.id in (None, order_id):
                self._forget(order)
                self.version += 1
                return True
            return False
        if order is None:
            order = self._by_id.get(order_id)
            if order is None:
                return False  # placed without expect(): its OrderOpened will bring it
        order.id = order_id
        if time is not None:
            order.time = time
        order.status = OPEN
        self._by_id[order_id] = order
        self._reserve(order)
        self.version += 1
        return True

    def failed(self, tonce: int) -> bool:
        """The PlaceOrder error reply: forget the order in flight."""
        order = self._by_tonce.get(tonce)
        if order is None or order.status != PENDING:
            return False
        del self._by_tonce[tonce]
        self.version += 1
        return True

    # -- notices -----------------------------------------------------------------------------

    def apply(self, notice: Mapping[str, Any]) -> bool:
        """Apply a raw notice if it concerns one of the user's orders; return whether changed."""
        handler = self._handlers.get(notice.get("notice"))  # type: ignore[arg-type]
        return handler(notice) if handler is not None else False

    def opened(self, n: Mapping[str, Any]) -> bool:
        if "tonce" not in n:
            return False
        oid = n["id"]
        if oid in self._closed_ids:
            return False
        tonce = n["tonce"]
        order = self._by_id.get(oid)
        if order is None and tonce is not None:
            order = self._by_tonce.get(tonce)
            if order is not None and order.id not in (None, oid):
                order = None
        if order is None:
            order = OwnOrder(oid, tonce, n["base"], n["counter"], n["quantity"], None, None, OPEN)
            if tonce is not None:
                self._by_tonce[tonce] = order
        self._set_open(order, oid, n)
        self._reserve(order)
        self.version += 1
        return True

    def _set_open(self, order: OwnOrder, oid: int, fields: Mapping[str, Any]) -> None:
        """``order`` is open on the book as ``oid`` with the fields of a GetOrders row or an
        OrderOpened notice."""
        order.id = oid
        order.quantity = fields["quantity"]
        order.price = fields["price"]
        order.time = fields.get("time")
        order.status = OPEN
        self._by_id[oid] = order

    def matched(self, n: Mapping[str, Any]) -> bool:
        changed = False
        if "bid_tonce" in n:
            self._fill(n, True, n["bid_tonce"], n.get("bid"), n.get("bid_rem"))
            changed = True
        if "ask_tonce" in n:
            self._fill(n, False, n["ask_tonce"], n.get("ask"), n.get("ask_rem"))
            changed = True
        return changed

    def closed(self, n: Mapping[str, Any]) -> bool:
        if "tonce" not in n:
            return False
        oid = n["id"]
        tonce = n["tonce"]
        order = self._by_id.get(oid)
        if order is None and tonce is not None:
            order = self._by_tonce.get(tonce)
            if order is not None and order.id not in (None, oid):
                order = None
        self._closed_ids.add(oid)
        if order is None:
            return False
        self.closed_orders.append(
            ClosedOrder(
                oid,
                order.tonce,
                order.base,
                order.counter,
                "buy" if order.is_bid else "sell",
                n.get("price", order.price),
                abs(order.original),
                order.filled,
                abs(n.get("quantity") or 0),
            )
        )
        self.closed_version += 1
        self._forget(order)
        self.version += 1
        return True

    # -- queries -----------------------------------------------------------------------------

    def get(self, order_id: int) -> OwnOrder | None:
        return self._by_id.get(order_id)

    def by_tonce(self, tonce: int) -> OwnOrder | None:
        return self._by_tonce.get(tonce)

    def reserved(self, asset: int) -> int:
        """What the open orders hold back in ``asset``."""
        return self._reserved.get(asset, 0)

    def reserved_assets(self) -> dict[int, int]:
        return {a: v for a, v in self._reserved.items() if v}

    def open_orders(self) -> list[OwnOrder]:
        """Orders known to be on the book, oldest first."""
        return sorted(self._by_id.values(), key=lambda o: (o.time or 0, o.id))

    def in_flight(self) -> list[OwnOrder]:
        """Orders sent but not yet confirmed, in tonce order."""
        return sorted(
            (o for o in self._by_tonce.values() if o.status == PENDING),
            key=lambda o: o.tonce or 0,
        )

    def was_closed(self, order_id: int) -> bool:
        return order_id in self._closed_ids

    def __iter__(self) -> Iterator[OwnOrder]:
        """Open orders by time, then orders in flight."""
        return iter(self.open_orders() + self.in_flight())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._by_id

    # -- internals ---------------------------------------------------------------------------

    def _fill(
        self, n: Mapping[str, Any], is_bid: bool, tonce: int | None, oid: int | None, rem: Any
    ) -> None:
        prefix = "bid_" if is_bid else "ask_"
        quantity = n["quantity"]
        self.fills.append(
            Fill(
                n.get("time", 0),
                n["base"],
                n["counter"],
                "buy" if is_bid else "sell",
                n["price"],
                quantity,
                n.get("total", 0),
                n.get(prefix + "counter_fee") or 0,
                n.get(prefix + "base_fee") or 0,
                oid,
                tonce,
            )
        )
        self.fills_version += 1
        order = self._by_id.get(oid) if oid is not None else None
        if order is None and tonce is not None:
            order = self._by_tonce.get(tonce)
        if order is None or order.is_bid != is_bid or order.id not in (None, oid):
            return
        if oid is not None and order.id is None:
            if oid in self._closed_ids:
                return
            order.id = oid
            self._by_id[oid] = order
        order.filled += quantity
        if oid is not None and rem is not None and order.id == oid:
            order.quantity = rem if is_bid else -rem
            order.status = OPEN
            self._reserve(order)
        self.version += 1

    def _forget(self, order: OwnOrder) -> None:
        if order.id is not None and self._by_id.get(order.id) is order:
            del self._by_id[order.id]
        if order.tonce is not None and self._by_tonce.get(order.tonce) is order:
            del self._by_tonce[order.tonce]
        if order.reserved:
            asset = order.reserve_asset
            self._reserved[asset] -= order.reserved
            order.reserved = 0
            self.reserve_version += 1

    def _reserve(self, order: OwnOrder) -> None:
        """Bring ``order.reserved`` (and the per-asset sum) up to date."""
        new = 0
        if order.status == OPEN and order.price is not None and order.quantity:
            if order.is_bid:
                key = (order.base, order.counter)
                pair = self._pairs.get(key)
                if pair is None:
                    pair = self._pairs[key] = Pair(order.base, order.counter)
                new = self.scales.bid_reservation(pair, order.quantity, order.price)
            else:
                new = -order.quantity
        if new != order.reserved:
            asset = order.reserve_asset
            self._reserved[asset] = self._reserved.get(asset, 0) + new - order.reserved
            order.reserved = new
            self.reserve_version += 1
