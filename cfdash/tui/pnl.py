"""The positions panel's figures from the dashboard's rows (no Textual): the session's fills
(wire integers) -> ``core.views.positions`` (Decimal) per market, the balances valued in one
currency at the mids the source knows.

``Ledger`` follows the session's fill history incrementally (the history is bounded, so it
remembers the last fill it applied rather than a count). A starting cost (the settings file's
``[start_cost]``) makes what was held of the base asset when the session began a first
purchase at that price; without one the position counts the session's trades only (a sale of
coins held before is a short against the start, bought back by later purchases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from cfdash.core.assets import Pair, Scales
from cfdash.core.views.positions import Key, Position, Trade, Valuation, mid, rate, value
from cfdash.tui.source import BalanceRow, Fill, Quote

SPOT = 60000
"""Asset codes from here on are the spot assets (XBT 63488 ... PLN 64936); the 2018 futures are
below (51200 ...): listed after them."""


def trade(scales: Scales, fill: Fill) -> Trade:
    """A fill in real units (its fee in the counter asset: the only kind charged)."""
    pair = fill.pair
    fee = scales.total_from_wire(pair, fill.fee) if fill.fee_asset == pair.counter else Decimal(0)
    return Trade(
        fill.side,
        scales.quantity_from_wire(pair, fill.quantity),
        scales.total_from_wire(pair, fill.total),
        fee,
    )


def mids(scales: Scales, quotes: Iterable[Quote]) -> dict[Key, Decimal]:
    """Each market's mid (or last price) in real units, where one is known."""
    result: dict[Key, Decimal] = {}
    for q in quotes:

        def real(v: int | None, pair: Pair = q.pair) -> Decimal | None:
            return None if v is None else scales.price_from_wire(pair, v)

        m = mid(real(q.bid), real(q.ask), real(q.last))
        if m is not None:
            result[(q.pair.base, q.pair.counter)] = m
    return result


def holdings(scales: Scales, balances: Iterable[BalanceRow]) -> dict[int, Decimal]:
    """Each asset's total (available + reserved) in real units."""
    return {b.asset: Decimal(b.total) / scales.asset(b.asset) for b in balances}


class Ledger:
    """Positions per market from the session's fills, from ``starts`` (pair -> average cost of
    what was held of its base at the start)."""

    def __init__(self, starts: Mapping[Pair, Decimal] | None = None) -> None:
        self.starts = dict(starts or {})
        self.positions: dict[Key, Position] = {}
        self._last: Fill | None = None
        self._started = False

    def start(self, scales: Scales, balances: Sequence[BalanceRow], fills: Sequence[Fill]) -> None:
        """The first balances seen (``fills``: the history then, which they include): open
        the starting positions and apply the history again from them."""
        if self._started:
            return
        self._started = True
        held = holdings(scales, balances)
        for f in fills:  # the balances include these fills: take them back out
            amount = scales.quantity_from_wire(f.pair, f.quantity)
            held[f.pair.base] = held.get(f.pair.base, Decimal(0)) - (
                amount if f.side == "buy" else -amount
            )
        self.positions = {}
        for pair, average in self.starts.items():
            quantity = held.get(pair.base, Decimal(0))
            if quantity:
                self.positions[(pair.base, pair.counter)] = Position.start(quantity, average)
        self._last = None

    def follow(self, scales: Scales, history: Sequence[Fill]) -> None:
        """Apply the fills of ``history`` (oldest first) after the last one applied."""
        new: Sequence[Fill] = history
        if self._last is not None:
            for i in range(len(history) - 1, -1, -1):
                if history[i] is self._last:
                    new = history[i + 1 :]
                    break
        for f in new:
            key = (f.pair.base, f.pair.counter)
            self.positions[key] = self.positions.get(key, Position()).apply(trade(scales, f))
        if history:
            self._last = history[-1]


@dataclass(frozen=True, slots=True)
class Row:
    """One market's position (``position`` None: an asset held without one) or holding."""

    asset: int
    counter: int | None
    holding: Decimal | None
    """The balance (on the asset's first row only)."""
    position: Position | None
    price: Decimal | None
    """The base's price in the counter (for the unrealised P&L)."""
    value: Decimal | None
    """The holding's value in the valuation currency (first row only)."""

    @property
    def unrealised(self) -> Decimal | None:
        return None if self.position is None else self.position.unrealised(self.price)


def rows(
    positions: Mapping[Key, Position],
    held: Mapping[int, Decimal],
    prices: Mapping[Key, Decimal],
    valuation: Valuation,
) -> list[Row]:
    """A row per market with a position and per asset held without one, by asset."""
    by_asset: dict[int, list[Key]] = {}
    for key, p in sorted(positions.items()):
        if p.quantity or p.realised or p.fees:
            by_asset.setdefault(key[0], []).append(key)
    result: list[Row] = []
    assets = set(by_asset) | {a for a, v in held.items() if v}
    for asset in sorted(assets, key=lambda a: (a < SPOT, a)):  # spot assets first
        holding = held.get(asset)
        worth = valuation.values.get(asset)
        # the market in the valuation currency first: its row has the holding and value
        keys = sorted(by_asset.get(asset, []), key=lambda k: (k[1] != valuation.currency, k))
        if not keys:
            result.append(Row(asset, None, holding, None, None, worth))
        for n, key in enumerate(keys):
            first = n == 0
            price = rate(key[0], key[1], prices)
            result.append(
                Row(
                    asset,
                    key[1],
                    holding if first else None,
                    positions[key],
                    price,
                    worth if first else None,
                )
            )
    return result


def summary(
    scales: Scales,
    ledger: Ledger,
    balances: Sequence[BalanceRow] | None,
    quotes: Iterable[Quote],
    currency: int,
) -> tuple[list[Row], Valuation]:
    """The panel's rows and the account's value in ``currency``."""
    prices = mids(scales, quotes)
    held = holdings(scales, balances or ())
    valuation = value(held, currency, prices)
    return rows(ledger.positions, held, prices, valuation), valuation
