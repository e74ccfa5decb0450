"""Reply futures, tag correlation, typed errors, validation and the seed's handlers."""

from __future__ import annotations

import asyncio
import json
import threading
from decimal import Decimal

import pytest

from cfdash.client import Assets, WSClient
from cfdash.core.assets import ConversionError
from cfdash.core.errors import CoinfloorError, Msg, NotFoundError, RateLimitedError, ValidationError

from .helpers import field
from .scripted_server import COOKIE, PASSPHRASE, USER_ID, ScriptedServer, Session, error

XBT, USD, GBP = Assets["XBT"], Assets["USD"], Assets["GBP"]


def _authed(make_client, **kwargs) -> WSClient:
    client = make_client(**kwargs)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    return client


def test_out_of_order_replies_reach_their_own_futures(server: ScriptedServer, make_client) -> None:
    held: list[dict] = []

    async def volume(session: Session, cmd: dict) -> None:
        held.append(cmd)
        if len(held) == 3:  # answer the three in reverse order
            for c in reversed(held):
                await session.reply(c, {"volume": c["asset"] * 10})

    server.handlers["GetTradeVolume"] = volume
    client = _authed(make_client)
    futures = {asset: client.GetTradeVolume(asset=asset) for asset in (XBT, USD, GBP)}
    for asset, future in futures.items():
        assert field(future.result(2), "volume") == asset * 10
    tags = [c["tag"] for c in held]
    assert len(set(tags)) == 3 and all(t > 0 for t in tags)


def test_typed_errors_from_error_replies(server: ScriptedServer, make_client) -> None:
    server.handlers["GetOrders"] = lambda s, c: error(6, Msg.INFO_TOO_RAPID)
    client = _authed(make_client)
    with pytest.raises(NotFoundError) as info:
        client.CancelOrder(id=42).result(2)
    assert info.value.code == 1 and info.value.message == Msg.ORDER_NOT_FOUND
    with pytest.raises(RateLimitedError, match="too rapidly"):
        client.GetOrders().result(2)


def test_tag_zero_resolves_when_sent_and_is_not_correlated(
    server: ScriptedServer, make_client
) -> None:
    texts: list[str] = []
    client = make_client(msg_handler=lambda c, t: texts.append(t))
    future = client.WatchTicker(base=XBT, counter=USD, watch=True, tag=0)
    assert future.result(0) is None
    cmd = server.wait_received("WatchTicker")[0]
    assert cmd["tag"] == 0
    server.wait_for(lambda: any('"last"' in t for t in texts))
    reply = json.loads(next(t for t in texts if '"last"' in t))
    assert "tag" not in reply


def test_caller_tags_are_kept_and_echoed(server: ScriptedServer, make_client) -> None:
    texts: list[str] = []
    client = make_client(msg_handler=lambda c, t: texts.append(t))
    client.WatchTicker(base=XBT, counter=USD, watch=True, tag=987654321).result(2)
    assert json.loads(texts[-1])["tag"] == 987654321
    assert server.wait_received("WatchTicker")[0]["tag"] == 987654321


def test_seed_style_call_sends_exactly_the_given_fields_plus_a_tag(
    server: ScriptedServer, make_client
) -> None:
    client = _authed(make_client)
    data = {"method": "PlaceOrder", "base": XBT, "counter": GBP, "quantity": 5, "price": 7}
    client.send(data).result(2)
    sent = server.wait_received("PlaceOrder")[0]
    tag = sent.pop("tag")
    assert sent == data and isinstance(tag, int) and tag > 0
    assert "tag" not in data  # the caller's dict is not modified


@pytest.mark.parametrize(
    "command",
    [
        {"method": "PlaceOrder", "base": XBT, "counter": USD, "quantity": 0, "price": 5},
        {"method": "PlaceOrder", "base": XBT, "counter": USD, "quantity": 5, "price": 0},
        {"method": "PlaceOrder", "base": XBT, "counter": USD},
        {"method": "PlaceOrder", "base": XBT, "counter": USD, "quantity": 1, "tonce": 0},
        {"method": "PlaceOrder", "base": XBT, "counter": XBT, "quantity": 1},
        {"method": "CancelOrder"},
        {"method": "WatchOrders", "base": "XBT", "counter": USD, "watch": True},
        {"method": "EstimateMarketOrder", "base": XBT, "counter": USD, "quantity": 1.5},
        {"method": "NoSuchMethod"},
        {"base": XBT},
    ],
)
def test_invalid_commands_never_reach_the_wire(
    server: ScriptedServer, make_client, command: dict
) -> None:
    client = _authed(make_client)
    # ValidationError (code 8), or NotFoundError (code 1) for a pair that is not listed.
    with pytest.raises(CoinfloorError) as info:
        client.send(command)
    assert info.value.code in (1, 8)
    assert server.sessions == []  # not even a connection


