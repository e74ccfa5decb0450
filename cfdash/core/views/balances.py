"""The user's balances (available, reserved from own open orders) and trade volumes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .orders import OwnOrders


class Balances:
    """Available balances (GetBalances, BalanceChanged) and reserved ones from own orders."""

    name = "balances"

    def __init__(self, orders: OwnOrders | None = None) -> None:
        self.orders = orders
        self._available: dict[int, int] = {}
        self._version = 0

    @property
    def version(self) -> int:
        """Moves when an available or a reserved balance changes."""
        return self._version + (self.orders.reserve_version if self.orders else 0)

    def load(self, balances: Iterable[Mapping[str, Any]]) -> None:
        """Replace the available balances with a GetBalances reply's ``balances``."""
        self._available = {b["asset"]: b["balance"] for b in balances}
        self._version += 1

    def apply(self, notice: Mapping[str, Any]) -> bool:
        """A ``BalanceChanged`` notice (``balance`` is the new available amount)."""
        if notice.get("notice") != "BalanceChanged":
            return False
        return self.changed(notice)

    def changed(self, n: Mapping[str, Any]) -> bool:
        asset = n["asset"]
        balance = n["balance"]
        if self._available.get(asset) == balance:
            return False
        self._available[asset] = balance
        self._version += 1
        return True

    def available(self, asset: int) -> int:
        return self._available.get(asset, 0)

    def reserved(self, asset: int) -> int:
        return self.orders.reserved(asset) if self.orders else 0

    def total(self, asset: int) -> int:
        return self.available(asset) + self.reserved(asset)

    def assets(self) -> list[int]:
        """Every asset with a known available balance or a reservation, by code."""
        held = set(self._available)
        if self.orders:
            held.update(self.orders.reserved_assets())
        return sorted(held)

    def clear(self) -> None:
        self._available = {}
        self._version += 1


class TradeVolumes:
    """The user's 30-day trade volume per asset (GetTradeVolume, TradeVolumeChanged)."""

    name = "volume"

    def __init__(self) -> None:
        self._volume: dict[int, int] = {}
        self.version = 0

    def set(self, asset: int, volume: int) -> bool:
        if self._volume.get(asset) == volume:
            return False
        self._volume[asset] = volume
        self.version += 1
        return True

    def apply(self, notice: Mapping[str, Any]) -> bool:
        if notice.get("notice") != "TradeVolumeChanged":
            return False
        return self.set(notice["asset"], notice["volume"])

    def get(self, asset: int) -> int | None:
        return self._volume.get(asset)
