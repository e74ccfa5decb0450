"""Replies: the typed reply classes and ``parse_reply``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..assets import WIRE_MAX
from ..errors import ProtocolError, error_from_reply
from ._read import MISSING, bad, get_int, get_list, get_obj, get_opt_int
from .notices import TICKER_FIELDS

__all__ = [
    "BalanceReply",
    "Balances",
    "BookOrder",
    "BookSnapshot",
    "EstimateReply",
    "MarketResult",
    "OrderReply",
    "PlacedOrder",
    "TickerReply",
    "TradeVolume",
    "parse_reply",
]


@dataclass(frozen=True, slots=True)
class OrderReply:
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
class BalanceReply:
    """One available balance."""

    asset: int
    balance: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Balances:
    """The ``GetBalances`` reply, in the server's order."""

    balances: list[BalanceReply]
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
class EstimateReply:
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
class TickerReply:
    """A ticker snapshot; a field is None where there is no such price (or no volume)."""

    last: int | None
    bid: int | None
    ask: int | None
    low: int | None
    high: int | None
    volume: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


# -- ranges: what each field may hold (the spec's types are 64-bit integers) -------------------


@dataclass(frozen=True, slots=True)
class _Range:
    low: int
    high: int
    text: str
    nonzero: bool = False


ID = _Range(1, WIRE_MAX, "a positive 64-bit integer")
"""Order ids."""
PRICE = _Range(1, WIRE_MAX, "a positive 64-bit integer")
TIME = _Range(0, WIRE_MAX, "a non-negative 64-bit integer")
"""Micro-timestamps."""
ASSET = _Range(0, WIRE_MAX, "a non-negative 64-bit integer")
AMOUNT = _Range(0, WIRE_MAX, "a non-negative 64-bit integer")
"""Balances, volumes, what a market order left, an estimate's quantity and total."""
QUANTITY = _Range(-WIRE_MAX, WIRE_MAX, "a non-zero 64-bit integer", nonzero=True)
"""An order's signed quantity (negative: an ask)."""
TONCE = _Range(-(2**63), WIRE_MAX, "a non-zero 64-bit integer", nonzero=True)


def _show(value: Any) -> str:
    """``value`` for an error message, short even for a huge number or string."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a {value.bit_length()}-bit integer"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(value: int, kind: _Range, name: str, where: str) -> int:
    if kind.low <= value <= kind.high and (value or not kind.nonzero):
        return value
    raise ProtocolError(f"{where}: field '{name}' must be {kind.text}, not {_show(value)}.")


def _int(d: Mapping[str, Any], name: str, where: str, kind: _Range) -> int:
    """A required integer field within ``kind``."""
    return _check(get_int(d, name, where), kind, name, where)


def _opt(d: Mapping[str, Any], name: str, where: str, kind: _Range) -> int | None:
    """An integer field within ``kind``, or null (or absent)."""
    value = get_opt_int(d, name, where)
    return None if value is None else _check(value, kind, name, where)


def _at_most(value: int, limit: Any, name: str, where: str, what: str) -> None:
    """``value`` (non-negative) must not exceed ``abs(limit)``, what the command asked for."""
    if isinstance(limit, int) and value > abs(limit):
        raise ProtocolError(
            f"{where}: field '{name}' is {value}, more than the {abs(limit)} {what}."
        )


def _order(value: Any, where: str) -> OrderReply:
    d = get_obj(value, where)
    if "tonce" not in d:
        bad(where, "tonce", MISSING, "an integer or null")
    return OrderReply(
        _int(d, "id", where, ID),
        _opt(d, "tonce", where, TONCE),
        _int(d, "base", where, ASSET),
        _int(d, "counter", where, ASSET),
        _int(d, "quantity", where, QUANTITY),
        _int(d, "price", where, PRICE),
        _int(d, "time", where, TIME),
        d,
    )


def _order_list(d: Mapping[str, Any], where: str) -> list[OrderReply]:
    return [_order(o, f"{where} order") for o in get_list(d, "orders", where)]


Command = Mapping[str, Any] | None
"""The command a reply answers, when known: its shape decides the reply's."""


def _r_authenticate(d: Mapping[str, Any], command: Command) -> None:
    return None


def _r_balances(d: Mapping[str, Any], command: Command) -> Balances:
    w = "GetBalances balance"
    balances = []
    for entry in get_list(d, "balances", "GetBalances"):
        b = get_obj(entry, w)
        balances.append(BalanceReply(_int(b, "asset", w, ASSET), _int(b, "balance", w, AMOUNT), b))
    return Balances(balances, d)


def _r_orders(d: Mapping[str, Any], command: Command) -> list[OrderReply]:
    return _order_list(d, "GetOrders")


def _r_cancel_all(d: Mapping[str, Any], command: Command) -> list[OrderReply]:
    return _order_list(d, "CancelAllOrders")


def _r_estimate(d: Mapping[str, Any], command: Command) -> EstimateReply:
    w = "EstimateMarketOrder"
    quantity, total = _int(d, "quantity", w, AMOUNT), _int(d, "total", w, AMOUNT)
    if command is not None:  # it cannot trade more than it was asked to
        _at_most(quantity, command.get("quantity"), "quantity", w, "asked for")
        _at_most(total, command.get("total"), "total", w, "asked for")
    return EstimateReply(quantity, total, d)


