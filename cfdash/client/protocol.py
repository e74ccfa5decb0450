"""The seam to ``cfdash.core.messages``: frame decoding, command validation, reply parsing.

The client imports these four names from here. Each comes from ``core.messages`` when that
module defines it; otherwise the minimal fallback below keeps the client working (plain dict
replies, the common validation rules).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cfdash.core.assets import WIRE_MAX, Scales, is_listed
from cfdash.core.errors import Msg, ProtocolError, ValidationError, error_from_reply

__all__ = ["PUBLIC_METHODS", "decode_frame", "parse_reply", "validate_command"]

_METHODS = frozenset(
    {
        "Authenticate",
        "GetBalances",
        "GetOrders",
        "EstimateMarketOrder",
        "PlaceOrder",
        "CancelOrder",
        "CancelAllOrders",
        "GetTradeVolume",
        "WatchOrders",
        "WatchTicker",
    }
)
_PUBLIC = frozenset({"Authenticate", "EstimateMarketOrder", "WatchOrders", "WatchTicker"})


def _fallback_decode_frame(text: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if type(message) is not dict:
        raise ProtocolError("frame is not a JSON object")
    return message


def _int(cmd: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = cmd.get(name)
    if value is None:
        if required:
            raise ValidationError(f"Missing {name}.")
        return None
    if type(value) is not int or abs(value) > WIRE_MAX:
        raise ValidationError(f"{name} must be a 64-bit integer.")
    return value


def _fallback_validate_command(cmd: Mapping[str, Any], scales: Scales | None = None) -> None:
    """The common rules: known method, integer fields, the order shapes, non-zero amounts."""
    method = cmd.get("method")
    if method not in _METHODS:
        raise ValidationError(f"Unknown method {method!r}.")
    tag = _int(cmd, "tag")
    if tag is not None and tag < 0:
        raise ValidationError("tag must not be negative.")
    if method in ("EstimateMarketOrder", "PlaceOrder", "WatchOrders", "WatchTicker"):
        base = _int(cmd, "base", required=True)
        counter = _int(cmd, "counter", required=True)
        if not is_listed(base, counter):  # type: ignore[arg-type]
            raise ValidationError(Msg.INVALID_PAIR)
    if method in ("WatchOrders", "WatchTicker"):
        if "watch" in cmd and not isinstance(cmd["watch"], bool):
            raise ValidationError("watch must be true or false.")
    elif method in ("EstimateMarketOrder", "PlaceOrder"):
        quantity = _int(cmd, "quantity")
        total = _int(cmd, "total")
        price = _int(cmd, "price") if method == "PlaceOrder" else None
        if method == "PlaceOrder":
            tonce = _int(cmd, "tonce")
            if tonce is not None and tonce <= 0:
                raise ValidationError(Msg.TONCE_ZERO if tonce == 0 else "tonce must be positive.")
            if "persist" in cmd and not isinstance(cmd["persist"], bool):
                raise ValidationError("persist must be true or false.")
            if price is not None:
                if price <= 0:
                    raise ValidationError(
                        Msg.PRICE_ZERO if price == 0 else "price must be positive."
                    )
                if quantity is None or total is not None:
                    raise ValidationError("A limit order takes quantity and price only.")
        if quantity is None and total is None:
            raise ValidationError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        if quantity is not None and total is not None:
            raise ValidationError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        if quantity == 0:
            raise ValidationError(Msg.QUANTITY_ZERO)
        if total == 0:
            raise ValidationError(Msg.TOTAL_ZERO)
    elif method == "CancelOrder":
        order_id = _int(cmd, "id")
        tonce = _int(cmd, "tonce")
        if (order_id is None) == (tonce is None):
            raise ValidationError(Msg.CANCEL_NEEDS_ID_OR_TONCE)
    elif method == "GetTradeVolume":
        _int(cmd, "asset", required=True)
    elif method == "Authenticate":
        _int(cmd, "user_id", required=True)
        if not isinstance(cmd.get("cookie"), str) or not isinstance(cmd.get("nonce"), str):
            raise ValidationError("Authenticate needs a cookie and a nonce.")


def _fallback_parse_reply(method: str, reply: Mapping[str, Any]) -> Any:
    """The reply dict on success; the typed ``CoinfloorError`` raised on an error reply."""
    if reply.get("error_code", 0) != 0:
        raise error_from_reply(reply, method)
    return reply


def _pick(name: str, fallback: Any) -> Any:
    """``core.messages``'s ``name`` if it has one, else the fallback."""
    try:
        from cfdash.core import messages
    except ImportError:  # pragma: no cover - before core.messages existed
        return fallback
    return getattr(messages, name, fallback)


PUBLIC_METHODS: frozenset[str] = _pick("PUBLIC_METHODS", _PUBLIC)
decode_frame: Callable[[str | bytes], dict[str, Any]] = _pick(
    "decode_frame", _fallback_decode_frame
)
validate_command: Callable[[Mapping[str, Any], Scales], None] = _pick(
    "validate_command", _fallback_validate_command
)
parse_reply: Callable[[str, Mapping[str, Any]], Any] = _pick("parse_reply", _fallback_parse_reply)
