"""Protocol messages: command validation, frame decoding, command builders, typed parsing.

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
fits the wire; other integers may be any signed 64-bit value. Duplicate JSON keys are not
detected by ``decode_frame`` (the last one wins, as in ``json.loads``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..assets import (
    ASSET_NAMES,
    PAIRS,
    V2,
    WIRE_MAX,
    ConversionError,
    Pair,
    Scales,
    asset_code,
    parse_pair,
)
from ..auth import decode_nonce
from ..errors import Msg, NotFoundError, ProtocolError, ValidationError, error_from_reply

__all__ = [
    "INFO_METHODS",
    "INVALID_ASSET",
    "MAX_DEPTH",
    "METHODS",
    "NOTICES",
    "ORDER_METHODS",
    "PUBLIC_METHODS",
    "STRICT_FIELDS",
    "TICKER_FIELDS",
    "Balance",
    "BalanceChanged",
    "Balances",
    "BookOrder",
    "BookSnapshot",
    "Estimate",
    "MarketResult",
    "Notice",
    "Order",
    "OrderClosed",
    "OrderOpened",
    "OrdersMatched",
    "PairLike",
    "PlacedOrder",
    "Ticker",
    "TickerChanged",
    "TradeVolume",
    "TradeVolumeChanged",
    "Welcome",
    "cancel_all_orders",
    "cancel_order",
    "decode_frame",
    "estimate_market_order",
    "get_balances",
    "get_orders",
    "get_trade_volume",
    "parse_notice",
    "parse_reply",
    "place_order",
    "validate_command",
    "watch_orders",
    "watch_ticker",
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

MAX_DEPTH = 32
"""Deepest JSON nesting ``decode_frame`` accepts (a snapshot reply needs 3)."""

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_MISSING: Any = object()

# (base, counter) -> Pair, so the pair check is one dict lookup with no allocation.
_PAIR_BY_CODES: dict[tuple[Any, Any], Pair] = {(p.base, p.counter): p for p in PAIRS}


# ------------------------------------------------------------------------- field readers


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
        raise ValidationError(f"Unknown method {method!r}.")
    validator, allowed = spec
    if STRICT_FIELDS and not allowed.issuperset(cmd):
        for key in cmd:
            if key not in allowed:
                raise ValidationError(f"Unexpected field {key!r}.")
    if cmd.get("tag") is not None:
        _int(cmd, "tag")
    validator(cmd, scales)


# --------------------------------------------------------------------------- frame decoding


def _too_deep(message: dict[str, Any], text: str) -> bool:
    """Whether the decoded ``message`` nests arrays/objects deeper than ``MAX_DEPTH``.

    Only frames with more brackets than ``MAX_DEPTH`` are walked, level by level (no recursion):
    a 2000-order book snapshot costs well under a millisecond.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    level: list[Any] = [message]
    for _ in range(MAX_DEPTH):
        children: list[Any] = []
        for node in level:
            values = node.values() if node.__class__ is dict else node
            children.extend([v for v in values if v.__class__ is dict or v.__class__ is list])
        if not children:
            return False
        level = children
    return True


def _refuse_constant(name: str) -> NoReturn:
    raise ProtocolError(f"The frame contains the non-JSON constant {name}.")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf (NaN cannot come from a JSON number)
        raise ProtocolError(f"The frame contains a number too large for a float: {text}.")
    return value


