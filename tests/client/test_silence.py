"""What an interactive client needs to tell a silent server (issue 10, defects 9 and 10):
when the last frame came, since when an answer is awaited, and reconnecting at once."""

from __future__ import annotations

import time

from cfdash.client import Assets, WSClient
from tests.support.wait import wait_until as wait_for

from .scripted_server import ScriptedServer

XBT, USD = Assets["XBT"], Assets["USD"]


def test_last_received_and_waiting_since_tell_a_silent_server(
    server: ScriptedServer, make_client
) -> None:
    client: WSClient = make_client(ping_interval=30.0, socket_timeout=10.0)
    assert client.last_received is None and client.waiting_since is None  # no connection yet
    before = time.monotonic()
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    last = client.last_received
    assert last is not None and before <= last <= time.monotonic()
    assert client.waiting_since is None  # answered: nothing awaited
    server.session().stall()
    sent = time.monotonic()
    future = client.WatchOrders(base=XBT, counter=USD, watch=True)
    waiting = client.waiting_since
    assert waiting is not None and sent <= waiting <= time.monotonic()
    time.sleep(0.2)
    assert client.last_received == last and client.waiting_since == waiting  # silence
    assert not future.done()


def test_reconnect_now_drops_a_silent_connection_and_skips_the_wait(
    server: ScriptedServer, make_client
) -> None:
    client: WSClient = make_client(
        reconnect=True, ping_interval=30.0, socket_timeout=10.0, backoff_base=60, backoff_cap=60
    )
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    assert not client.reconnect_now()  # connected, and not asked to drop it
    server.session().stall()
    assert client.reconnect_now(drop=True)
    wait_for(lambda: len(server.sessions) == 2)  # at once (the first retry has no wait)
    wait_for(lambda: client.state == "connected" and client.watches)
    server.session(1).close(1011, "going away")
    # the second retry waits (up to 60 s): reconnect_now ends the wait
    wait_for(lambda: client.next_retry_in is not None)
    due = client.reconnect_at
    assert client.reconnect_attempts >= 1 and due is not None and due > time.time()
    time.sleep(0.05)
    assert client.reconnect_at == due  # one value for the whole wait: a steady countdown
    assert client.reconnect_now()
    wait_for(lambda: len(server.sessions) == 3)
    wait_for(lambda: client.state == "connected")
