"""Ladder trading's arithmetic: a price moved by ticks, a quantity that is a share of what is
available, and what a limit order costs with its fee. Pure: wire integers and ``Decimal``.

Fees follow the exchange's rules at their worst (IMPL-GUIDE; ``cfdash.core.engine.matching``):
charged in the counter asset, rounded up. A buy's cost is its total (the bid's reservation,
rounded up) plus the fee; a sell gets its total (rounded down) less the fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Final

from cfdash.core.assets import Pair, Scales
from cfdash.tui.source import Side

PRICE_TICK: Final = 1
"""The smallest price step, in wire units: every listed pair's price is an integer at its
price scale (0.01 of the counter asset at the default scale of 100)."""
PERCENTS: Final = (25, 50, 100)
"""The shares of the available balance the form's keys fill in."""


def step_price(price: int, ticks: int) -> int:
    """``price`` moved by ``ticks`` ticks (down never below one tick)."""
    return max(PRICE_TICK, price + ticks * PRICE_TICK)


def fee_of(total: int, rate: Decimal | None) -> int:
    """The fee on ``total`` counter units at ``rate``, rounded up (0 without a rate)."""
    if not rate or total <= 0:
        return 0
    return int((Decimal(total) * rate).to_integral_value(ROUND_CEILING))


def limit_total(scales: Scales, pair: Pair, side: Side, quantity: int, price: int) -> int:
    """The counter units ``quantity`` at ``price`` comes to: rounded up for a buy (what the
    bid reserves), down for a sell (what it gets at least)."""
    num = quantity * price * scales.asset(pair.counter)
    den = scales.asset(pair.base) * scales.price_scale(pair)
    return -(-num // den) if side == "buy" else num // den


@dataclass(frozen=True, slots=True)
class Cost:
    """A limit order's total and fee (counter units); ``net`` is what a buy pays (total plus
    fee) or a sell gets (total less fee)."""

    total: int
    fee: int
    net: int


def limit_cost(
    scales: Scales, pair: Pair, side: Side, quantity: int, price: int, rate: Decimal | None
) -> Cost:
    total = limit_total(scales, pair, side, quantity, price)
    fee = fee_of(total, rate)
    return Cost(total, fee, total + fee if side == "buy" else total - fee)


def share(amount: int, percent: int) -> int:
    """``percent`` % of ``amount`` wire units, rounded down."""
    return max(0, amount) * percent // 100


def buy_quantity(scales: Scales, pair: Pair, price: int, budget: int, rate: Decimal | None) -> int:
    """The largest quantity whose cost at ``price`` (total plus fee) is within ``budget``
    counter units."""
    if budget <= 0 or price <= 0:
        return 0
    num = budget * scales.asset(pair.base) * scales.price_scale(pair)
    high = num // (price * scales.asset(pair.counter)) + 1  # costs more than the budget
    low = 0  # costs nothing
    while high - low > 1:
        middle = (low + high) // 2
        if limit_cost(scales, pair, "buy", middle, price, rate).net <= budget:
            low = middle
        else:
            high = middle
    return low


def buy_total(budget: int, rate: Decimal | None) -> int:
    """The largest total whose fee still fits ``budget`` with it (a market buy by total)."""
    if budget <= 0:
        return 0
    low, high = 0, budget + 1
    while high - low > 1:
        middle = (low + high) // 2
        if middle + fee_of(middle, rate) <= budget:
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True, slots=True)
class Filled:
    """What a percentage key puts in the form: ``field`` ("quantity" or "total") and its wire
    amount."""

    field: str
    amount: int


def fill(
    scales: Scales,
    pair: Pair,
    side: Side,
    percent: int,
    available: dict[int, int],
    rate: Decimal | None,
    price: int | None,
    *,
    market: bool = False,
) -> Filled:
    """``percent`` % of what is available: a sell's quantity of the base balance; a limit
    buy's quantity whose cost at ``price`` (with the fee) is that share of the counter
    balance; a market buy's total (the fee fits beside it). ``ValueError`` for a limit buy
    without a price."""
    if side == "sell":
        return Filled("quantity", share(available.get(pair.base, 0), percent))
    budget = share(available.get(pair.counter, 0), percent)
    if market:
        return Filled("total", buy_total(budget, rate))
    if price is None:
        raise ValueError("no price")
    return Filled("quantity", buy_quantity(scales, pair, price, budget, rate))