_decoder = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def decode_frame(text: str | bytes) -> dict[str, Any]:
    """Decode one text frame into the JSON object it must hold; ``ProtocolError`` otherwise.

    Refuses non-UTF-8 bytes, invalid JSON, NaN/Infinity, floats that overflow, integers longer
    than Python's digit limit, nesting deeper than ``MAX_DEPTH`` and anything but an object.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("The frame is not valid UTF-8.") from None
    elif not isinstance(text, str):
        raise ProtocolError(f"A frame must be text, not {type(text).__name__}.")
    try:
        message = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"The frame is not valid JSON: {exc}.") from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise ProtocolError(f"The frame cannot be decoded: {exc}.") from None
    except RecursionError:  # the C decoder guards its own recursion
        raise ProtocolError(f"The frame nests deeper than {MAX_DEPTH} levels.") from None
    if message.__class__ is not dict:
        raise ProtocolError(f"A frame must be a JSON object, not {type(message).__name__}.")
    if _too_deep(message, text):
        raise ProtocolError(f"The frame nests deeper than {MAX_DEPTH} levels.")
    return message


# --------------------------------------------------------------------------------- builders

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


# ---------------------------------------------------------------------------- typed parsing


def _bad(where: str, name: str, value: Any, kind: str) -> NoReturn:
    if value is _MISSING:
        raise ProtocolError(f"{where}: missing field '{name}'.")
    raise ProtocolError(f"{where}: field '{name}' must be {kind}, not {value!r}.")


def _get_int(d: Mapping[str, Any], name: str, where: str) -> int:
    value = d.get(name, _MISSING)
    if value.__class__ is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    _bad(where, name, value, "an integer")


def _get_opt_int(d: Mapping[str, Any], name: str, where: str) -> int | None:
    """An integer that may be null or absent (both give None)."""
    value = d.get(name)
    if value is None or value.__class__ is int:
        return value
    return _get_int(d, name, where)


def _get_list(d: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = d.get(name, _MISSING)
    if isinstance(value, list):
        return value
    _bad(where, name, value, "an array")


def _get_obj(value: Any, where: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise ProtocolError(f"{where}: expected an object, not {value!r}.")


# Notices ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    nonce: bytes
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BalanceChanged:
    asset: int
    balance: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrderOpened:
    """``own``: the notice carried a tonce field, which only the owner receives."""

    id: int
    tonce: int | None
    base: int
    counter: int
    quantity: int
    price: int
    time: int
    own: bool
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrdersMatched:
    """One trade. ``bid``/``ask`` (and their ``_rem``) are None for a market-order side.

    A tonce is None both when absent (not our side) and when null (our order had no tonce):
    ``has_bid_tonce``/``has_ask_tonce`` tell them apart. Fees are None unless ours.
    """

    bid: int | None
    bid_tonce: int | None
    ask: int | None
    ask_tonce: int | None
    base: int
    counter: int
    quantity: int
    price: int
    total: int
    bid_rem: int | None
    ask_rem: int | None
    time: int
    bid_base_fee: int | None
    bid_counter_fee: int | None
    ask_base_fee: int | None
    ask_counter_fee: int | None
    has_bid_tonce: bool
    has_ask_tonce: bool
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrderClosed:
    """``quantity`` is what remained (signed; 0 when filled). ``own`` as for ``OrderOpened``."""

    id: int
    tonce: int | None
    base: int
    counter: int
    quantity: int
    price: int
    own: bool
    raw: Mapping[str, Any] = field(repr=False, compare=False)


TICKER_FIELDS = ("last", "bid", "ask", "low", "high", "volume")


@dataclass(frozen=True, slots=True)
class TickerChanged:
    """``changes``: only the ticker fields the notice carried (a value may be None = null)."""

    base: int
    counter: int
    changes: Mapping[str, int | None]
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class TradeVolumeChanged:
    asset: int
    volume: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


Notice = (
    Welcome
    | BalanceChanged
    | OrderOpened
    | OrdersMatched
    | OrderClosed
    | TickerChanged
    | TradeVolumeChanged
)


def _welcome(d: Mapping[str, Any]) -> Welcome:
    try:
        nonce = decode_nonce(d.get("nonce"))
    except ValueError as exc:
        raise ProtocolError(f"Welcome: field 'nonce': {exc}.") from None
    return Welcome(nonce, d)


def _balance_changed(d: Mapping[str, Any]) -> BalanceChanged:
    w = "BalanceChanged"
    return BalanceChanged(_get_int(d, "asset", w), _get_int(d, "balance", w), d)


def _order_opened(d: Mapping[str, Any]) -> OrderOpened:
    w = "OrderOpened"
    return OrderOpened(
        _get_int(d, "id", w),
        _get_opt_int(d, "tonce", w),
        _get_int(d, "base", w),
        _get_int(d, "counter", w),
        _get_int(d, "quantity", w),
        _get_int(d, "price", w),
        _get_int(d, "time", w),
        "tonce" in d,
        d,
    )


def _orders_matched(d: Mapping[str, Any]) -> OrdersMatched:
    w = "OrdersMatched"
    bid = _get_opt_int(d, "bid", w)
    ask = _get_opt_int(d, "ask", w)
    if bid is None and ask is None:
        raise ProtocolError(f"{w}: neither 'bid' nor 'ask' is given.")
    return OrdersMatched(
        bid,
        _get_opt_int(d, "bid_tonce", w),
        ask,
        _get_opt_int(d, "ask_tonce", w),
        _get_int(d, "base", w),
        _get_int(d, "counter", w),
        _get_int(d, "quantity", w),
        _get_int(d, "price", w),
        _get_int(d, "total", w),
        _get_opt_int(d, "bid_rem", w),
        _get_opt_int(d, "ask_rem", w),
        _get_int(d, "time", w),
        _get_opt_int(d, "bid_base_fee", w),
        _get_opt_int(d, "bid_counter_fee", w),
        _get_opt_int(d, "ask_base_fee", w),
        _get_opt_int(d, "ask_counter_fee", w),
        "bid_tonce" in d,
        "ask_tonce" in d,
        d,
    )


def _order_closed(d: Mapping[str, Any]) -> OrderClosed:
    w = "OrderClosed"
    return OrderClosed(
        _get_int(d, "id", w),
        _get_opt_int(d, "tonce", w),
        _get_int(d, "base", w),
        _get_int(d, "counter", w),
        _get_int(d, "quantity", w),
        _get_int(d, "price", w),
        "tonce" in d,
        d,
    )


def _ticker_changed(d: Mapping[str, Any]) -> TickerChanged:
    w = "TickerChanged"
    changes = {name: _get_opt_int(d, name, w) for name in TICKER_FIELDS if name in d}
    return TickerChanged(_get_int(d, "base", w), _get_int(d, "counter", w), changes, d)


def _trade_volume_changed(d: Mapping[str, Any]) -> TradeVolumeChanged:
    w = "TradeVolumeChanged"
    return TradeVolumeChanged(_get_int(d, "asset", w), _get_int(d, "volume", w), d)


_NOTICE_PARSERS: dict[str, Callable[[Mapping[str, Any]], Notice]] = {
    "Welcome": _welcome,
    "BalanceChanged": _balance_changed,
    "OrderOpened": _order_opened,
    "OrdersMatched": _orders_matched,
    "OrderClosed": _order_closed,
    "TickerChanged": _ticker_changed,
    "TradeVolumeChanged": _trade_volume_changed,
}

NOTICES = frozenset(_NOTICE_PARSERS)
"""Every notice name."""


def parse_notice(d: Mapping[str, Any]) -> Notice:
    """The typed notice; ``ProtocolError`` naming the notice and field when malformed."""
    name = d.get("notice")
    parser = _NOTICE_PARSERS.get(name) if isinstance(name, str) else None
    if parser is None:
        raise ProtocolError(f"Unknown notice {name!r}.")
    return parser(d)


# Replies ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Order:
    """One of our open (or just cancelled) orders; ``tonce`` None when it was placed without."""

    id: int
    tonce: int | None
    base: int
    counter: int
    quantity: int
    price: int
    time: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Balance:
    """One available balance."""

    asset: int
    balance: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Balances:
    """The ``GetBalances`` reply, in the server's order."""

    balances: list[Balance]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def as_dict(self) -> dict[int, int]:
        """Asset code -> available balance."""
        return {b.asset: b.balance for b in self.balances}


