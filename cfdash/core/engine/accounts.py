"""Balances (available and reserved per asset), collected fees and trailing trade volume.

Conservation: for every asset, the sum over users of available + reserved, plus the fees
collected, changes only through deposits (``credit``).

Trailing volume is kept in time buckets rather than per trade, so memory is bounded by the
window whatever the trade rate: a bucket opens at the time of the first trade that does not fit
the previous one, holds each user's per-asset volume for the next ``bucket_us`` (one hour by
default) and leaves the window once its start is ``window_us`` old. A trade therefore counts for
between ``window_us - bucket_us`` and ``window_us`` (exactly ``window_us`` for the first trade of
its bucket), never longer; at most ``window_us / bucket_us + 1`` buckets exist.
"""

from __future__ import annotations

from collections import deque
from typing import Final

HOUR_US: Final = 3600 * 1_000_000


class Account:
    """One user's money. ``available`` is what ``BalanceChanged``/``GetBalances`` report;
    ``volume`` is the trailing trade volume per asset (the sum of the user's buckets)."""

    __slots__ = ("available", "reserved", "volume")

    def __init__(self) -> None:
        self.available: dict[int, int] = {}
        self.reserved: dict[int, int] = {}
        self.volume: dict[int, int] = {}

    def assets(self) -> list[int]:
        return sorted(self.available.keys() | self.reserved.keys())


class VolumeBucket:
    """``amounts``: user -> asset -> volume traded in this bucket; ``dirty``: users whose
    amounts changed since the durability layer last looked."""

    __slots__ = ("amounts", "dirty", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.amounts: dict[int, dict[int, int]] = {}
        self.dirty: set[int] = set()


class VolumeWindow:
    """The buckets of the trailing volume window, oldest first.

    ``dirty`` maps the start of every bucket with dirty users to the bucket.
    """

    __slots__ = ("bucket_us", "buckets", "dirty", "tail", "window_us")

    def __init__(self, window_us: int, bucket_us: int = HOUR_US) -> None:
        self.window_us = window_us
        self.bucket_us = bucket_us
        self.buckets: deque[VolumeBucket] = deque()
        self.tail: VolumeBucket | None = None
        self.dirty: dict[int, VolumeBucket] = {}

    def current(self, now_us: int) -> VolumeBucket:
        """The bucket a trade at ``now_us`` (never earlier than the last) belongs to."""
        tail = self.tail
        if tail is None or now_us >= tail.start + self.bucket_us:
            tail = self.tail = VolumeBucket(now_us)
            self.buckets.append(tail)
        return tail

    def add(
        self, bucket: VolumeBucket, user: int, account: Account, asset: int, amount: int
    ) -> None:
        """Add ``amount`` of ``asset`` to the user's volume, in ``bucket`` and in total."""
        amounts = bucket.amounts.get(user)
        if amounts is None:
            amounts = bucket.amounts[user] = {}
        amounts[asset] = amounts.get(asset, 0) + amount
        volume = account.volume
        volume[asset] = volume.get(asset, 0) + amount
        bucket.dirty.add(user)
        self.dirty[bucket.start] = bucket

    def add_trade(
        self,
        bucket: VolumeBucket,
        buyer: int,
        buyer_account: Account,
        seller: int,
        seller_account: Account,
        base: int,
        quantity: int,
        counter: int,
        total: int,
    ) -> None:
        """``add`` of one trade's base quantity and counter total to both parties (once to a
        user who traded with themself)."""
        by_user = bucket.amounts
        amounts = by_user.get(buyer)
        if amounts is None:
            amounts = by_user[buyer] = {}
        amounts[base] = amounts.get(base, 0) + quantity
        amounts[counter] = amounts.get(counter, 0) + total
        volume = buyer_account.volume
        volume[base] = volume.get(base, 0) + quantity
        volume[counter] = volume.get(counter, 0) + total
        dirty = bucket.dirty
        dirty.add(buyer)
        if seller != buyer:
            amounts = by_user.get(seller)
            if amounts is None:
                amounts = by_user[seller] = {}
            amounts[base] = amounts.get(base, 0) + quantity
            amounts[counter] = amounts.get(counter, 0) + total
            volume = seller_account.volume
            volume[base] = volume.get(base, 0) + quantity
            volume[counter] = volume.get(counter, 0) + total
            dirty.add(seller)
        self.dirty[bucket.start] = bucket

    def restore(self, start: int, user: int, account: Account, amounts: dict[int, int]) -> None:
        """Put back a stored (bucket, user) row; rows must come in start order."""
        tail = self.tail
        if tail is None or tail.start != start:
            tail = self.tail = VolumeBucket(start)
            self.buckets.append(tail)
        tail.amounts[user] = amounts
        volume = account.volume
        for asset, amount in amounts.items():
            volume[asset] = volume.get(asset, 0) + amount

    def next_expiry(self) -> int | None:
        return self.buckets[0].start + self.window_us if self.buckets else None

    def expire(self, now_us: int) -> list[VolumeBucket]:
        """Drop the buckets that left the window and return them (the caller takes their
        amounts off the accounts)."""
        buckets = self.buckets
        cutoff = now_us - self.window_us
        dropped: list[VolumeBucket] = []
        while buckets and buckets[0].start <= cutoff:
            bucket = buckets.popleft()
            self.dirty.pop(bucket.start, None)
            dropped.append(bucket)
        if not buckets:
            self.tail = None
        return dropped
