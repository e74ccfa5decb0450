"""The order form's rules: text -> wire order, or the field and reason it cannot be."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import V1, V2, from_wire
from cfdash.tui.orderform import (
    SHORT,
    FormError,
    OrderForm,
    check_funds,
    far_through,
    parse,
    reservation,
    validate,
)
from cfdash.tui.source import BookRows, EstimateRow, OrderRequest

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
        (limit(quantity="NaN", price="1"), "quantity", "not a number"),
        (limit(quantity="1_000", price="1"), "quantity", "not a number"),
        (limit(quantity="99999999999", price="1"), "quantity", "too large"),
        # No exponents: "1e3" is too easily a slip for 13 or 1000.
        (limit(quantity="1e3", price="1"), "quantity", "no exponents: type 1000"),
        (limit(quantity="2.5E-3", price="1"), "quantity", "no exponents: type 0.0025"),
        (limit(quantity="1e30", price="1"), "quantity", "no exponents: type the digits"),
        (limit(quantity="1e999999999", price="1"), "quantity", "no exponents: type the digits"),
        # A comma only where it can only group thousands: never 0,5 read as 5.
        (limit(quantity="0,5", price="1"), "quantity", "commas only group thousands"),
        (limit(quantity="1,5", price="1"), "quantity", "commas only group thousands"),
        (limit(quantity="1,50,000", price="1"), "quantity", "commas only group thousands"),
        (limit(quantity="1", price="1,000"), "price", "1,000 is ambiguous: type 1000 or 1.000"),
        (limit(quantity="1", price="1,000.001"), "price", "1000.001 has more than 2 decimal"),
        (limit(quantity="1", price=""), "price", "required"),
        (limit(quantity="1", price="0"), "price", "must not be zero"),
        (limit(quantity="1", price="10.005"), "price", "more than 2 decimal places"),
        (limit(quantity="1", price="-10"), "price", "must not be negative"),
        # quantity x price too large: told in the outlandish one, never in the hidden total
        (limit(quantity="90000000000", price="90000000000"), "quantity", "overflow"),
        (limit(quantity="10", price="10000000000000000"), "price", "overflow"),
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
    # Commas that can only be thousands separators: a point after them, or more than one.
    assert parse(limit("buy", "1,000.5", "1,000,000"), V2) == OrderRequest(
        PAIR, "buy", quantity=q("1000.5"), price=p("1000000")
    )
    assert parse(limit("buy", " .5 ", "5."), V2).quantity == q("0.5")
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
    assert reservation(by_quantity, V2, EstimateRow(q("1"), 4_100_000)) == (GBP, 4_100_000)


def test_funds_check() -> None:
    available = {GBP: 10_000, XBT: q("0.5")}  # 100.00 GBP
    ok = OrderRequest(PAIR, "buy", quantity=q("0.01"), price=p("10000"))  # reserves 100.00
    check_funds(ok, V2, available)
    too_much = OrderRequest(PAIR, "buy", quantity=q("0.01"), price=p("10000.01"))
    with pytest.raises(FormError, match=r"more than the 100\.00 available") as info:
        check_funds(too_much, V2, available)
    assert info.value.detail == "needs 100.01 GBP"
    # Private mode: the balance is not shown, only that the order needs more.
    with pytest.raises(FormError) as info:
        check_funds(too_much, V2, available, private=True)
    assert info.value.message == "more than the GBP available"
    assert info.value.detail == "needs 100.01 GBP"
    with pytest.raises(FormError, match=r"more than the 0\.50000000 available"):
        check_funds(OrderRequest(PAIR, "sell", quantity=q("0.6"), price=1), V2, available)
    with pytest.raises(FormError):
        check_funds(OrderRequest(PAIR, "buy", total=10_001), V2, available)
    # A market buy by quantity may cost more than the balance: the exchange fills what it can.
    check_funds(OrderRequest(PAIR, "buy", quantity=q("10")), V2, available)
    # Unknown balances (not logged in): nothing to check against.
    check_funds(too_much, V2, None)


@pytest.mark.parametrize(
    ("form", "text"),
    [
        (limit(quantity="9" * 5000, price="1"), "quantity: too large"),
        (limit(quantity="1", price="9" * 5000), "price: too large"),
        (limit(quantity="99999999999", price="1"), "quantity: too large"),
        (
            limit(quantity="0." + "0" * 5000 + "1", price="1"),
            "quantity: more than 8 decimal places",
        ),
        (limit(quantity="-" + "9" * 5000, price="1"), "quantity: must not be negative"),
        (limit(quantity="1", price="1." + "5" * 5000), "price: more than 2 decimal places"),
        (market(total="1" * 5000), "total: too large"),
    ],
)
def test_a_long_paste_gets_a_short_whole_message(form: OrderForm, text: str) -> None:
    """A paste of 5,000 digits: the message leaves the value out rather than be cut in the
    form's message line; the limit is in the detail (left off whole if it does not fit)."""
    with pytest.raises(FormError) as info:
        parse(form, V2)
    assert str(info.value) == text
    assert "999" not in str(info.value) and len(str(info.value)) <= 40
    if "too large" in text:
        assert info.value.detail in {
            "max 92,233,720,368.54775807",  # XBT: 2^63 - 1 at 10^8
            "max 92,233,720,368,547,758.07",  # prices and fiat at 100
        }


