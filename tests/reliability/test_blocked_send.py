"""A server that stops reading fills the socket buffers: sends block. They must stay bounded,
the watchdog must keep watching, ``stop()`` must return, and orders in flight must settle."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import pytest

from cfdash.client import WSClient
from cfdash.core.messages import PlacedOrder
from cfdash.server.faults import Faults

from .helpers import WAIT, XBT_GBP, login, server_truth, wait_until

pytestmark = pytest.mark.slow  # every test here takes seconds (see pyproject's markers)

ESTIMATE = {"base": XBT_GBP.base, "counter": XBT_GBP.counter, "quantity": 100_000_000}


class Flood:
    """Threads sending EstimateMarketOrder until a send fails (the buffers fill first)."""

    def __init__(self, client: WSClient, threads: int = 4) -> None:
        self.client = client
        self.failures: list[BaseException] = []
        self.sent: list[Future[Any]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def run(self) -> None:
        deadline = time.monotonic() + 2 * WAIT
        while time.monotonic() < deadline:
            try:
                future = self.client.EstimateMarketOrder(**ESTIMATE)
            except Exception as exc:  # no err_handler: the seed raises in the caller
                with self.lock:
                    self.failures.append(exc)
                return
            if future.done() and future.exception() is not None:
                with self.lock:
                    self.failures.append(future.exception())  # type: ignore[arg-type]
                return
            with self.lock:
                self.sent.append(future)

    def join(self, timeout: float) -> bool:
        """Whether every thread finished within ``timeout``."""
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def hang(faults: Faults) -> None:
    """The server hangs for user 1: stops reading and writing its connection, and takes no
    new connection. Without the refusal a flood thread that is between two sends when the
    client drops the stalled connection opens a fresh one (the seed's connect-on-send) and
    floods that until the exchange's rate limit (error 6) stops it: on a loaded machine, a
    ``RateLimitedError`` among the failures and a client connected again at the end."""
    assert faults.stall(user=1)
    faults.refuse(4 * WAIT)


def wait_stuck(flood: Flood) -> None:
    """Until nothing more goes out for a while: the senders are blocked."""
    counts: list[int] = []

    def stuck() -> bool:
        counts.append(len(flood.sent))
        return len(counts) > 10 and counts[-1] == counts[-10] and counts[-1] > 0

    wait_until(stuck, what="the socket buffers to fill")


def test_blocked_send_times_out_and_drops_the_connection(
    exchange, faults: Faults, make_client
) -> None:
    """Only the send timeout can notice here (the keep-alive would take 30 s)."""
    errors: list[object] = []
    client = login(
        make_client(
            exchange.url,
            ping_interval=30.0,
            silence_timeout=30.0,
            socket_timeout=1.0,
            err_handler=lambda c, e: errors.append(e),
        )
    )
    hang(faults)
    flood = Flood(client)
    assert flood.join(WAIT), "senders still blocked: the send is not bounded"
    assert len(flood.failures) == len(flood.threads)
    # Each caller got a clear error: its future failed with ConnectionError at once.
    assert all(isinstance(e, ConnectionError) for e in flood.failures), flood.failures
    assert any("send timed out after 1.0 s" in str(e) for e in flood.failures), flood.failures
    # The commands that did go out fail too: the connection was aborted, not left hanging.
    assert flood.sent
    for future in flood.sent[-50:]:
        assert isinstance(future.exception(WAIT), ConnectionError)
    assert "send timed out after 1.0 s (the server is not reading)" in errors, errors
    assert client.state == "disconnected"
    assert faults.fired["stall"] == 1


def test_watchdog_fires_while_a_send_is_blocked(exchange, faults: Faults, make_client) -> None:
    """The send would block for 10 s. The next ping falls due while it is blocked: the
    keep-alive must not wait for the send lock (it skips the ping) and must notice the
    silence 4 s after the last frame."""
    errors: list[object] = []
    client = login(
        make_client(
            exchange.url,
            ping_interval=3.0,
            silence_timeout=4.0,
            socket_timeout=10.0,
            err_handler=lambda c, e: errors.append(e),
        )
    )
    wait_until(lambda: client.latency is not None, what="a first pong")
    hang(faults)
    started = time.monotonic()
    flood = Flood(client)
    wait_until(lambda: errors, what="the watchdog")
    noticed = time.monotonic() - started
    assert errors[0] == "nothing received for 4.0 s", errors
    assert noticed < 9.0, noticed  # the 10 s send timeout did not do it
    assert flood.join(5.0), "senders still blocked after the abort"
    assert all(isinstance(e, ConnectionError) for e in flood.failures), flood.failures
    assert client.state == "disconnected"


def test_stop_returns_while_a_send_is_blocked(exchange, faults: Faults, make_client) -> None:
    """With a long socket_timeout the send would block for 10 s: stop() must not wait for it
    (nor for the keep-alive), and the blocked senders must fail at once."""
    client = login(
        make_client(
            exchange.url,
            ping_interval=30.0,
            silence_timeout=30.0,
            socket_timeout=10.0,
            err_handler=lambda c, e: None,
        )
    )
    hang(faults)
    flood = Flood(client)
    wait_stuck(flood)
    assert all(t.is_alive() for t in flood.threads)  # blocked, not failed
    stopper = threading.Thread(target=client.stop, daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(WAIT)
    took = time.monotonic() - started
    assert not stopper.is_alive(), "stop() hangs"
    assert took < 6.0, took  # well below the 10 s socket timeout
    assert flood.join(6.0), "senders still blocked after stop()"
    assert all(isinstance(e, ConnectionError) for e in flood.failures), flood.failures
    assert client.state == "disconnected"


def test_order_behind_a_blocked_send_settles_after_reconnecting(
    exchange, faults: Faults, make_client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cfdash.client")
    errors: list[object] = []
    client = login(
        make_client(
            exchange.url,
            reconnect=True,
            ping_interval=30.0,
            silence_timeout=30.0,
            socket_timeout=2.0,
            err_handler=lambda c, e: errors.append(e),
        )
    )
    assert faults.stall(user=1)
    flood = Flood(client, threads=3)
    wait_stuck(flood)
    placed: list[Future[Any]] = []
    placer = threading.Thread(
        target=lambda: placed.append(client.place_order(XBT_GBP, Decimal("0.1"), Decimal("900")))
    )
    placer.start()
    placer.join(WAIT)
    assert not placer.is_alive() and placed
    result = placed[0].result(WAIT)
    assert isinstance(result, PlacedOrder)
    tonce = client.tonces.last
    # It was settled by the reconnection (it never reached the stalled server).
    assert f"sending the order with tonce {tonce} (it never left the client)" in caplog.messages
    truth = server_truth(exchange.url)
    assert [oid for oid, (_, qty, _) in truth["orders"].items() if qty == 10_000_000] == [result.id]
    assert flood.join(WAIT)
    assert "send timed out after 2.0 s (the server is not reading)" in errors, errors
    wait_until(lambda: client.state == "authenticated")
