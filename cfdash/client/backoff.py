"""Reconnection delays: exponential backoff with full jitter.

The first retry is immediate (a dropped connection is usually a blip); later ones wait a
uniformly random time in ``[0, min(cap, base * 2**n))``. ``reset`` after a stable connection.
"""

from __future__ import annotations

import random


class Backoff:
    __slots__ = ("_random", "attempts", "base", "cap")

    def __init__(
        self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        self.base = base
        self.cap = cap
        self.attempts = 0
        self._random = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt (and count it)."""
        n = self.attempts
        self.attempts += 1
        if n == 0:
            return 0.0
        return self._random.uniform(0.0, min(self.cap, self.base * 2 ** min(n, 32)))

    def reset(self) -> None:
        self.attempts = 0
