"""``parse_reply`` checks a reply's shape against the command it answers, and every field's
range (issue 13, break 6). Sans I/O: no sockets, no threads."""

from __future__ import annotations

from typing import Any

import pytest

from cfdash.core.assets import Assets
from cfdash.core.errors import ProtocolError
from cfdash.core.messages import (
    BookSnapshot,
    EstimateReply,
    MarketResult,
    OrderReply,
    PlacedOrder,
    TickerReply,
    parse_reply,
)

XBT, GBP = Assets["XBT"], Assets["GBP"]
PAIR = {"base": XBT, "counter": GBP}
LIMIT = {"method": "PlaceOrder", "tonce": 4, **PAIR, "quantity": -30, "price": 100}
BY_QUANTITY = {"method": "PlaceOrder", "tonce": 5, **PAIR, "quantity": 30}
BY_TOTAL = {"method": "PlaceOrder", "tonce": 6, **PAIR, "total": -900}
ORDER = {"id": 5, "tonce": 4, **PAIR, "quantity": -30, "price": 100, "time": 77}
MAX = 2**63 - 1


def ok(**fields: Any) -> dict[str, Any]:
    return {"error_code": 0, **fields}


def test_place_order_replies_fit_the_order_sent() -> None:
    assert parse_reply("PlaceOrder", ok(id=MAX, time=0), LIMIT) == PlacedOrder(MAX, 0, {})
    assert parse_reply("PlaceOrder", ok(remaining=30), BY_QUANTITY) == MarketResult(30, {})
    assert parse_reply("PlaceOrder", ok(remaining=900), BY_TOTAL) == MarketResult(900, {})
    assert parse_reply("PlaceOrder", ok(remaining=0), BY_TOTAL) == MarketResult(0, {})


@pytest.mark.parametrize(
    ("command", "reply", "message"),
    [
        (
            LIMIT,
            ok(remaining=0),
            "PlaceOrder: the reply to a limit order must carry 'id' and 'time', "
            "not field 'remaining'.",
        ),
        (
            LIMIT,
            ok(id=1, time=2, remaining=0),
            "PlaceOrder: the reply to a limit order must carry 'id' and 'time', "
            "not field 'remaining'.",
        ),
        (LIMIT, ok(), "PlaceOrder: missing field 'id'."),
        (LIMIT, ok(id=1), "PlaceOrder: missing field 'time'."),
        (
            LIMIT,
            ok(id=-7, time=1),
            "PlaceOrder: field 'id' must be a positive 64-bit integer, not -7.",
        ),
        (
            LIMIT,
            ok(id=0, time=1),
            "PlaceOrder: field 'id' must be a positive 64-bit integer, not 0.",
        ),
        (
            LIMIT,
            ok(id=2**70, time=1),
            f"PlaceOrder: field 'id' must be a positive 64-bit integer, not {2**70}.",
        ),
        (
            LIMIT,
            ok(id=2**63, time=1),
            f"PlaceOrder: field 'id' must be a positive 64-bit integer, not {2**63}.",
        ),
        (
            LIMIT,
            ok(id=10**200, time=1),
            "PlaceOrder: field 'id' must be a positive 64-bit integer, not a 665-bit integer.",
        ),
        (LIMIT, ok(id=True, time=1), "PlaceOrder: field 'id' must be an integer, not True."),
        (LIMIT, ok(id=1.0, time=1), "PlaceOrder: field 'id' must be an integer, not 1.0."),
        (LIMIT, ok(id=1, time=-1), "PlaceOrder: field 'time' must be a non-negative 64-bit"),
        (
            BY_QUANTITY,
            ok(id=1, time=2),
            "PlaceOrder: the reply to a market order must carry 'remaining', not field 'id'.",
        ),
        (BY_QUANTITY, ok(time=2), "PlaceOrder: the reply to a market order must carry"),
        (BY_QUANTITY, ok(), "PlaceOrder: missing field 'remaining'."),
        (BY_QUANTITY, ok(remaining=-1), "PlaceOrder: field 'remaining' must be a non-negative"),
        (BY_QUANTITY, ok(remaining=None), "PlaceOrder: field 'remaining' must be an integer"),
        (
            BY_QUANTITY,
            ok(remaining=31),
            "PlaceOrder: field 'remaining' is 31, more than the 30 the order was for.",
        ),
        (BY_TOTAL, ok(remaining=901), "PlaceOrder: field 'remaining' is 901, more than the 900"),
    ],
)
def test_place_order_replies_that_do_not_fit(
    command: dict[str, Any], reply: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_reply("PlaceOrder", reply, command)
    assert str(info.value).startswith(message)


def test_without_the_command_either_shape_passes_but_ranges_still_hold() -> None:
    assert parse_reply("PlaceOrder", ok(remaining=0)) == MarketResult(0, {})
    assert parse_reply("PlaceOrder", ok(id=3, time=4)) == PlacedOrder(3, 4, {})
    with pytest.raises(ProtocolError, match="field 'id' must be a positive"):
        parse_reply("PlaceOrder", ok(id=-7, time=4))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": 0}, "field 'id' must be a positive 64-bit integer, not 0."),
        ({"tonce": 0}, "field 'tonce' must be a non-zero 64-bit integer, not 0."),
        ({"tonce": 2**63}, "field 'tonce' must be a non-zero 64-bit integer"),
        ({"base": -1}, "field 'base' must be a non-negative 64-bit integer, not -1."),
        ({"counter": 2**64}, "field 'counter' must be a non-negative 64-bit integer"),
        ({"quantity": 0}, "field 'quantity' must be a non-zero 64-bit integer, not 0."),
        ({"quantity": -(2**63)}, "field 'quantity' must be a non-zero 64-bit integer"),
        ({"price": 0}, "field 'price' must be a positive 64-bit integer, not 0."),
        ({"time": -5}, "field 'time' must be a non-negative 64-bit integer, not -5."),
        ({"time": "5"}, "field 'time' must be an integer, not '5'."),
    ],
)
def test_order_rows_out_of_range(change: dict[str, Any], message: str) -> None:
    row = {**ORDER, **change}
    for method, reply, where in (
        ("GetOrders", ok(orders=[ORDER, row]), "GetOrders order"),
        ("CancelAllOrders", ok(orders=[row]), "CancelAllOrders order"),
        ("CancelOrder", ok(**row), "CancelOrder"),
    ):
        with pytest.raises(ProtocolError) as info:
            parse_reply(method, reply)
        assert str(info.value).startswith(f"{where}: {message}")