def test_a_short_value_stays_in_its_message() -> None:
    with pytest.raises(FormError, match=r"^quantity: 0\.000000001 has more than 8 decimal"):
        parse(limit(quantity="0.000000001", price="1"), V2)
    long = "0." + "0" * SHORT + "1"
    with pytest.raises(FormError, match=r"^quantity: more than 8 decimal places$"):
        parse(limit(quantity=long, price="1"), V2)


def test_a_total_too_large_is_told_in_the_outlandish_field() -> None:
    """Whichever field was typed last: 90 billion bitcoins is the quantity's fault, 10^16 GBP
    a bitcoin the price's."""
    for edited in ("", "quantity", "price"):
        big = replace(limit(quantity="90000000000", price="9000000"), edited=edited)
        with pytest.raises(FormError) as info:
            parse(big, V2)
        assert (info.value.field, info.value.message) == (
            "quantity",
            "too large: the total would overflow",
        )
        assert info.value.detail == "max total 92,233,720,368,547,758.07"
        with pytest.raises(FormError) as info:
            parse(replace(limit(quantity="10", price="1" + "0" * 16), edited=edited), V2)
        assert info.value.field == "price"


def test_a_short_limit_buy_is_told_in_a_price_just_made_outlandish() -> None:
    available = {GBP: 10_000, XBT: q("0.5")}  # 100.00 GBP
    outlandish = limit("buy", "1", "1000000000")  # a billion GBP a bitcoin
    cases = [
        (outlandish, "", "quantity"),
        (outlandish, "quantity", "quantity"),
        (outlandish, "price", "price"),
        # 756 bitcoins at a plain price: the quantity is short, even when the price came last.
        (limit("buy", "756", "41000"), "price", "quantity"),
        # A sell holds its quantity, whatever the price.
        (limit("sell", "1", "1000000000"), "price", "quantity"),
    ]
    for form, edited, field in cases:
        with pytest.raises(FormError, match="more than the") as info:
            validate(replace(form, edited=edited), V2, available)
        assert info.value.field == field, (form, edited)


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
quantities = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000"), places=8)


@given(quantities, prices, st.sampled_from(["buy", "sell"]))
@settings(max_examples=60)
def test_valid_limit_orders_round_trip_exactly(quantity: Decimal, price: Decimal, side) -> None:
    order = validate(limit(side, format(quantity, "f"), format(price, "f")), V2, None)
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


def test_a_limit_far_through_the_book_needs_a_second_look() -> None:
    book = BookRows(bids=((p("40000"), q("1"), 1),), asks=((p("41000"), q("1"), 1),))

    def far(side, price):  # type: ignore[no-untyped-def]
        return far_through(OrderRequest(PAIR, side, quantity=q("1"), price=p(price)), book, V2)

    assert far("buy", "45100") is None  # exactly 10% above the best ask
    assert far("buy", "45100.01") == "45,100.01 is 10% above the best ask 41,000.00"
    assert far("buy", "82000") == "82,000.00 is 100% above the best ask 41,000.00"
    assert far("buy", "30000") is None  # far below the ask: it rests, it does not trade
    assert far("sell", "36000") is None  # exactly 10% below the best bid
    assert far("sell", "35999.99") == "35,999.99 is 10% below the best bid 40,000.00"
    assert far("sell", "90000") is None
    empty = OrderRequest(PAIR, "buy", quantity=q("1"), price=p("99999"))
    assert far_through(empty, BookRows(), V2) is None  # nothing to trade against
    assert far_through(OrderRequest(PAIR, "buy", quantity=q("1")), book, V2) is None  # market


@given(quantities)
@settings(max_examples=60)
def test_amounts_typed_as_the_dashboard_shows_them_parse_back_exactly(quantity: Decimal) -> None:
    shown = format(quantity, ",.8f")  # as fmt.amount shows them: separators, always a point
    assert parse(limit("buy", shown, "1"), V2).quantity == q(format(quantity, "f"))
