"""The settlement policy of orders in flight (``cfdash.client.inflight``), without a socket:
the pure decisions and ``InFlightOrders``' bookkeeping."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from cfdash.client.inflight import (
    InFlightOrders,
    field,
    open_by_tonce,
    placed_from_row,
    refused_resend,
    settle_orphan,
    tonce_at_risk,
)
from cfdash.core.messages import PlacedOrder


class Row:
    """A typed GetOrders row (attributes, not keys)."""

    def __init__(self, id: int, tonce: int | None, time: int) -> None:
        self.id, self.tonce, self.time = id, tonce, time


def test_settle_orphan_open_then_seen_then_resend() -> None:
    open_orders = open_by_tonce([{"id": 7, "tonce": 3, "time": 1}, Row(8, 4, 2)])
    assert settle_orphan(3, open_orders, seen=False) == "open"
    assert settle_orphan(4, open_orders, seen=True) == "open"  # open wins over a notice
    assert settle_orphan(5, open_orders, seen=True) == "closed"
    assert settle_orphan(6, open_orders, seen=False) == "resend"


def test_open_rows_become_placed_orders_mapping_or_typed() -> None:
    rows = open_by_tonce([{"id": 7, "tonce": 3, "time": 11}, Row(8, 4, 12)])
    assert placed_from_row(rows[3]) == PlacedOrder(7, 11, {})
    assert placed_from_row(rows[4]) == PlacedOrder(8, 12, {})
    assert field(object(), "id") is None


@pytest.mark.parametrize(
    ("kwargs", "verdict"),
    [
        # Refused with error 3, nothing higher could have been placed: it was placed before.
        ({"direct": True, "highest_placed": 0, "batch": [(5, False)]}, "closed"),
        ({"direct": True, "highest_placed": 5, "batch": [(5, False)]}, "closed"),
        # A higher tonce known placed: error 3 proves nothing.
        ({"direct": True, "highest_placed": 6, "batch": [(5, False)]}, "unknown"),
        # A higher order re-sent alongside was refused too (or failed): ambiguous.
        ({"direct": True, "highest_placed": 0, "batch": [(5, False), (6, False)]}, "unknown"),
        # ... but accepted by its re-send: it was not placed before.
        ({"direct": True, "highest_placed": 0, "batch": [(5, False), (6, True)]}, "closed"),
        # A lower one does not matter.
        ({"direct": True, "highest_placed": 0, "batch": [(4, False), (5, False)]}, "closed"),
        # Replies that came on another connection: the batch is not all known.
        ({"direct": False, "highest_placed": 0, "batch": [(5, False)]}, "unknown"),
    ],
)
def test_refused_resend(kwargs: dict[str, Any], verdict: str) -> None:
    assert refused_resend(5, found_open=False, **kwargs) == verdict
    assert refused_resend(5, found_open=True, **kwargs) == "open"  # the last check wins


def test_tonce_at_risk_only_for_place_order_with_a_tonce() -> None:
    assert tonce_at_risk({"method": "PlaceOrder", "tonce": 9}) == 9
    assert tonce_at_risk({"method": "PlaceOrder"}) is None
    assert tonce_at_risk({"method": "PlaceOrder", "tonce": 0}) is None
    assert tonce_at_risk({"method": "CancelOrder", "tonce": 9}) is None


def test_highest_placed_follows_replies_notices_and_cancel_all() -> None:
    orders = InFlightOrders()
    orders.note_reply("PlaceOrder", {"tonce": 4}, None)
    assert orders.highest_placed == 4
    orders.note_reply("GetOrders", {}, [{"tonce": 9}, Row(1, None, 0), Row(2, 7, 0)])
    assert orders.highest_placed == 9
    orders.note({"notice": "OrdersMatched", "bid_tonce": 12, "bid": 5, "ask": 6})
    assert orders.highest_placed == 12
    orders.note_reply("CancelAllOrders", {}, None)
    assert orders.highest_placed == 0
    orders.note_reply("GetBalances", {"tonce": 99}, None)
    assert orders.highest_placed == 0


def test_tracked_tonces_remember_their_order_id_until_settled() -> None:
    orders = InFlightOrders()
    future: Future[Any] = Future()
    orders.track(3, future)
    orders.note({"notice": "OrderOpened", "tonce": 3, "id": 30})
    orders.note({"notice": "OrderOpened", "tonce": 4, "id": 40})  # not tracked
    assert orders.seen(3) == (True, 30) and orders.seen(4) == (False, None)
    future.set_result(None)
    assert orders.seen(3) == (False, None)


def test_orphans_come_back_in_tonce_order_without_their_tag() -> None:
    orders = InFlightOrders()
    futures: list[Future[Any]] = [Future(), Future()]
    orders.orphan(8, futures[0], {"method": "PlaceOrder", "tonce": 8, "tag": 3})
    orders.orphan(2, futures[1], {"method": "PlaceOrder", "tonce": 2, "tag": 4})
    assert bool(orders) and orders.orphans == 2
    taken = orders.take_orphans()
    assert [(t, f, c) for t, f, c in taken] == [
        (2, futures[1], {"method": "PlaceOrder", "tonce": 2}),
        (8, futures[0], {"method": "PlaceOrder", "tonce": 8}),
    ]
    assert not orders and orders.take_orphans() == []
