"""Positions and P&L from the account's fills: average cost, realised and unrealised P&L, and
what the account's assets are worth in one currency.

Pure arithmetic in ``Decimal`` (real units, never float): a position is one base asset traded
against one counter asset (a pair), signed (a sale beyond what the fills bought, e.g. of coins
held before, makes it negative: a short against the session's start). The cost of a position
is what it cost in the counter asset, fees included (the exchange charges fees in the counter
asset: a buyer pays ``total + fee``, a seller receives ``total - fee``). Average cost method:

- a trade that opens or adds to a position adds its cash to the cost;
- a trade that reduces it realises ``cash of the part closed - cost of that part`` (the cost of
  the part closed is the average cost times its quantity), and leaves the average cost of the
  rest unchanged; a trade that goes through zero opens the remainder at its own price.

Unrealised P&L at a price ``m`` is ``quantity * m - cost``. So for any price,
``realised + unrealised`` equals every cash flow plus the position's value at ``m``, minus the
starting cost.

Valuing an asset in another currency needs a price: ``rate`` crosses the known mids (base ->
counter at the mid, counter -> base at its inverse) along the fewest markets, and says None
when no chain of known prices links them; it never guesses.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

ZERO = Decimal(0)
Key = tuple[int, int]
"""A pair as (base, counter) asset codes."""


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill in real units: ``quantity`` of the base (positive), ``total`` of the counter
    before the fee (positive), ``fee`` in the counter."""

    side: Literal["buy", "sell"]
    quantity: Decimal
    total: Decimal
    fee: Decimal = ZERO

    @property
    def cash(self) -> Decimal:
        """The counter asset received (positive) or paid (negative), fee included."""
        if self.side == "buy":
            return -(self.total + self.fee)
        return self.total - self.fee

    @property
    def signed(self) -> Decimal:
        return self.quantity if self.side == "buy" else -self.quantity


@dataclass(frozen=True, slots=True)
class Position:
    """A signed base ``quantity`` and its ``cost`` in the counter (negative for a short: the
    proceeds), the P&L ``realised`` so far and the ``fees`` paid (counted in both)."""

    quantity: Decimal = ZERO
    cost: Decimal = ZERO
    realised: Decimal = ZERO
    fees: Decimal = ZERO

    @classmethod
    def start(cls, quantity: Decimal, average: Decimal) -> Position:
        """A starting holding of ``quantity`` bought at ``average`` (the configured cost)."""
        return cls(quantity, quantity * average)

    @property
    def average(self) -> Decimal | None:
        """The average cost per unit of the base (None when flat)."""
        return self.cost / self.quantity if self.quantity else None

    def apply(self, trade: Trade) -> Position:
        """The position after ``trade``."""
        q, cost, realised = self.quantity, self.cost, self.realised
        dq, cash = trade.signed, trade.cash
        fees = self.fees + trade.fee
        if not dq:
            return Position(q, cost, realised + cash, fees)
        if q == 0 or (q > 0) == (dq > 0):  # opens or adds
            return Position(q + dq, cost - cash, realised, fees)
        closed = min(abs(dq), abs(q))
        part = cost * closed / abs(q)  # the cost of the part closed
        cash_closed = cash * closed / abs(dq)
        realised += cash_closed - part
        cost -= part
        rest = abs(dq) - closed
        new_q = q + dq
        if rest:  # through zero: the remainder opens at the trade's own price
            cost = -(cash - cash_closed)
        elif new_q == 0:
            cost = ZERO  # no rounding residue on a flat position
        return Position(new_q, cost, realised, fees)

    def unrealised(self, price: Decimal | None) -> Decimal | None:
        """P&L of the open position at ``price`` (None if no price is known)."""
        if price is None:
            return None
        return self.quantity * price - self.cost


def position(trades: Iterable[Trade], start: Position | None = None) -> Position:
    """The position after ``trades`` (oldest first) from ``start`` (flat by default)."""
    result = start or Position()
    for trade in trades:
        result = result.apply(trade)
    return result


def positions(
    fills: Iterable[tuple[Key, Trade]], starts: Mapping[Key, Position] | None = None
) -> dict[Key, Position]:
    """Every pair's position after its fills (oldest first), from ``starts``."""
    result = dict(starts or {})
    for key, trade in fills:
        result[key] = result.get(key, Position()).apply(trade)
    return result


def mid(bid: Decimal | None, ask: Decimal | None, last: Decimal | None = None) -> Decimal | None:
    """The mid of the best bid and ask; the last price when a side is missing; else None."""
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return last


def rate(asset: int, currency: int, mids: Mapping[Key, Decimal]) -> Decimal | None:
    """The price of one ``asset`` in ``currency`` through the fewest markets of ``mids``
    ((base, counter) -> price of the base in the counter), or None if nothing links them."""
    if asset == currency:
        return Decimal(1)
    edges: dict[int, list[tuple[int, Decimal]]] = {}
    for (base, counter), price in mids.items():
        if price > 0:
            edges.setdefault(base, []).append((counter, price))
            edges.setdefault(counter, []).append((base, 1 / price))
    best: dict[int, Decimal] = {asset: Decimal(1)}
    queue = deque([asset])
    while queue:
        node = queue.popleft()
        for other, price in sorted(edges.get(node, ()), key=lambda e: e[0]):
            if other in best:
                continue
            best[other] = best[node] * price
            if other == currency:
                return best[other]
            queue.append(other)
    return None


@dataclass(frozen=True, slots=True)
class Valuation:
    """Each asset's value in ``currency`` (None: no price known), the total of those valued,
    and the assets with a balance that could not be valued."""

    currency: int
    values: Mapping[int, Decimal | None]
    total: Decimal
    unpriced: tuple[int, ...]


def value(holdings: Mapping[int, Decimal], currency: int, mids: Mapping[Key, Decimal]) -> Valuation:
    """What ``holdings`` (asset -> amount) are worth in ``currency`` at ``mids``."""
    values: dict[int, Decimal | None] = {}
    total = ZERO
    unpriced: list[int] = []
    for asset, amount in holdings.items():
        price = rate(asset, currency, mids)
        if price is None:
            values[asset] = None
            if amount:
                unpriced.append(asset)
            continue
        values[asset] = amount * price
        total += amount * price
    return Valuation(currency, values, total, tuple(sorted(unpriced)))
