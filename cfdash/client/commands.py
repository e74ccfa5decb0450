"""The commands of ``WSClient``'s ``Decimal`` API, built from logical units (pure).

Amounts convert exactly with the client's scales (``ConversionError`` otherwise); the client
validates and sends what these return.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cfdash.core.assets import Scales, asset_code, parse_pair
from cfdash.core.messages import PairLike

__all__ = [
    "Amount",
    "PairLike",
    "cancel_order",
    "estimate",
    "place_order",
    "trade_volume",
]

Amount = Decimal | int | str


def place_order(
    scales: Scales,
    pair: PairLike,
    quantity: Amount | None,
    price: Amount | None,
    total: Amount | None,
    persist: bool | None,
    tonce: int | None,
) -> dict[str, Any]:
    """PlaceOrder: ``quantity`` signed (negative sells), with ``price`` a limit order;
    ``total`` alone a market order by total; ``persist=False`` sent only when False."""
    p = parse_pair(pair)
    command: dict[str, Any] = {"method": "PlaceOrder", "base": p.base, "counter": p.counter}
    if quantity is not None:
        command["quantity"] = scales.quantity_to_wire(p, quantity)
    if price is not None:
        command["price"] = scales.price_to_wire(p, price)
    if total is not None:
        command["total"] = scales.total_to_wire(p, total)
    if persist is False:
        command["persist"] = False
    if tonce is not None:
        command["tonce"] = tonce
    return command


def cancel_order(id: int | None, tonce: int | None) -> dict[str, Any]:
    """CancelOrder by ``id`` or by ``tonce`` (validation checks that exactly one is given)."""
    command: dict[str, Any] = {"method": "CancelOrder"}
    if id is not None:
        command["id"] = id
    if tonce is not None:
        command["tonce"] = tonce
    return command


def estimate(
    scales: Scales, pair: PairLike, quantity: Amount | None, total: Amount | None
) -> dict[str, Any]:
    """EstimateMarketOrder in logical units (signed: negative sells)."""
    p = parse_pair(pair)
    command: dict[str, Any] = {
        "method": "EstimateMarketOrder",
        "base": p.base,
        "counter": p.counter,
    }
    if quantity is not None:
        command["quantity"] = scales.quantity_to_wire(p, quantity)
    if total is not None:
        command["total"] = scales.total_to_wire(p, total)
    return command


def trade_volume(asset: int | str) -> dict[str, Any]:
    return {"method": "GetTradeVolume", "asset": asset_code(asset)}
