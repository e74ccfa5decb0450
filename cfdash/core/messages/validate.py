"""Command validation: ``validate_command`` and the method tables.

``validate_command`` runs on both sides of the wire: the client calls it before sending, the
embedded exchange to answer a malformed command with the spec's exact code and message. Its
checks run in a fixed order, so a command with several faults always gets the same answer:

1. the command is a mapping with a known string ``method``;
2. no unexpected fields (``STRICT_FIELDS``; the one switch to relax this);
3. the type and 64-bit range of every field, in the method's field order (code 8);
4. the asset pair (code 1, ``Msg.INVALID_PAIR``), or the asset of ``GetTradeVolume``;
5. ``PlaceOrder``: tonce zero, then price zero or negative;
6. the order shape (quantity/price/total), then quantity zero, total zero;
7. ``PlaceOrder`` limit orders: the counter total overflowing 64 bits.

``null`` in an optional field (``tag``, ``tonce``, ``quantity``, ``price``, ``total``,
``persist``, ``id``) means omitted; a required field must hold a value of its type.
Quantities, totals and prices must lie in ``[-(2**63 - 1), 2**63 - 1]`` so their magnitude
fits the wire; other integers may be any signed 64-bit value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from ..assets import ASSET_NAMES, PAIRS, V2, WIRE_MAX, Pair, Scales
from ..errors import Msg, NotFoundError, ValidationError

__all__ = [
    "INFO_METHODS",
    "INVALID_ASSET",
    "METHODS",
    "ORDER_METHODS",
    "PUBLIC_METHODS",
    "STRICT_FIELDS",
    "validate_command",
]

PUBLIC_METHODS = frozenset({"Authenticate", "EstimateMarketOrder", "WatchOrders", "WatchTicker"})
"""Methods that need no authentication."""
INFO_METHODS = frozenset({"GetBalances", "GetOrders", "GetTradeVolume"})
"""LIMITS.md's information requests (10 per 10 s per session)."""
ORDER_METHODS = frozenset({"PlaceOrder", "CancelOrder", "CancelAllOrders", "EstimateMarketOrder"})
"""LIMITS.md's order placements, cancels and estimates (1000 per 1000 s per user)."""

STRICT_FIELDS = True
"""Refuse fields a method does not define (code 8). The single place to relax that rule."""

INVALID_ASSET = "You specified an invalid asset."
"""Our message for ``GetTradeVolume`` of an unknown asset: code 8, the only code the spec's table
leaves for it (besides 6 and 7)."""

SHOWN_MAX = 64
"""At most this many characters of a client's method or field name are echoed in an error."""

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_MISSING: Any = object()

# (base, counter) -> Pair, so the pair check is one dict lookup with no allocation.
_PAIR_BY_CODES: dict[tuple[Any, Any], Pair] = {(p.base, p.counter): p for p in PAIRS}


# ------------------------------------------------------------------------- field readers


def _shown(name: str) -> str:
    """``repr`` of a client-supplied name, cut to ``SHOWN_MAX`` characters (an attacker's
    30 KB method name is not echoed back)."""
    if len(name) <= SHOWN_MAX:
        return repr(name)
    return f"{name[:SHOWN_MAX]!r}... ({len(name)} characters)"


def _type_error(name: str, value: Any, kind: str) -> NoReturn:
    if value is _MISSING:
        raise ValidationError(f"Missing field '{name}'.")
    raise ValidationError(f"Field '{name}' must be {kind}.")


def _slow_int(name: str, value: Any, low: int) -> int:
    """The uncommon paths of ``_int``: int subclasses, wrong types, out-of-range values."""
    if isinstance(value, int) and not isinstance(value, bool):
        if low <= value <= _INT_MAX:
            return int(value)
        raise ValidationError(f"Field '{name}' is out of range.")
    _type_error(name, value, "an integer")


def _int(cmd: Mapping[str, Any], name: str, low: int = _INT_MIN) -> int:
    """A required signed 64-bit integer field (never bool, float or null)."""
    value = cmd.get(name, _MISSING)
    if value.__class__ is int and low <= value <= _INT_MAX:
        return value
    return _slow_int(name, value, low)


def _opt_int(cmd: Mapping[str, Any], name: str, low: int = _INT_MIN) -> int | None:
    """An optional integer field: None when omitted or null."""
    value = cmd.get(name)
    if value is None:
        return None
    if value.__class__ is int and low <= value <= _INT_MAX:
        return value
    return _slow_int(name, value, low)


def _opt_amount(cmd: Mapping[str, Any], name: str) -> int | None:
    """An optional quantity, price or total: its magnitude must fit the wire."""
    return _opt_int(cmd, name, -WIRE_MAX)


def _str(cmd: Mapping[str, Any], name: str) -> str:
    value = cmd.get(name, _MISSING)
    if value.__class__ is str:
        return value
    if isinstance(value, str):
        return str(value)
    _type_error(name, value, "a string")


def _bool(cmd: Mapping[str, Any], name: str) -> bool:
    value = cmd.get(name, _MISSING)
    if value is True or value is False:
        return value
    _type_error(name, value, "a boolean")


def _pair(base: int, counter: int) -> Pair:
    pair = _PAIR_BY_CODES.get((base, counter))
    if pair is None:
        raise NotFoundError(Msg.INVALID_PAIR)
    return pair


def _check_shape(quantity: int | None, total: int | None) -> None:
    """A market order: exactly one of quantity and total, neither zero."""
    if (quantity is None) == (total is None):
        raise ValidationError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
    if quantity == 0:
        raise ValidationError(Msg.QUANTITY_ZERO)
    if total == 0:
        raise ValidationError(Msg.TOTAL_ZERO)


