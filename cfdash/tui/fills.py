"""Fill reports: the user's fills grouped by order, with totals and the average price.

A sweep through the book fills one order many times in one batch: the app reports one line per
order (how much, at what average price, the total and the fee), never one toast per trade.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from cfdash.core.assets import Pair, Scales, asset_name
from cfdash.tui import fmt
from cfdash.tui.source import Fill, Side


@dataclass(frozen=True, slots=True)
class OrderFills:
    """The fills of one order (in one report): sums in wire integers."""

    pair: Pair
    side: Side
    order_id: int | None
    tonce: int | None
    quantity: int
    total: int
    fee: int
    fee_asset: int
    trades: int
    value: int
    """Sum of price * quantity (for the average price, exactly)."""
    low: int
    high: int

    @property
    def average(self) -> Decimal:
        """The volume-weighted average price, in wire price units (exact)."""
        return Decimal(self.value) / Decimal(self.quantity) if self.quantity else Decimal(0)

    def add(self, fill: Fill) -> OrderFills:
        return OrderFills(
            self.pair,
            self.side,
            self.order_id if self.order_id is not None else fill.order_id,
            self.tonce if self.tonce is not None else fill.tonce,
            self.quantity + fill.quantity,
            self.total + fill.total,
            self.fee + fill.fee,
            self.fee_asset,
            self.trades + 1,
            self.value + fill.price * fill.quantity,
            min(self.low, fill.price),
            max(self.high, fill.price),
        )


def _start(fill: Fill) -> OrderFills:
    return OrderFills(
        fill.pair,
        fill.side,
        fill.order_id,
        fill.tonce,
        fill.quantity,
        fill.total,
        fill.fee,
        fill.fee_asset,
        1,
        fill.price * fill.quantity,
        fill.price,
        fill.price,
    )


def by_order(fills: Iterable[Fill]) -> list[OrderFills]:
    """One ``OrderFills`` per order (by id, else tonce), in the order first filled. A fill
    that names no order (placed without a tonce and at market) stands alone."""
    groups: dict[object, OrderFills] = {}
    for n, fill in enumerate(fills):
        key: object = fill.key or ("alone", n)
        if fill.order_id is not None and fill.tonce is not None:
            # a limit order's fills before its id was known carry only its tonce
            earlier = groups.pop(("tonce", fill.tonce), None)
            if earlier is not None:
                groups[key] = earlier
        group = groups.get(key)
        groups[key] = _start(fill) if group is None else group.add(fill)
    return list(groups.values())


def total(fills: Iterable[Fill]) -> OrderFills | None:
    """Every fill as one (the fills of one order), or None if there are none."""
    result: OrderFills | None = None
    for fill in fills:
        result = _start(fill) if result is None else result.add(fill)
    return result


def combine(groups: Iterable[OrderFills]) -> list[OrderFills]:
    """Orders' fills summed per market and side (for "and 8 more orders: ..."); the order
    fields are those of the first."""
    sums: dict[tuple[Pair, Side], OrderFills] = {}
    for g in groups:
        key = (g.pair, g.side)
        s = sums.get(key)
        sums[key] = (
            g
            if s is None
            else OrderFills(
                s.pair,
                s.side,
                s.order_id,
                s.tonce,
                s.quantity + g.quantity,
                s.total + g.total,
                s.fee + g.fee,
                s.fee_asset,
                s.trades + g.trades,
                s.value + g.value,
                min(s.low, g.low),
                max(s.high, g.high),
            )
        )
    return list(sums.values())


def price_text(scales: Scales, group: OrderFills) -> str:
    """'41,010.00', or 'avg 41,012.35' when it traded at several prices (rounded half even
    to the price's places)."""
    pair = group.pair
    if group.low == group.high:
        return fmt.price(scales, pair, group.low)
    wire = int(group.average.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return "avg " + fmt.price(scales, pair, wire)


def describe(scales: Scales, group: OrderFills) -> str:
    """'BUY 0.15000000 XBT at avg 41,020.00 GBP, total 6,153.00 GBP, fee 15.38 GBP'."""
    pair = group.pair
    side = "BUY" if group.side == "buy" else "SELL"
    size = f"{fmt.quantity(scales, pair, group.quantity)} {fmt.base_name(pair)}"
    at = f"{price_text(scales, group)} {fmt.counter_name(pair)}"
    total_text = f"{fmt.total(scales, pair, group.total)} {fmt.counter_name(pair)}"
    fee = f"{fmt.asset_amount(scales, group.fee_asset, group.fee)} {asset_name(group.fee_asset)}"
    return f"{side} {size} at {at}, total {total_text}, fee {fee}"


def order_name(group: OrderFills) -> str:
    """'order 1208', or 'market order' (which has no id)."""
    return "market order" if group.order_id is None else f"order {group.order_id}"


def short(scales: Scales, group: OrderFills) -> str:
    """For the form's one line: 'bought 0.15 XBT at avg 41,020.00'."""
    pair = group.pair
    verb = "bought" if group.side == "buy" else "sold"
    size = fmt.trimmed(group.quantity, scales.asset(pair.base))
    return f"{verb} {size} {fmt.base_name(pair)} at {price_text(scales, group)}"


FILL_NOTICES: Final = 3
"""At most this many fill notifications per batch (one per order); more orders filled in one
batch are reported in one notification."""


@dataclass(frozen=True, slots=True)
class Report:
    """One notification: its text, title and seconds shown."""

    text: str
    title: str
    timeout: float | None = None
    """None: Textual's default."""


def reports(scales: Scales, fills: Iterable[Fill]) -> list[Report]:
    """How to report fills that come in a batch (orders resting, or placed elsewhere): one
    notification per order, or one for them all when many orders filled at once."""
    groups = by_order(fills)
    lines = [
        f"{describe(scales, g)} ({order_name(g)}"
        + (f", {fmt.plural(g.trades, 'trade')})" if g.trades > 1 else ")")
        for g in groups
    ]
    if len(lines) <= FILL_NOTICES:
        return [Report(line, "Filled", 8) for line in lines]
    shown = lines[: FILL_NOTICES - 1]
    more = len(groups) - len(shown)
    sums = [describe(scales, g) for g in combine(groups[len(shown) :])]
    text = "\n".join([*shown, f"and {fmt.plural(more, 'more order')}: " + "; ".join(sums)])
    return [Report(text, f"{len(groups)} orders filled", 10)]
