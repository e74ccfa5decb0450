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
