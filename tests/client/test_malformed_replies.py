"""Issue 13, break 6: replies that do not fit the command sent are not believed.

End to end with the scripted server: each handler answers with a malformed reply. The command's
future fails with a ``ProtocolError`` naming the field; a PlaceOrder's with
``MalformedOrderReply``, which is also an ``OrderOutcomeUnknown`` (neither placed nor refused),
and the order does not stay in the own-orders view as placed or in flight.
"""

from __future__ import annotations

from typing import Any

import pytest

from cfdash.client import OrderOutcomeUnknown, WSClient
from cfdash.client.session import MalformedOrderReply
from cfdash.core.errors import ProtocolError

from .scripted_server import COOKIE, PASSPHRASE, USD, USER_ID, XBT, ScriptedServer


def _authed(make_client: Any, errors: list[BaseException]) -> WSClient:
    client: WSClient = make_client(err_handler=lambda c, e: errors.append(e))
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    return client


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        # The cases: a market order's shape to a limit order, ids -7 and 2**70.
        ({"remaining": 0}, "the reply to a limit order must carry 'id' and 'time', not field"),
        ({"id": -7, "time": 5}, "field 'id' must be a positive 64-bit integer, not -7"),
        ({"id": 2**70, "time": 5}, f"field 'id' must be a positive 64-bit integer, not {2**70}"),
        ({"id": 0, "time": 5}, "field 'id' must be a positive"),
        ({"id": 9, "time": -1}, "field 'time' must be a non-negative"),
        ({"id": "9", "time": 5}, "field 'id' must be an integer"),
        ({"id": 9}, "missing field 'time'"),
    ],
)
def test_a_malformed_limit_order_reply_leaves_the_outcome_unknown(
    server: ScriptedServer, make_client: Any, reply: dict[str, Any], fragment: str
) -> None:
    server.handlers["PlaceOrder"] = lambda s, c: reply
    errors: list[BaseException] = []
    client = _authed(make_client, errors)
    future = client.place_order("XBT:USD", "-0.5", "41000")
    tonce = server.wait_received("PlaceOrder")[0]["tonce"]
    with pytest.raises(MalformedOrderReply) as info:
        future.result(5)
    exc = info.value
    assert isinstance(exc, OrderOutcomeUnknown) and isinstance(exc, ProtocolError)
    assert exc.tonce == tonce
    assert f"PlaceOrder: {fragment}" in str(exc)
    assert "may or may not have been placed" in str(exc)
    # Neither placed nor in flight in the views, and the problem was reported.
    assert client.own_orders.by_tonce(tonce) is None
    assert client.own_orders.open_orders() == [] and client.own_orders.in_flight() == []
    assert any(isinstance(e, ProtocolError) and fragment in str(e) for e in errors)


@pytest.mark.parametrize(
    ("args", "reply", "fragment"),
    [
        (("0.5",), {"id": 9, "time": 5}, "the reply to a market order must carry 'remaining'"),
        (("0.5",), {"remaining": -1}, "field 'remaining' must be a non-negative"),
        (
            ("0.5",),
            {"remaining": 50000001},
            "field 'remaining' is 50000001, more than the 50000000",
        ),
        (
            (None, None, "-20"),
            {"remaining": 2001},
            "field 'remaining' is 2001, more than the 2000 the order was for",
        ),
    ],
)
def test_a_malformed_market_order_reply_leaves_the_outcome_unknown(
    server: ScriptedServer, make_client: Any, args: tuple[Any, ...], reply: dict, fragment: str
) -> None:
    server.handlers["PlaceOrder"] = lambda s, c: reply
    client = _authed(make_client, [])
    future = client.place_order("XBT:USD", *args)
    with pytest.raises(MalformedOrderReply, match=f"PlaceOrder: {fragment}"):
        future.result(5)
    assert client.own_orders.in_flight() == []


def test_a_raw_place_order_without_tonce(server: ScriptedServer, make_client: Any) -> None:
    server.handlers["PlaceOrder"] = lambda s, c: {"remaining": 0}
    client = _authed(make_client, [])
    future = client.PlaceOrder(base=XBT, counter=USD, quantity=1000, price=4000000)
    with pytest.raises(MalformedOrderReply, match=r"tonce none\).*'remaining'") as info:
        future.result(5)
    assert info.value.tonce == 0


