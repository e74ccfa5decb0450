"""The keep-alive's schedule, on a fake clock: exact deadlines without timing a real socket.

The client's keep-alive is run directly on a connection whose socket only records what is done
to it, with ``time.monotonic`` and ``transport.done.wait`` replaced by a clock that jumps; then
``keepalive.run_keepalive`` on its own, with the clock, ping, abort and wait injected.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from cfdash.client import WSClient, connection, keepalive, transport

PING = transport.websocket.ABNF.OPCODE_PING


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class Done:
    """``conn.done``: ``wait(t)`` lets ``t`` seconds pass; ends the run after ``limit``."""

    def __init__(self, clock: Clock, limit: float) -> None:
        self.clock = clock
        self.limit = clock.now + limit

    def wait(self, timeout: float) -> bool:
        self.clock.now += timeout
        return self.clock.now > self.limit


class Link:
    """The socket side: records pings and the abort; answers pings while ``alive``."""

    def __init__(self, clock: Clock, answered: int) -> None:
        self.clock = clock
        self.answered = answered
        self.pings: list[float] = []
        self.aborted: float | None = None
        self.conn: Any = None
        self.sock = types.SimpleNamespace(shutdown=lambda how: self.abort())

    def ping(self, payload: Any = "") -> None:  # what an older keep-alive called
        self.send(payload, PING)

    def send(self, payload: Any, opcode: int = 1) -> None:
        assert opcode == PING
        self.pings.append(self.clock.now)
        if len(self.pings) <= self.answered:  # the reader gets the pong 10 ms later
            self.conn.last_rx = self.clock.now + 0.01
            self.conn.ping_sent = None

    def abort(self) -> None:
        if self.aborted is None:
            self.aborted = self.clock.now


def run(
    monkeypatch: pytest.MonkeyPatch,
    interval: float,
    timeout: float,
    silence: float | None,
    answered: int,
) -> tuple[Any, Link]:
    clock = Clock()
    fake_time = types.SimpleNamespace(monotonic=clock.monotonic)
    monkeypatch.setattr(connection, "time", fake_time)
    monkeypatch.setattr(transport, "time", fake_time)
    client = WSClient(
        "ws://127.0.0.1:9/",
        ping_interval=interval,
        socket_timeout=timeout,
        silence_timeout=silence,
    )
    link = Link(clock, answered)
    link.conn = transport.Transport(link, timeout)  # type: ignore[arg-type]
    conn = connection.Connection(link.conn, restore=False)
    link.conn.done = Done(clock, limit=1000.0)  # type: ignore[assignment]
    client._connector.keepalive(conn)
    return link.conn, link


@pytest.mark.parametrize(
    ("interval", "timeout", "silence"),
    [(1.0, 1.0, 10.0), (10.0, 2.0, 60.0), (0.3, 0.5, None), (0.7, 1.0, None), (2.0, 3.0, 20.0)],
)
def test_missed_pong_is_caught_socket_timeout_after_its_ping(
    monkeypatch: pytest.MonkeyPatch, interval: float, timeout: float, silence: float | None
) -> None:
    conn, link = run(monkeypatch, interval, timeout, silence, answered=3)
    assert conn.dead_reason == f"no pong within {timeout} s"
    assert len(link.pings) == 4 and link.aborted is not None
    # Pings go out every ping_interval, on time; the fourth is never answered.
    gaps = [b - a for a, b in zip(link.pings, link.pings[1:], strict=False)]
    assert gaps == pytest.approx([interval] * 3, abs=1e-6)
    # Caught at its deadline: not before, and not a polling tick after.
    assert link.aborted - link.pings[-1] == pytest.approx(timeout, abs=1e-6)


def test_silence_is_caught_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No frame at all for silence_timeout: dead, even before the pong deadline."""
    conn, link = run(monkeypatch, interval=0.4, timeout=5.0, silence=1.0, answered=2)
    assert conn.dead_reason == "nothing received for 1.0 s"
    last_frame = link.pings[1] + 0.01  # the second pong
    assert link.aborted - last_frame == pytest.approx(1.0, abs=1e-6)