@dataclass(frozen=True, slots=True)
class TradeVolume:
    """The ``GetTradeVolume`` reply: the 30-day trailing volume in the asset asked about."""

    volume: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a market order would trade now (both positive, fees ignored)."""

    quantity: int
    total: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """The reply to a limit order: the new order's id and time."""

    id: int
    time: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class MarketResult:
    """The reply to a market order: the quantity (or total) that could not be traded."""

    remaining: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BookOrder:
    """An order of a book snapshot: quantity negative for asks."""

    id: int
    quantity: int
    price: int
    time: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    orders: list[BookOrder]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def bids(self) -> list[BookOrder]:
        return [o for o in self.orders if o.quantity > 0]

    @property
    def asks(self) -> list[BookOrder]:
        return [o for o in self.orders if o.quantity < 0]


@dataclass(frozen=True, slots=True)
class Ticker:
    """A ticker snapshot; a field is None where there is no such price (or no volume)."""

    last: int | None
    bid: int | None
    ask: int | None
    low: int | None
    high: int | None
    volume: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


def _order(value: Any, where: str) -> Order:
    d = _get_obj(value, where)
    if "tonce" not in d:
        _bad(where, "tonce", _MISSING, "an integer or null")
    return Order(
        _get_int(d, "id", where),
        _get_opt_int(d, "tonce", where),
        _get_int(d, "base", where),
        _get_int(d, "counter", where),
        _get_int(d, "quantity", where),
        _get_int(d, "price", where),
        _get_int(d, "time", where),
        d,
    )


def _order_list(d: Mapping[str, Any], where: str) -> list[Order]:
    return [_order(o, f"{where} order") for o in _get_list(d, "orders", where)]


