"""Replies: the typed reply classes and ``parse_reply``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


def _order(value: Any, where: str) -> OrderReply:
    d = get_obj(value, where)
    if "tonce" not in d:
        bad(where, "tonce", MISSING, "an integer or null")
    return OrderReply(
        get_int(d, "id", where),
        get_opt_int(d, "tonce", where),
        get_int(d, "base", where),
        get_int(d, "counter", where),
        get_int(d, "quantity", where),
        get_int(d, "price", where),
        get_int(d, "time", where),
        d,
    )


def _order_list(d: Mapping[str, Any], where: str) -> list[OrderReply]:
    return [_order(o, f"{where} order") for o in get_list(d, "orders", where)]


def _r_authenticate(d: Mapping[str, Any]) -> None:
    return None


def _r_balances(d: Mapping[str, Any]) -> Balances:
    w = "GetBalances balance"
    balances = []
    for entry in get_list(d, "balances", "GetBalances"):
        b = get_obj(entry, w)
        balances.append(BalanceReply(get_int(b, "asset", w), get_int(b, "balance", w), b))
    return Balances(balances, d)


def _r_orders(d: Mapping[str, Any]) -> list[OrderReply]:
    return _order_list(d, "GetOrders")


def _r_cancel_all(d: Mapping[str, Any]) -> list[OrderReply]:
    return _order_list(d, "CancelAllOrders")


def _r_estimate(d: Mapping[str, Any]) -> EstimateReply:
    w = "EstimateMarketOrder"
    return EstimateReply(get_int(d, "quantity", w), get_int(d, "total", w), d)


def _r_place(d: Mapping[str, Any]) -> PlacedOrder | MarketResult:
    w = "PlaceOrder"
    if "remaining" in d and "id" not in d:
        return MarketResult(get_int(d, "remaining", w), d)
    if "id" in d and "remaining" not in d:
        return PlacedOrder(get_int(d, "id", w), get_int(d, "time", w), d)
    raise ProtocolError(f"{w}: a reply needs either 'id' and 'time' or 'remaining'.")


def _r_cancel(d: Mapping[str, Any]) -> OrderReply:
    return _order(d, "CancelOrder")


def _r_trade_volume(d: Mapping[str, Any]) -> TradeVolume:
    return TradeVolume(get_int(d, "volume", "GetTradeVolume"), d)


def _r_watch_orders(d: Mapping[str, Any]) -> BookSnapshot | None:
    w = "WatchOrders"
    if "orders" not in d:
        return None  # the reply to unwatching
    orders = []
    for entry in get_list(d, "orders", w):
        o = get_obj(entry, f"{w} order")
        orders.append(
            BookOrder(
                get_int(o, "id", f"{w} order"),
                get_int(o, "quantity", f"{w} order"),
                get_int(o, "price", f"{w} order"),
                get_int(o, "time", f"{w} order"),
                o,
            )
        )
    return BookSnapshot(orders, d)


def _r_watch_ticker(d: Mapping[str, Any]) -> TickerReply | None:
    w = "WatchTicker"
    present = [name for name in TICKER_FIELDS if name in d]
    if not present:
        return None  # the reply to unwatching
    if len(present) != len(TICKER_FIELDS):
        missing = next(name for name in TICKER_FIELDS if name not in d)
        raise ProtocolError(f"{w}: missing field '{missing}'.")
    last, bid, ask, low, high, volume = (get_opt_int(d, name, w) for name in TICKER_FIELDS)
    return TickerReply(last, bid, ask, low, high, volume, d)


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
    ``Balances``; GetOrders and CancelAllOrders ``list[OrderReply]``; EstimateMarketOrder
    ``EstimateReply``; PlaceOrder ``PlacedOrder`` (limit) or ``MarketResult`` (market);
    CancelOrder ``OrderReply``; GetTradeVolume ``TradeVolume``; WatchOrders ``BookSnapshot``,
    WatchTicker ``TickerReply``
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
    return parser(d)
