"""The backoff policy with an injected rng, and the client's use of it on real sockets."""

from __future__ import annotations

import random
import time

from cfdash.client import WSClient
from cfdash.client.backoff import Backoff
from tests.support.scripted import USD, XBT, ScriptedServer, Session


class Extremes(random.Random):
    """A rng whose ``uniform`` returns the top of the range (or the bottom) and records it."""

    def __init__(self, top: bool = True) -> None:
        super().__init__(0)
        self.top = top
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b if self.top else a


def test_windows_double_up_to_the_cap_and_reset() -> None:
    rng = Extremes()
    backoff = Backoff(0.5, 30.0, rng)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert all(low == 0.0 for low, _ in rng.ranges)  # full jitter: from zero every time
    backoff.reset()
    assert [backoff.next_delay() for _ in range(3)] == [0.0, 1.0, 2.0]


def test_full_jitter_can_retry_at_once() -> None:
    backoff = Backoff(0.5, 30.0, Extremes(top=False))
    assert [backoff.next_delay() for _ in range(6)] == [0.0] * 6


def test_very_many_attempts_stay_capped() -> None:
    backoff = Backoff(0.5, 30.0, Extremes())
    for _ in range(10_000):
        delay = backoff.next_delay()
    assert delay == 30.0 and backoff.attempts == 10_000


def drop_first(count: int):
    """on_connect: drop the first ``count`` connections right after their Welcome."""
    seen = [0]

    def on_connect(session: Session) -> None:
        seen[0] += 1
        if 1 < seen[0] <= count + 1:  # the first connection is a normal one
            session.ws.transport.abort()

    return on_connect


def test_connections_dropped_right_after_opening_back_off_and_stable_resets() -> None:
    with ScriptedServer(on_connect=drop_first(5)) as srv:
        client = WSClient(
            srv.url,
            socket_timeout=1.0,
            reconnect=True,
            backoff_base=0.05,
            backoff_cap=0.2,
            stable_after=0.3,
        )
        client._connector.retry.backoff = Backoff(0.05, 0.2, Extremes())  # the top of each window
        try:
            client.WatchTicker(base=XBT, counter=USD, watch=True).result(3)
            time.sleep(0.4)  # a stable connection
            start = time.monotonic()
            srv.session(0).drop()
            srv.wait_for(lambda: len(srv.sessions) == 7 and client.state == "connected", 5)
            took = time.monotonic() - start
            # Retries after drops right after opening: 0, 0.1, 0.2, 0.2, 0.2, 0.2 s.
            assert took >= 0.85
            assert client.reconnect_attempts == 6
            time.sleep(0.4)  # stable again: the next drop retries at once, from attempt 1
            srv.session(6).drop()
            srv.wait_for(lambda: len(srv.sessions) == 8 and client.state == "connected", 5)
            assert client.reconnect_attempts == 1
        finally:
            client.stop()
