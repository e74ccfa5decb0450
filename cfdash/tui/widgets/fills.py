"""The fills panel: every fill of the account this session has seen, in every market, newest
first (time, market, side, size, price, fee, order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from cfdash.core.assets import V2, Scales
from cfdash.tui import fmt
from cfdash.tui.source import Fill
from cfdash.tui.widgets.table import Table, TableView

FEE_MIN: Final = 56
"""The narrowest panel with the fee column and full side names."""
ORDER_MIN: Final = 72
"""The narrowest panel with the order column."""


class FillsView(TableView):
    """``update_fills`` takes the session's fills (oldest first)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.fills: tuple[Fill, ...] = ()

    def update_fills(self, scales: Scales, fills: Sequence[Fill]) -> None:
        fills = tuple(fills)
        if fills == self.fills and scales == self.scales:
            return
        self.scales, self.fills = scales, fills
        self.border_title = f"Fills ({len(fills)})" if fills else "Fills"
        self.changed()

    def table(self, width: int, rows: int) -> Table:
        fee, order = width >= FEE_MIN, width >= ORDER_MIN
        heads = ["Time", "Side", "Price", "Size"]
        if fee:
            heads.append("Fee")
        if order:
            heads.append("Order")
        shown = self.fills[::-1][:rows]
        body: list[tuple[str, tuple[str, ...]]] = []
        for f in shown:
            side = f.side.upper() if fee else f.side[0].upper()
            parts = [
                fmt.micros_clock(f.time),
                side,
                fmt.price(self.scales, f.pair, f.price),
                fmt.trimmed(f.quantity, self.scales.asset(f.pair.base)),
            ]
            if fee:
                parts.append(fmt.trimmed(f.fee, self.scales.asset(f.fee_asset)))
            if order:
                parts.append("market" if f.order_id is None else str(f.order_id))
            parts.append(f.pair.name)  # last: a line too long loses the end of it first
            body.append((f.side, tuple(parts)))
        heads.append("Market")
        aligns = "<<>>" + ">" * (fee + order) + "<"
        return Table(tuple(heads), aligns, body, note="no fills yet")
