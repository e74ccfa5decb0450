"""Two sessions of one account (issue 13, break 4), on the real embedded exchange.

A places an order and loses the connection before the reply; while A is away (new connections
refused), B, the same user on another connection, changes what a re-send of A's order would
mean. Whatever B did, the exchange must hold at most one order for A's one intended order, and
A must report it placed (with its true id) or of unknown outcome: never placed and closed when
the exchange never had it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from cfdash.client import OrderOutcomeUnknown, WSClient
from cfdash.core.messages import PlacedOrder
from cfdash.server.faults import Faults

from .helpers import WAIT, XBT_GBP, login, server_truth, wait_until


def two_sessions(
    url: str, faults: Faults, make_client: Callable[..., WSClient]
) -> tuple[WSClient, WSClient, int]:
    """A (reconnects) and B, both logged in as the demo user; A's session id on the server."""
    a = login(make_client(url, reconnect=True, err_handler=lambda c, e: None))
    [session_a] = faults.sessions(user=1)
    b = login(make_client(url))
    return a, b, session_a


def away(a: WSClient, faults: Faults, session_a: int, action: str) -> tuple[Any, int]:
    """A places a limit bid far below the market, which ``action`` (on A's session only) cuts
    off; A cannot reconnect until ``faults.refuse(0)``. (A's future, its tonce)."""
    faults.arm("PlaceOrder", action, session=session_a)
    faults.refuse(60)
    future = a.place_order(XBT_GBP, Decimal("0.5"), Decimal("1000"))
    tonce = a.tonces.last
    wait_until(lambda: faults.fired[action] == 1 and a.state == "reconnecting", WAIT)
    return future, tonce


def with_tonce(url: str, tonce: int) -> list[int]:
    """The ids of the open orders that carry ``tonce``."""
    return [oid for oid, (t, _, _) in server_truth(url)["orders"].items() if t == tonce]


def test_a_placed_order_cancelled_by_another_sessions_cancel_all_is_not_placed_again(
    exchange, faults: Faults, make_client
) -> None:
    """(a) A's order is placed, its reply lost; B's CancelAllOrders cancels it and resets the
    tonce counter. A re-sending the same tonce would be accepted: placed twice, and B's
    cancel-all undone."""
    a, b, session_a = two_sessions(exchange.url, faults, make_client)
    future, tonce = away(a, faults, session_a, "drop_after")
    cancelled = b.cancel_all_orders().result(WAIT)
    assert [o.tonce for o in cancelled] == [tonce]  # it was placed, and is cancelled
    faults.refuse(0)
    with pytest.raises(OrderOutcomeUnknown) as info:
        future.result(WAIT)
    assert info.value.tonce == tonce
    assert with_tonce(exchange.url, tonce) == []  # not placed a second time
    assert server_truth(exchange.url)["orders"] == {}  # B's cancel-all stands
    with a.lock:
        assert a.own_orders is not None and not a.own_orders.in_flight()


@pytest.mark.parametrize("action", ["drop_before", "drop_after"])
def test_another_sessions_higher_tonce_does_not_make_an_order_look_placed(
    exchange, faults: Faults, make_client, action: str
) -> None:
    """(b) A's order never reaches the engine (``drop_before``); B places and cancels an order
    with a higher tonce. A re-send would be refused as out of sequence, and was reported as
    placed and closed: an order that never existed. With ``drop_after`` A's order is on the
    book, and is reported placed with its own id whatever B did."""
    a, b, session_a = two_sessions(exchange.url, faults, make_client)
    future, tonce = away(a, faults, session_a, action)
    other = b.place_order(XBT_GBP, Decimal("0.1"), Decimal("900")).result(WAIT)
    assert isinstance(other, PlacedOrder)
    assert b.tonces.last > tonce
    b.cancel_order(id=other.id).result(WAIT)
    faults.refuse(0)
    if action == "drop_before":
        with pytest.raises(OrderOutcomeUnknown) as info:
            future.result(WAIT)
        assert info.value.tonce == tonce
        assert with_tonce(exchange.url, tonce) == []  # indeed never placed
    else:
        result = future.result(WAIT)
        assert isinstance(result, PlacedOrder)
        assert with_tonce(exchange.url, tonce) == [result.id]  # once, with its true id
