"""cfdash.core.messages: command validation, frame decoding, builders, typed parsing."""

from __future__ import annotations

import json
from fractions import Fraction
from math import ceil
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core import messages
from cfdash.core.assets import PAIRS, V1, V2, WIRE_MAX, Assets, Pair
from cfdash.core.auth import authenticate_command, b64, derive_private_key
from cfdash.core.errors import (
    AlreadyWatchingError,
    AuthenticationError,
    BadRequestError,
    CoinfloorError,
    InsufficientFundsError,
    Msg,
    NoSuchUserError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    TonceOutOfSequenceError,
    TooManyOrdersError,
    ValidationError,
)
from cfdash.core.messages import (
    INFO_METHODS,
    INVALID_ASSET,
    MAX_DEPTH,
    METHODS,
    NOTICE_FIELDS,
    NOTICES,
    ORDER_METHODS,
    PUBLIC_METHODS,
    BalanceChanged,
    BalanceReply,
    Balances,
    BookOrder,
    BookSnapshot,
    EstimateReply,
    MarketResult,
    OrderClosed,
    OrderOpened,
    OrderReply,
    OrdersMatched,
    PlacedOrder,
    TickerChanged,
    TickerReply,
    TradeVolume,
    TradeVolumeChanged,
    Welcome,
    WireField,
    decode_frame,
    parse_notice,
    parse_reply,
    validate_command,
)

XBT, GBP, USD, EUR, PLN, BCH = (Assets[n] for n in ("XBT", "GBP", "USD", "EUR", "PLN", "BCH"))
XBTGBP = {"base": XBT, "counter": GBP}
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
SIG = ["P7d6nXtbKmggnnb2hyB4xXkTQNWYmFSto6tzXg==", "NLhDQS8YqRDxin1M4dNZeGDmNFsiv3iUz2d4Cg=="]
AUTH = {
    "method": "Authenticate",
    "user_id": 1,
    "cookie": "HGREqcILTz8blHa/jsUTVTNBJlg=",
    "nonce": "8IyYyvH9gujOqYJdv/BP0A==",
    "signature": SIG,
}


def place(**fields: Any) -> dict[str, Any]:
    return {"method": "PlaceOrder", **XBTGBP, **fields}


def estimate(**fields: Any) -> dict[str, Any]:
    return {"method": "EstimateMarketOrder", **XBTGBP, **fields}


def expect(cmd: Any, cls: type[CoinfloorError], code: int, message: str, scales=V2) -> None:
    with pytest.raises(CoinfloorError) as info:
        validate_command(cmd, scales)
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.message == message


# ------------------------------------------------------------------------- method sets


def test_method_sets():
    assert len(METHODS) == 10
    assert {"Authenticate", "EstimateMarketOrder", "WatchOrders", "WatchTicker"} == PUBLIC_METHODS
    assert {"GetBalances", "GetOrders", "GetTradeVolume"} == INFO_METHODS
    assert {"PlaceOrder", "CancelOrder", "CancelAllOrders", "EstimateMarketOrder"} == ORDER_METHODS
    assert PUBLIC_METHODS | INFO_METHODS | ORDER_METHODS | {"Authenticate"} <= METHODS
    # Every method except Authenticate/WatchX is rate-limited by exactly one bucket.
    assert INFO_METHODS.isdisjoint(ORDER_METHODS)
    assert {"Authenticate", "WatchOrders", "WatchTicker"} == METHODS - INFO_METHODS - ORDER_METHODS


# ---------------------------------------------------------------------- valid commands

GOOD = [
    AUTH,
    {**AUTH, "user_id": 0, "signature": tuple(SIG)},
    {"method": "GetBalances"},
    {"method": "GetBalances", "tag": 0},
    {"method": "GetBalances", "tag": I64_MAX},
    {"method": "GetBalances", "tag": I64_MIN},
    {"method": "GetBalances", "tag": None},
    {"method": "GetOrders", "tag": -7},
    {"method": "CancelAllOrders"},
    estimate(quantity=1),
    estimate(quantity=-WIRE_MAX),
    estimate(total=5),
    estimate(total=-5, quantity=None),
    place(quantity=1, price=1),
    place(quantity=-5, price=10000, tonce=7, persist=False, tag=3),
    place(quantity=5, price=10000, tonce=-3, persist=True),
    place(quantity=5, price=10000, tonce=None, persist=None, total=None),
    place(quantity=-WIRE_MAX),
    place(total=WIRE_MAX),
    place(total=-1, tonce=1),
    {"method": "PlaceOrder", "base": XBT, "counter": USD, "quantity": WIRE_MAX, "price": 10**4},
    {"method": "CancelOrder", "id": 4},
    {"method": "CancelOrder", "tonce": 9, "id": None},
    {"method": "CancelOrder", "tonce": 0},
    {"method": "GetTradeVolume", "asset": XBT},
    {"method": "GetTradeVolume", "asset": Assets["USDDEC18"]},
    {"method": "WatchOrders", **XBTGBP, "watch": True},
    {"method": "WatchOrders", "base": BCH, "counter": GBP, "watch": False},
    {
        "method": "WatchTicker",
        "base": Assets["XBTJAN18"],
        "counter": Assets["USDJAN18"],
        "watch": True,
    },
]


@pytest.mark.parametrize("cmd", GOOD)
def test_valid_commands_pass(cmd):
    before = dict(cmd)
    assert validate_command(cmd) is None
    assert validate_command(cmd, V1) is None
    assert cmd == before  # never mutates


def test_every_listed_pair_is_accepted():
    for pair in PAIRS:
        for method in ("WatchOrders", "WatchTicker"):
            validate_command(
                {"method": method, "base": pair.base, "counter": pair.counter, "watch": True}
            )
        validate_command(place(base=pair.base, counter=pair.counter, quantity=1, price=1))


