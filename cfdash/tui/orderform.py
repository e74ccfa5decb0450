"""Order-entry rules, apart from the widgets: text fields -> a valid ``OrderRequest`` or why not.

Conversion goes through ``cfdash.core.assets.to_wire`` so the form refuses exactly what the wire
cannot carry (too many decimals, not a number, negative, too large) and names the field. What
is typed must also read one way only: plain digits with a decimal point, and commas only where
they can only group thousands ("1,000.00", "1,000,000"); no exponents ("1e3").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from cfdash.core.assets import WIRE_MAX, ConversionError, Pair, Scales, asset_name, to_wire
from cfdash.tui import fmt
from cfdash.tui.source import BookRows, EstimateRow, OrderRequest, Side

Kind = Literal["limit", "market"]
FAR = Decimal("0.10")
"""A limit order priced this far through the best price on the other side asks first."""
_PLAIN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_GROUPED = re.compile(r"[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]*)?")
_EXPONENT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")


class FormError(ValueError):
    """Why the form cannot be submitted, and which field to fix; ``detail`` adds what a short
    line may leave off."""

    def __init__(self, field_name: str, message: str, detail: str = "") -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class OrderForm:
    """What the user typed (``total`` is used by market orders only, ``price`` by limits)."""

    pair: Pair
    side: Side
    kind: Kind = "limit"
    quantity: str = ""
    price: str = ""
    total: str = ""
    edited: str = ""
    """The field the user changed last ("quantity", "price", "total"; "" if unknown): a limit
    buy short of funds is told in its price if just edited to an outlandish one."""


def _plain(text: str, name: str) -> str:
    """``text`` without its thousands separators, or ``FormError`` unless it reads one way
    only: digits, a decimal point, and commas that can only group thousands (a point after
    them, or more than one comma)."""
    if _PLAIN.fullmatch(text):
        return text
    if _EXPONENT.fullmatch(text):
        value = Decimal(text)
        digits = format(value, "f") if abs(value.adjusted()) < 16 else "the digits"
        raise FormError(name, f"no exponents: type {digits}")
    if "," not in text:
        raise FormError(name, "not a number")
    if not _GROUPED.fullmatch(text):
        raise FormError(name, "commas only group thousands; use a point")
    if "." not in text and text.count(",") == 1:  # "1,500": 1500, or 1.5 with a decimal comma?
        raise FormError(
            name, f"{text} is ambiguous: type {text.replace(',', '')} or {text.replace(',', '.')}"
        )
    return text.replace(",", "")


SHORT = 20
"""A value longer than this is left out of a message, which must fit the form whole (a paste
of 5,000 digits)."""


def _field(text: str, scale: int, name: str, *, required: bool = True) -> int | None:
    text = text.strip()
    if not text:
        if required:
            raise FormError(name, "required")
        return None
    plain = _plain(text, name)
    try:
        wire = to_wire(plain, scale, name, signed=False)
    except ConversionError as exc:
        raise _short(exc, plain, scale) from None
    if wire == 0:
        raise FormError(name, "must not be zero")
    return wire


def field_amount(text: str, scale: int, name: str) -> int:
    """A required positive amount typed in a field, in wire units at ``scale``; ``FormError``
    (naming ``name``) as the form would say it."""
    wire = _field(text, scale, name)
    assert wire is not None
    return wire


def _short(error: ConversionError, text: str, scale: int) -> FormError:
    """``to_wire``'s refusal, short and whole: without the value when that is long."""
    name, reason = error.field, error.reason
    if "too large" in reason:
        return FormError(name, "too large", f"max {fmt.amount(WIRE_MAX, scale)}")
    if len(text) <= SHORT:
        return FormError(name, reason)
    if "decimal places" in reason:
        return FormError(name, f"more than {fmt.places(scale)} decimal places")
    if "negative" in reason:
        return FormError(name, "must not be negative")
    return FormError(name, "not a number")