def test_negative_tonces_and_null_tonces_are_allowed() -> None:
    rows = [{**ORDER, "tonce": -4}, {**ORDER, "id": 6, "tonce": None}]
    assert [o.tonce for o in parse_reply("GetOrders", ok(orders=rows))] == [-4, None]


def test_a_cancel_reply_is_the_order_named() -> None:
    expected = OrderReply(5, 4, XBT, GBP, -30, 100, 77, {})
    for command in ({"method": "CancelOrder", "id": 5}, {"method": "CancelOrder", "tonce": 4}):
        assert parse_reply("CancelOrder", ok(**ORDER), command) == expected
    with pytest.raises(ProtocolError, match="CancelOrder: field 'id' is 5, not the 6 whose"):
        parse_reply("CancelOrder", ok(**ORDER), {"method": "CancelOrder", "id": 6})
    with pytest.raises(ProtocolError, match="CancelOrder: field 'tonce' is None, not the 4"):
        parse_reply("CancelOrder", ok(**{**ORDER, "tonce": None}), {"tonce": 4})


def test_balances_volume_and_estimates_ranges() -> None:
    with pytest.raises(ProtocolError, match="GetBalances balance: field 'balance' must be a non"):
        parse_reply("GetBalances", ok(balances=[{"asset": XBT, "balance": -1}]))
    with pytest.raises(ProtocolError, match="GetBalances balance: field 'asset' must be a non"):
        parse_reply("GetBalances", ok(balances=[{"asset": -1, "balance": 1}]))
    with pytest.raises(ProtocolError, match="GetTradeVolume: field 'volume' must be a non"):
        parse_reply("GetTradeVolume", ok(volume=-1))
    with pytest.raises(ProtocolError, match="GetTradeVolume: field 'volume' must be a non"):
        parse_reply("GetTradeVolume", ok(volume=2**63))
    estimate = {"method": "EstimateMarketOrder", **PAIR, "quantity": -30}
    assert parse_reply("EstimateMarketOrder", ok(quantity=30, total=0), estimate) == (
        EstimateReply(30, 0, {})
    )
    with pytest.raises(ProtocolError, match="'quantity' is 31, more than the 30 asked for"):
        parse_reply("EstimateMarketOrder", ok(quantity=31, total=1), estimate)
    by_total = {"method": "EstimateMarketOrder", **PAIR, "total": 900}
    with pytest.raises(ProtocolError, match="'total' is 901, more than the 900 asked for"):
        parse_reply("EstimateMarketOrder", ok(quantity=1, total=901), by_total)
    with pytest.raises(ProtocolError, match="EstimateMarketOrder: field 'total' must be a non"):
        parse_reply("EstimateMarketOrder", ok(quantity=1, total=-1))


def test_watch_replies_fit_the_watch_flag() -> None:
    watch = {"method": "WatchOrders", **PAIR, "watch": True}
    unwatch = {**watch, "watch": False}
    with pytest.raises(ProtocolError, match="WatchOrders: missing field 'orders'"):
        parse_reply("WatchOrders", ok(), watch)
    assert parse_reply("WatchOrders", ok(), unwatch) is None
    snap = parse_reply("WatchOrders", ok(orders=[]), watch)
    assert isinstance(snap, BookSnapshot) and snap.orders == []
    bad = {"id": 1, "quantity": 0, "price": 5, "time": 1}
    with pytest.raises(ProtocolError, match="WatchOrders order: field 'quantity' must be a non-"):
        parse_reply("WatchOrders", ok(orders=[bad]), watch)
    ticker = {"method": "WatchTicker", **PAIR, "watch": True}
    with pytest.raises(ProtocolError, match="WatchTicker: missing field 'last'"):
        parse_reply("WatchTicker", ok(), ticker)
    assert parse_reply("WatchTicker", ok(), {**ticker, "watch": False}) is None
    fields = {"last": None, "bid": 5, "ask": 6, "low": None, "high": 7, "volume": 0}
    assert parse_reply("WatchTicker", ok(**fields), ticker) == TickerReply(
        None, 5, 6, None, 7, 0, {}
    )
    with pytest.raises(ProtocolError, match="WatchTicker: field 'bid' must be a positive"):
        parse_reply("WatchTicker", ok(**{**fields, "bid": 0}), ticker)
    with pytest.raises(ProtocolError, match="WatchTicker: field 'volume' must be a non-negative"):
        parse_reply("WatchTicker", ok(**{**fields, "volume": -1}), ticker)


def test_a_long_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_reply("PlaceOrder", ok(id=-(10**50), time=1), LIMIT)
    assert len(str(info.value)) < 160
