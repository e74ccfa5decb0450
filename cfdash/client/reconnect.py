"""The reconnection schedule: when the next attempt is due, how many were made, hastening it.

``WSClient``'s event thread asks ``next_delay`` before each attempt, waits on ``hurry`` (set by
``reconnect_now`` and ``stop``), and calls ``stable`` once a connection lasted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .backoff import Backoff

__all__ = ["Reconnector"]


class Reconnector:
    """Backoff with full jitter (``Backoff``), bounded by ``max_attempts`` (None: for ever)."""

    __slots__ = ("_clock", "_wall", "attempts", "backoff", "hurry", "max_attempts", "retry_at")

    def __init__(
        self,
        base: float,
        cap: float,
        max_attempts: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.backoff = Backoff(base, cap)
        self.max_attempts = max_attempts
        self.attempts = 0
        """Attempts since the last stable connection."""
        self.retry_at: tuple[float, float] | None = None
        """When the next attempt is due (monotonic, wall clock), while waiting for it."""
        self.hurry = threading.Event()
        """Set by ``reconnect_now`` (and ``stop``): the wait ends at once."""
        self._clock = clock
        self._wall = wall

    def next_delay(self) -> float | None:
        """The wait before the next attempt, counted and scheduled (``retry_at``); None once
        ``max_attempts`` are spent."""
        if self.max_attempts is not None and self.attempts >= self.max_attempts:
            return None
        delay = self.backoff.next_delay()
        if self.hurry.is_set():  # reconnect_now: no wait
            delay = 0.0
        self.attempts += 1
        self.retry_at = (self._clock() + delay, self._wall() + delay)
        return delay

    def next_retry_in(self) -> float | None:
        """Seconds until the next attempt (None unless waiting for one)."""
        at = self.retry_at
        return None if at is None else max(0.0, at[0] - self._clock())

    def stable(self) -> None:
        """A connection lasted: the next drop retries at once, from attempt 1."""
        self.backoff.reset()
        self.attempts = 0
