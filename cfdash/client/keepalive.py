"""The keep-alive: ping on schedule, and declare a silent connection dead (sans clock).

``watchdog_step`` is the decision at one instant; ``run_keepalive`` is the loop the client's
keep-alive thread runs, with the clock, the wait, the ping and the abort injected, so that its
schedule can be checked on a fake clock without a socket, a thread or a sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, Protocol

__all__ = ["Liveness", "PingResult", "run_keepalive", "watchdog_step"]

PingResult = Literal["sent", "busy", "dead"]
"""What a ping attempt did: sent; skipped as a frame is being written; the connection is gone."""

BUSY_RETRY = 0.05
"""How soon a ping skipped because another frame was being written is tried again (s)."""


class Liveness(Protocol):
    """The times the keep-alive reads (monotonic seconds), kept by the connection.

    ``last_rx``: the last frame received; ``last_ping``: the last ping sent; ``ping_sent``: the
    ping awaiting its pong (None once answered)."""

    last_rx: float
    last_ping: float
    ping_sent: float | None


def watchdog_step(
    now: float,
    last_rx: float,
    last_ping: float,
    ping_sent: float | None,
    interval: float,
    timeout: float,
    silence: float,
) -> tuple[str | None, bool, float]:
    """The keep-alive's decision at ``now``: (why the connection is dead or None, whether a
    ping is due, when to look again). The next look is the nearest deadline, so a missed pong
    is caught ``timeout`` after its ping, and silence ``silence`` after the last frame."""
    # The pong deadline, while nothing at all came since the ping.
    pong_by = ping_sent + timeout if ping_sent is not None and last_rx < ping_sent else None
    if pong_by is not None and now >= pong_by:
        return f"no pong within {timeout} s", False, now
    if now >= last_rx + silence:
        return f"nothing received for {silence} s", False, now
    due = ping_sent is None and now >= last_ping + interval
    wake = last_rx + silence
    if pong_by is not None:
        wake = min(wake, pong_by)
    if due:
        wake = min(wake, now + timeout)  # the pong deadline of the ping about to go
    elif last_ping + interval > now:
        wake = min(wake, last_ping + interval)
    return None, due, wake


def run_keepalive(
    link: Liveness,
    interval: float,
    timeout: float,
    silence: float,
    *,
    ping: Callable[[float], PingResult],
    abort: Callable[[str], None],
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Ping every ``interval``; abort the connection when it has gone silent; return when the
    connection is done (``wait`` returns True) or dead.

    It wakes at the nearest deadline (``watchdog_step``). ``ping(now)`` must not wait for
    another send: it returns "busy" while a frame is being written (that write is bounded),
    and the ping is tried again soon; ``abort(reason)`` must work whatever the sender holds.
    """
    while True:
        now = clock()
        dead, due, wake = watchdog_step(
            now, link.last_rx, link.last_ping, link.ping_sent, interval, timeout, silence
        )
        if dead is not None:
            abort(dead)
            return
        if due:
            result = ping(now)
            if result == "sent":
                continue  # the new pong deadline
            if result == "dead":
                return  # aborted: the reader notices
            wake = min(wake, now + BUSY_RETRY)  # a frame is being written: try again soon
        if wait(min(max(wake - clock(), 0.001), 60.0)):
            return
