"""Checking a notice's shape before it reaches the local views.

The views trust the fields they read: they run on every notice and stay lean. A notice that
lacks one of those fields, or carries something other than an integer in one, would raise
half-way through and could leave a view half-changed, and one with an id of -7 or 2**70, or
a zero price, would be believed. ``notice_problem`` spots such a notice first (a few dict
lookups and comparisons, far cheaper than a full ``core.messages.parse_notice``) so that the
client can report it and skip it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfdash.core.assets import WIRE_MAX
from cfdash.core.messages import NOTICE_FIELDS, NOTICES

_CONNECTION_NOTICES = frozenset({"Welcome"})
"""Handled by the connection itself, never by the views."""
_READ_WITH_DEFAULT = frozenset({"time"})
"""Required by the protocol, but the views read it with a default: a notice without it applies."""

VIEW_NOTICES = NOTICES - _CONNECTION_NOTICES
"""The notices the local views apply (Welcome is handled by the connection itself)."""

# Derived from the notice classes (``core.messages.NOTICE_FIELDS``), the one schema: the fields
# that must hold an integer, and those that may be absent or null but otherwise an integer.
_REQUIRED: dict[str, tuple[str, ...]] = {
    name: tuple(
        f.name for f in NOTICE_FIELDS[name] if f.required and f.name not in _READ_WITH_DEFAULT
    )
    for name in VIEW_NOTICES
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in NOTICE_FIELDS[name] if f.name not in _REQUIRED[name])
    for name in VIEW_NOTICES
}


_POSITIVE = (1, WIRE_MAX, "a positive 64-bit integer")
_NON_NEGATIVE = (0, WIRE_MAX, "a non-negative 64-bit integer")
_SIGNED = (-WIRE_MAX, WIRE_MAX, "a 64-bit integer")
_TONCE = (-(2**63), WIRE_MAX, "a 64-bit integer")
_RANGES: dict[str, tuple[int, int, str]] = {
    **dict.fromkeys(("id", "bid", "ask", "price", "last", "low", "high"), _POSITIVE),
    **dict.fromkeys(("tonce", "bid_tonce", "ask_tonce"), _TONCE),
}
"""Field ranges by name (ids, prices: positive; tonces: 64-bit); any other field is an
amount, a time or an asset code (non-negative), except a signed quantity (below)."""
_SIGNED_QUANTITY = frozenset({"OrderOpened", "OrderClosed"})


def _range(notice: str, field: str) -> tuple[int, int, str]:
    if field == "quantity":
        return _SIGNED if notice in _SIGNED_QUANTITY else _POSITIVE
    return _RANGES.get(field, _NON_NEGATIVE)


_CHECKS: dict[str, tuple[tuple[str, bool, int, int, str], ...]] = {
    name: tuple(
        (field, field in _REQUIRED[name], *_range(name, field))
        for field in (*_REQUIRED[name], *_OPTIONAL[name])
    )
    for name in VIEW_NOTICES
}
"""Per notice: (field, required, lowest, highest, what it must be)."""


def notice_problem(message: Mapping[str, Any]) -> str | None:
    """Why ``message`` (a known notice) cannot be applied, or None when it can."""
    name = message["notice"]
    for field, required, low, high, text in _CHECKS[name]:
        value = message.get(field)
        if type(value) is not int:
            if required:
                return f"{name} notice without an integer {field!r}"
            if value is not None:
                return f"{name} notice with a non-integer {field!r}"
        elif not low <= value <= high:
            shown = value if value.bit_length() <= 128 else f"a {value.bit_length()}-bit integer"
            return f"{name} notice with {field!r} out of range ({shown}; must be {text})"
    return None
