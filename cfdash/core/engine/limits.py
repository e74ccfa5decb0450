"""Rate limiters: the LIMITS.md buckets and the exchange's own per-address limits.

Pure: callers pass ``now``. The spec's limits are per user (authentication attempts, order
placements) or per session (information requests). A stranger could exhaust the first and
multiply the second by opening connections, so the engine adds (``Commands``):

- authentication: only attempts that carry the user's right cookie count against the user's
  1000 an hour; an unknown user or a wrong cookie counts against the connection and its peer
  address instead, and once either is used up the address gets error 6 without its cookie
  being checked (no guessing oracle);
- anonymous order placements and estimates count against the peer address as well as the
  connection;
- WatchOrders/WatchTicker toggles (each may return a ~100 KB snapshot) count against the
  connection and the peer address.

Peer addresses are plain data given to ``ExchangeCore.connect`` (``address_key`` groups an
IPv6 /64, where one host usually holds many addresses). A session without an address
(in-process callers) gets only the per-connection limits. Limits live in memory: a restart
resets them (see ``cfdash serve --help``).
"""

from __future__ import annotations

import ipaddress
from collections import deque
from typing import Final

WATCH_TOO_RAPID: Final = "You are changing subscriptions too rapidly."
"""Error 6 for WatchOrders/WatchTicker over their limit (the spec has no text for it)."""


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

    def full(self, now: float) -> bool:
        """Whether an event at ``now`` would be refused (nothing is recorded)."""
        events = self._events
        horizon = now - self.window
        while events and events[0] <= horizon:
            events.popleft()
        return len(events) >= self.limit

    def idle(self, now: float) -> bool:
        """Whether every recorded event has left the window (the limiter can be forgotten)."""
        events = self._events
        return not events or events[-1] <= now - self.window


class KeyedLimiter:
    """One ``RateLimiter`` per key (a peer address), made on first use.

    Keys whose events have all left the window are dropped whenever the table has doubled
    since the last sweep, so memory is bounded by the keys active in the last window
    (amortised O(1) per call).
    """

    __slots__ = ("_by_key", "_sweep_at", "limit", "window")

    MIN_SWEEP: Final = 1024

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._by_key: dict[str, RateLimiter] = {}
        self._sweep_at = self.MIN_SWEEP

    def __len__(self) -> int:
        return len(self._by_key)

    def _get(self, key: str, now: float) -> RateLimiter:
        limiter = self._by_key.get(key)
        if limiter is None:
            if len(self._by_key) >= self._sweep_at:
                self.sweep(now)
            limiter = self._by_key[key] = RateLimiter(self.limit, self.window)
        return limiter

    def allow(self, key: str, now: float) -> bool:
        """``RateLimiter.allow`` for ``key``."""
        return self._get(key, now).allow(now)

    def full(self, key: str, now: float) -> bool:
        """``RateLimiter.full`` for ``key`` (an unknown key is not full and is not added)."""
        limiter = self._by_key.get(key)
        return limiter is not None and limiter.full(now)

    def sweep(self, now: float) -> None:
        """Forget the keys with no event in the window."""
        self._by_key = {k: v for k, v in self._by_key.items() if not v.idle(now)}
        self._sweep_at = max(self.MIN_SWEEP, 2 * len(self._by_key))


def address_key(address: str | None) -> str | None:
    """The key a peer address is limited under: an IPv4 address as is (an IPv4-mapped IPv6
    one unwrapped), an IPv6 address by its /64; anything else (a socket path) verbatim."""
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
