"""Checking a notice's shape before it reaches the local views.

The views trust the fields they read: they run on every notice and stay lean. A notice that
lacks one of those fields, or carries something other than an integer in one, would raise
half-way through and could leave a view half-changed. ``notice_problem`` spots such a notice
first (a few dict lookups, far cheaper than a full ``core.messages.parse_notice``) so that the
client can report it and skip it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_REQUIRED: dict[str, tuple[str, ...]] = {
    "BalanceChanged": ("asset", "balance"),
    "OrderOpened": ("id", "base", "counter", "quantity", "price"),
    "OrdersMatched": ("base", "counter", "quantity", "price", "total"),
    "OrderClosed": ("id", "base", "counter", "quantity", "price"),
    "TickerChanged": ("base", "counter"),
    "TradeVolumeChanged": ("asset", "volume"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "BalanceChanged": (),
    "OrderOpened": ("tonce", "time"),
    "OrdersMatched": (
        "bid",
        "ask",
        "bid_tonce",
        "ask_tonce",
        "bid_rem",
        "ask_rem",
        "time",
        "bid_base_fee",
        "bid_counter_fee",
        "ask_base_fee",
        "ask_counter_fee",
    ),
    "OrderClosed": ("tonce",),
    "TickerChanged": ("last", "bid", "ask", "low", "high", "volume"),
    "TradeVolumeChanged": (),
}
VIEW_NOTICES = frozenset(_REQUIRED)
"""The notices the local views apply (Welcome is handled by the connection itself)."""


def notice_problem(message: Mapping[str, Any]) -> str | None:
    """Why ``message`` (a known notice) cannot be applied, or None when it can."""
    name = message["notice"]
    for field in _REQUIRED[name]:
        if type(message.get(field)) is not int:
            return f"{name} notice without an integer {field!r}"
    for field in _OPTIONAL[name]:
        value = message.get(field)
        if value is not None and type(value) is not int:
            return f"{name} notice with a non-integer {field!r}"
    return None
