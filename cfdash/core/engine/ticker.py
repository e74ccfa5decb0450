"""Per-pair ticker state: last trade price and the trailing 24 h low, high and volume.

Low and high over the sliding window use monotonic deques (amortised O(1) per trade).
"""

from __future__ import annotations

from collections import deque

DAY_US = 24 * 3600 * 1_000_000

FIELDS = ("last", "bid", "ask", "low", "high", "volume")


class TradeWindow:
    __slots__ = ("_maxq", "_minq", "last", "trades", "volume", "window_us")

    def __init__(self, window_us: int = DAY_US) -> None:
        self.window_us = window_us
        self.last: int | None = None
        self.volume = 0
        self.trades: deque[tuple[int, int, int, int]] = deque()  # (seq, time, price, qty)
        self._minq: deque[tuple[int, int]] = deque()  # (seq, price), prices increasing
        self._maxq: deque[tuple[int, int]] = deque()  # (seq, price), prices decreasing

    def add(self, seq: int, time: int, price: int, quantity: int) -> None:
        self.last = price
        self.trades.append((seq, time, price, quantity))
        self.volume += quantity
        minq = self._minq
        while minq and minq[-1][1] >= price:
            minq.pop()
        minq.append((seq, price))
        maxq = self._maxq
        while maxq and maxq[-1][1] <= price:
            maxq.pop()
        maxq.append((seq, price))

    def expire(self, now_us: int) -> bool:
        """Drop trades that left the window; True if any did."""
        cutoff = now_us - self.window_us
        trades = self.trades
        if not trades or trades[0][1] > cutoff:
            return False
        while trades and trades[0][1] <= cutoff:
            seq, _, _, qty = trades.popleft()
            self.volume -= qty
            if self._minq and self._minq[0][0] <= seq:
                self._minq.popleft()
            if self._maxq and self._maxq[0][0] <= seq:
                self._maxq.popleft()
        return True

    @property
    def low(self) -> int | None:
        return self._minq[0][1] if self._minq else None

    @property
    def high(self) -> int | None:
        return self._maxq[0][1] if self._maxq else None
