"""Malformed or unexpected frames are reported and skipped; the views stay consistent."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from cfdash.client import WSClient
from cfdash.client.wsclient import MAX_FRAME_BYTES
from cfdash.core.errors import ProtocolError
from tests.support.scripted import COOKIE, PASSPHRASE, USD, USER_ID, XBT, ScriptedServer, Session


@pytest.fixture
def make_client(make_scripted_client: Callable[..., WSClient]) -> Callable[..., WSClient]:
    """Clients on the scripted ``server`` (this directory's ``make_client`` takes a url)."""
    return make_scripted_client


PAIR = {"base": XBT, "counter": USD}


def opened(order_id: int, quantity: int, price: int, **extra: Any) -> dict[str, Any]:
    return {"notice": "OrderOpened", "id": order_id, **PAIR, "quantity": quantity} | {
        "price": price,
        "time": 5,
        **extra,
    }


def test_malformed_notices_never_reach_a_buffering_book(
    server: ScriptedServer, make_client
) -> None:
    """Notices that arrive before the snapshot are buffered and replayed into the book: a bad
    one must be dropped before it gets there, or the replay would fail half-way."""
    release = asyncio.Event()

    async def slow_snapshot(session: Session, command: dict[str, Any]) -> dict[str, Any]:
        await release.wait()
        return {"orders": list(server.book_orders)}

    server.handlers["WatchOrders"] = slow_snapshot
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e))
    future = client.WatchOrders(**PAIR, watch=True)
    session = server.session()
    server.wait_received("WatchOrders")
    session.push(opened(50, 1000, 4050000))
    session.push({"notice": "OrderOpened", "id": 51, **PAIR, "quantity": 5})  # no price
    session.push(opened(52, -7, "4060000"))  # a string price
    session.push({"notice": "OrderClosed", "id": 9999, **PAIR, "quantity": 0, "price": 1})
    server.loop.call_soon_threadsafe(release.set)
    future.result(3)
    book = client.book("XBT:USD")
    assert book is not None and book.synced
    assert book.as_orders() == {
        1: (100000000, 4000000),
        2: (-50000000, 4100000),
        50: (1000, 4050000),
    }
    assert [type(e) for e in errors] == [ProtocolError, ProtocolError]
    assert "'price'" in str(errors[0]) and "'price'" in str(errors[1])


def test_malformed_snapshot_drops_the_watch(server: ScriptedServer, make_client) -> None:
    server.handlers["WatchOrders"] = lambda s, c: {"orders": [{"id": 1, "quantity": 5}]}
    errors: list[object] = []
    client = make_client(reconnect=True, err_handler=lambda c, e: errors.append(e))
    with pytest.raises(ProtocolError):
        client.WatchOrders(**PAIR, watch=True).result(3)
    assert client.book("XBT:USD") is None  # not a half-loaded book
    assert client.watches == []  # and not re-subscribed after a reconnection
    assert len(errors) == 1 and isinstance(errors[0], ProtocolError)
    client.WatchTicker(**PAIR, watch=True).result(3)  # the client carries on


def test_malformed_orders_reply_leaves_the_views_alone(server: ScriptedServer, make_client) -> None:
    replies = iter(
        [
            {"orders": [{"id": 8, "tonce": None, **PAIR, "quantity": 5, "price": 9, "time": 1}]},
            {"orders": [{"id": 9, **PAIR}]},  # no quantity, price, time
        ]
    )
    server.handlers["GetOrders"] = lambda s, c: next(replies)
    client = make_client(err_handler=lambda c, e: None)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.GetOrders().result(3)
    with pytest.raises(ProtocolError):
        client.GetOrders().result(3)
    own = client.own_orders
    assert own is not None and [o.id for o in own.open_orders()] == [8]