# -- keepalive.run_keepalive on its own: the injected clock, ping, abort and wait -------------


class Times:
    """A ``Liveness``: the connection's times, moved by the fake link below."""

    def __init__(self, now: float) -> None:
        self.last_rx = self.last_ping = now
        self.ping_sent: float | None = None


def drive(
    interval: float,
    timeout: float,
    silence: float,
    answered: int,
    busy: int = 0,
    limit: float = 1000.0,
) -> tuple[Times, list[float], list[tuple[float, str]], int]:
    """Run ``run_keepalive`` on a fake clock: pings answered 10 ms later while ``answered``
    lasts, the first ``busy`` attempts find a frame being written."""
    clock = Clock()
    times = Times(clock.now)
    pings: list[float] = []
    aborts: list[tuple[float, str]] = []
    attempts = [0]

    def ping(now: float) -> keepalive.PingResult:
        attempts[0] += 1
        if attempts[0] <= busy:
            return "busy"
        times.last_ping = times.ping_sent = now
        pings.append(now)
        if len(pings) <= answered:
            times.last_rx = now + 0.01
            times.ping_sent = None
        return "sent"

    keepalive.run_keepalive(
        times,
        interval,
        timeout,
        silence,
        ping=ping,
        abort=lambda why: aborts.append((clock.now, why)),
        wait=Done(clock, limit).wait,
        clock=clock.monotonic,
    )
    return times, pings, aborts, attempts[0]


def test_run_keepalive_pings_on_time_and_aborts_at_the_pong_deadline() -> None:
    _, pings, aborts, _ = drive(interval=2.0, timeout=0.5, silence=30.0, answered=2)
    assert pings == pytest.approx([1002.0, 1004.0, 1006.0], abs=1e-6)
    assert aborts == [(pytest.approx(1006.5, abs=1e-6), "no pong within 0.5 s")]


def test_run_keepalive_retries_soon_after_a_busy_send() -> None:
    _, pings, aborts, attempts = drive(interval=1.0, timeout=1.0, silence=10.0, answered=0, busy=2)
    assert attempts == 3  # two skipped while a frame was written, then sent
    assert pings == pytest.approx([1001.0 + 2 * keepalive.BUSY_RETRY], abs=1e-6)
    assert aborts[0][1] == "no pong within 1.0 s"


def test_run_keepalive_stops_when_the_ping_finds_the_connection_dead() -> None:
    clock = Clock()
    times = Times(clock.now)
    aborts: list[str] = []
    keepalive.run_keepalive(
        times,
        1.0,
        1.0,
        10.0,
        ping=lambda now: "dead",
        abort=aborts.append,
        wait=Done(clock, 100.0).wait,
        clock=clock.monotonic,
    )
    assert clock.now == pytest.approx(1001.0) and aborts == []  # left to the reader


def test_run_keepalive_returns_when_the_connection_is_done() -> None:
    times, pings, aborts, _ = drive(interval=1.0, timeout=1.0, silence=10.0, answered=99, limit=5)
    assert len(pings) == 5 and aborts == [] and times.ping_sent is None


def test_watchdog_step_silence_and_next_wake() -> None:
    # Nothing awaited: the next look is the next ping.
    assert keepalive.watchdog_step(10.0, 9.0, 9.5, None, 1.0, 2.0, 5.0) == (None, False, 10.5)
    # A ping is due: the next look is its pong deadline at the latest.
    assert keepalive.watchdog_step(10.0, 9.0, 9.0, None, 1.0, 2.0, 5.0) == (None, True, 12.0)
    # A pong is awaited: its deadline.
    assert keepalive.watchdog_step(10.0, 9.0, 9.5, 9.5, 3.0, 2.0, 5.0) == (None, False, 11.5)
    assert keepalive.watchdog_step(14.0, 9.0, 9.5, None, 1.0, 9.0, 5.0)[0] == (
        "nothing received for 5.0 s"
    )
