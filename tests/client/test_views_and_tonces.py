"""Local views fed by the event thread, automatic tonces, and secrets kept out of sight."""

from __future__ import annotations

import logging
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.client import Assets, TonceClock
from cfdash.core.auth import derive_private_key
from cfdash.core.errors import AlreadyWatchingError, Msg, NotFoundError

from .helpers import field
from .scripted_server import COOKIE, PASSPHRASE, USER_ID, ScriptedServer, Session, error

XBT, USD, GBP = Assets["XBT"], Assets["USD"], Assets["GBP"]


def test_notices_update_the_views_and_report_changes(server: ScriptedServer, make_client) -> None:
    changes: list[set[str]] = []
    client = make_client(change_handler=lambda c, names: changes.append(set(names)))
    client.watch("XBT:USD").result(2)
    book = client.book("XBT:USD")
    assert book is not None and book.synced and book.best_bid() == 4000000
    assert client.ticker("XBT:USD").last == 4050000
    session = server.session()
    session.push(
        {
            "notice": "OrderOpened",
            "id": 9,
            "base": XBT,
            "counter": USD,
            "quantity": 20000000,
            "price": 4050000,
            "time": 5,
        }
    )
    session.push(
        {
            "notice": "OrdersMatched",
            "bid": 9,
            "ask": 2,
            "base": XBT,
            "counter": USD,
            "quantity": 20000000,
            "price": 4050000,
            "total": 810000,
            "bid_rem": 0,
            "ask_rem": 30000000,
            "time": 6,
        }
    )
    session.push(
        {"notice": "TickerChanged", "base": XBT, "counter": USD, "last": 4050000, "bid": 4000000}
    )
    session.push({"notice": "TickerChanged", "base": XBT, "counter": USD, "volume": 7})
    server.wait_for(lambda: client.ticker("XBT:USD").volume == 7)
    with client.lock:
        assert book.as_orders() == {1: (100000000, 4000000), 2: (-30000000, 4100000)}
        assert client.trades("XBT:USD").last.price == 4050000
    assert {"book:XBT:USD"} in changes and {"book:XBT:USD", "trades:XBT:USD"} in changes
    assert {"ticker:XBT:USD"} in changes


def test_early_notices_are_buffered_until_the_snapshot(server: ScriptedServer, make_client) -> None:
    async def late_snapshot(session: Session, cmd: dict) -> dict:
        # A notice the snapshot does not reflect yet arrives before the reply.
        await session.ws.send(
            '{"notice":"OrderClosed","id":1,"base":63488,"counter":64128,'
            '"quantity":0,"price":4000000}'
        )
        return {"orders": list(server.book_orders)}

    server.handlers["WatchOrders"] = late_snapshot
    client = make_client()
    client.WatchOrders(base=XBT, counter=USD, watch=True).result(2)
    assert client.book("XBT:USD").as_orders() == {2: (-50000000, 4100000)}


def test_own_orders_and_balances(server: ScriptedServer, make_client) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.GetBalances().result(2)
    assert client.balances.available(XBT) == 150000000
    future = client.place_order("XBT:USD", "-0.5", "41000")
    tonce = server.wait_received("PlaceOrder")[0]["tonce"]
    reply = future.result(2)
    own = client.own_orders.get(field(reply, "id"))
    assert own is not None and own.tonce == tonce and own.quantity == -50000000
    assert client.balances.reserved(XBT) == 50000000
    session = server.session()
    session.push(
        {
            "notice": "OrderClosed",
            "id": field(reply, "id"),
            "tonce": tonce,
            "base": XBT,
            "counter": USD,
            "quantity": -50000000,
            "price": 4100000,
        }
    )
    session.push({"notice": "BalanceChanged", "asset": XBT, "balance": 150000000})
    server.wait_for(lambda: client.own_orders.get(field(reply, "id")) is None)
    assert client.balances.reserved(XBT) == 0


def test_views_can_be_turned_off(server: ScriptedServer, make_client) -> None:
    client = make_client(views=False)
    client.watch("XBT:USD").result(2)
    assert client.views is None and client.book("XBT:USD") is None and client.balances is None


def test_automatic_tonces_strictly_increase(server: ScriptedServer, make_client) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    futures = [client.place_order("XBT:USD", Decimal("0.01"), "100") for _ in range(30)]
    for f in futures:
        f.result(2)
    tonces = [c["tonce"] for c in server.wait_received("PlaceOrder", 30)]
    assert all(a < b for a, b in pairwise(tonces))
    assert tonces[0] > 1_600_000_000 * 10**6  # microseconds since the epoch


