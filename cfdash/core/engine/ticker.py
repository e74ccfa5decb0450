"""Per-pair ticker state: the last trade price and the trailing 24 h low, high and volume.

Trades are compacted into time buckets, so memory does not grow with the trade rate: a bucket
opens at the time of the first trade that does not fit the previous one and takes every trade
of the next ``bucket_us`` (one minute by default) as ``[start, low, high, volume]``. A bucket
leaves the window once its start is ``window_us`` old, so a trade counts for between
``window_us - bucket_us`` and ``window_us`` (exactly ``window_us`` for the first trade of its
bucket) and never longer. At most ``window_us / bucket_us + 1`` buckets are kept per pair.
"""

from __future__ import annotations

from collections import deque
from typing import Final

DAY_US: Final = 24 * 3600 * 1_000_000
MINUTE_US: Final = 60 * 1_000_000

FIELDS: Final = ("last", "bid", "ask", "low", "high", "volume")


class TickerWindow:
    """``low``/``high`` are None and ``volume`` 0 while no bucket is in the window.

    ``dirty`` maps the start of every bucket changed since the durability layer last looked
    to the bucket itself (a ``[start, low, high, volume]`` list).
    """

    __slots__ = ("bucket_us", "buckets", "dirty", "high", "last", "low", "volume", "window_us")

    def __init__(self, window_us: int = DAY_US, bucket_us: int = MINUTE_US) -> None:
        self.window_us = window_us
        self.bucket_us = bucket_us
        self.last: int | None = None
        self.low: int | None = None
        self.high: int | None = None
        self.volume = 0
        self.buckets: deque[list[int]] = deque()
        self.dirty: dict[int, list[int]] = {}

    def add(self, time: int, price: int, quantity: int) -> bool:
        """Count one trade (times never decrease); True if it opened a new bucket."""
        self.last = price
        self.volume += quantity
        low = self.low
        if low is None:
            self.low = self.high = price
        elif price < low:
            self.low = price
        elif price > self.high:  # type: ignore[operator]
            self.high = price
        buckets = self.buckets
        if buckets:
            bucket = buckets[-1]
            if time < bucket[0] + self.bucket_us:
                if price < bucket[1]:
                    bucket[1] = price
                elif price > bucket[2]:
                    bucket[2] = price
                bucket[3] += quantity
                self.dirty[bucket[0]] = bucket
                return False
        bucket = [time, price, price, quantity]
        buckets.append(bucket)
        self.dirty[time] = bucket
        return True

    def restore(self, start: int, low: int, high: int, volume: int) -> None:
        """Put back a stored bucket (in start order, before any ``add``)."""
        self.buckets.append([start, low, high, volume])
        self.volume += volume
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def next_expiry(self) -> int | None:
        """When the oldest bucket leaves the window (None if there is none)."""
        return self.buckets[0][0] + self.window_us if self.buckets else None

    def expire(self, now_us: int) -> list[int]:
        """Drop the buckets that left the window; return their starts."""
        buckets = self.buckets
        cutoff = now_us - self.window_us
        dropped: list[int] = []
        rescan = False
        while buckets and buckets[0][0] <= cutoff:
            start, low, high, volume = buckets.popleft()
            dropped.append(start)
            self.dirty.pop(start, None)
            self.volume -= volume
            rescan = rescan or low == self.low or high == self.high
        if rescan:
            if buckets:
                self.low = min(b[1] for b in buckets)
                self.high = max(b[2] for b in buckets)
            else:
                self.low = self.high = None
        return dropped
