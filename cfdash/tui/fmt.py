"""Wire integers to display text, through ``Decimal`` (exact, never float)."""

from __future__ import annotations

import time
from decimal import Decimal

from cfdash.core.assets import Pair, Scales, asset_name, from_wire

DASH = "—"


def places(scale: int) -> int:
    return len(str(scale)) - 1


def amount(value: int | None, scale: int, *, sign: bool = False) -> str:
    """``value`` at ``scale`` with all its places and thousands separators."""
    if value is None:
        return DASH
    dec: Decimal = from_wire(value, scale)
    spec = f"{'+' if sign else ''},.{places(scale)}f"
    return format(dec, spec)


def price(scales: Scales, pair: Pair, value: int | None, *, sign: bool = False) -> str:
    return amount(value, scales.price_scale(pair), sign=sign)


def quantity(scales: Scales, pair: Pair, value: int | None) -> str:
    return amount(value, scales.asset(pair.base))


def total(scales: Scales, pair: Pair, value: int | None) -> str:
    return amount(value, scales.asset(pair.counter))


def asset_amount(scales: Scales, asset: int, value: int | None) -> str:
    return amount(value, scales.asset(asset))


def base_name(pair: Pair) -> str:
    return asset_name(pair.base)


def counter_name(pair: Pair) -> str:
    return asset_name(pair.counter)


def percent(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros: 0.0025 -> "0.25%"."""
    text = format((rate * 100).normalize(), "f")
    return f"{text}%"


def clock(epoch: float) -> str:
    """UTC wall-clock time, HH:MM:SS (UTC keeps screenshots and tests deterministic)."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


def micros_clock(micros: int) -> str:
    return clock(micros // 1_000_000)


def age(seconds: float) -> str:
    """A compact age: 42s, 5m, 3h, 2d."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"