def _outlandish(quantity: int, price: int) -> str:
    """Which of a limit order's quantity and price is the further into the wire's range (both
    are at most ``WIRE_MAX`` wire units): the outlandish one, to tell a problem of both (their
    total) in. 10 bitcoins at 10^16 GBP: the price; 756 bitcoins at 41,000 GBP: the quantity."""
    return "quantity" if quantity > price else "price"


def parse(form: OrderForm, scales: Scales) -> OrderRequest:
    """The wire order the form describes; ``FormError`` for the first problem found."""
    pair = form.pair
    if form.kind == "limit":
        quantity = _field(form.quantity, scales.asset(pair.base), "quantity")
        price = _field(form.price, scales.price_scale(pair), "price")
        assert quantity is not None and price is not None
        if scales.bid_reservation(pair, quantity, price) > WIRE_MAX:
            raise FormError(
                _outlandish(quantity, price),
                "too large: the total would overflow",
                f"max total {fmt.amount(WIRE_MAX, scales.asset(pair.counter))}",
            )
        return OrderRequest(pair, form.side, quantity=quantity, price=price)
    quantity = _field(form.quantity, scales.asset(pair.base), "quantity", required=False)
    total = _field(form.total, scales.asset(pair.counter), "total", required=False)
    if quantity is not None and total is not None:
        raise FormError("total", "give a quantity or a total, not both")
    if quantity is None and total is None:
        raise FormError("quantity", "required (or a total)")
    return OrderRequest(pair, form.side, quantity=quantity, total=total)


def reservation(
    order: OrderRequest, scales: Scales, estimate: EstimateRow | None = None
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


def _est(estimate: EstimateRow | None, name: str) -> int | None:
    return None if estimate is None else getattr(estimate, name)


def check_funds(
    order: OrderRequest,
    scales: Scales,
    available: Mapping[int, int] | None,
    estimate: EstimateRow | None = None,
    *,
    private: bool = False,
    edited: str = "",
) -> None:
    """``FormError`` if the order needs more than the available balance (when balances are
    known); ``private`` leaves the balance out of the message. A market order's estimated
    spend is not checked: the exchange fills what it can. A limit buy's shortfall is told in
    the quantity, or in the price if just ``edited`` (``OrderForm.edited``) to an outlandish
    one (see ``_outlandish``): 41,000 GBP a bitcoin is a price, 756 bitcoins a quantity."""
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
        if order.price is not None and order.quantity is not None:
            name = "quantity"  # a limit buy: the price when just edited to an outlandish one
            if order.side == "buy" and edited == "price":
                name = _outlandish(order.quantity, order.price)
        balance = asset_name(asset) if private else fmt.asset_amount(scales, asset, have)
        raise FormError(
            name,
            f"more than the {balance} available",
            f"needs {fmt.asset_amount(scales, asset, needed)} {asset_name(asset)}",
        )


def validate(
    form: OrderForm,
    scales: Scales,
    available: Mapping[int, int] | None,
    estimate: EstimateRow | None = None,
    *,
    private: bool = False,
) -> OrderRequest:
    """``parse`` then ``check_funds``."""
    order = parse(form, scales)
    check_funds(order, scales, available, estimate, private=private, edited=form.edited)
    return order


def far_through(
    order: OrderRequest, book: BookRows, scales: Scales, far: Decimal = FAR
) -> str | None:
    """Why a limit order needs a second look, or ``None``: a bid priced more than ``far`` above
    the best ask, or an ask more than ``far`` below the best bid (it would trade at once,
    deep into the book, as a slip of the keys would)."""
    if order.price is None:
        return None
    touch = book.best_ask if order.side == "buy" else book.best_bid
    if not touch:
        return None
    through = Decimal(order.price - touch) / Decimal(touch)
    if order.side == "sell":
        through = -through
    if through <= far:
        return None
    percent = (through * 100).quantize(Decimal(1), ROUND_DOWN)
    where, other = ("above", "ask") if order.side == "buy" else ("below", "bid")
    return (
        f"{fmt.price(scales, order.pair, order.price)} is {percent}% {where} "
        f"the best {other} {fmt.price(scales, order.pair, touch)}"
    )
