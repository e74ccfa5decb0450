"""Malformed and unexpected frames from the server are reported and skipped."""

from __future__ import annotations

import json
from decimal import Decimal

from cfdash.core.errors import ProtocolError
from cfdash.server.faults import Faults
from tests.support.servers import Client

from .helpers import SECOND_USER, WAIT, XBT_GBP, login, recovered, wait_until

BASE, COUNTER = XBT_GBP.base, XBT_GBP.counter
BAD_FRAMES = [
    "{not json",
    "[1, 2, 3]",
    json.dumps({"notice": "OrderOpened", "base": BASE, "counter": COUNTER, "id": 999}),
    json.dumps({"notice": "OrdersMatched", "base": BASE, "counter": COUNTER, "quantity": "x"}),
    json.dumps({"notice": "BalanceChanged", "asset": BASE}),
    json.dumps({"tag": 987654, "error_code": 0}),
    json.dumps({"hello": "world"}),
]
HARMLESS_FRAMES = [  # skipped without an error: the views have nothing to do with them
    json.dumps({"notice": "SomethingNew", "x": 1}),
    json.dumps(
        {"notice": "OrderClosed", "id": 123456, "base": BASE, "counter": COUNTER}
        | {"quantity": 0, "price": 100000}
    ),
]


def test_bad_frames_are_reported_and_the_client_carries_on(
    exchange, faults: Faults, make_client
) -> None:
    errors: list[object] = []
    texts: list[str] = []
    client = login(
        make_client(
            exchange.url,
            reconnect=True,
            err_handler=lambda c, e: errors.append(e),
            msg_handler=lambda c, t: texts.append(t),
        )
    )
    client.watch(XBT_GBP).result(WAIT)
    mine = client.place_order(XBT_GBP, Decimal("0.1"), Decimal("900")).result(WAIT)
    for text in BAD_FRAMES + HARMLESS_FRAMES:
        assert faults.inject(text, user=1)
    wait_until(lambda: all(t in texts for t in BAD_FRAMES + HARMLESS_FRAMES))
    assert len(errors) == len(BAD_FRAMES)
    assert all(isinstance(e, ProtocolError) for e in errors), errors
    assert client.state == "authenticated"  # the same connection: nothing was dropped
    assert faults.fired["drop"] == 0 and len(faults.sessions(user=1)) == 1
    # Still live: another user's order reaches the book; the views equal the server's.
    user_id, cookie, passphrase = SECOND_USER
    with Client(exchange.url) as trader:
        assert trader.authenticate(user_id, passphrase, cookie)["error_code"] == 0
        other = trader.place(-20_000_000, 110_000)["id"]
    truth = recovered(client, exchange.url)
    assert set(truth["book"]) == {mine.id, other}
    assert 999 not in truth["book"]
