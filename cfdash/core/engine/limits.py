"""Sliding-window rate limiters for the LIMITS.md buckets (pure: callers pass ``now``)."""

from __future__ import annotations

from collections import deque


class RateLimiter:
    """At most ``limit`` events in any trailing ``window`` seconds (an exact sliding log).

    Memory is bounded by ``limit`` timestamps and by the events of the last ``window``: old
    events are dropped on every call, so a lifted limit (benchmarks, tests) cannot turn the log
    into a leak. A refused attempt is not recorded, so a client that backs off regains capacity
    as its old events age out.
    """

    __slots__ = ("_events", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """Record an event at ``now`` and return True, or return False if over the limit."""
        events = self._events
        horizon = now - self.window
        while events and events[0] <= horizon:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True