def _r_authenticate(d: Mapping[str, Any]) -> None:
    return None


def _r_balances(d: Mapping[str, Any]) -> Balances:
    w = "GetBalances balance"
    balances = []
    for entry in _get_list(d, "balances", "GetBalances"):
        b = _get_obj(entry, w)
        balances.append(Balance(_get_int(b, "asset", w), _get_int(b, "balance", w), b))
    return Balances(balances, d)


def _r_orders(d: Mapping[str, Any]) -> list[Order]:
    return _order_list(d, "GetOrders")


def _r_cancel_all(d: Mapping[str, Any]) -> list[Order]:
    return _order_list(d, "CancelAllOrders")


def _r_estimate(d: Mapping[str, Any]) -> Estimate:
    w = "EstimateMarketOrder"
    return Estimate(_get_int(d, "quantity", w), _get_int(d, "total", w), d)


def _r_place(d: Mapping[str, Any]) -> PlacedOrder | MarketResult:
    w = "PlaceOrder"
    if "remaining" in d and "id" not in d:
        return MarketResult(_get_int(d, "remaining", w), d)
    if "id" in d and "remaining" not in d:
        return PlacedOrder(_get_int(d, "id", w), _get_int(d, "time", w), d)
    raise ProtocolError(f"{w}: a reply needs either 'id' and 'time' or 'remaining'.")


def _r_cancel(d: Mapping[str, Any]) -> Order:
    return _order(d, "CancelOrder")


def _r_trade_volume(d: Mapping[str, Any]) -> TradeVolume:
    return TradeVolume(_get_int(d, "volume", "GetTradeVolume"), d)


def _r_watch_orders(d: Mapping[str, Any]) -> BookSnapshot | None:
    w = "WatchOrders"
    if "orders" not in d:
        return None  # the reply to unwatching
    orders = []
    for entry in _get_list(d, "orders", w):
        o = _get_obj(entry, f"{w} order")
        orders.append(
            BookOrder(
                _get_int(o, "id", f"{w} order"),
                _get_int(o, "quantity", f"{w} order"),
                _get_int(o, "price", f"{w} order"),
                _get_int(o, "time", f"{w} order"),
                o,
            )
        )
    return BookSnapshot(orders, d)


def _r_watch_ticker(d: Mapping[str, Any]) -> Ticker | None:
    w = "WatchTicker"
    present = [name for name in TICKER_FIELDS if name in d]
    if not present:
        return None  # the reply to unwatching
    if len(present) != len(TICKER_FIELDS):
        missing = next(name for name in TICKER_FIELDS if name not in d)
        raise ProtocolError(f"{w}: missing field '{missing}'.")
    values = [_get_opt_int(d, name, w) for name in TICKER_FIELDS]
    return Ticker(*values, raw=d)


_REPLY_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "Authenticate": _r_authenticate,
    "GetBalances": _r_balances,
    "GetOrders": _r_orders,
    "EstimateMarketOrder": _r_estimate,
    "PlaceOrder": _r_place,
    "CancelOrder": _r_cancel,
    "CancelAllOrders": _r_cancel_all,
    "GetTradeVolume": _r_trade_volume,
    "WatchOrders": _r_watch_orders,
    "WatchTicker": _r_watch_ticker,
}


def parse_reply(method: str, d: Mapping[str, Any]) -> Any:
    """The typed result of a success reply to ``method``; raises for an error reply.

    An error reply raises its ``CoinfloorError`` subclass (``error_from_reply``); a malformed
    success reply raises ``ProtocolError``. Results: Authenticate None; GetBalances
    ``Balances``; GetOrders and CancelAllOrders ``list[Order]``; EstimateMarketOrder
    ``Estimate``; PlaceOrder ``PlacedOrder`` (limit) or ``MarketResult`` (market); CancelOrder
    ``Order``; GetTradeVolume ``TradeVolume``; WatchOrders ``BookSnapshot``, WatchTicker ``Ticker``
    (None for the reply to unwatching).
    """
    parser = _REPLY_PARSERS.get(method)
    if parser is None:
        raise ProtocolError(f"A reply to unknown method {method!r}.")
    if not isinstance(d, Mapping):
        raise ProtocolError(f"{method}: a reply must be an object, not {d!r}.")
    code = d.get("error_code", _MISSING)
    if code.__class__ is not int and (not isinstance(code, int) or isinstance(code, bool)):
        _bad(method, "error_code", code, "an integer")
    if code != 0:
        raise error_from_reply(d, method)
    return parser(d)