# ------------------------------------------------------------------------ bad commands

V8 = ValidationError
NF = NotFoundError

BAD = [
    # the envelope
    ([("method", "GetBalances")], V8, 8, "A command must be a JSON object."),
    ("GetBalances", V8, 8, "A command must be a JSON object."),
    ({}, V8, 8, "Missing field 'method'."),
    ({"tag": 1}, V8, 8, "Missing field 'method'."),
    ({"method": 5}, V8, 8, "Field 'method' must be a string."),
    ({"method": None}, V8, 8, "Field 'method' must be a string."),
    ({"method": ["GetBalances"]}, V8, 8, "Field 'method' must be a string."),
    ({"method": "Foo"}, V8, 8, "Unknown method 'Foo'."),
    ({"method": "getbalances"}, V8, 8, "Unknown method 'getbalances'."),
    ({"method": "GetBalances", "foo": 1}, V8, 8, "Unexpected field 'foo'."),
    ({"method": "GetBalances", "tag": 1, "asset": XBT}, V8, 8, "Unexpected field 'asset'."),
    ({**AUTH, "passphrase": "x"}, V8, 8, "Unexpected field 'passphrase'."),
    (place(quantity=1, watch=True), V8, 8, "Unexpected field 'watch'."),
    # tag
    ({"method": "GetOrders", "tag": "1"}, V8, 8, "Field 'tag' must be an integer."),
    ({"method": "GetOrders", "tag": True}, V8, 8, "Field 'tag' must be an integer."),
    ({"method": "GetOrders", "tag": 1.0}, V8, 8, "Field 'tag' must be an integer."),
    ({"method": "GetOrders", "tag": 2**63}, V8, 8, "Field 'tag' is out of range."),
    ({"method": "GetOrders", "tag": -(2**63) - 1}, V8, 8, "Field 'tag' is out of range."),
    # Authenticate (shape only)
    ({**AUTH, "user_id": -1}, V8, 8, "Field 'user_id' must not be negative."),
    ({**AUTH, "user_id": "1"}, V8, 8, "Field 'user_id' must be an integer."),
    ({k: v for k, v in AUTH.items() if k != "user_id"}, V8, 8, "Missing field 'user_id'."),
    ({**AUTH, "cookie": None}, V8, 8, "Field 'cookie' must be a string."),
    ({k: v for k, v in AUTH.items() if k != "nonce"}, V8, 8, "Missing field 'nonce'."),
    ({**AUTH, "nonce": b"12"}, V8, 8, "Field 'nonce' must be a string."),
    ({**AUTH, "signature": SIG[:1]}, V8, 8, "Field 'signature' must be an array of two strings."),
    (
        {**AUTH, "signature": [*SIG, "x"]},
        V8,
        8,
        "Field 'signature' must be an array of two strings.",
    ),
    ({**AUTH, "signature": [1, 2]}, V8, 8, "Field 'signature' must be an array of two strings."),
    ({**AUTH, "signature": "rs"}, V8, 8, "Field 'signature' must be an array of two strings."),
    ({k: v for k, v in AUTH.items() if k != "signature"}, V8, 8, "Missing field 'signature'."),
    # EstimateMarketOrder
    (
        {"method": "EstimateMarketOrder", "counter": GBP, "quantity": 1},
        V8,
        8,
        "Missing field 'base'.",
    ),
    (estimate(counter="GBP", quantity=1), V8, 8, "Field 'counter' must be an integer."),
    (estimate(quantity=1.5), V8, 8, "Field 'quantity' must be an integer."),
    (estimate(quantity=True), V8, 8, "Field 'quantity' must be an integer."),
    (estimate(total="5"), V8, 8, "Field 'total' must be an integer."),
    (estimate(quantity=-(2**63)), V8, 8, "Field 'quantity' is out of range."),
    (estimate(base=GBP, counter=XBT, quantity=1), NF, 1, Msg.INVALID_PAIR),
    (estimate(base=XBT, counter=XBT, total=0), NF, 1, Msg.INVALID_PAIR),
    (estimate(), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (estimate(quantity=1, total=1), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (estimate(quantity=0, total=1), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (estimate(quantity=0), V8, 8, Msg.QUANTITY_ZERO),
    (estimate(total=0), V8, 8, Msg.TOTAL_ZERO),
    (estimate(quantity=1, price=1), V8, 8, "Unexpected field 'price'."),
    # PlaceOrder: types first
    (place(quantity="1", price=1), V8, 8, "Field 'quantity' must be an integer."),
    (place(quantity=1, price=1.5), V8, 8, "Field 'price' must be an integer."),
    (place(quantity=1, price=1, tonce=False), V8, 8, "Field 'tonce' must be an integer."),
    (place(quantity=1, price=1, persist=0), V8, 8, "Field 'persist' must be a boolean."),
    (place(quantity=1, price=1, persist="false"), V8, 8, "Field 'persist' must be a boolean."),
    (place(quantity=1, price=2**63), V8, 8, "Field 'price' is out of range."),
    (place(quantity=-(2**63), price=1), V8, 8, "Field 'quantity' is out of range."),
    (place(base=None, quantity=1), V8, 8, "Field 'base' must be an integer."),
    # then the pair, then tonce, then price, then the shape, then zeros, then overflow
    (place(base=USD, counter=GBP, quantity=1, tonce=0, price=0), NF, 1, Msg.INVALID_PAIR),
    (place(base=XBT, counter=Assets["USDJAN18"], quantity=1), NF, 1, Msg.INVALID_PAIR),
    (place(base=Assets["XBTJAN18"], counter=Assets["USDFEB18"], total=1), NF, 1, Msg.INVALID_PAIR),
    (place(quantity=0, price=0, tonce=0), V8, 8, Msg.TONCE_ZERO),
    (place(tonce=0), V8, 8, Msg.TONCE_ZERO),
    (place(quantity=0, price=0), V8, 8, Msg.PRICE_ZERO),
    (place(total=5, price=0), V8, 8, Msg.PRICE_ZERO),
    (place(quantity=1, price=-1), V8, 8, "Price must be positive."),
    (place(quantity=1, price=-WIRE_MAX), V8, 8, "Price must be positive."),
    (place(quantity=1, price=5, total=5), V8, 8, "A limit order takes a quantity, not a total."),
    (place(price=5, total=5), V8, 8, "A limit order takes a quantity, not a total."),
    (place(price=5), V8, 8, "A limit order needs a quantity."),
    (place(), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (place(persist=True, tonce=3), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (place(quantity=1, total=1), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (place(quantity=0, total=0), V8, 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
    (place(quantity=0, price=5), V8, 8, Msg.QUANTITY_ZERO),
    (place(quantity=0), V8, 8, Msg.QUANTITY_ZERO),
    (place(total=0), V8, 8, Msg.TOTAL_ZERO),
    (place(quantity=WIRE_MAX, price=10**8 + 1), V8, 8, Msg.TOTAL_OVERFLOW),
    (place(quantity=-WIRE_MAX, price=WIRE_MAX), V8, 8, Msg.TOTAL_OVERFLOW),
    # CancelOrder
    ({"method": "CancelOrder"}, V8, 8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
    ({"method": "CancelOrder", "id": 1, "tonce": 1}, V8, 8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
    ({"method": "CancelOrder", "id": None, "tonce": None}, V8, 8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
    ({"method": "CancelOrder", "id": "1"}, V8, 8, "Field 'id' must be an integer."),
    ({"method": "CancelOrder", "tonce": 2**64}, V8, 8, "Field 'tonce' is out of range."),
    ({"method": "CancelOrder", "id": 1, **XBTGBP}, V8, 8, "Unexpected field 'base'."),
    # GetTradeVolume
    ({"method": "GetTradeVolume"}, V8, 8, "Missing field 'asset'."),
    ({"method": "GetTradeVolume", "asset": "XBT"}, V8, 8, "Field 'asset' must be an integer."),
    ({"method": "GetTradeVolume", "asset": None}, V8, 8, "Field 'asset' must be an integer."),
    ({"method": "GetTradeVolume", "asset": 12345}, V8, 8, INVALID_ASSET),
    ({"method": "GetTradeVolume", "asset": -1}, V8, 8, INVALID_ASSET),
    # WatchOrders / WatchTicker
    ({"method": "WatchOrders", **XBTGBP}, V8, 8, "Missing field 'watch'."),
    ({"method": "WatchOrders", **XBTGBP, "watch": 1}, V8, 8, "Field 'watch' must be a boolean."),
    ({"method": "WatchTicker", **XBTGBP, "watch": None}, V8, 8, "Field 'watch' must be a boolean."),
    ({"method": "WatchTicker", "counter": GBP, "watch": True}, V8, 8, "Missing field 'base'."),
    (
        {"method": "WatchTicker", "base": GBP, "counter": XBT, "watch": True},
        NF,
        1,
        Msg.INVALID_PAIR,
    ),
    ({"method": "WatchOrders", "base": 1, "counter": 2, "watch": False}, NF, 1, Msg.INVALID_PAIR),
    (
        {"method": "WatchOrders", **XBTGBP, "watch": True, "depth": 5},
        V8,
        8,
        "Unexpected field 'depth'.",
    ),
]


@pytest.mark.parametrize(("cmd", "cls", "code", "message"), BAD)
def test_invalid_commands_raise_the_spec_error(cmd, cls, code, message):
    expect(cmd, cls, code, message)


def test_validation_error_is_a_value_error_and_code_8():
    with pytest.raises(ValueError):
        validate_command({"method": "Foo"})
    with pytest.raises(BadRequestError):
        validate_command({"method": "Foo"})


def test_unknown_fields_switch_relaxes_only_that_rule(monkeypatch):
    cmd = {"method": "GetBalances", "foo": 1}
    expect(cmd, V8, 8, "Unexpected field 'foo'.")
    monkeypatch.setattr(messages.validate, "STRICT_FIELDS", False)
    validate_command(cmd)
    expect({**place(quantity=0), "foo": 1}, V8, 8, Msg.QUANTITY_ZERO)


def test_int_subclasses_are_integers_but_bools_are_not():
    class Code(int):
        pass

    validate_command({"method": "GetTradeVolume", "asset": Code(XBT)})
    validate_command(place(quantity=Code(5), price=Code(100)))
    expect(place(quantity=1, price=True), V8, 8, "Field 'price' must be an integer.")


def test_mapping_commands_are_accepted():
    from types import MappingProxyType

    validate_command(MappingProxyType({"method": "CancelOrder", "id": 3}))
    expect(MappingProxyType({"method": "CancelOrder"}), V8, 8, Msg.CANCEL_NEEDS_ID_OR_TONCE)


def test_signed_authenticate_command_passes():
    key = derive_private_key(1, "opensesame")
    cmd = authenticate_command(1, "cookie", key, bytes(16), bytes(range(16)), tag=4)
    validate_command(cmd)


# ---------------------------------------------------------------------------- overflow


def _overflows(pair: Pair, quantity: int, price: int, scales) -> bool:
    """IMPL-GUIDE's bid total, computed independently with exact fractions."""
    s_base, s_counter = scales.assets[pair.base], scales.assets[pair.counter]
    total = ceil(Fraction(abs(quantity) * price * s_counter, s_base * scales.price))
    return total > WIRE_MAX


@pytest.mark.parametrize("scales", [V1, V2])
def test_overflow_boundary(scales):
    # total = |q| * p / unit: exactly the maximum passes, one price step more overflows
    unit = scales.assets[XBT] * scales.price // scales.assets[GBP]
    validate_command(place(quantity=WIRE_MAX, price=unit), scales)
    validate_command(place(quantity=-WIRE_MAX, price=unit), scales)
    expect(place(quantity=WIRE_MAX, price=unit + 1), V8, 8, Msg.TOTAL_OVERFLOW, scales)
    expect(place(quantity=-WIRE_MAX, price=unit + 1), V8, 8, Msg.TOTAL_OVERFLOW, scales)
    # a market order by quantity has no price, so no total to overflow
    validate_command(place(quantity=WIRE_MAX), scales)


def test_overflow_uses_the_ceiling():
    # V1: total = ceil(q * p / 10^4). Here q * p exceeds WIRE_MAX * 10^4 by less than 10^4, so
    # only the ceiling (not the floor) of the total exceeds WIRE_MAX.
    q = 10**4 + 1
    p = (WIRE_MAX * 10**4) // q + 1
    assert WIRE_MAX * 10**4 < q * p < (WIRE_MAX + 1) * 10**4
    assert _overflows(Pair(XBT, GBP), q, p, V1)
    expect(place(quantity=q, price=p), V8, 8, Msg.TOTAL_OVERFLOW, V1)
    expect(place(quantity=-q, price=p), V8, 8, Msg.TOTAL_OVERFLOW, V1)
    validate_command(place(quantity=q, price=p - 1), V1)


@settings(max_examples=200)
@given(
    pair=st.sampled_from(PAIRS),
    quantity=st.integers(-WIRE_MAX, WIRE_MAX).filter(bool),
    price=st.integers(1, WIRE_MAX),
    scales=st.sampled_from([V1, V2]),
)
def test_overflow_matches_the_exact_total(pair, quantity, price, scales):
    cmd = place(base=pair.base, counter=pair.counter, quantity=quantity, price=price)
    if _overflows(pair, quantity, price, scales):
        expect(cmd, V8, 8, Msg.TOTAL_OVERFLOW, scales)
    else:
        validate_command(cmd, scales)


# --------------------------------------------------------------------- the fuzz property

_FIELD_NAMES = [
    "method", "tag", "user_id", "cookie", "nonce", "signature", "base", "counter", "quantity",
    "price", "total", "tonce", "persist", "id", "asset", "watch",
]  # fmt: skip
_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**64), 2**64)
    | st.sampled_from([0, 1, -1, XBT, GBP, USD, I64_MAX, I64_MIN, WIRE_MAX])
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(sorted(METHODS))
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(
    method=st.none() | st.sampled_from(sorted(METHODS)) | _json_values,
    fields=st.dictionaries(
        st.sampled_from(_FIELD_NAMES) | st.text(max_size=6), _json_values, max_size=7
    ),
    scales=st.sampled_from([V1, V2]),
)
@pytest.mark.slow
def test_random_commands_only_raise_coinfloor_errors(method, fields, scales):
    cmd = dict(fields)
    if method is not None:
        cmd["method"] = method
    try:
        validate_command(cmd, scales)
    except (ValidationError, NotFoundError) as exc:
        assert exc.code in (1, 8)
        assert exc.message and exc.message.endswith(".")
    else:
        assert cmd["method"] in METHODS
        assert set(cmd) <= {"method", "tag", *_FIELD_NAMES}


@given(
    good=st.sampled_from(GOOD),
    updates=st.dictionaries(st.sampled_from(_FIELD_NAMES), _json_values, max_size=2),
    drops=st.sets(st.sampled_from(_FIELD_NAMES), max_size=2),
    scales=st.sampled_from([V1, V2]),
)
def test_mutated_valid_commands_only_raise_coinfloor_errors(good, updates, drops, scales):
    """Near-valid commands reach every per-method check; still only code 1 or 8 comes out."""
    cmd = {k: v for k, v in {**good, **updates}.items() if k not in drops}
    try:
        validate_command(cmd, scales)
    except (ValidationError, NotFoundError) as exc:
        assert exc.code in (1, 8) and exc.message.endswith(".")
    else:
        assert cmd.get("method") in METHODS


@given(
    quantity=st.none() | st.integers(-3, 3),
    price=st.none() | st.integers(-3, 3),
    total=st.none() | st.integers(-3, 3),
)
def test_place_order_shape_table(quantity, price, total):
    """The spec's table: exactly quantity+price, quantity alone or total alone, all non-zero."""
    fields = {
        k: v
        for k, v in (("quantity", quantity), ("price", price), ("total", total))
        if v is not None
    }
    allowed = set(fields) in ({"quantity", "price"}, {"quantity"}, {"total"})
    nonzero = all(fields.values()) and (price is None or price > 0)
    try:
        validate_command(place(**fields))
    except ValidationError:
        assert not (allowed and nonzero)
    else:
        assert allowed and nonzero


# ------------------------------------------------------------------------ decode_frame


def test_decode_frame_accepts_objects():
    assert decode_frame('{"notice":"Welcome","nonce":"x"}') == {"notice": "Welcome", "nonce": "x"}
    assert decode_frame(b'{"a": [1, {"b": "\xc3\xa9"}]}') == {"a": [1, {"b": "é"}]}
    assert decode_frame(bytearray(b'{"a": 1.5}')) == {"a": 1.5}
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert decode_frame('{"a":' + nested + "}")["a"] is not None
    # brackets inside strings do not count as nesting
    text = json.dumps({"s": "[" * 100 + "{" * 100})
    assert decode_frame(text) == json.loads(text)


def test_decode_frame_accepts_a_full_book_snapshot():
    orders = [{"id": i, "quantity": i - 1000, "price": 10**6 + i, "time": i} for i in range(2000)]
    text = json.dumps({"tag": 1, "error_code": 0, "orders": orders})
    assert decode_frame(text)["orders"] == orders


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ('{"a":1}x', "not valid JSON"),
        ("{'a': 1}", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        ('"text"', "must be a JSON object, not str"),
        ("null", "must be a JSON object, not NoneType"),
        ("42", "must be a JSON object, not int"),
        ('{"a": NaN}', "non-JSON constant NaN"),
        ('{"a": [Infinity]}', "non-JSON constant Infinity"),
        ('{"a": -Infinity}', "non-JSON constant -Infinity"),
        ('{"a": 1e400}', "too large for a float"),
        ('{"a": ' + "9" * 5000 + "}", "cannot be decoded: number too large."),
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a BOM is not JSON
        ('{"a":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", "deeper than 32"),
        ('{"a":' + "[" * (MAX_DEPTH - 1) + "{}" + "]" * (MAX_DEPTH - 1) + "}", "deeper than 32"),
        ('{"a":' + "[" * 200_000 + "]" * 200_000 + "}", "deeper than 32"),
        ('{"a":' + "[" * 200_000, "deeper than 32"),
        ('{"a":' + '{"b":' * 40 + "1" + "}" * 40 + "}", "deeper than 32"),
    ],
)
def test_decode_frame_refuses(frame, fragment):
    with pytest.raises(ProtocolError) as info:
        decode_frame(frame)
    assert fragment in str(info.value)


def test_decode_frame_refuses_non_text():
    with pytest.raises(ProtocolError, match="must be text"):
        decode_frame(42)  # type: ignore[arg-type]


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    return isinstance(value, list) and any(_non_finite(v) for v in value)


@given(st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=20))
def test_decode_frame_never_raises_anything_else(value):
    text = json.dumps({"v": value})
    try:
        decoded = decode_frame(text)
    except ProtocolError as exc:
        assert _non_finite(value)
        assert "constant" in str(exc)
    else:
        assert not _non_finite(value)
        assert decoded == json.loads(text)


# ------------------------------------------------------------------------------ builders

BUILT = [
    (messages.get_balances(), {"method": "GetBalances"}),
    (messages.get_balances(tag=0), {"method": "GetBalances"}),
    (messages.get_orders(tag=5), {"method": "GetOrders", "tag": 5}),
    (
        messages.estimate_market_order("XBT:GBP", quantity=-3),
        {"method": "EstimateMarketOrder", "base": XBT, "counter": GBP, "quantity": -3},
    ),
    (
        messages.estimate_market_order((XBT, USD), total=100, tag=2),
        {"method": "EstimateMarketOrder", "tag": 2, "base": XBT, "counter": USD, "total": 100},
    ),
    (
        messages.place_order(Pair(XBT, EUR), quantity=5, price=7, tonce=9, persist=False, tag=1),
        {
            "method": "PlaceOrder",
            "tag": 1,
            "tonce": 9,
            "base": XBT,
            "counter": EUR,
            "quantity": 5,
            "price": 7,
            "persist": False,
        },
    ),
    (
        messages.place_order("bch/gbp", total=-12),
        {"method": "PlaceOrder", "base": BCH, "counter": GBP, "total": -12},
    ),
    (messages.cancel_order(id=3), {"method": "CancelOrder", "id": 3}),
    (messages.cancel_order(tonce=8, tag=6), {"method": "CancelOrder", "tag": 6, "tonce": 8}),
    (messages.cancel_all_orders(tag=0), {"method": "CancelAllOrders"}),
    (messages.get_trade_volume(PLN), {"method": "GetTradeVolume", "asset": PLN}),
    (messages.get_trade_volume("xbt", tag=3), {"method": "GetTradeVolume", "tag": 3, "asset": XBT}),
    (
        messages.watch_orders(("XBT", "PLN")),
        {"method": "WatchOrders", "base": XBT, "counter": PLN, "watch": True},
    ),
    (
        messages.watch_ticker("XBTMAR18:USDMAR18", watch=False, tag=9),
        {
            "method": "WatchTicker",
            "tag": 9,
            "base": Assets["XBTMAR18"],
            "counter": Assets["USDMAR18"],
            "watch": False,
        },
    ),
]


@pytest.mark.parametrize(("built", "expected"), BUILT)
def test_builders_build_valid_commands(built, expected):
    assert built == expected
    validate_command(built)
    assert decode_frame(json.dumps(built)) == expected  # survives the wire


@pytest.mark.parametrize(
    ("build", "cls", "message"),
    [
        (lambda: messages.place_order("XBT:GBP"), V8, Msg.MARKET_NEEDS_QTY_OR_TOTAL),
        (lambda: messages.place_order("XBT:GBP", quantity=0, price=5), V8, Msg.QUANTITY_ZERO),
        (lambda: messages.place_order("XBT:GBP", quantity=1, tonce=0), V8, Msg.TONCE_ZERO),
        (lambda: messages.place_order("XBT:GBP", quantity=1, price=0), V8, Msg.PRICE_ZERO),
        (
            lambda: messages.place_order("XBT:GBP", quantity=WIRE_MAX, price=10**4 + 1, scales=V1),
            V8,
            Msg.TOTAL_OVERFLOW,
        ),
        (lambda: messages.estimate_market_order("XBT:USD", total=0), V8, Msg.TOTAL_ZERO),
        (lambda: messages.cancel_order(), V8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
        (lambda: messages.cancel_order(id=1, tonce=2), V8, Msg.CANCEL_NEEDS_ID_OR_TONCE),
        (lambda: messages.get_orders(tag=1.5), V8, "Field 'tag' must be an integer."),
        (lambda: messages.watch_orders("XBT:GBP", watch=1), V8, "Field 'watch' must be a boolean."),
    ],
)
def test_builders_refuse_bad_values(build, cls, message):
    with pytest.raises(CoinfloorError) as info:
        build()
    assert type(info.value) is cls and info.value.message == message


@pytest.mark.parametrize("pair", ["GBP:XBT", "XBT:JPY", "XBTGBP", (XBT, XBT), 42])
def test_builders_refuse_unlisted_pairs(pair):
    for build in (messages.watch_orders, messages.watch_ticker):
        with pytest.raises(ValidationError, match=r"pair|asset"):
            build(pair)
    with pytest.raises(ValidationError):
        messages.place_order(pair, quantity=1)


def test_trade_volume_builder_refuses_unknown_assets():
    with pytest.raises(ValidationError, match="asset"):
        messages.get_trade_volume("DOGE")
    with pytest.raises(ValidationError, match="asset"):
        messages.get_trade_volume(12345)


@given(
    pair=st.sampled_from(PAIRS),
    quantity=st.none() | st.integers(-(10**12), 10**12),
    price=st.none() | st.integers(-5, 10**9),
    total=st.none() | st.integers(-(10**12), 10**12),
    tonce=st.none() | st.integers(-5, 10**6),
    persist=st.none() | st.booleans(),
    tag=st.none() | st.integers(-5, 10**6),
)
def test_place_order_builder_agrees_with_the_validator(
    pair, quantity, price, total, tonce, persist, tag
):
    """A builder returns exactly the command with its None fields dropped, or refuses it."""
    fields = {
        "tonce": tonce,
        "quantity": quantity,
        "price": price,
        "total": total,
        "persist": persist,
    }
    cmd: dict[str, Any] = {"method": "PlaceOrder", "base": pair.base, "counter": pair.counter}
    cmd.update({k: v for k, v in fields.items() if v is not None})
    if tag:
        cmd["tag"] = tag
    try:
        validate_command(cmd)
    except CoinfloorError as exc:
        with pytest.raises(type(exc), match=exc.message.replace(".", r"\.")):
            messages.place_order(pair, **fields, tag=tag)
    else:
        assert messages.place_order(pair, **fields, tag=tag) == cmd


# ---------------------------------------------------------------------------- notices


def test_parse_welcome():
    notice = parse_notice({"notice": "Welcome", "nonce": b64(bytes(range(16)))})
    assert isinstance(notice, Welcome) and notice.nonce == bytes(range(16))
    for nonce in (None, "!!", b64(bytes(15)), 16):
        with pytest.raises(ProtocolError, match="Welcome: field 'nonce'"):
            parse_notice({"notice": "Welcome", "nonce": nonce})


def test_parse_balance_and_volume_changed():
    raw = {"notice": "BalanceChanged", "asset": XBT, "balance": 12345}
    notice = parse_notice(raw)
    assert notice == BalanceChanged(XBT, 12345, raw) and notice.raw is raw
    raw = {"notice": "TradeVolumeChanged", "asset": GBP, "volume": 0}
    assert parse_notice(raw) == TradeVolumeChanged(GBP, 0, raw)


def test_parse_order_opened_own_and_foreign():
    foreign = {"notice": "OrderOpened", "id": 7, **XBTGBP, "quantity": -5, "price": 100, "time": 99}
    notice = parse_notice(foreign)
    assert isinstance(notice, OrderOpened)
    assert (notice.id, notice.tonce, notice.quantity, notice.price, notice.time) == (
        7,
        None,
        -5,
        100,
        99,
    )
    assert (notice.base, notice.counter, notice.own) == (XBT, GBP, False)
    own_null = parse_notice({**foreign, "tonce": None})
    assert own_null.own and own_null.tonce is None
    own = parse_notice({**foreign, "tonce": 12})
    assert own.own and own.tonce == 12


def test_parse_order_closed():
    raw = {"notice": "OrderClosed", "id": 7, **XBTGBP, "quantity": 0, "price": 100}
    notice = parse_notice(raw)
    assert notice == OrderClosed(7, None, XBT, GBP, 0, 100, False, raw)
    assert parse_notice({**raw, "tonce": 4}) == OrderClosed(7, 4, XBT, GBP, 0, 100, True, raw)


def test_parse_orders_matched_with_both_sides_and_own_fees():
    raw = {
        "notice": "OrdersMatched",
        "bid": 10,
        "bid_tonce": None,
        "ask": 11,
        **XBTGBP,
        "quantity": 5,
        "price": 100,
        "total": 500,
        "bid_rem": 3,
        "ask_rem": 0,
        "time": 1234,
        "bid_base_fee": 0,
        "bid_counter_fee": 2,
    }
    m = parse_notice(raw)
    assert isinstance(m, OrdersMatched)
    assert (m.bid, m.ask, m.bid_rem, m.ask_rem) == (10, 11, 3, 0)
    assert (m.quantity, m.price, m.total, m.time) == (5, 100, 500, 1234)
    assert m.has_bid_tonce and m.bid_tonce is None  # ours, placed without a tonce
    assert not m.has_ask_tonce and m.ask_tonce is None  # not ours
    assert (m.bid_base_fee, m.bid_counter_fee, m.ask_base_fee, m.ask_counter_fee) == (
        0,
        2,
        None,
        None,
    )


def test_parse_orders_matched_market_side():
    raw = {
        "notice": "OrdersMatched",
        "ask": 11,
        "ask_tonce": 6,
        **XBTGBP,
        "quantity": 5,
        "price": 100,
        "total": 500,
        "ask_rem": 2,
        "time": 1,
    }
    m = parse_notice(raw)
    assert m.bid is None and m.bid_rem is None and not m.has_bid_tonce
    assert m.ask == 11 and m.ask_tonce == 6 and m.has_ask_tonce
    with pytest.raises(ProtocolError, match="OrdersMatched: neither 'bid' nor 'ask'"):
        parse_notice({k: v for k, v in raw.items() if k != "ask"})


def test_parse_ticker_changed_keeps_only_present_fields():
    raw = {"notice": "TickerChanged", **XBTGBP, "last": 5, "bid": None}
    notice = parse_notice(raw)
    assert isinstance(notice, TickerChanged)
    assert (notice.base, notice.counter) == (XBT, GBP)
    assert notice.changes == {"last": 5, "bid": None}
    assert parse_notice({"notice": "TickerChanged", **XBTGBP}).changes == {}
    with pytest.raises(ProtocolError, match="TickerChanged: field 'volume' must be an integer"):
        parse_notice({**raw, "volume": "1"})


@pytest.mark.parametrize(
    ("notice", "fragment"),
    [
        ({"notice": "Nope"}, "Unknown notice 'Nope'"),
        ({"notice": None}, "Unknown notice None"),
        ({"asset": 1}, "Unknown notice None"),
        ({"notice": "BalanceChanged", "asset": XBT}, "BalanceChanged: missing field 'balance'"),
        (
            {"notice": "BalanceChanged", "asset": XBT, "balance": 1.0},
            "BalanceChanged: field 'balance'",
        ),
        (
            {"notice": "TradeVolumeChanged", "asset": True, "volume": 1},
            "TradeVolumeChanged: field 'asset'",
        ),
        (
            {"notice": "OrderOpened", "id": 1, **XBTGBP, "quantity": 1, "price": 1},
            "OrderOpened: missing field 'time'",
        ),
        (
            {
                "notice": "OrderOpened",
                "id": 1,
                "tonce": "1",
                **XBTGBP,
                "quantity": 1,
                "price": 1,
                "time": 1,
            },
            "OrderOpened: field 'tonce'",
        ),
        (
            {"notice": "OrderClosed", "id": None, **XBTGBP, "quantity": 1, "price": 1},
            "OrderClosed: field 'id'",
        ),
        (
            {"notice": "OrdersMatched", "bid": 1, **XBTGBP, "quantity": 1, "price": 1, "time": 1},
            "OrdersMatched: missing field 'total'",
        ),
        (
            {
                "notice": "OrdersMatched",
                "bid": "1",
                **XBTGBP,
                "quantity": 1,
                "price": 1,
                "total": 1,
                "time": 1,
            },
            "OrdersMatched: field 'bid'",
        ),
        ({"notice": "TickerChanged", "base": XBT}, "TickerChanged: missing field 'counter'"),
    ],
)
def test_malformed_notices(notice, fragment):
    with pytest.raises(ProtocolError) as info:
        parse_notice(notice)
    assert fragment in str(info.value)


@pytest.mark.parametrize("name", sorted(NOTICES - {"Welcome"}))
def test_notice_fields_are_what_the_parsers_read(name):
    """``NOTICE_FIELDS`` (read off the classes) says what ``parse_notice`` requires."""
    fields = NOTICE_FIELDS[name]
    assert fields and all(isinstance(f, WireField) for f in fields)
    notice = {"notice": name, **{f.name: 1 for f in fields}}
    parsed = parse_notice(notice)
    assert parsed.raw is notice
    for f in fields:
        rest = {k: v for k, v in notice.items() if k != f.name}
        if f.required:
            with pytest.raises(ProtocolError, match=f"{name}: missing field '{f.name}'"):
                parse_notice(rest)
            with pytest.raises(ProtocolError, match=f"{name}: field '{f.name}' must be"):
                parse_notice({**notice, f.name: None})
        elif f.name not in ("bid", "ask"):  # OrdersMatched needs one of them
            parse_notice(rest)
            parse_notice({**notice, f.name: None})
        with pytest.raises(ProtocolError, match=f"{name}: field '{f.name}' must be"):
            parse_notice({**notice, f.name: "1"})
    assert NOTICE_FIELDS["Welcome"] == ()


# ----------------------------------------------------------------------------- replies

ORDER = {"id": 5, "tonce": None, **XBTGBP, "quantity": -3, "price": 10, "time": 77}


def test_parse_simple_replies():
    assert parse_reply("Authenticate", {"error_code": 0}) is None
    assert parse_reply("Authenticate", {"tag": 3, "error_code": 0}) is None
    raw = {
        "error_code": 0,
        "balances": [{"asset": XBT, "balance": 7}, {"asset": GBP, "balance": 0}],
    }
    balances = parse_reply("GetBalances", raw)
    assert isinstance(balances, Balances) and balances.raw is raw
    assert balances.balances == [BalanceReply(XBT, 7, {}), BalanceReply(GBP, 0, {})]
    assert balances.as_dict() == {XBT: 7, GBP: 0}
    assert parse_reply("GetBalances", {"error_code": 0, "balances": []}).as_dict() == {}
    assert parse_reply(
        "EstimateMarketOrder", {"error_code": 0, "quantity": 4, "total": 9}
    ) == EstimateReply(4, 9, {})
    assert parse_reply("GetTradeVolume", {"error_code": 0, "volume": 123}) == TradeVolume(123, {})


def test_parse_order_lists():
    raw = {"error_code": 0, "orders": [ORDER, {**ORDER, "id": 6, "tonce": 2, "quantity": 4}]}
    for method in ("GetOrders", "CancelAllOrders"):
        orders = parse_reply(method, raw)
        assert orders == [
            OrderReply(5, None, XBT, GBP, -3, 10, 77, {}),
            OrderReply(6, 2, XBT, GBP, 4, 10, 77, {}),
        ]
        assert orders[0].raw is ORDER
        assert parse_reply(method, {"error_code": 0, "orders": []}) == []
    cancelled = parse_reply("CancelOrder", {"tag": 2, "error_code": 0, **ORDER})
    assert cancelled == OrderReply(5, None, XBT, GBP, -3, 10, 77, {})


def test_parse_place_order_replies():
    assert parse_reply("PlaceOrder", {"error_code": 0, "id": 9, "time": 55}) == PlacedOrder(
        9, 55, {}
    )
    assert parse_reply("PlaceOrder", {"error_code": 0, "remaining": 0}) == MarketResult(0, {})
    for bad in ({"error_code": 0}, {"error_code": 0, "id": 1, "time": 2, "remaining": 3}):
        with pytest.raises(ProtocolError, match="PlaceOrder"):
            parse_reply("PlaceOrder", bad)
    with pytest.raises(ProtocolError, match="PlaceOrder: missing field 'time'"):
        parse_reply("PlaceOrder", {"error_code": 0, "id": 1})


def test_parse_watch_replies():
    raw = {
        "error_code": 0,
        "orders": [
            {"id": 1, "quantity": 5, "price": 9, "time": 3},
            {"id": 2, "quantity": -4, "price": 11, "time": 4},
        ],
    }
    snap = parse_reply("WatchOrders", raw)
    assert isinstance(snap, BookSnapshot) and snap.raw is raw
    assert snap.orders == [BookOrder(1, 5, 9, 3, {}), BookOrder(2, -4, 11, 4, {})]
    assert [o.id for o in snap.bids] == [1] and [o.id for o in snap.asks] == [2]
    assert parse_reply("WatchOrders", {"error_code": 0}) is None
    ticker = {
        "error_code": 0,
        "last": 5,
        "bid": None,
        "ask": 7,
        "low": None,
        "high": 9,
        "volume": 0,
    }
    assert parse_reply("WatchTicker", ticker) == TickerReply(5, None, 7, None, 9, 0, {})
    assert parse_reply("WatchTicker", {"tag": 1, "error_code": 0}) is None


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1, NotFoundError),
        (2, AlreadyWatchingError),
        (3, TonceOutOfSequenceError),
        (4, InsufficientFundsError),
        (5, TooManyOrdersError),
        (6, RateLimitedError),
        (7, AuthenticationError),
        (8, BadRequestError),
        (99, CoinfloorError),
    ],
)
def test_error_replies_raise_their_class(code, cls):
    reply = {"tag": 4, "error_code": code, "error_msg": f"message {code}"}
    for method in sorted(METHODS):
        with pytest.raises(CoinfloorError) as info:
            parse_reply(method, reply)
        # Code 1 to Authenticate is "There is no such user.": also an authentication error.
        expected = NoSuchUserError if (code, method) == (1, "Authenticate") else cls
        assert type(info.value) is expected
        assert info.value.code == code and info.value.message == f"message {code}"
        assert info.value.reply is reply


@pytest.mark.parametrize(
    ("method", "reply", "fragment"),
    [
        ("GetBalances", {}, "GetBalances: missing field 'error_code'"),
        ("GetBalances", {"error_code": "0"}, "GetBalances: field 'error_code' must be an integer"),
        (
            "GetBalances",
            {"error_code": False},
            "GetBalances: field 'error_code' must be an integer",
        ),
        ("GetBalances", {"error_code": 0}, "GetBalances: missing field 'balances'"),
        (
            "GetBalances",
            {"error_code": 0, "balances": {}},
            "GetBalances: field 'balances' must be an array",
        ),
        (
            "GetBalances",
            {"error_code": 0, "balances": [5]},
            "GetBalances balance: expected an object",
        ),
        ("GetBalances", {"error_code": 0, "balances": [{"asset": 1}]}, "missing field 'balance'"),
        ("GetOrders", {"error_code": 0}, "GetOrders: missing field 'orders'"),
        (
            "GetOrders",
            {"error_code": 0, "orders": [{**ORDER, "price": None}]},
            "GetOrders order: field 'price'",
        ),
        (
            "CancelAllOrders",
            {"error_code": 0, "orders": [{k: v for k, v in ORDER.items() if k != "tonce"}]},
            "CancelAllOrders order: missing field 'tonce'",
        ),
        ("CancelOrder", {"error_code": 0, "id": 1}, "CancelOrder: missing field 'tonce'"),
        (
            "EstimateMarketOrder",
            {"error_code": 0, "quantity": 1},
            "EstimateMarketOrder: missing field 'total'",
        ),
        ("GetTradeVolume", {"error_code": 0, "volume": None}, "GetTradeVolume: field 'volume'"),
        (
            "WatchOrders",
            {"error_code": 0, "orders": None},
            "WatchOrders: field 'orders' must be an array",
        ),
        (
            "WatchOrders",
            {"error_code": 0, "orders": [{"id": 1, "quantity": 1, "price": 1}]},
            "missing field 'time'",
        ),
        ("WatchTicker", {"error_code": 0, "last": 1}, "WatchTicker: missing field 'bid'"),
        (
            "WatchTicker",
            {"error_code": 0, "last": 1.5, "bid": 1, "ask": 1, "low": 1, "high": 1, "volume": 1},
            "WatchTicker: field 'last'",
        ),
        ("Frobnicate", {"error_code": 0}, "unknown method 'Frobnicate'"),
        ("GetOrders", [], "GetOrders: a reply must be an object"),
    ],
)
def test_malformed_replies(method, reply, fragment):
    with pytest.raises(ProtocolError) as info:
        parse_reply(method, reply)
    assert fragment in str(info.value)


def test_typed_results_are_frozen():
    est = parse_reply("EstimateMarketOrder", {"error_code": 0, "quantity": 4, "total": 9})
    with pytest.raises(AttributeError):
        est.quantity = 5  # type: ignore[misc]
    assert not hasattr(est, "__dict__")  # slotted
