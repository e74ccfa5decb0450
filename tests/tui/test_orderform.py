"""The order form's rules: text -> wire order, or the field and reason it cannot be."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import V1, V2, from_wire
from cfdash.tui.orderform import FormError, OrderForm, check_funds, parse, reservation, validate
from cfdash.tui.source import Estimate, OrderRequest

from .conftest import GBP, PAIR, XBT, p, q


def limit(side="buy", quantity="", price=""):  # type: ignore[no-untyped-def]
    return OrderForm(PAIR, side, "limit", quantity=quantity, price=price)


def market(side="buy", quantity="", total=""):  # type: ignore[no-untyped-def]
    return OrderForm(PAIR, side, "market", quantity=quantity, total=total)


@pytest.mark.parametrize(
    ("form", "field", "fragment"),
    [
        (limit(quantity="", price="1"), "quantity", "required"),
        (limit(quantity="  ", price="1"), "quantity", "required"),
        (limit(quantity="0", price="1"), "quantity", "must not be zero"),
        (limit(quantity="0.000", price="1"), "quantity", "must not be zero"),
        (limit(quantity="1.000000001", price="1"), "quantity", "more than 8 decimal places"),
        (limit(quantity="-0.5", price="1"), "quantity", "must not be negative"),
        (limit(quantity="abc", price="1"), "quantity", "not a number"),
        (limit(quantity="NaN", price="1"), "quantity", "not a finite number"),
        (limit(quantity="1e30", price="1"), "quantity", "too large"),
        (limit(quantity="1", price=""), "price", "required"),
        (limit(quantity="1", price="0"), "price", "must not be zero"),
        (limit(quantity="1", price="10.005"), "price", "more than 2 decimal places"),
        (limit(quantity="1", price="-10"), "price", "must not be negative"),
        (limit(quantity="90000000000", price="90000000000"), "total", "overflow"),
        (market(), "quantity", "required"),
        (market(quantity="1", total="10"), "total", "not both"),
        (market(total="0"), "total", "must not be zero"),
        (market(total="0.001"), "total", "more than 2 decimal places"),
    ],
)
def test_bad_input_names_the_field(form: OrderForm, field: str, fragment: str) -> None:
    with pytest.raises(FormError) as info:
        parse(form, V2)
    assert info.value.field == field
    assert fragment in info.value.message


def test_shapes() -> None:
    assert parse(limit("sell", "0.5", "41,000.10"), V2) == OrderRequest(
        PAIR, "sell", quantity=q("0.5"), price=p("41000.10")
    )
    assert parse(market("buy", quantity="0.1"), V2) == OrderRequest(PAIR, "buy", quantity=q("0.1"))
    assert parse(market("sell", total="25.5"), V2) == OrderRequest(PAIR, "sell", total=2550)
    # V1 scales carry 4 places of XBT: a fifth is refused rather than rounded.
    with pytest.raises(FormError, match="more than 4 decimal places"):
        parse(limit(quantity="0.00001", price="1"), V1)


def test_reservation_follows_the_spec() -> None:
    bid = OrderRequest(PAIR, "buy", quantity=12345, price=1234500)
    assert reservation(bid, V1) == (GBP, 1523991)  # IMPL-GUIDE's worked example
    ask = OrderRequest(PAIR, "sell", quantity=q("0.3"), price=p("1"))
    assert reservation(ask, V2) == (XBT, q("0.3"))
    by_total = OrderRequest(PAIR, "buy", total=500)
    assert reservation(by_total, V2) == (GBP, 500)
    by_quantity = OrderRequest(PAIR, "buy", quantity=q("1"))
    assert reservation(by_quantity, V2) is None
    assert reservation(by_quantity, V2, Estimate(q("1"), 4_100_000)) == (GBP, 4_100_000)


def test_funds_check() -> None:
    available = {GBP: 10_000, XBT: q("0.5")}  # 100.00 GBP
    ok = OrderRequest(PAIR, "buy", quantity=q("0.01"), price=p("10000"))  # reserves 100.00
    check_funds(ok, V2, available)
    too_much = OrderRequest(PAIR, "buy", quantity=q("0.01"), price=p("10000.01"))
    with pytest.raises(FormError, match=r"needs 100\.01 GBP, more than the 100\.00 available"):
        check_funds(too_much, V2, available)
    with pytest.raises(FormError, match=r"more than the 0\.50000000 available"):
        check_funds(OrderRequest(PAIR, "sell", quantity=q("0.6"), price=1), V2, available)
    with pytest.raises(FormError):
        check_funds(OrderRequest(PAIR, "buy", total=10_001), V2, available)
    # A market buy by quantity may cost more than the balance: the exchange fills what it can.
    check_funds(OrderRequest(PAIR, "buy", quantity=q("10")), V2, available)
    # Unknown balances (not logged in): nothing to check against.
    check_funds(too_much, V2, None)


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
quantities = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000"), places=8)


@given(quantities, prices, st.sampled_from(["buy", "sell"]))
@settings(max_examples=60)
def test_valid_limit_orders_round_trip_exactly(quantity: Decimal, price: Decimal, side) -> None:
    order = validate(limit(side, str(quantity), str(price)), V2, None)
    assert from_wire(order.quantity or 0, 10**8) == quantity
    assert from_wire(order.price or 0, 100) == price
    held = reservation(order, V2)
    assert held is not None
    if side == "buy":
        # The reservation is the exact total rounded up: never less, less than one unit more.
        exact = quantity * price
        assert held[0] == GBP
        assert exact <= from_wire(held[1], 100) < exact + Decimal("0.01")
    else:
        assert held == (XBT, order.quantity)


@given(st.text(max_size=12))
@settings(max_examples=100)
def test_any_text_parses_or_names_a_field(text: str) -> None:
    try:
        order = parse(limit("buy", text, "100"), V2)
    except FormError as exc:
        assert exc.field in {"quantity", "total"}
    else:
        assert order.quantity is not None and order.quantity > 0
