"""Wire integers to display text, through ``Decimal`` (exact, never float)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache

from cfdash.core.assets import Pair, Scales, asset_name, from_wire

DASH = "—"


def places(scale: int) -> int:
    return len(str(scale)) - 1


def needed_places(value: int, scale: int, *, keep: int = 0) -> int:
    """The fewest decimal places that show ``value`` (wire units at ``scale``) exactly, but at
    least ``keep`` (and never more than the scale has)."""
    digits = places(scale)
    fraction = abs(value) % scale
    if fraction == 0:
        return min(keep, digits)
    while fraction % 10 == 0:
        fraction //= 10
        digits -= 1
    return max(digits, min(keep, places(scale)))


@lru_cache(maxsize=16384)
def amount(
    value: int | None, scale: int, *, sign: bool = False, decimals: int | None = None
) -> str:
    """``value`` at ``scale`` with thousands separators and all its places, or ``decimals``
    places: fewer only drops trailing zeros (``ValueError`` if that would round). Cached: the
    book's prices and sizes come round again and again (a ladder redraws ~60 rows a frame)."""
    if value is None:
        return DASH
    dec: Decimal = from_wire(value, scale)
    shown = places(scale) if decimals is None else decimals
    if shown < needed_places(value, scale):
        raise ValueError(f"{dec} has more than {shown} decimal places")
    spec = f"{'+' if sign else ''},.{shown}f"
    return format(dec, spec)


def trimmed(value: int | None, scale: int, *, keep: int = 2, whole: bool = False) -> str:
    """``value`` without trailing zeros past ``keep`` places: 0.05000000 -> "0.05" (exact);
    ``whole``: a whole amount without any ("1,000,000" rather than "1,000,000.00")."""
    if value is None:
        return DASH
    decimals = needed_places(value, scale, keep=keep)
    if whole and value % scale == 0:
        decimals = 0
    return amount(value, scale, decimals=decimals)


def column(values: Sequence[int | None], scale: int, *, keep: int = 2) -> list[str]:
    """Amounts of one column with a common number of places, as few as shows every one
    exactly (so the decimal points still line up); None is shown as a dash."""
    needed = [needed_places(v, scale, keep=keep) for v in values if v is not None]
    shown = max(needed, default=keep)
    return [amount(v, scale, decimals=shown) for v in values]


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


def cut(value: int | None, scale: int, decimals: int, *, keep: int = 0) -> str:
    """``value`` with at most ``decimals`` places (``keep`` at least, if the scale has them):
    exact when that is enough, else truncated toward zero and marked "…" (so a column too
    narrow for the whole amount never shows a wrong one as if it were exact)."""
    if value is None:
        return DASH
    decimals = min(decimals, places(scale))
    needed = needed_places(value, scale, keep=min(keep, decimals))
    if needed <= decimals:
        return amount(value, scale, decimals=needed)
    step = scale // 10**decimals
    kept = abs(value) // step * step
    return amount(kept if value >= 0 else -kept, scale, decimals=decimals) + "…"


def plural(count: int, noun: str) -> str:
    """'1 order', '2 orders'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
