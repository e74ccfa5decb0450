"""Balances (available and reserved per asset), collected fees and trailing trade volume.

Conservation: for every asset, the sum over users of available + reserved, plus the fees
collected, changes only through deposits (``credit``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass


class Account:
    """One user's money. ``available`` is what ``BalanceChanged``/``GetBalances`` report."""

    __slots__ = ("available", "reserved", "volume")

    def __init__(self) -> None:
        self.available: dict[int, int] = {}
        self.reserved: dict[int, int] = {}
        self.volume: dict[int, int] = {}

    def assets(self) -> list[int]:
        return sorted(self.available.keys() | self.reserved.keys())


@dataclass(frozen=True, slots=True)
class Trade:
    """One execution, as kept for the trailing volume window and the durable trade log."""

    seq: int
    time: int  # microseconds
    base: int
    counter: int
    price: int
    quantity: int
    total: int
    buyer: int
    seller: int

    def row(self) -> list[int]:
        return [
            self.time,
            self.base,
            self.counter,
            self.price,
            self.quantity,
            self.total,
            self.buyer,
            self.seller,
        ]

    @classmethod
    def from_row(cls, seq: int, row: list[int]) -> Trade:
        return cls(seq, *row)


class VolumeLog:
    """Trades within the trailing volume window, with each user's per-asset volume.

    Both parties of a trade add its quantity to their base-asset volume and its total to their
    counter-asset volume (a self-trade counts once).
    """

    __slots__ = ("trades", "window_us")

    def __init__(self, window_us: int) -> None:
        self.window_us = window_us
        self.trades: deque[Trade] = deque()

    def add(self, trade: Trade, accounts: dict[int, Account]) -> None:
        self.trades.append(trade)
        for user in {trade.buyer, trade.seller}:
            vol = accounts[user].volume
            vol[trade.base] = vol.get(trade.base, 0) + trade.quantity
            vol[trade.counter] = vol.get(trade.counter, 0) + trade.total

    def expire(self, now_us: int, accounts: dict[int, Account]) -> Iterator[tuple[Trade, int]]:
        """Drop trades older than the window; yield (trade, user) for each volume reduced."""
        cutoff = now_us - self.window_us
        trades = self.trades
        while trades and trades[0].time <= cutoff:
            trade = trades.popleft()
            for user in {trade.buyer, trade.seller}:
                vol = accounts[user].volume
                vol[trade.base] -= trade.quantity
                vol[trade.counter] -= trade.total
                yield trade, user
