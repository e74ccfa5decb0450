"""Every row of WEBSOCKET-README's error tables, over a real loopback socket.

Each case sends the command to a fresh exchange (limits lowered where a row needs one) and
checks the exact ``error_code`` and ``error_msg`` and that the tag is echoed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cfdash.core.assets import WIRE_MAX
from cfdash.core.engine.config import EngineConfig
from cfdash.core.errors import Msg
from cfdash.core.messages import INVALID_ASSET
from cfdash.server.app import ServerThread

from .helpers import GBP, XBT, Client

PAIR = {"base": XBT, "counter": GBP}
BAD_PAIR = {"base": GBP, "counter": XBT}
LIMIT = {**PAIR, "quantity": 10_000_000, "price": 30_000_00}


def _expect(reply: dict[str, Any], code: int, message: str) -> None:
    assert (reply.get("error_code"), reply.get("error_msg")) == (code, message), reply
    assert "tag" in reply  # every call here is tagged


def _client(make_exchange: Callable[..., ServerThread], login: bool, **config: Any) -> Client:
    server = make_exchange(config=EngineConfig(**config)) if config else make_exchange()
    client = Client(server.url)
    if login:
        assert client.authenticate()["error_code"] == 0
    return client


# (method, fields, logged in, engine config, expected code, expected message)
SIMPLE: list[tuple[str, dict[str, Any], bool, dict[str, Any], int, str]] = [
    ("GetBalances", {}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("GetOrders", {}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("GetTradeVolume", {"asset": XBT}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("GetTradeVolume", {"asset": 12345}, True, {}, 8, INVALID_ASSET),
    ("PlaceOrder", LIMIT, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("CancelOrder", {"id": 1}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("CancelAllOrders", {}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    # an anonymous private command is refused for want of a login before it is parsed
    ("PlaceOrder", {**BAD_PAIR, "quantity": 1}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("GetBalances", {"extra": 1}, False, {}, 7, Msg.NOT_AUTHENTICATED),
    ("EstimateMarketOrder", {**BAD_PAIR, "quantity": 1}, False, {}, 1, Msg.INVALID_PAIR),
    ("EstimateMarketOrder", {**PAIR, "quantity": 0}, False, {}, 8, Msg.QUANTITY_ZERO),
    ("EstimateMarketOrder", {**PAIR, "total": 0}, False, {}, 8, Msg.TOTAL_ZERO),
    ("EstimateMarketOrder", PAIR, False, {}, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    ("PlaceOrder", {**BAD_PAIR, "quantity": 1, "price": 1}, True, {}, 1, Msg.INVALID_PAIR),
    ("PlaceOrder", {**LIMIT, "quantity": 10**12}, True, {}, 4, Msg.INSUFFICIENT_FUNDS),
    ("PlaceOrder", {**LIMIT, "quantity": -(10**12)}, True, {}, 4, Msg.INSUFFICIENT_FUNDS),
    ("PlaceOrder", {**LIMIT, "tonce": 0}, True, {}, 8, Msg.TONCE_ZERO),
    ("PlaceOrder", {**LIMIT, "price": 0}, True, {}, 8, Msg.PRICE_ZERO),
    ("PlaceOrder", {**LIMIT, "quantity": 0}, True, {}, 8, Msg.QUANTITY_ZERO),
    ("PlaceOrder", {**PAIR, "quantity": 0}, True, {}, 8, Msg.QUANTITY_ZERO),
    ("PlaceOrder", {**PAIR, "total": 0}, True, {}, 8, Msg.TOTAL_ZERO),
    (
        "PlaceOrder",
        {**PAIR, "quantity": WIRE_MAX, "price": WIRE_MAX},
        True,
        {},
        8,
        Msg.TOTAL_OVERFLOW,
    ),
    ("PlaceOrder", PAIR, True, {}, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    ("PlaceOrder", {**PAIR, "quantity": 1, "total": 1}, True, {}, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    ("CancelOrder", {"id": 424242}, True, {}, 1, Msg.ORDER_NOT_FOUND),
    ("CancelOrder", {"tonce": 424242}, True, {}, 1, Msg.ORDER_NOT_FOUND),
    ("CancelOrder", {}, True, {}, 8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
    ("CancelOrder", {"id": 1, "tonce": 1}, True, {}, 8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
    ("WatchOrders", {**BAD_PAIR, "watch": True}, False, {}, 1, Msg.INVALID_PAIR),
    ("WatchOrders", {**PAIR, "watch": False}, False, {}, 1, Msg.NOT_WATCHING_ORDERS),
    ("WatchTicker", {**BAD_PAIR, "watch": True}, False, {}, 1, Msg.INVALID_PAIR),
    ("WatchTicker", {**PAIR, "watch": False}, False, {}, 1, Msg.NOT_WATCHING_TICKER),
]


@pytest.mark.parametrize(
    ("method", "fields", "login", "config", "code", "message"),
    SIMPLE,
    ids=[f"{row[0]}-{row[4]}-{i}" for i, row in enumerate(SIMPLE)],
)
def test_error_reply(make_exchange, method, fields, login, config, code, message) -> None:
    with _client(make_exchange, login, **config) as client:
        _expect(client.call(method, **fields), code, message)
        # the session survives its error: a good command still works
        assert client.call("WatchTicker", **PAIR, watch=True)["error_code"] == 0


@pytest.mark.parametrize(
    ("method", "already"),
    [("WatchOrders", Msg.ALREADY_WATCHING_ORDERS), ("WatchTicker", Msg.ALREADY_WATCHING_TICKER)],
)
def test_already_watching(make_exchange, method: str, already: str) -> None:
    with _client(make_exchange, False) as client:
        assert client.call(method, **PAIR, watch=True)["error_code"] == 0
        _expect(client.call(method, **PAIR, watch=True), 2, already)
        assert client.call(method, **PAIR, watch=False)["error_code"] == 0


def test_tonce_out_of_sequence_and_reset_by_cancel_all(make_exchange) -> None:
    with _client(make_exchange, True) as client:
        assert client.call("PlaceOrder", **LIMIT, tonce=10)["error_code"] == 0
        _expect(client.call("PlaceOrder", **LIMIT, tonce=10), 3, Msg.TONCE_OUT_OF_SEQUENCE)
        _expect(client.call("PlaceOrder", **LIMIT, tonce=9), 3, Msg.TONCE_OUT_OF_SEQUENCE)
        assert client.call("CancelAllOrders")["error_code"] == 0
        assert client.call("PlaceOrder", **LIMIT, tonce=1)["error_code"] == 0


def test_too_many_outstanding_orders(make_exchange) -> None:
    with _client(make_exchange, True, max_open_orders=3) as client:
        for _ in range(3):
            assert client.call("PlaceOrder", **LIMIT)["error_code"] == 0
        _expect(client.call("PlaceOrder", **LIMIT), 5, Msg.TOO_MANY_ORDERS)
        assert client.call("CancelAllOrders")["error_code"] == 0
        assert client.call("PlaceOrder", **LIMIT)["error_code"] == 0


@pytest.mark.parametrize(
    ("method", "fields"),
    [
        ("PlaceOrder", LIMIT),
        ("CancelOrder", {"id": 424242}),
        ("CancelAllOrders", {}),
        ("EstimateMarketOrder", {**PAIR, "quantity": 1}),
    ],
)
def test_order_rate_limit(make_exchange, method: str, fields: dict[str, Any]) -> None:
    with _client(make_exchange, True, order_limit=(2, 1000.0)) as client:
        for _ in range(2):
            assert client.call(method, **fields)["error_code"] in (0, 1)
        _expect(client.call(method, **fields), 6, Msg.ORDERS_TOO_RAPID)


@pytest.mark.parametrize(
    ("method", "fields"),
    [("GetBalances", {}), ("GetOrders", {}), ("GetTradeVolume", {"asset": XBT})],
)
def test_information_rate_limit(make_exchange, method: str, fields: dict[str, Any]) -> None:
    with _client(make_exchange, True) as client:
        for _ in range(10):  # LIMITS.md: 10 per 10 s per session
            assert client.call(method, **fields)["error_code"] == 0
        _expect(client.call(method, **fields), 6, Msg.INFO_TOO_RAPID)


def test_authentication_rate_limit(make_exchange) -> None:
    server = make_exchange(config=EngineConfig(auth_limit=(2, 3600.0)))
    with Client(server.url) as client:
        _expect(client.authenticate(passphrase="wrong"), 7, Msg.BAD_SIGNATURE)
        assert client.authenticate()["error_code"] == 0
        _expect(client.authenticate(), 6, Msg.AUTH_TOO_RAPID)


def test_snapshot_is_capped_at_1000_a_side(make_exchange) -> None:
    server = make_exchange(config=EngineConfig(max_open_orders=3000, order_limit=(10**6, 1.0)))
    with Client(server.url) as client:
        assert client.authenticate()["error_code"] == 0
        for i in range(1100):
            client.send({"method": "PlaceOrder", **PAIR, "quantity": 100, "price": 1000 + i})
            client.send({"method": "PlaceOrder", **PAIR, "quantity": -100, "price": 10_000_000 - i})
        for _ in range(2200):
            assert client.untagged(10)["error_code"] == 0
        orders = client.call("WatchOrders", **PAIR, watch=True)["orders"]
    bids = sorted((o["price"] for o in orders if o["quantity"] > 0), reverse=True)
    asks = sorted(o["price"] for o in orders if o["quantity"] < 0)
    assert bids == list(range(2099, 1099, -1))  # the top 1000 of 1100 bids
    assert asks == list(range(10_000_000 - 1099, 10_000_000 - 99))
