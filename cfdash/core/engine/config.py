"""The engine's configuration: scales, fees, limits and the trailing windows."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..assets import V2, Scales


@dataclass(frozen=True)
class EngineConfig:
    scales: Scales = V2
    maker_fee: Fraction = Fraction(0)  # fee rate on the resting order's owner
    taker_fee: Fraction = Fraction(25, 10000)  # 0.25 % on the aggressor
    max_open_orders: int = 1000  # per user (LIMITS.md)
    auth_limit: tuple[int, float] = (1000, 3600.0)  # attempts per window, per user
    order_limit: tuple[int, float] = (1000, 1000.0)  # placements+cancels+estimates per user
    # (per session when unauthenticated)
    info_limit: tuple[int, float] = (10, 10.0)  # balances/orders/volume per session
    # The exchange's own limits (not in LIMITS.md; see limits.py): failed authentications
    # (unknown user, wrong cookie) per connection and per peer address, anonymous order
    # placements/estimates per peer address, WatchOrders/WatchTicker toggles per connection
    # and per peer address.
    session_auth_fail_limit: tuple[int, float] = (100, 3600.0)
    address_auth_fail_limit: tuple[int, float] = (1000, 3600.0)
    address_order_limit: tuple[int, float] = (1000, 1000.0)
    watch_limit: tuple[int, float] = (100, 10.0)
    address_watch_limit: tuple[int, float] = (1000, 100.0)
    snapshot_depth: int = 1000
    volume_window: float = 30 * 86400.0  # GetTradeVolume trailing window (seconds)
    volume_bucket: float = 3600.0  # its granularity (see accounts.VolumeWindow)
    ticker_window: float = 86400.0  # the ticker's low/high/volume window (seconds)
    ticker_bucket: float = 60.0  # its granularity (see ticker.TickerWindow)
