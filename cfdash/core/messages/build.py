"""Command builders: validated commands in wire integers, ready to send."""

from __future__ import annotations

from typing import Any

from ..assets import V2, ConversionError, Pair, Scales, asset_code, parse_pair
from ..errors import ValidationError
from .validate import validate_command

__all__ = [
    "PairLike",
    "cancel_all_orders",
    "cancel_order",
    "estimate_market_order",
    "get_balances",
    "get_orders",
    "get_trade_volume",
    "place_order",
    "watch_orders",
    "watch_ticker",
]

PairLike = Pair | str | tuple[int | str, int | str]


def _resolve(pair: PairLike) -> Pair:
    try:
        return parse_pair(pair)
    except ConversionError as exc:
        raise ValidationError(str(exc)) from None


def _command(method: str, tag: int | None, **fields: Any) -> dict[str, Any]:
    """A validated command: ``None`` fields omitted, ``tag`` only when given and non-zero."""
    cmd: dict[str, Any] = {"method": method}
    if tag:
        cmd["tag"] = tag
    for name, value in fields.items():
        if value is not None:
            cmd[name] = value
    validate_command(cmd, V2)
    return cmd


def get_balances(tag: int | None = None) -> dict[str, Any]:
    return _command("GetBalances", tag)


def get_orders(tag: int | None = None) -> dict[str, Any]:
    return _command("GetOrders", tag)


def estimate_market_order(
    pair: PairLike, *, quantity: int | None = None, total: int | None = None, tag: int | None = None
) -> dict[str, Any]:
    p = _resolve(pair)
    return _command(
        "EstimateMarketOrder", tag, base=p.base, counter=p.counter, quantity=quantity, total=total
    )


def place_order(
    pair: PairLike,
    *,
    quantity: int | None = None,
    price: int | None = None,
    total: int | None = None,
    tonce: int | None = None,
    persist: bool | None = None,
    tag: int | None = None,
    scales: Scales = V2,
) -> dict[str, Any]:
    """A ``PlaceOrder`` in wire integers; ``scales`` only matters for the overflow check."""
    p = _resolve(pair)
    cmd = _command(
        "PlaceOrder",
        tag,
        tonce=tonce,
        base=p.base,
        counter=p.counter,
        quantity=quantity,
        price=price,
        total=total,
        persist=persist,
    )
    if scales is not V2:
        validate_command(cmd, scales)
    return cmd


def cancel_order(
    *, id: int | None = None, tonce: int | None = None, tag: int | None = None
) -> dict[str, Any]:
    return _command("CancelOrder", tag, id=id, tonce=tonce)


def cancel_all_orders(tag: int | None = None) -> dict[str, Any]:
    return _command("CancelAllOrders", tag)


def get_trade_volume(asset: int | str, tag: int | None = None) -> dict[str, Any]:
    try:
        code = asset_code(asset)
    except ConversionError as exc:
        raise ValidationError(str(exc)) from None
    return _command("GetTradeVolume", tag, asset=code)


def watch_orders(pair: PairLike, watch: bool = True, tag: int | None = None) -> dict[str, Any]:
    p = _resolve(pair)
    return _command("WatchOrders", tag, base=p.base, counter=p.counter, watch=watch)


def watch_ticker(pair: PairLike, watch: bool = True, tag: int | None = None) -> dict[str, Any]:
    p = _resolve(pair)
    return _command("WatchTicker", tag, base=p.base, counter=p.counter, watch=watch)
