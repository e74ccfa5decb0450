"""The settlement policy of orders in flight (``cfdash.client.inflight``), without a socket:
the pure decisions, ``InFlightOrders``' bookkeeping and ``Settlement`` driving them."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from cfdash.client.inflight import (
    InFlightOrders,
    OrderOutcomeUnknown,
    field,
    open_by_tonce,
    placed_from_row,
    same_order,
    settle_orphan,
    tonce_at_risk,
)
from cfdash.client.session import Link
from cfdash.client.settlement import Settlement
from cfdash.core.errors import Msg, TonceOutOfSequenceError
from cfdash.core.messages import PlacedOrder
from tests.client.test_session import Recorder


class Row:
    """A typed GetOrders row (attributes, not keys)."""

    def __init__(self, id: int, tonce: int | None, time: int) -> None:
        self.id, self.tonce, self.time = id, tonce, time


def test_settle_orphan_open_then_seen_else_unknown_never_resent() -> None:
    open_orders = open_by_tonce([{"id": 7, "tonce": 3, "time": 1}, Row(8, 4, 2)])
    assert settle_orphan(3, open_orders, seen=False) == "open"
    assert settle_orphan(4, open_orders, seen=True) == "open"  # open wins over a notice
    assert settle_orphan(5, open_orders, seen=True) == "closed"
    # Not open, no notice: placed and closed since, or never placed; a re-send cannot tell.
    assert settle_orphan(6, open_orders, seen=False) == "unknown"
    assert settle_orphan(6, open_orders, seen=False, sent=True) == "unknown"


def test_an_order_that_never_left_the_client_is_sent_whatever_is_known() -> None:
    open_orders = open_by_tonce([{"id": 7, "tonce": 3, "time": 1}])
    assert settle_orphan(6, open_orders, seen=False, sent=False) == "resend"
    # An open order or a notice with its tonce is another session's (same tonce value).
    assert settle_orphan(3, open_orders, seen=True, sent=False) == "resend"


LIMIT = {"method": "PlaceOrder", "tonce": 3, "base": 1, "counter": 2}
LIMIT |= {"quantity": 50, "price": 1000}


def row(**changes: int) -> dict[str, int]:
    return {"id": 7, "tonce": 3, "base": 1, "counter": 2, "quantity": 50, "price": 1000} | {
        "time": 1,
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        ({}, True),
        ({"quantity": 20}, True),  # partly traded
        ({"quantity": 60}, False),  # more than was asked for
        ({"quantity": -50}, False),  # the other side
        ({"price": 1001}, False),
        ({"base": 9}, False),
        ({"counter": 9}, False),
    ],
)
def test_an_open_order_with_the_tonce_is_this_one_only_if_it_matches(
    changes: dict[str, int], same: bool
) -> None:
    assert same_order(row(**changes), LIMIT) is same
    verdict = settle_orphan(3, open_by_tonce([row(**changes)]), seen=False, command=LIMIT)
    assert verdict == ("open" if same else "unknown")


def test_a_market_order_is_never_an_open_one() -> None:
    market = {k: v for k, v in LIMIT.items() if k != "price"}
    assert not same_order(row(), market)
    assert not same_order(row(), {**market, "total": 5, "quantity": None})


def test_open_rows_become_placed_orders_mapping_or_typed() -> None:
    rows = open_by_tonce([{"id": 7, "tonce": 3, "time": 11}, Row(8, 4, 12)])
    assert placed_from_row(rows[3]) == PlacedOrder(7, 11, {})
    assert placed_from_row(rows[4]) == PlacedOrder(8, 12, {})
    assert field(object(), "id") is None


def test_tonce_at_risk_only_for_place_order_with_a_tonce() -> None:
    assert tonce_at_risk({"method": "PlaceOrder", "tonce": 9}) == 9
    assert tonce_at_risk({"method": "PlaceOrder"}) is None
    assert tonce_at_risk({"method": "PlaceOrder", "tonce": 0}) is None
    assert tonce_at_risk({"method": "CancelOrder", "tonce": 9}) is None


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
    orders.orphan(2, futures[1], {"method": "PlaceOrder", "tonce": 2, "tag": 4}, sent=False)
    assert bool(orders) and orders.orphans == 2
    taken = orders.take_orphans()
    assert taken == [
        (2, futures[1], {"method": "PlaceOrder", "tonce": 2}, False),
        (8, futures[0], {"method": "PlaceOrder", "tonce": 8}, True),
    ]
    assert not orders and orders.take_orphans() == []


def test_settlement_sends_only_what_never_left_the_client() -> None:
    """``Settlement`` on a restored connection, with futures and no socket: an order written
    before the drop and not open is unknown (never re-sent), one that never left the client is
    sent now, and its reply, a refusal as out of sequence included, is its outcome."""
    rec = Recorder()
    session = rec.session
    written: Future[Any] = Future()
    unsent: Future[Any] = Future()
    session.orders.orphan(5, written, {**LIMIT, "tonce": 5, "tag": 1})
    session.orders.orphan(6, unsent, {**LIMIT, "tonce": 6, "tag": 2}, sent=False)
    sent: list[tuple[dict[str, Any], Future[Any]]] = []

    def send_now(command: Any) -> Future[Any]:
        future: Future[Any] = Future()
        sent.append((dict(command), future))
        return future

    ready: list[bool] = []
    settlement = Settlement(
        session, Link(restore=True), send_now, pytest.fail, lambda: ready.append(True)
    )
    orders: Future[Any] = Future()
    orders.set_result([])  # GetOrders: nothing open
    settlement.orders_known(orders)
    assert ready == [True]
    with pytest.raises(OrderOutcomeUnknown, match="not re-sent") as info:
        written.result(0)
    assert info.value.tonce == 5
    assert [c for c, _ in sent] == [{**LIMIT, "tonce": 6}]  # no tag: the sender adds one
    assert not unsent.done()
    refusal = TonceOutOfSequenceError(Msg.TONCE_OUT_OF_SEQUENCE)
    sent[0][1].set_exception(refusal)  # another session placed a higher tonce meanwhile
    assert unsent.exception(0) is refusal  # not placed: said so, never "placed and closed"