# ------------------------------------------------------------------- per-method validators


def _v_nothing(cmd: Mapping[str, Any], scales: Scales) -> None:
    return None


def _v_authenticate(cmd: Mapping[str, Any], scales: Scales) -> None:
    # Shape only: the user, cookie and signature are checked by whoever verifies them.
    if _int(cmd, "user_id") < 0:
        raise ValidationError("Field 'user_id' must not be negative.")
    _str(cmd, "cookie")
    _str(cmd, "nonce")
    sig = cmd.get("signature", _MISSING)
    if not (
        isinstance(sig, list | tuple) and len(sig) == 2 and all(isinstance(c, str) for c in sig)
    ):
        _type_error("signature", sig, "an array of two strings")


def _v_estimate(cmd: Mapping[str, Any], scales: Scales) -> None:
    base = _int(cmd, "base")
    counter = _int(cmd, "counter")
    quantity = _opt_amount(cmd, "quantity")
    total = _opt_amount(cmd, "total")
    _pair(base, counter)
    _check_shape(quantity, total)


def _v_place_order(cmd: Mapping[str, Any], scales: Scales) -> None:
    tonce = _opt_int(cmd, "tonce")
    base = _int(cmd, "base")
    counter = _int(cmd, "counter")
    quantity = _opt_amount(cmd, "quantity")
    price = _opt_amount(cmd, "price")
    total = _opt_amount(cmd, "total")
    if cmd.get("persist") is not None:
        _bool(cmd, "persist")
    pair = _pair(base, counter)
    if tonce == 0:
        raise ValidationError(Msg.TONCE_ZERO)
    if price is None:
        _check_shape(quantity, total)
        return
    if price <= 0:
        raise ValidationError(Msg.PRICE_ZERO if price == 0 else "Price must be positive.")
    if total is not None:
        raise ValidationError("A limit order takes a quantity, not a total.")
    if quantity is None:
        raise ValidationError("A limit order needs a quantity.")
    if quantity == 0:
        raise ValidationError(Msg.QUANTITY_ZERO)
    if scales.bid_reservation(pair, quantity, price) > WIRE_MAX:
        raise ValidationError(Msg.TOTAL_OVERFLOW)


def _v_cancel_order(cmd: Mapping[str, Any], scales: Scales) -> None:
    order_id = _opt_int(cmd, "id")
    tonce = _opt_int(cmd, "tonce")
    if (order_id is None) == (tonce is None):
        raise ValidationError(Msg.CANCEL_NEEDS_ID_OR_TONCE)


def _v_trade_volume(cmd: Mapping[str, Any], scales: Scales) -> None:
    if _int(cmd, "asset") not in ASSET_NAMES:
        raise ValidationError(INVALID_ASSET)


def _v_watch(cmd: Mapping[str, Any], scales: Scales) -> None:
    base = _int(cmd, "base")
    counter = _int(cmd, "counter")
    _bool(cmd, "watch")
    _pair(base, counter)


_Validator = Callable[[Mapping[str, Any], Scales], None]
_COMMON = ("method", "tag")
# method -> (its validator, every field it may carry)
_SPECS: dict[str, tuple[_Validator, frozenset[str]]] = {
    "Authenticate": (
        _v_authenticate,
        frozenset({*_COMMON, "user_id", "cookie", "nonce", "signature"}),
    ),
    "GetBalances": (_v_nothing, frozenset(_COMMON)),
    "GetOrders": (_v_nothing, frozenset(_COMMON)),
    "EstimateMarketOrder": (
        _v_estimate,
        frozenset({*_COMMON, "base", "counter", "quantity", "total"}),
    ),
    "PlaceOrder": (
        _v_place_order,
        frozenset({*_COMMON, "tonce", "base", "counter", "quantity", "price", "total", "persist"}),
    ),
    "CancelOrder": (_v_cancel_order, frozenset({*_COMMON, "id", "tonce"})),
    "CancelAllOrders": (_v_nothing, frozenset(_COMMON)),
    "GetTradeVolume": (_v_trade_volume, frozenset({*_COMMON, "asset"})),
    "WatchOrders": (_v_watch, frozenset({*_COMMON, "base", "counter", "watch"})),
    "WatchTicker": (_v_watch, frozenset({*_COMMON, "base", "counter", "watch"})),
}

METHODS = frozenset(_SPECS)
"""All ten command methods."""


def validate_command(cmd: Mapping[str, Any], scales: Scales = V2) -> None:
    """Check a command against the spec; raise the error the exchange would answer with.

    ``ValidationError`` (code 8) for malformed commands and unknown assets, ``NotFoundError``
    (code 1) for an unlisted pair. ``scales`` is only needed for the limit-order overflow check.
    """
    if cmd.__class__ is not dict and not isinstance(cmd, Mapping):
        raise ValidationError("A command must be a JSON object.")
    method = cmd.get("method", _MISSING)
    spec = _SPECS.get(method) if method.__class__ is str else None
    if spec is None:
        if method is _MISSING:
            raise ValidationError("Missing field 'method'.")
        if not isinstance(method, str):
            raise ValidationError("Field 'method' must be a string.")
        raise ValidationError(f"Unknown method {_shown(method)}.")
    validator, allowed = spec
    if STRICT_FIELDS and not allowed.issuperset(cmd):
        for key in cmd:
            if key not in allowed:
                raise ValidationError(f"Unexpected field {_shown(key)}.")
    if cmd.get("tag") is not None:
        _int(cmd, "tag")
    validator(cmd, scales)
