"""Order-entry rules, apart from the widgets: text fields -> a valid ``OrderRequest`` or why not.

Conversion goes through ``cfdash.core.assets.to_wire`` so the form refuses exactly what the wire
cannot carry (too many decimals, not a number, negative, too large) and names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cfdash.core.assets import WIRE_MAX, ConversionError, Pair, Scales, asset_name, to_wire
from cfdash.tui import fmt
from cfdash.tui.source import Estimate, OrderRequest, Side

Kind = Literal["limit", "market"]


class FormError(ValueError):
    """Why the form cannot be submitted, and which field to fix."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class OrderForm:
    """What the user typed (``total`` is used by market orders only, ``price`` by limits)."""

    pair: Pair
    side: Side
    kind: Kind = "limit"
    quantity: str = ""
    price: str = ""
    total: str = ""


def _field(text: str, scale: int, name: str, *, required: bool = True) -> int | None:
    if not text.strip():
        if required:
            raise FormError(name, "required")
        return None
    try:
        wire = to_wire(text, scale, name, signed=False)
    except ConversionError as exc:
        raise FormError(exc.field, exc.reason) from None
    if wire == 0:
        raise FormError(name, "must not be zero")
    return wire


def parse(form: OrderForm, scales: Scales) -> OrderRequest:
    """The wire order the form describes; ``FormError`` for the first problem found."""
    pair = form.pair
    if form.kind == "limit":
        quantity = _field(form.quantity, scales.asset(pair.base), "quantity")
        price = _field(form.price, scales.price_scale(pair), "price")
        assert quantity is not None and price is not None
        if scales.bid_reservation(pair, quantity, price) > WIRE_MAX:
            raise FormError("total", "order total would overflow")
        return OrderRequest(pair, form.side, quantity=quantity, price=price)
    quantity = _field(form.quantity, scales.asset(pair.base), "quantity", required=False)
    total = _field(form.total, scales.asset(pair.counter), "total", required=False)
    if quantity is not None and total is not None:
        raise FormError("total", "give a quantity or a total, not both")
    if quantity is None and total is None:
        raise FormError("quantity", "required (or a total)")
    return OrderRequest(pair, form.side, quantity=quantity, total=total)


def reservation(
    order: OrderRequest, scales: Scales, estimate: Estimate | None = None
) -> tuple[int, int] | None:
    """(asset, amount) the order would hold from the balance, if known.

    A bid reserves ``Scales.bid_reservation`` of the counter asset, an ask its base quantity
    (IMPL-GUIDE); a market order spends its total or quantity, or the estimate's.
    """
    pair = order.pair
    if order.side == "sell":
        quantity = order.quantity if order.quantity is not None else _est(estimate, "quantity")
        return None if quantity is None else (pair.base, quantity)
    if order.price is not None and order.quantity is not None:
        return pair.counter, scales.bid_reservation(pair, order.quantity, order.price)
    total = order.total if order.total is not None else _est(estimate, "total")
    return None if total is None else (pair.counter, total)


def _est(estimate: Estimate | None, name: str) -> int | None:
    return None if estimate is None else getattr(estimate, name)


def check_funds(
    order: OrderRequest,
    scales: Scales,
    available: Mapping[int, int] | None,
    estimate: Estimate | None = None,
) -> None:
    """``FormError`` if the order needs more than the available balance (when balances are
    known). A market order's estimated spend is not checked: the exchange fills what it can."""
    if available is None:
        return
    if order.is_market and (
        (order.side == "buy" and order.total is None)
        or (order.side == "sell" and order.quantity is None)
    ):
        return
    held = reservation(order, scales, estimate)
    if held is None:
        return
    asset, needed = held
    have = available.get(asset, 0)
    if needed > have:
        name = "quantity" if order.quantity is not None and order.side == "sell" else "total"
        if order.price is not None:
            name = "quantity"
        raise FormError(
            name,
            f"needs {fmt.asset_amount(scales, asset, needed)} {asset_name(asset)}, more than the "
            f"{fmt.asset_amount(scales, asset, have)} available",
        )


def validate(
    form: OrderForm,
    scales: Scales,
    available: Mapping[int, int] | None,
    estimate: Estimate | None = None,
) -> OrderRequest:
    """``parse`` then ``check_funds``."""
    order = parse(form, scales)
    check_funds(order, scales, available, estimate)
    return order