@pytest.mark.parametrize(
    "frame",
    [
        "not json at all",
        "[]",
        json.dumps({"notice": ["a", "list"]}),
        json.dumps({"notice": "BalanceChanged", "asset": XBT, "balance": True}),
        json.dumps({"tag": "x", "error_code": 0}),
        json.dumps({"tag": 4242, "error_code": 0}),
        json.dumps({"tag": [1], "error_code": 0}),
        json.dumps({"neither": "reply nor notice"}),
    ],
)
def test_bad_frame_is_reported_and_skipped(server: ScriptedServer, make_client, frame: str) -> None:
    errors: list[object] = []
    texts: list[str] = []
    client = make_client(
        err_handler=lambda c, e: errors.append(e), msg_handler=lambda c, t: texts.append(t)
    )
    client.watch("XBT:USD").result(3)
    server.session().push_text(frame)
    server.wait_for(lambda: frame in texts)  # msg_handler still sees every frame (seed)
    assert len(errors) == 1 and isinstance(errors[0], ProtocolError)
    assert client.state == "connected" and len(server.sessions) == 1  # not dropped
    server.session().push(opened(60, 10, 4000000))  # and still applying notices
    server.wait_for(lambda: 60 in client.book("XBT:USD").as_orders())


def test_unknown_notice_is_logged_once(server: ScriptedServer, make_client, caplog) -> None:
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e))
    client.WatchTicker(**PAIR, watch=True).result(3)
    with caplog.at_level("WARNING", logger="cfdash.client"):
        for _ in range(3):
            server.session().push({"notice": "FutureThing", "x": 1})
        server.session().push({"notice": "TickerChanged", **PAIR, "last": 4100000})
        server.wait_for(lambda: client.ticker("XBT:USD").last == 4100000)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["skipping unknown notice 'FutureThing'"]
    assert errors == []


def test_binary_frame_is_reported_and_skipped(
    server: ScriptedServer, make_client, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e))
    client.watch("XBT:USD").result(3)
    session = server.session()
    server.call(session.ws.send(b"\x00\x01binary"))
    server.call(session.ws.send([b"frag", b"mented"]))  # a fragmented binary message
    session.push(opened(61, 10, 4000000))
    server.wait_for(lambda: 61 in client.book("XBT:USD").as_orders())
    assert [type(e) for e in errors] == [ProtocolError, ProtocolError]
    assert "binary frame of 8 bytes" in str(errors[0])
    assert "binary frame of 10 bytes" in str(errors[1])
    assert client.state == "connected" and len(server.sessions) == 1
    # Without an err_handler it goes to the log.
    client.err_handler = None
    with caplog.at_level("ERROR", logger="cfdash.client"):
        server.call(session.ws.send(b"\xff"))
        session.push(opened(62, 10, 4000000))
        server.wait_for(lambda: 62 in client.book("XBT:USD").as_orders())
    assert any("binary frame of 1 bytes" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("fragmented", [False, True])
def test_oversized_message_drops_the_connection(
    server: ScriptedServer, make_client, fragmented: bool
) -> None:
    """Refused from its header (or the fragment that crosses the limit), not buffered."""
    errors: list[object] = []
    texts: list[str] = []
    client = make_client(
        reconnect=True,
        backoff_base=0.05,
        err_handler=lambda c, e: errors.append(e),
        msg_handler=lambda c, t: texts.append(t),
    )
    client.watch("XBT:USD").result(3)
    session = server.session()
    size = MAX_FRAME_BYTES + 1
    head = '{"notice":"Spam","x":"'
    body = "y" * (size - len(head) - 2)
    message = head + body + '"}'
    assert len(message) == size
    frames: Any = [head, *(body[i : i + 2**20] for i in range(0, len(body), 2**20)), '"}']
    with contextlib.suppress(Exception):  # the client hangs up half-way
        server.call(session.ws.send(frames if fragmented else message), timeout=20)
    second = server.session(1, timeout=10)
    server.wait_for(lambda: second.methods().count("WatchOrders") == 1, timeout=10)
    assert any(f"exceeds the {MAX_FRAME_BYTES} byte limit" in str(e) for e in errors), errors
    assert not any(len(t) > MAX_FRAME_BYTES for t in texts)
    server.wait_for(lambda: (b := client.book("XBT:USD")) is not None and b.synced)


def test_message_at_the_limit_is_accepted(server: ScriptedServer, make_client) -> None:
    texts: list[str] = []
    client = make_client(err_handler=lambda c, e: None, msg_handler=lambda c, t: texts.append(t))
    client.WatchTicker(**PAIR, watch=True).result(3)
    head = '{"notice":"Spam","x":"'
    message = head + "y" * (MAX_FRAME_BYTES - len(head) - 2) + '"}'
    server.session().push_text(message)
    server.wait_for(lambda: any(len(t) == MAX_FRAME_BYTES for t in texts), timeout=10)
    assert len(server.sessions) == 1