def test_well_formed_order_replies_still_resolve(server: ScriptedServer, make_client: Any) -> None:
    client = _authed(make_client, [])
    placed = client.place_order("XBT:USD", "-0.5", "41000").result(5)
    assert placed.id > 0 and client.own_orders.get(placed.id) is not None
    assert client.place_order("XBT:USD", "0.5").result(5).remaining == 0


ORDER = {"id": 5, "tonce": 3, "base": XBT, "counter": USD, "quantity": -3, "price": 10, "time": 7}


@pytest.mark.parametrize(
    ("method", "reply", "call", "fragment"),
    [
        (
            "CancelOrder",
            {**ORDER, "id": 6},
            lambda c: c.cancel_order(id=5),
            "CancelOrder: field 'id' is 6, not the 5 whose cancel was asked",
        ),
        (
            "CancelOrder",
            ORDER,
            lambda c: c.cancel_order(tonce=4),
            "CancelOrder: field 'tonce' is 3, not the 4",
        ),
        (
            "GetOrders",
            {"orders": [{**ORDER, "id": -7}]},
            lambda c: c.GetOrders(),
            "GetOrders order: field 'id' must be a positive 64-bit integer, not -7",
        ),
        (
            "GetOrders",
            {"orders": [{**ORDER, "quantity": 0}]},
            lambda c: c.GetOrders(),
            "GetOrders order: field 'quantity' must be a non-zero",
        ),
        (
            "GetBalances",
            {"balances": [{"asset": XBT, "balance": -1}]},
            lambda c: c.GetBalances(),
            "GetBalances balance: field 'balance' must be a non-negative",
        ),
        (
            "GetBalances",
            {"balances": [{"asset": XBT, "balance": 2**64}]},
            lambda c: c.GetBalances(),
            "field 'balance' must be a non-negative 64-bit integer",
        ),
        (
            "EstimateMarketOrder",
            {"quantity": 7, "total": True},
            lambda c: c.estimate("XBT:USD", "0.5"),
            "EstimateMarketOrder: field 'total' must be an integer",
        ),
        (
            "EstimateMarketOrder",
            {"quantity": 50000001, "total": 1},
            lambda c: c.estimate("XBT:USD", "0.5"),
            "EstimateMarketOrder: field 'quantity' is 50000001, more than the 50000000",
        ),
        (
            "GetTradeVolume",
            {"volume": -5},
            lambda c: c.trade_volume("XBT"),
            "GetTradeVolume: field 'volume' must be a non-negative",
        ),
        (
            "GetTradeVolume",
            {"volume": 1.5},
            lambda c: c.trade_volume("XBT"),
            "GetTradeVolume: field 'volume' must be an integer",
        ),
    ],
)
def test_other_malformed_replies_fail_their_command(
    server: ScriptedServer, make_client: Any, method: str, reply: dict, call: Any, fragment: str
) -> None:
    server.handlers[method] = lambda s, c: reply
    errors: list[BaseException] = []
    client = _authed(make_client, errors)
    with pytest.raises(ProtocolError) as info:
        call(client).result(5)
    assert fragment in str(info.value)
    assert not isinstance(info.value, OrderOutcomeUnknown)
    assert any(fragment in str(e) for e in errors)


def test_malformed_order_rows_are_not_loaded(server: ScriptedServer, make_client: Any) -> None:
    server.handlers["GetOrders"] = lambda s, c: {"orders": [ORDER, {**ORDER, "id": 2**70}]}
    client = _authed(make_client, [])
    with pytest.raises(ProtocolError, match="field 'id'"):
        client.GetOrders().result(5)
    assert client.own_orders.open_orders() == []


def test_a_snapshot_missing_from_a_watch_reply(server: ScriptedServer, make_client: Any) -> None:
    """A WatchOrders reply without its orders is not an empty book."""
    server.handlers["WatchOrders"] = lambda s, c: {}
    client = make_client()
    with pytest.raises(ProtocolError, match="WatchOrders: missing field 'orders'"):
        client.WatchOrders(base=XBT, counter=USD, watch=True).result(5)
    book = client.book("XBT:USD")
    assert book is None or not book.synced
