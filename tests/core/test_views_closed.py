"""OwnOrders remembers the user's orders that closed (for the dashboard's closed orders): what
was asked, what traded, what was left."""

from __future__ import annotations

from cfdash.core.assets import Assets
from cfdash.core.views import ClosedOrder, OwnOrders

XBT, GBP = Assets["XBT"], Assets["GBP"]


def notice(kind: str, **fields: object) -> dict[str, object]:
    return {"notice": kind, "base": XBT, "counter": GBP, **fields}


def test_closed_orders_keep_their_fills_and_remainder() -> None:
    own = OwnOrders()
    own.opened(notice("OrderOpened", id=1, tonce=11, quantity=-30, price=500, time=1))
    own.opened(notice("OrderOpened", id=2, tonce=12, quantity=20, price=400, time=2))
    own.opened(notice("OrderOpened", id=3, tonce=None, quantity=10, price=390, time=3))
    own.matched(
        notice("OrdersMatched", ask=1, ask_tonce=11, ask_rem=20, quantity=10, price=500, total=50)
    )
    assert own.closed_version == 0 and not own.closed_orders
    own.closed(notice("OrderClosed", id=1, tonce=11, quantity=-20, price=500))
    own.closed(notice("OrderClosed", id=2, tonce=12, quantity=20, price=400))
    own.matched(
        notice("OrdersMatched", bid=3, bid_tonce=None, bid_rem=0, quantity=10, price=390, total=39)
    )
    own.closed(notice("OrderClosed", id=3, tonce=None, quantity=0, price=390))
    assert own.closed_version == 3
    assert list(own.closed_orders) == [
        ClosedOrder(1, 11, XBT, GBP, "sell", 500, 30, 10, 20),
        ClosedOrder(2, 12, XBT, GBP, "buy", 400, 20, 0, 20),
        ClosedOrder(3, None, XBT, GBP, "buy", 390, 10, 10, 0),
    ]


def test_a_close_of_an_unknown_order_is_not_remembered() -> None:
    own = OwnOrders()
    assert not own.closed(notice("OrderClosed", id=9, tonce=None, quantity=0, price=1))
    assert own.closed_version == 0


def test_only_the_last_closed_orders_are_kept() -> None:
    own = OwnOrders(max_closed=2)
    for oid in range(1, 4):
        own.opened(notice("OrderOpened", id=oid, tonce=oid, quantity=5, price=100, time=oid))
        own.closed(notice("OrderClosed", id=oid, tonce=oid, quantity=5, price=100))
    assert own.closed_version == 3
    assert [c.id for c in own.closed_orders] == [2, 3]
