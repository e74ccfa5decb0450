"""Notices: the typed notice classes and ``parse_notice``.

The classes are the one schema of the notices' integer fields: an ``int`` attribute is a
required integer, an ``int | None`` one an integer that may be absent or null (``NOTICE_FIELDS``
reads them off; ``client.guard`` derives its checks from it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, get_type_hints

from ..auth import decode_nonce
from ..errors import ProtocolError
from ._read import get_int, get_opt_int

__all__ = [
    "NOTICES",
    "NOTICE_FIELDS",
    "TICKER_FIELDS",
    "BalanceChanged",
    "Notice",
    "OrderClosed",
    "OrderOpened",
    "OrdersMatched",
    "TickerChanged",
    "TradeVolumeChanged",
    "Welcome",
    "WireField",
    "parse_notice",
]


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
    changes: Mapping[str, int | None] = field(metadata={"wire": TICKER_FIELDS})
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
    return BalanceChanged(get_int(d, "asset", w), get_int(d, "balance", w), d)


def _order_opened(d: Mapping[str, Any]) -> OrderOpened:
    w = "OrderOpened"
    return OrderOpened(
        get_int(d, "id", w),
        get_opt_int(d, "tonce", w),
        get_int(d, "base", w),
        get_int(d, "counter", w),
        get_int(d, "quantity", w),
        get_int(d, "price", w),
        get_int(d, "time", w),
        "tonce" in d,
        d,
    )


def _orders_matched(d: Mapping[str, Any]) -> OrdersMatched:
    w = "OrdersMatched"
    bid = get_opt_int(d, "bid", w)
    ask = get_opt_int(d, "ask", w)
    if bid is None and ask is None:
        raise ProtocolError(f"{w}: neither 'bid' nor 'ask' is given.")
    return OrdersMatched(
        bid,
        get_opt_int(d, "bid_tonce", w),
        ask,
        get_opt_int(d, "ask_tonce", w),
        get_int(d, "base", w),
        get_int(d, "counter", w),
        get_int(d, "quantity", w),
        get_int(d, "price", w),
        get_int(d, "total", w),
        get_opt_int(d, "bid_rem", w),
        get_opt_int(d, "ask_rem", w),
        get_int(d, "time", w),
        get_opt_int(d, "bid_base_fee", w),
        get_opt_int(d, "bid_counter_fee", w),
        get_opt_int(d, "ask_base_fee", w),
        get_opt_int(d, "ask_counter_fee", w),
        "bid_tonce" in d,
        "ask_tonce" in d,
        d,
    )


def _order_closed(d: Mapping[str, Any]) -> OrderClosed:
    w = "OrderClosed"
    return OrderClosed(
        get_int(d, "id", w),
        get_opt_int(d, "tonce", w),
        get_int(d, "base", w),
        get_int(d, "counter", w),
        get_int(d, "quantity", w),
        get_int(d, "price", w),
        "tonce" in d,
        d,
    )


def _ticker_changed(d: Mapping[str, Any]) -> TickerChanged:
    w = "TickerChanged"
    changes = {name: get_opt_int(d, name, w) for name in TICKER_FIELDS if name in d}
    return TickerChanged(get_int(d, "base", w), get_int(d, "counter", w), changes, d)


def _trade_volume_changed(d: Mapping[str, Any]) -> TradeVolumeChanged:
    w = "TradeVolumeChanged"
    return TradeVolumeChanged(get_int(d, "asset", w), get_int(d, "volume", w), d)


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


@dataclass(frozen=True, slots=True)
class WireField:
    """An integer field of a notice: a ``required`` one must hold an integer, the others an
    integer or null, or be absent."""

    name: str
    required: bool


def _wire_fields(cls: type) -> tuple[WireField, ...]:
    """The integer fields of notice class ``cls``, in its attribute order.

    ``int`` attributes are required, ``int | None`` ones optional; an attribute whose metadata
    names ``wire`` fields stands for those optional fields (``TickerChanged.changes``). Other
    attributes (the nonce, the flags computed from the notice, ``raw``) are no integer fields.
    """
    hints = get_type_hints(cls)
    out: list[WireField] = []
    for f in fields(cls):
        names = f.metadata.get("wire")
        if names is not None:
            out.extend(WireField(name, False) for name in names)
        elif hints[f.name] is int:
            out.append(WireField(f.name, True))
        elif hints[f.name] == int | None:
            out.append(WireField(f.name, False))
    return tuple(out)


_NOTICE_TYPES: dict[str, type] = {
    "Welcome": Welcome,
    "BalanceChanged": BalanceChanged,
    "OrderOpened": OrderOpened,
    "OrdersMatched": OrdersMatched,
    "OrderClosed": OrderClosed,
    "TickerChanged": TickerChanged,
    "TradeVolumeChanged": TradeVolumeChanged,
}

NOTICE_FIELDS: Mapping[str, tuple[WireField, ...]] = MappingProxyType(
    {name: _wire_fields(cls) for name, cls in _NOTICE_TYPES.items()}
)
"""Notice name -> its integer fields, read off the notice classes."""


def parse_notice(d: Mapping[str, Any]) -> Notice:
    """The typed notice; ``ProtocolError`` naming the notice and field when malformed."""
    name = d.get("notice")
    parser = _NOTICE_PARSERS.get(name) if isinstance(name, str) else None
    if parser is None:
        raise ProtocolError(f"Unknown notice {name!r}.")
    return parser(d)