def _r_place(d: Mapping[str, Any], command: Command) -> PlacedOrder | MarketResult:
    """A limit order (``price`` given) gets ``id`` and ``time``, a market order ``remaining``
    (no more than it asked to trade); without the command, whichever shape came."""
    w = "PlaceOrder"
    if command is None:
        limit = "id" in d
        if limit == ("remaining" in d):
            raise ProtocolError(f"{w}: a reply needs either 'id' and 'time' or 'remaining'.")
    else:
        limit = command.get("price") is not None
        kind, wanted, unwanted = (
            ("a limit order", "'id' and 'time'", ("remaining",))
            if limit
            else ("a market order", "'remaining'", ("id", "time"))
        )
        for name in unwanted:
            if name in d:
                raise ProtocolError(
                    f"{w}: the reply to {kind} must carry {wanted}, not field '{name}'."
                )
    if limit:
        return PlacedOrder(_int(d, "id", w, ID), _int(d, "time", w, TIME), d)
    remaining = _int(d, "remaining", w, AMOUNT)
    if command is not None:
        asked = command.get("quantity")
        _at_most(
            remaining,
            command.get("total") if asked is None else asked,
            "remaining",
            w,
            "the order was for",
        )
    return MarketResult(remaining, d)


def _r_cancel(d: Mapping[str, Any], command: Command) -> OrderReply:
    w = "CancelOrder"
    order = _order(d, w)
    for name in ("id", "tonce"):  # the order cancelled is the one named
        asked = None if command is None else command.get(name)
        if asked is not None and getattr(order, name) != asked:
            raise ProtocolError(
                f"{w}: field '{name}' is {_show(getattr(order, name))}, "
                f"not the {asked} whose cancel was asked."
            )
    return order


def _r_trade_volume(d: Mapping[str, Any], command: Command) -> TradeVolume:
    return TradeVolume(_int(d, "volume", "GetTradeVolume", AMOUNT), d)


def _unwatching(d: Mapping[str, Any], command: Command, present: bool) -> bool:
    """The reply to unwatching (no snapshot): the command said so, or (unknown) none came."""
    return not present if command is None else not command.get("watch", True)


def _r_watch_orders(d: Mapping[str, Any], command: Command) -> BookSnapshot | None:
    w = "WatchOrders"
    if _unwatching(d, command, "orders" in d):
        return None
    wo = f"{w} order"
    orders = []
    for entry in get_list(d, "orders", w):
        o = get_obj(entry, wo)
        orders.append(
            BookOrder(
                _int(o, "id", wo, ID),
                _int(o, "quantity", wo, QUANTITY),
                _int(o, "price", wo, PRICE),
                _int(o, "time", wo, TIME),
                o,
            )
        )
    return BookSnapshot(orders, d)


def _r_watch_ticker(d: Mapping[str, Any], command: Command) -> TickerReply | None:
    w = "WatchTicker"
    present = [name for name in TICKER_FIELDS if name in d]
    if _unwatching(d, command, bool(present)):
        return None
    if len(present) != len(TICKER_FIELDS):
        missing = next(name for name in TICKER_FIELDS if name not in d)
        raise ProtocolError(f"{w}: missing field '{missing}'.")
    last, bid, ask, low, high = (_opt(d, name, w, PRICE) for name in TICKER_FIELDS[:5])
    return TickerReply(last, bid, ask, low, high, _opt(d, "volume", w, AMOUNT), d)


_REPLY_PARSERS: dict[str, Callable[[Mapping[str, Any], Command], Any]] = {
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


def parse_reply(method: str, d: Mapping[str, Any], command: Command = None) -> Any:
    """The typed result of a success reply to ``method``; raises for an error reply.

    An error reply raises its ``CoinfloorError`` subclass (``error_from_reply``); a malformed
    success reply raises ``ProtocolError`` naming the field: a missing field, a wrong type, a
    value out of its range (ids and prices positive, times, balances, volumes and amounts
    traded non-negative, quantities and tonces non-zero, all within 64 bits). Given the
    ``command`` it answers, the reply must also fit it: a limit PlaceOrder gets ``id`` and
    ``time`` and a market one ``remaining`` (no more than it asked for), a CancelOrder the
    order it named, an estimate no more than it asked for, a Watch with ``watch`` true its
    snapshot. Results: Authenticate None; GetBalances ``Balances``; GetOrders and
    CancelAllOrders ``list[OrderReply]``; EstimateMarketOrder ``EstimateReply``; PlaceOrder
    ``PlacedOrder`` (limit) or ``MarketResult`` (market); CancelOrder ``OrderReply``;
    GetTradeVolume ``TradeVolume``; WatchOrders ``BookSnapshot``, WatchTicker ``TickerReply``
    (None for the reply to unwatching).
    """
    parser = _REPLY_PARSERS.get(method)
    if parser is None:
        raise ProtocolError(f"A reply to unknown method {method!r}.")
    if not isinstance(d, Mapping):
        raise ProtocolError(f"{method}: a reply must be an object, not {d!r}.")
    code = d.get("error_code", MISSING)
    if code.__class__ is not int and (not isinstance(code, int) or isinstance(code, bool)):
        bad(method, "error_code", code, "an integer")
    if code != 0:
        raise error_from_reply(d, method)
    return parser(d, command)
