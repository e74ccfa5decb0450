"""Keep-alive, dead connections, dropped connections and reconnection."""

from __future__ import annotations

import re
import time

import pytest

from cfdash.client import Assets, WSClient
from cfdash.core.auth import decode_nonce, verify

from .scripted_server import COOKIE, PASSPHRASE, PUBLIC_KEY, USER_ID, ScriptedServer

XBT, USD = Assets["XBT"], Assets["USD"]


def test_keepalive_pings_measure_latency(server: ScriptedServer, make_client) -> None:
    pongs: list[bytes] = []
    client = make_client(ping_interval=0.1, pong_handler=lambda c, d: pongs.append(d))
    assert client.latency is None
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    server.wait_for(lambda: len(pongs) >= 2)
    assert pongs[0] != pongs[1]  # each ping carries its own payload
    assert client.latency is not None and 0 <= client.latency < 1
    assert client.state == "connected"


def test_stalled_server_is_detected_and_pending_futures_fail(
    server: ScriptedServer, make_client
) -> None:
    errors: list[object] = []
    closed: list[tuple] = []
    client = make_client(
        ping_interval=0.2,
        socket_timeout=0.4,
        err_handler=lambda c, e: errors.append(e),
        close_handler=lambda c, s, r: closed.append((s, r)),
    )
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    server.session().stall()
    future = client.WatchOrders(base=XBT, counter=USD, watch=True)
    # Either deadline may fire first on a loaded machine: both mean a dead connection.
    dead = r"no pong within 0\.4 s|nothing received for 0\.6[0-9]* s"
    with pytest.raises(ConnectionError, match=dead):
        future.result(10)  # the watchdog fails it: a stall never leaves it waiting
    server.wait_for(lambda: closed)
    assert len(errors) == 1 and re.fullmatch(dead, str(errors[0]))
    assert closed == [(None, None)]
    assert client.state == "disconnected"
    assert client.book("XBT:USD") is None  # the views of a lost connection are dropped


def test_silent_server_without_pongs_to_wait_for(server: ScriptedServer, make_client) -> None:
    """No frame at all for ping_interval + socket_timeout is dead too (long interval here)."""
    errors: list[object] = []
    client = make_client(
        ping_interval=0.3, socket_timeout=0.2, err_handler=lambda c, e: errors.append(e)
    )
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    server.session().stall()
    server.wait_for(lambda: errors, timeout=3)
    assert errors[0] in ("no pong within 0.2 s", "nothing received for 0.5 s")


def test_pending_futures_fail_when_the_connection_drops(
    server: ScriptedServer, make_client
) -> None:
    server.handlers["GetTradeVolume"] = lambda s, c: None  # never answered
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    futures = [client.GetTradeVolume(asset=XBT) for _ in range(3)]
    server.wait_received("GetTradeVolume", 3)
    server.session().drop()
    for future in futures:
        with pytest.raises(ConnectionError, match=f"Connection to {server.url} lost"):
            future.result(2)
    assert client.state == "disconnected"
    # Without reconnect, the next call connects (and authenticates) afresh.
    client.GetBalances().result(2)
    assert len(server.sessions) == 2
    assert server.session(1).methods() == ["Authenticate", "GetBalances"]


def test_reconnect_reauthenticates_and_resubscribes(server: ScriptedServer, make_client) -> None:
    opened: list[object] = []
    client = make_client(reconnect=True, backoff_base=0.05, open_handler=opened.append)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.watch("XBT:USD").result(2)
    client.GetBalances().result(2)
    assert len(client.book("XBT:USD")) == 2
    first = server.session(0)

    server.book_orders = [{"id": 7, "quantity": 300000000, "price": 3900000, "time": 3}]
    first.drop()
    second = server.session(1)
    server.wait_for(lambda: client.state == "authenticated" and len(second.received) >= 5)
    methods = second.methods()
    assert methods[0] == "Authenticate"
    assert sorted(methods[1:5]) == ["GetBalances", "GetOrders", "WatchOrders", "WatchTicker"]
    auth = second.received[0]
    assert verify(PUBLIC_KEY, USER_ID, second.nonce, decode_nonce(auth["nonce"]), auth["signature"])
    assert second.nonce != first.nonce
    # The views were reset and reloaded from the new snapshot, not patched.
    book = server.wait_for(lambda: (b := client.book("XBT:USD")) is not None and b.synced and b)
    assert book.as_orders() == {7: (300000000, 3900000)}
    assert len(opened) == 2
    client.GetOrders().result(2)
    assert second.methods()[-1] == "GetOrders"


def test_reconnect_keeps_trying_with_backoff(make_client) -> None:
    with ScriptedServer() as srv:
        client = WSClient(srv.url, socket_timeout=0.5, reconnect=True, backoff_base=0.05)
        try:
            client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
            srv.session(0).drop()
            srv.wait_for(lambda: len(srv.sessions) == 2)
            srv.wait_for(lambda: len(srv.session(1).received) == 1)
            assert srv.session(1).methods() == ["WatchTicker"]  # no credentials: no auth
        finally:
            client.stop()
        assert client.state == "disconnected"


def test_unwatch_is_not_resubscribed(server: ScriptedServer, make_client) -> None:
    client = make_client(reconnect=True, backoff_base=0.05)
    client.watch("XBT:USD").result(2)
    client.unwatch("XBT:USD").result(2)
    assert client.watches == []
    assert client.book("XBT:USD") is None
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    server.session(0).drop()
    second = server.session(1)
    server.wait_for(lambda: second.received)
    # a later request goes after every re-subscription (a reconnection is handed out restored)
    client.EstimateMarketOrder(base=XBT, counter=USD, quantity=10000).result(2)
    assert second.methods() == ["WatchTicker", "EstimateMarketOrder"]


def test_stop_during_reconnect_backoff() -> None:
    srv = ScriptedServer().__enter__()
    client = WSClient(srv.url, socket_timeout=0.5, reconnect=True, backoff_base=5.0)
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    srv.__exit__(None, None, None)  # the server goes away for good
    srv.wait_for(lambda: client.state == "reconnecting", timeout=3)
    srv.wait_for(lambda: client.next_retry_in is not None)  # the first retry failed: a long wait
    start = time.monotonic()
    client.stop()
    assert time.monotonic() - start < 1.5
    srv.wait_for(lambda: client.state == "disconnected")


def test_event_thread_errors_are_logged_without_err_handler(
    server: ScriptedServer, make_client, caplog
) -> None:
    client = make_client()
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    with caplog.at_level("ERROR", logger="cfdash.client"):
        server.session().close(4002, "bye")
        server.wait_for(lambda: client.state == "disconnected")
        server.wait_for(lambda: caplog.records)
    assert caplog.records[0].getMessage() == (
        f"Connection to {server.url} failed: closed by server (4002)"
    )