def test_decimal_conversion_errors_before_the_wire(server: ScriptedServer, make_client) -> None:
    client = _authed(make_client)
    with pytest.raises(ConversionError, match="quantity"):
        client.place_order("XBT:USD", Decimal("0.000000001"), "100")
    with pytest.raises(ConversionError, match="price"):
        client.place_order("XBT:USD", "1", "100.001")
    with pytest.raises(ValidationError):
        client.place_order("XBT:USD", "0", "100")
    assert server.sessions == []


def test_place_order_converts_decimals_exactly(server: ScriptedServer, make_client) -> None:
    client = _authed(make_client)
    reply = client.place_order("XBT:USD", Decimal("-0.25"), "41000.5").result(2)
    sent = server.wait_received("PlaceOrder")[0]
    assert sent["quantity"] == -25_000_000 and sent["price"] == 4_100_050
    assert sent["base"] == XBT and sent["counter"] == USD and "persist" not in sent
    assert field(reply, "id") > 0
    client.place_order("XBT:USD", total="-12.34", persist=False).result(2)
    market = server.wait_received("PlaceOrder", 2)[1]
    assert market["total"] == -1234 and market["persist"] is False and "quantity" not in market


def test_place_order_persist_none_keeps_the_servers_default(
    server: ScriptedServer, make_client
) -> None:
    client = _authed(make_client)
    client.place_order("XBT:USD", Decimal("0.01"), "100", persist=None).result(2)
    client.place_order("XBT:USD", Decimal("0.01"), "100", persist=True).result(2)
    sent = server.wait_received("PlaceOrder", 2)
    assert ["persist" in command for command in sent] == [False, False]


def test_msg_handler_gets_the_raw_text_of_every_frame(server: ScriptedServer, make_client) -> None:
    texts: list[str] = []
    client = make_client(msg_handler=lambda c, t: texts.append(t))
    client.WatchOrders(base=XBT, counter=USD, watch=True).result(2)
    odd = '{ "notice" :"TickerChanged","base":63488,  "counter":64128, "last": 1 }'
    server.session().push_text(odd)
    server.wait_for(lambda: odd in texts)
    assert json.loads(texts[0])["notice"] == "Welcome"
    assert json.loads(texts[1])["tag"] == 1
    assert texts[2] == odd  # untouched, not re-serialised


def test_malformed_frames_are_reported_and_still_passed_on(
    server: ScriptedServer, make_client
) -> None:
    texts: list[str] = []
    errors: list[object] = []
    client = make_client(
        msg_handler=lambda c, t: texts.append(t), err_handler=lambda c, e: errors.append(e)
    )
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    server.session().push_text("not json")
    server.wait_for(lambda: "not json" in texts)
    assert len(errors) == 1
    client.WatchTicker(base=XBT, counter=GBP, watch=True).result(2)  # still working


def test_open_and_close_handlers(server: ScriptedServer, make_client) -> None:
    opened: list[object] = []
    closed: list[tuple] = []
    errors: list[object] = []
    client = make_client(
        open_handler=lambda c: opened.append(c),
        close_handler=lambda c, status, reason: closed.append((c, status, reason)),
        err_handler=lambda c, e: errors.append(e),
    )
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    server.wait_for(lambda: opened)
    assert opened == [client]
    server.session().close(4001, "maintenance")
    server.wait_for(lambda: closed)
    assert closed == [(client, 4001, "maintenance")]
    assert errors == ["closed by server (4001)"]
    assert client.state == "disconnected"


def test_stop_closes_normally(server: ScriptedServer, make_client) -> None:
    closed: list[tuple] = []
    errors: list[object] = []
    client = make_client(
        close_handler=lambda c, status, reason: closed.append((status, reason)),
        err_handler=lambda c, e: errors.append(e),
    )
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    client.stop()
    assert server.session().closed.wait(2)
    assert closed == [(1000, "")] and errors == []
    assert client.state == "disconnected"


def test_ping_handler_gets_the_servers_ping(server: ScriptedServer, make_client) -> None:
    pings: list[bytes] = []
    client = make_client(ping_handler=lambda c, data: pings.append(data))
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    session = server.session()
    pong = server.call(session.ws.ping(b"hello"))
    server.call(asyncio.wait_for(pong, 2))  # the client answered
    server.wait_for(lambda: pings)
    assert pings == [b"hello"]


def test_many_threads_sending_concurrently(server: ScriptedServer, make_client) -> None:
    client = _authed(make_client)
    results: dict[tuple[int, int], int] = {}
    lock = threading.Lock()

    def worker(n: int) -> None:
        futures = [
            (i, client.EstimateMarketOrder(base=XBT, counter=USD, quantity=n * 1000 + i))
            for i in range(1, 41)
        ]
        for i, future in futures:
            quantity = field(future.result(5), "quantity")
            with lock:
                results[(n, i)] = quantity

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8 * 40
    assert all(q == n * 1000 + i for (n, i), q in results.items())
    tags = [c["tag"] for c in server.received()]
    assert len(tags) == len(set(tags)) == 320
