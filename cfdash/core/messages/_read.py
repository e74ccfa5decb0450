"""Field readers for typed parsing of notices and replies (``ProtocolError`` when malformed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from ..errors import ProtocolError

MISSING: Any = object()
"""An absent field (``None`` is a null one)."""


def bad(where: str, name: str, value: Any, kind: str) -> NoReturn:
    if value is MISSING:
        raise ProtocolError(f"{where}: missing field '{name}'.")
    raise ProtocolError(f"{where}: field '{name}' must be {kind}, not {value!r}.")


def get_int(d: Mapping[str, Any], name: str, where: str) -> int:
    value = d.get(name, MISSING)
    if value.__class__ is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    bad(where, name, value, "an integer")


def get_opt_int(d: Mapping[str, Any], name: str, where: str) -> int | None:
    """An integer that may be null or absent (both give None)."""
    value = d.get(name)
    if value is None or value.__class__ is int:
        return value
    return get_int(d, name, where)


def get_list(d: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = d.get(name, MISSING)
    if isinstance(value, list):
        return value
    bad(where, name, value, "an array")


def get_obj(value: Any, where: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise ProtocolError(f"{where}: expected an object, not {value!r}.")
