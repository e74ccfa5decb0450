from decimal import Decimal, Inexact, Rounded, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cfdash.core.assets import (
    PAIRS,
    V1,
    V2,
    WIRE_MAX,
    Assets,
    ConversionError,
    Pair,
    asset_code,
    from_wire,
    parse_pair,
    to_wire,
)

XBT_GBP = Pair(Assets["XBT"], Assets["GBP"])


def test_assets_equal_the_seed_mapping():
    assert Assets["XBT"] == 63488 and Assets["BCH"] == 63496
    assert Assets["EUR"] == 64000 and Assets["GBP"] == 64032
    assert Assets["USD"] == 64128 and Assets["PLN"] == 64936
    assert Assets["XBTJAN18"] == 51200 and Assets["XBTDEC18"] == 51211
    assert Assets["USDJAN18"] == 51840 and Assets["USDDEC18"] == 51851
    assert len(Assets) == 30


def test_pairs_listed_by_the_spec():
    names = [p.name for p in PAIRS]
    assert names[:5] == ["XBT:GBP", "XBT:EUR", "XBT:USD", "XBT:PLN", "BCH:GBP"]
    assert "XBTMAR18:USDMAR18" in names and len(names) == 17


def test_lookup_by_code_or_name():
    assert asset_code("xbt") == 63488 and asset_code(64032) == 64032
    assert parse_pair("XBT:GBP") == XBT_GBP == parse_pair((63488, "GBP"))
    with pytest.raises(ConversionError, match="unknown asset 'DOGE'"):
        asset_code("DOGE")
    with pytest.raises(ConversionError, match="not a listed pair"):
        parse_pair("GBP:XBT")


def test_v2_and_v1_scales():
    assert V2.quantity_to_wire(XBT_GBP, "1.5") == 150_000_000
    assert V1.quantity_to_wire(XBT_GBP, "12.3456") == 123456
    assert V2.price_to_wire(XBT_GBP, "543.21") == 54321
    assert V2.total_to_wire(XBT_GBP, Decimal("9876.54")) == 987654
    assert V2.quantity_from_wire(XBT_GBP, 1) == Decimal("0.00000001")


def test_reservation_matches_impl_guide_under_v1():
    assert V1.bid_reservation(XBT_GBP, 12345, 1234500) == 1523991
    assert V1.bid_reservation(XBT_GBP, 11110, 1234500) == 1371530
    assert V1.bid_reservation(XBT_GBP, 11111, 1234500) == 1371653


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        ("0.000000001", "quantity", "more than 8 decimal places"),
        ("NaN", "quantity", "not a finite number"),
        ("1e30", "quantity", "too large"),
        ("abc", "quantity", "not a number"),
        (1.5, "quantity", "must be a Decimal"),
        ("0,5", "quantity", "use '.' for decimals"),  # never 5 XBT
        ("1,000", "quantity", "no separators"),
        ("1_000", "quantity", "no separators"),
        ("1e999999", "quantity", "too large"),
        ("1e-999999", "quantity", "more than 8 decimal places"),
        ("12345678901234567890123.123456789", "quantity", "more than 8 decimal places"),
        ("12345678901234567890123", "quantity", "too large"),
        ("92233720368.54775808", "quantity", "too large"),  # WIRE_MAX + 1
    ],
)
def test_unrepresentable_quantities_are_refused(value, field, reason):
    with pytest.raises(ConversionError, match=reason) as info:
        V2.quantity_to_wire(XBT_GBP, value)
    assert info.value.field == field


def test_negative_price_is_refused():
    with pytest.raises(ConversionError, match="price: must not be negative"):
        V2.price_to_wire(XBT_GBP, "-1")


def test_trailing_zeros_beyond_the_scale_are_fine():
    assert to_wire("1.50000000000", 100, "price") == 150
    assert to_wire("15E-1", 100, "price") == 150 and to_wire("-0", 100, "price") == 0


def test_wire_max_is_representable():
    assert to_wire("92233720368.54775807", 10**8, "q") == WIRE_MAX


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-1000, max_value=1000),
    st.integers(min_value=1, max_value=8),
)
def test_the_callers_decimal_context_cannot_round_or_raise(d, prec):
    expected = int(d * 10**8)
    with localcontext() as ctx:
        ctx.prec = prec
        ctx.traps[Inexact] = ctx.traps[Rounded] = True
        assert to_wire(d, 10**8, "q") == expected
        assert to_wire(str(d), 10**8, "q") == expected


@given(
    st.integers(min_value=-WIRE_MAX, max_value=WIRE_MAX), st.sampled_from([1, 100, 10**4, 10**8])
)
def test_round_trip_wire_decimal_wire(n, scale):
    assert to_wire(from_wire(n, scale), scale, "x") == n


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=8, min_value=-(10**10), max_value=10**10
    )
)
def test_round_trip_decimal_wire_decimal(d):
    assert from_wire(to_wire(d, 10**8, "q"), 10**8) == d


@given(st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-1, max_value=1))
def test_excess_precision_never_rounds_silently(d):
    try:
        wire = to_wire(d, 100, "price")
    except ConversionError as exc:
        assert "decimal places" in str(exc)
    else:
        assert from_wire(wire, 100) == d
