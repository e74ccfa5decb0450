"""Settling an order whose PlaceOrder reply was lost, against a scripted server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from cfdash.client import ClosedOrder, OrderOutcomeUnknown, WSClient
from cfdash.core.errors import Msg
from cfdash.core.messages import PlacedOrder
from tests.support.scripted import (
    COOKIE,
    PASSPHRASE,
    USD,
    USER_ID,
    XBT,
    ScriptedServer,
    Session,
    error,
)


@pytest.fixture
def make_client(make_scripted_client: Callable[..., WSClient]) -> Callable[..., WSClient]:
    """Clients on the scripted ``server`` (this directory's ``make_client`` takes a url)."""
    return make_scripted_client


PAIR = {"base": XBT, "counter": USD}


def order_notices(command: dict[str, Any], order_id: int, closed: bool) -> list[dict[str, Any]]:
    """What the owner of a limit bid sees when it opens (and, if ``closed``, fills)."""
    tonce, quantity, price = command["tonce"], command["quantity"], command["price"]
    notices = [
        {"notice": "OrderOpened", "id": order_id, "tonce": tonce, **PAIR}
        | {"quantity": quantity, "price": price, "time": 10}
    ]
    if closed:
        notices.append(
            {"notice": "OrdersMatched", "bid": order_id, "bid_tonce": tonce, "ask": 3, **PAIR}
            | {"quantity": quantity, "price": price, "total": 1, "bid_rem": 0, "ask_rem": 0}
            | {"time": 11}
        )
        notices.append(
            {"notice": "OrderClosed", "id": order_id, "tonce": tonce, **PAIR}
            | {"quantity": 0, "price": price}
        )
    return notices


def lose_reply(notify: bool, closed: bool, open_orders: list[dict[str, Any]]):
    """A PlaceOrder handler for the first session: maybe notices, then a drop, no reply."""

    async def place(session: Session, command: dict[str, Any]) -> None:
        if session is session.server.sessions[0]:
            if notify:
                for notice in order_notices(command, 77, closed):
                    await session.ws.send(json.dumps(notice))
                    if not closed:
                        open_orders.append(
                            {k: notice[k] for k in ("id", "tonce", "quantity", "price", "time")}
                            | PAIR
                        )
            session.ws.transport.abort()
            return None
        return {"id": 78, "time": 12}

    return place


def connected_client(make_client) -> Any:
    client = make_client(reconnect=True, backoff_base=0.05, err_handler=lambda c, e: None)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.authenticate()
    return client


@pytest.mark.parametrize("closed", [False, True])
def test_order_seen_in_notices_is_settled_without_resending(
    server: ScriptedServer, make_client, closed: bool
) -> None:
    open_orders: list[dict[str, Any]] = []
    server.handlers["PlaceOrder"] = lose_reply(True, closed, open_orders)
    server.handlers["GetOrders"] = lambda s, c: {"orders": list(open_orders)}
    client = connected_client(make_client)
    result = client.place_order("XBT:USD", Decimal("0.5"), Decimal("40000")).result(5)
    tonce = client.tonces.last
    if closed:
        assert result == ClosedOrder(tonce, 77, resent=False)
    else:
        assert isinstance(result, PlacedOrder) and result.id == 77
    assert [c["method"] for c in server.received()].count("PlaceOrder") == 1  # not re-sent
    own = client.own_orders
    assert own is not None and not own.in_flight()
    assert [o.id for o in own.open_orders()] == ([] if closed else [77])


@pytest.mark.parametrize("market", [False, True])
def test_order_neither_open_nor_seen_is_unknown_and_not_resent(
    server: ScriptedServer, make_client, market: bool
) -> None:
    """Before issue 13 it was re-sent with the same tonce, and an "out of sequence" refusal
    taken for "placed and closed": another session of the account makes both unsafe."""
    server.handlers["PlaceOrder"] = lose_reply(False, False, [])
    client = connected_client(make_client)
    price = None if market else Decimal("40000")
    future = client.place_order("XBT:USD", Decimal("0.5"), price)
    with pytest.raises(OrderOutcomeUnknown, match="not re-sent") as info:
        future.result(5)
    assert info.value.tonce == client.tonces.last
    assert [c["method"] for c in server.received()].count("PlaceOrder") == 1
    assert "GetOrders" in server.session(1).methods()  # looked first
    own = client.own_orders
    assert own is not None and not own.in_flight() and not own.open_orders()


def test_an_open_order_with_its_tonce_but_another_price_is_not_taken_for_it(
    server: ScriptedServer, make_client
) -> None:
    """Another session's order that happens to carry the same tonce (after its own
    CancelAllOrders) is not this one."""
    open_orders: list[dict[str, Any]] = []
    server.handlers["PlaceOrder"] = lose_reply(False, False, [])

    def get_orders(session: Session, command: dict[str, Any]) -> Any:
        tonce = next(c["tonce"] for c in server.received() if c["method"] == "PlaceOrder")
        row = {"id": 90, "tonce": tonce, **PAIR, "quantity": 50_000_000, "price": 3_000_000}
        open_orders[:] = [row | {"time": 5}]
        return {"orders": list(open_orders)}

    server.handlers["GetOrders"] = get_orders
    client = connected_client(make_client)
    future = client.place_order("XBT:USD", Decimal("0.5"), Decimal("40000"))
    with pytest.raises(OrderOutcomeUnknown):
        future.result(5)


def refused_then_placed(open_after: bool, lose_second: bool):
    """On the first session: A (the first PlaceOrder) gets no reply; B is placed and its
    reply delivered (unless ``lose_second``); then the connection drops."""
    open_orders: list[dict[str, Any]] = []

    async def place(session: Session, command: dict[str, Any]) -> Any:
        if session is not session.server.sessions[0]:
            return error(3, Msg.TONCE_OUT_OF_SEQUENCE)  # never asked
        if session.methods().count("PlaceOrder") == 1:
            return None  # A: refused by the server, the reply lost with the connection
        if open_after:
            open_orders.append(
                {"id": 80, "tonce": command["tonce"], **PAIR}
                | {"quantity": command["quantity"], "price": command["price"], "time": 12}
            )
        if not lose_second:
            await session.reply(command, {"id": 80, "time": 12})
            await asyncio.sleep(0.2)  # delivered before the drop
        session.ws.transport.abort()
        return None

    return place, open_orders


@pytest.mark.parametrize("open_after", [True, False])
def test_refused_order_before_a_placed_one_is_unknown_not_closed(
    server: ScriptedServer, make_client, open_after: bool
) -> None:
    place, open_orders = refused_then_placed(open_after, lose_second=False)
    server.handlers["PlaceOrder"] = place
    server.handlers["GetOrders"] = lambda s, c: {"orders": list(open_orders)}
    client = connected_client(make_client)
    a = client.place_order("XBT:USD", Decimal("0.5"), Decimal("40000"))
    tonce_a = client.tonces.last
    b = client.place_order("XBT:USD", Decimal("0.1"), Decimal("40001"))
    assert isinstance(b.result(5), PlacedOrder)
    with pytest.raises(OrderOutcomeUnknown, match="not re-sent") as info:
        a.result(5)
    assert info.value.tonce == tonce_a
    own = client.own_orders
    assert own is not None and not own.in_flight()
    assert [c["method"] for c in server.received()].count("PlaceOrder") == 2


@pytest.mark.parametrize("open_after", [True, False])
def test_two_orphans_one_open(server: ScriptedServer, make_client, open_after: bool) -> None:
    """Both replies lost: the one found open is placed, with its id; the other is unknown."""
    place, open_orders = refused_then_placed(open_after, lose_second=True)
    server.handlers["PlaceOrder"] = place
    server.handlers["GetOrders"] = lambda s, c: {"orders": list(open_orders)}
    client = connected_client(make_client)
    a = client.place_order("XBT:USD", Decimal("0.5"), Decimal("40000"))
    b = client.place_order("XBT:USD", Decimal("0.1"), Decimal("40001"))
    if open_after:
        assert b.result(5) == PlacedOrder(80, 12, {})
    else:
        with pytest.raises(OrderOutcomeUnknown):
            b.result(5)
    with pytest.raises(OrderOutcomeUnknown):
        a.result(5)
    assert [c["method"] for c in server.received()].count("PlaceOrder") == 2  # none re-sent