@settings(max_examples=50)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=40))
def test_tonce_clock_is_strictly_increasing_whatever_the_clock(readings: list[int]) -> None:
    clock_values = iter(readings)
    clock = TonceClock(clock=lambda: next(clock_values) * 1000)
    tonces = [clock.next() for _ in readings]
    assert all(a < b for a, b in pairwise(tonces))
    assert all(t >= r for t, r in zip(tonces, readings, strict=False))
    # A later run starting from a later clock continues above this one.
    assert TonceClock(clock=lambda: (max(tonces) + 1) * 1000).next() > tonces[-1]


def test_passphrase_never_in_repr_or_logs(server: ScriptedServer, make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e))
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.GetBalances().result(2)
    client.place_order("XBT:USD", "1", "1").result(2)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE + "x")  # a failing second identity
    other = make_client(err_handler=lambda c, e: errors.append(e))
    other.set_auth_data(USER_ID, COOKIE, "wrong")
    other.GetBalances()
    exponent = derive_private_key(USER_ID, PASSPHRASE).exponent
    secrets = (PASSPHRASE, str(exponent), f"{exponent:x}", f"{exponent:X}")
    texts = [caplog.text, repr(client), str(client), repr(vars(client)), repr(errors)]
    assert any("GetBalances" in t for t in texts)  # the log did record the traffic
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_refused_and_duplicate_watches(server: ScriptedServer, make_client) -> None:
    client = make_client()
    client.watch("XBT:USD").result(2)
    server.handlers["WatchOrders"] = lambda s, c: error(2, Msg.ALREADY_WATCHING_ORDERS)
    with pytest.raises(AlreadyWatchingError):
        client.WatchOrders(base=XBT, counter=USD, watch=True).result(2)
    book = client.book("XBT:USD")
    assert book is not None and book.synced and len(book) == 2  # the live book is kept
    server.handlers["WatchTicker"] = lambda s, c: error(1, Msg.INVALID_PAIR)
    with pytest.raises(NotFoundError):
        client.WatchTicker(base=XBT, counter=GBP, watch=True).result(2)
    assert client.ticker("XBT:GBP") is None
    assert [(w["method"], w["counter"]) for w in client.watches] == [
        ("WatchOrders", USD),
        ("WatchTicker", USD),
    ]


def test_tag_zero_commands_leave_no_view_waiting_for_ever(
    server: ScriptedServer, make_client
) -> None:
    """A tag-0 reply cannot be matched to its command: a book opened for it would buffer
    every notice for ever, and an order registered for it would stay in flight."""
    texts: list[str] = []
    client = make_client(
        msg_handler=lambda c, t: texts.append(t), reconnect=True, backoff_base=0.05
    )
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    assert client.WatchOrders(base=XBT, counter=USD, watch=True, tag=0).result(2) is None
    assert client.WatchTicker(base=XBT, counter=USD, watch=True, tag=0).result(2) is None
    order = {"base": XBT, "counter": USD, "quantity": 1000, "price": 4000000}
    assert client.PlaceOrder(**order, tonce=7, tag=0).result(2) is None
    session = server.session()
    for i in range(300):
        session.push(
            {"notice": "OrderOpened", "id": 1000 + i, "base": XBT, "counter": USD}
            | {"quantity": 5, "price": 4000000 + i, "time": 9}
        )
    server.wait_for(lambda: any('"id": 1299' in t for t in texts))
    assert sum('"orders"' in t and "error_code" in t for t in texts) == 1  # the reply came
    with client.lock:
        assert client.book("XBT:USD") is None and client.ticker("XBT:USD") is None
        assert client.own_orders is not None and not client.own_orders.in_flight()
    # The subscription is repeated after a reconnection, still untracked.
    session.drop()
    second = server.session(1)

    def watches() -> list[dict]:
        return [c for c in list(second.received) if c["method"].startswith("Watch")]

    server.wait_for(lambda: len(watches()) == 2)
    assert [c.get("tag", 0) for c in watches()] == [0, 0]
    server.wait_for(lambda: client.state == "authenticated")
    assert client.book("XBT:USD") is None and client.ticker("XBT:USD") is None


def test_unwatching_with_tag_zero_closes_the_views(server: ScriptedServer, make_client) -> None:
    client = make_client()
    client.watch("XBT:USD").result(2)
    assert client.book("XBT:USD") is not None
    client.WatchOrders(base=XBT, counter=USD, watch=False, tag=0).result(2)
    client.WatchTicker(base=XBT, counter=USD, watch=False, tag=0).result(2)
    assert client.book("XBT:USD") is None and client.ticker("XBT:USD") is None
    assert client.watches == []
