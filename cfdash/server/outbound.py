"""Bounds on what the exchange holds for its readers, across connections (sans-I/O).

One request can make the server render far more than it read (a ``WatchOrders`` snapshot is
~100 kB for an ~80-byte request), so a per-connection send limit alone does not bound memory:
many connections that never read would each fill theirs. ``OutputBudget`` bounds the total,
choosing the readers furthest behind to drop; ``AddressCap`` bounds the connections of one
address. Both only count: the I/O shell (``cfdash.server.app``) closes and refuses.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Final, TypeVar

from cfdash.core.engine.limits import address_key

K = TypeVar("K", bound=Hashable)

OUTPUT_BUDGET: Final = 32 * 1024 * 1024
"""Bytes held for all readers together (queued and in the transports' buffers)."""
PAUSE_AT: Final = 64 * 1024
"""A connection whose reader has not taken this many bytes (held, or in the socket) is not
read until it takes half: it cannot make the server render much more than it reads."""
STALL_TIMEOUT: Final = 10.0
"""A connection paused (see ``PAUSE_AT``) whose reader takes nothing for this many seconds is
closed as a slow reader."""
MAX_PER_ADDRESS: Final = 64
"""Connections from one IP address at once (0 = no cap)."""


class OutputBudget:
    """The bytes held for every reader together, checked cheaply.

    Between exact counts the held total can only grow by what was queued since (writing and
    draining only move or free bytes), so ``last count + queued since`` bounds it from above;
    only when that bound passes the limit does the caller count exactly (``settle``).
    """

    __slots__ = ("_bound", "limit")

    def __init__(self, limit: int = OUTPUT_BUDGET) -> None:
        self.limit = limit  # 0: no budget
        self._bound = 0

    def queued(self, size: int) -> bool:
        """``size`` more bytes queued: whether the caller must count (``settle``) now."""
        self._bound += size
        return 0 < self.limit < self._bound

    def settle(self, held: Mapping[K, int]) -> list[K]:
        """Given what each reader holds now: the readers to drop, furthest behind first,
        so that the rest hold at most three quarters of the limit (if over the limit)."""
        total = sum(held.values())
        drop: list[K] = []
        if 0 < self.limit < total:
            floor = self.limit * 3 // 4
            for key, size in sorted(held.items(), key=lambda item: item[1], reverse=True):
                if total <= floor:
                    break
                drop.append(key)
                total -= size
        self._bound = total
        return drop


class AddressCap:
    """How many connections each address has open; refuses one over ``limit``. An IPv6
    address counts by its /64 (one host is handed a whole /64), as the rate limits do."""

    __slots__ = ("_open", "limit")

    def __init__(self, limit: int = MAX_PER_ADDRESS) -> None:
        self.limit = limit  # 0: no cap
        self._open: dict[str, int] = {}

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (not counted) if it is at its cap."""
        address = address_key(address) or address
        count = self._open.get(address, 0)
        if 0 < self.limit <= count:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        """One admitted connection from ``address`` ended."""
        address = address_key(address) or address
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)

    def count(self, address: str) -> int:
        return self._open.get(address_key(address) or address, 0)
