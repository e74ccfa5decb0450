"""Automatic tonces: strictly increasing across runs without a state file.

A tonce is microseconds since the epoch, bumped past the previous one when the clock has not
moved (or went back) within this process: ``max(last + 1, now_us)``. Across runs it stays
increasing as long as the wall clock does not go back by more than the time between runs and
fewer than a million orders a second were placed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TonceClock:
    """Hands out strictly increasing tonces (thread-safe)."""

    __slots__ = ("_clock", "_last", "_lock")

    def __init__(self, clock: Callable[[], int] = time.time_ns, last: int = 0) -> None:
        self._clock = clock
        self._last = last
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            tonce = max(self._last + 1, self._clock() // 1000)
            self._last = tonce
            return tonce

    @property
    def last(self) -> int:
        """The last tonce handed out (0 before the first)."""
        return self._last
