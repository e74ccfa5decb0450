"""Orders in flight when the connection drops are settled by tonce: placed (open), or of unknown
outcome; never placed twice, never reported placed when the exchange did not have it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cfdash.client import OrderOutcomeUnknown
from cfdash.core.errors import Msg
from cfdash.core.messages import PlacedOrder
from cfdash.server.faults import Faults
from tests.support.servers import Client

from .helpers import DEMO, SECOND_USER, WAIT, XBT_GBP, login, recovered, server_truth, wait_until


def orders_with_tonce(url: str, tonce: int) -> list[tuple]:
    truth = server_truth(url)
    return [(oid, *rest) for oid, rest in truth["orders"].items() if rest[0] == tonce]


def resting_ask(url: str, quantity: int, price: int) -> tuple[Client, int]:
    """The second user sells ``quantity`` at ``price``; (its connection, the order id)."""
    seller = Client(url)
    user_id, cookie, passphrase = SECOND_USER
    assert seller.authenticate(user_id, passphrase, cookie)["error_code"] == 0
    reply = seller.place(-quantity, price)
    assert reply["error_code"] == 0, reply
    return seller, reply["id"]


def remaining(url: str, order_id: int) -> int:
    """The remaining quantity of an order on the book (0 when gone)."""
    return abs(server_truth(url)["book"].get(order_id, (0, 0))[0])


def traded_once(ask_remaining: int) -> bool:
    """Whether 0.4 of a 1 XBT ask traded once (a buyer's fee may shrink it a little)."""
    return 60_000_000 <= ask_remaining < 61_000_000  # twice would leave about 0.2


def test_limit_order_in_flight_is_placed_exactly_once(
    exchange, faults: Faults, make_client
) -> None:
    client = login(make_client(exchange.url, reconnect=True))
    client.watch(XBT_GBP).result(WAIT)
    faults.arm("PlaceOrder", "drop_after", user=1)
    future = client.place_order(XBT_GBP, Decimal("0.5"), Decimal("1000"))
    tonce = client.tonces.last
    result = future.result(WAIT)
    assert faults.fired["drop_after"] == 1
    assert isinstance(result, PlacedOrder)
    found = orders_with_tonce(exchange.url, tonce)
    assert [oid for oid, *_ in found] == [result.id]  # once, with the id the future gave
    assert found[0][2:] == (50_000_000, 100_000)
    truth = recovered(client, exchange.url)  # and the views caught up: book, orders, balances
    assert list(truth["orders"]) == [result.id]


def test_order_that_never_reached_the_engine_is_unknown_not_resent(
    exchange, faults: Faults, make_client
) -> None:
    """Dropped before the engine saw it: from the client's side, it was written and no reply
    came, exactly as when the reply is lost. Not open, no notice: unknown (changed in issue 13:
    it was re-sent, which another session's CancelAllOrders or higher tonce makes unsafe)."""
    client = login(make_client(exchange.url, reconnect=True))
    client.watch(XBT_GBP).result(WAIT)
    faults.arm("PlaceOrder", "drop_before", user=1)
    future = client.place_order(XBT_GBP, Decimal("0.5"), Decimal("1000"))
    with pytest.raises(OrderOutcomeUnknown, match="not re-sent") as info:
        future.result(WAIT)
    assert info.value.tonce == client.tonces.last
    assert faults.fired["drop_before"] == 1
    assert server_truth(exchange.url)["orders"] == {}
    truth = recovered(client, exchange.url)
    assert truth["orders"] == {}
    with client.lock:
        assert client.own_orders is not None and not client.own_orders.in_flight()


@pytest.mark.parametrize("market", [False, True])
def test_filled_order_in_flight_is_unknown_and_trades_once(
    exchange, faults: Faults, make_client, market: bool
) -> None:
    """Placed and filled, the reply and its notices lost: nothing left to see it by. Unknown
    (it was ``ClosedOrder(resent=True)`` from a re-send's error 3 before issue 13), and it
    traded once."""
    seller, ask = resting_ask(exchange.url, 100_000_000, 100_000)  # 1 XBT @ 1000 GBP
    client = login(make_client(exchange.url, reconnect=True))
    faults.arm("PlaceOrder", "drop_after", user=1)
    price = None if market else Decimal("1000")
    future = client.place_order(XBT_GBP, Decimal("0.4"), price)
    with pytest.raises(OrderOutcomeUnknown) as info:
        future.result(WAIT)
    assert faults.fired["drop_after"] == 1
    assert info.value.tonce == client.tonces.last
    assert traded_once(remaining(exchange.url, ask))
    assert server_truth(exchange.url)["orders"] == {}
    seller.close()


def test_commands_wait_for_the_settlement(exchange, faults: Faults, make_client) -> None:
    """A new order waits until the reconnection has settled everything (it could otherwise
    overtake an order the settlement sends, and make it refused as out of sequence)."""
    opened: list[object] = []
    client = login(
        make_client(exchange.url, reconnect=True, socket_timeout=5.0, open_handler=opened.append)
    )
    faults.arm("PlaceOrder", "drop_before", user=1)
    faults.arm("GetOrders", "delay", delay=0.5, user=1)  # a slow settlement
    first = client.place_order(XBT_GBP, Decimal("0.1"), Decimal("900"))
    wait_until(lambda: len(opened) == 2)  # the new connection is open, not yet settled
    second = client.place_order(XBT_GBP, Decimal("0.2"), Decimal("901"))
    two = second.result(WAIT)
    assert isinstance(first.exception(WAIT), OrderOutcomeUnknown)  # settled before it
    assert isinstance(two, PlacedOrder)
    orders = server_truth(exchange.url)["orders"]
    assert [q for _, q, _ in orders.values()] == [20_000_000]
    assert set(orders) == {two.id}


def test_reauthentication_failure_is_retried_before_settling(
    exchange, faults: Faults, make_client
) -> None:
    errors: list[object] = []
    client = login(
        make_client(exchange.url, reconnect=True, err_handler=lambda c, e: errors.append(e))
    )
    faults.arm("PlaceOrder", "drop_after", user=1)
    faults.arm("Authenticate", "fail", error=(6, Msg.AUTH_TOO_RAPID))
    result = client.place_order(XBT_GBP, Decimal("0.3"), Decimal("950")).result(WAIT)
    assert faults.fired["fail"] == 1
    assert "Authentication failed" in errors
    assert isinstance(result, PlacedOrder)
    assert [oid for oid, *_ in orders_with_tonce(exchange.url, client.tonces.last)] == [result.id]


def test_slow_authentication_after_a_drop(exchange, faults: Faults, make_client) -> None:
    client = login(make_client(exchange.url, reconnect=True))
    client.watch(XBT_GBP).result(WAIT)
    faults.arm("PlaceOrder", "drop_after", user=1)
    faults.arm("Authenticate", "delay", delay=1.0)
    result = client.place_order(XBT_GBP, Decimal("0.3"), Decimal("950")).result(WAIT)
    assert faults.fired["delay"] == 1
    assert isinstance(result, PlacedOrder)
    recovered(client, exchange.url)


def test_without_reconnect_the_outcome_is_reported_unknown(
    exchange, faults: Faults, make_client
) -> None:
    client = login(make_client(exchange.url, err_handler=lambda c, e: None))
    faults.arm("PlaceOrder", "drop_after", user=1)
    future = client.place_order(XBT_GBP, Decimal("0.5"), Decimal("1000"))
    with pytest.raises(OrderOutcomeUnknown, match="may or may not have been placed") as info:
        future.result(WAIT)
    assert isinstance(info.value, ConnectionError)
    assert info.value.tonce == client.tonces.last
    assert len(orders_with_tonce(exchange.url, info.value.tonce)) == 1  # it was placed
    with client.lock:
        assert client.own_orders is not None and not client.own_orders.in_flight()


def test_other_pending_commands_fail_with_connection_error(
    exchange, faults: Faults, make_client
) -> None:
    client = login(make_client(exchange.url, reconnect=True))
    faults.arm("GetTradeVolume", "drop_before", user=1)
    future = client.trade_volume("XBT")
    with pytest.raises(ConnectionError, match="lost") as info:
        future.result(WAIT)
    assert not isinstance(info.value, OrderOutcomeUnknown)
    wait_until(lambda: client.state == "authenticated")
    assert client.GetBalances().result(WAIT) is not None


def test_stop_while_an_order_awaits_settlement(exchange, faults: Faults, make_client) -> None:
    client = login(make_client(exchange.url, reconnect=True, backoff_base=5.0, backoff_cap=5.0))
    faults.arm("PlaceOrder", "drop_before", user=1)
    faults.refuse(30)  # the reconnection cannot happen
    future = client.place_order(XBT_GBP, Decimal("0.5"), Decimal("1000"))
    wait_until(lambda: client.state == "reconnecting" and client.orders_in_flight == 1)
    client.stop()
    with pytest.raises(OrderOutcomeUnknown):
        future.result(WAIT)
    faults.refuse(0)
    assert server_truth(exchange.url, DEMO)["orders"] == {}  # it never reached the engine


def test_refused_order_in_a_pipeline_is_not_reported_closed(
    exchange, faults: Faults, make_client
) -> None:
    """A is refused (insufficient funds), B placed, and both replies are lost with the
    connection. B is found open; A is not, and must not be reported as placed."""
    client = login(make_client(exchange.url, reconnect=True, err_handler=lambda c, e: None))
    faults.arm("PlaceOrder", "delay", delay=0.5, user=1)  # A, B and the volume queue up
    faults.arm("GetTradeVolume", "drop_after", user=1)  # then every reply is lost
    a = client.place_order(XBT_GBP, Decimal("-100"), Decimal("1000"))  # more XBT than held
    tonce_a = client.tonces.last
    b = client.place_order(XBT_GBP, Decimal("0.01"), Decimal("500"))
    volume = client.trade_volume("XBT")
    assert isinstance(b.result(WAIT), PlacedOrder)
    with pytest.raises(OrderOutcomeUnknown, match="not re-sent") as info:
        a.result(WAIT)
    assert info.value.tonce == tonce_a
    assert isinstance(volume.exception(WAIT), ConnectionError)
    assert faults.fired["drop_after"] == 1
    assert orders_with_tonce(exchange.url, tonce_a) == []  # indeed never placed
    with client.lock:
        assert client.own_orders is not None and not client.own_orders.in_flight()
