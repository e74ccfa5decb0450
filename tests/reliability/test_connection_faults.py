"""Dead links, refused connections and backoff against the real exchange with faults."""

from __future__ import annotations

import time

from cfdash.client import WSClient
from cfdash.server.faults import Faults

from .helpers import WAIT, XBT_GBP, login, recovered, wait_until


def test_stalled_connection_is_noticed_and_replaced(exchange, faults: Faults, make_client) -> None:
    errors: list[object] = []
    client = login(
        make_client(
            exchange.url,
            reconnect=True,
            ping_interval=0.3,
            socket_timeout=0.5,
            err_handler=lambda c, e: errors.append(e),
        )
    )
    client.watch(XBT_GBP).result(WAIT)
    assert faults.stall(user=1)
    start = time.monotonic()
    wait_until(lambda: errors, what="the stall to be noticed")
    noticed = time.monotonic() - start
    assert errors[0] in ("no pong within 0.5 s", "nothing received for 0.8 s")
    # Within socket_timeout + ping_interval (0.8 s) plus scheduling slack on a loaded machine.
    assert noticed < 5.0
    recovered(client, exchange.url)
    assert faults.fired["stall"] == 1


def test_silence_watchdog_without_pong_deadline(exchange, faults: Faults, make_client) -> None:
    """No frame at all for silence_timeout is a dead link, whatever the pong deadline."""
    errors: list[object] = []
    pinged: list[float] = []  # when the ping of each pong was sent
    client = make_client(
        exchange.url,
        reconnect=True,
        ping_interval=0.2,
        socket_timeout=30.0,
        silence_timeout=0.8,
        err_handler=lambda c, e: errors.append(e),
        pong_handler=lambda c, data: pinged.append(time.monotonic() - (c.latency or 0.0)),
    )
    client.watch(XBT_GBP).result(WAIT)
    quiet_from = time.monotonic()  # no data frame after the watch's reply: a quiet exchange
    # Idle but healthy: the pongs are frames, the link stays up. The keep-alive looks at the
    # silence before each ping: a pong for a ping sent twice the silence timeout after the last
    # data frame proves it looked when, had pongs not counted, it would have dropped the link.
    wait_until(lambda: any(t > quiet_from + 1.6 for t in pinged), what="a late ping's pong")
    assert errors == [] and client.state == "connected"
    faults.stall()
    wait_until(lambda: errors, what="the silence to be noticed")
    assert errors[0] == "nothing received for 0.8 s"
    wait_until(
        lambda: client.state == "connected" and (b := client.book(XBT_GBP)) is not None and b.synced
    )


def test_refused_reconnections_back_off_then_recover(exchange, faults: Faults, make_client) -> None:
    closes: list[object] = []
    opens: list[object] = []
    client = login(
        make_client(
            exchange.url,
            reconnect=True,
            backoff_base=0.1,
            backoff_cap=0.4,
            close_handler=lambda c, s, r: closes.append(s),
            open_handler=opens.append,
        )
    )
    client.watch(XBT_GBP).result(WAIT)
    faults.refuse(1.5)
    faults.drop(user=1)
    wait_until(lambda: client.state == "reconnecting")
    waits = []
    while faults.fired["refuse"] < 3:
        if client.next_retry_in is not None:
            waits.append(client.next_retry_in)
            assert client.reconnect_at is not None and client.reconnect_at >= time.time() - 1
        time.sleep(0.01)
        assert client.state == "reconnecting", "refused attempts must not end the reconnection"
    assert client.reconnect_attempts >= 3
    assert waits and max(waits) <= 0.4  # the cap
    recovered(client, exchange.url)
    assert len(closes) == 1 and len(opens) == 2  # one loss, one reconnection
    assert client.next_retry_in is None and client.reconnect_at is None


def test_first_connection_refused_is_retried(exchange, faults: Faults, make_client) -> None:
    errors: list[object] = []
    client = make_client(exchange.url, reconnect=True, err_handler=lambda c, e: errors.append(e))
    faults.refuse(0.5)
    watch = {"base": XBT_GBP.base, "counter": XBT_GBP.counter, "watch": True}
    assert isinstance(client.WatchOrders(**watch).exception(WAIT), ConnectionError)
    assert errors and client.state in ("reconnecting", "connected")
    wait_until(lambda: client.state == "connected", what="the background connection")
    assert faults.fired["refuse"] >= 1
    client.WatchOrders(**watch).result(WAIT)
    book = client.book(XBT_GBP)
    assert book is not None and book.synced


def test_first_connection_refused_without_reconnect_stays_down(
    exchange, faults: Faults, make_client
) -> None:
    client = make_client(exchange.url, err_handler=lambda c, e: None)
    faults.refuse(0.5)
    future = client.WatchOrders(base=XBT_GBP.base, counter=XBT_GBP.counter, watch=True)
    assert isinstance(future.exception(WAIT), ConnectionError)
    # No retry is planned (one would be visible at once), and none was made.
    assert client.state == "disconnected" and faults.fired["refuse"] == 1
    assert client.next_retry_in is None and client.reconnect_at is None


def test_gives_up_after_max_attempts(exchange, faults: Faults, make_client) -> None:
    errors: list[object] = []
    client: WSClient = login(
        make_client(
            exchange.url,
            reconnect=True,
            max_attempts=3,
            backoff_base=0.05,
            err_handler=lambda c, e: errors.append(e),
        )
    )
    client.watch(XBT_GBP).result(WAIT)
    faults.refuse(60)
    faults.drop(user=1)
    wait_until(lambda: client.state == "disconnected" and "gave up" in str(errors[-1:]))
    assert errors[-1] == "gave up reconnecting after 3 attempts"
    assert faults.fired["refuse"] == 3
    assert client.watches == [] and client.book(XBT_GBP) is None
    faults.refuse(0)
    client.GetBalances().result(WAIT)  # a new call connects afresh
    assert client.state == "authenticated"
