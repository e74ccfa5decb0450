"""The closed orders panel: the account's orders closed this session, newest first, with their
outcome (filled, partly filled then cancelled, cancelled; "unknown" for an order of unknown
outcome the user dismissed), time, market, side, price and the quantity filled.

The time is when the dashboard learnt of the close (the exchange's ``OrderClosed`` has none).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from typing import Final

from cfdash.core.assets import V2, Scales
from cfdash.tui import fmt
from cfdash.tui.source import ClosedOrderRow
from cfdash.tui.widgets.table import Table, TableView

KEEP: Final = 1000
"""Closed orders kept (the oldest go first)."""
OUTCOMES: Final = {
    "filled": "filled",
    "partly filled": "part filled",
    "cancelled": "cancelled",
    "unknown": "unknown",
}
SHORT: Final = {
    "filled": "filled",
    "partly filled": "part",
    "cancelled": "cancel",
    "unknown": "unknown",
}
"""The outcomes where the compact layout has little room."""
SIZE_MIN: Final = 60
"""The narrowest panel with the original size and the order id."""


class ClosedOrdersView(TableView):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.orders: deque[ClosedOrderRow] = deque(maxlen=KEEP)
        """Oldest first."""

    def add_closed(self, scales: Scales, orders: Iterable[ClosedOrderRow], now: float) -> None:
        """Orders just closed (oldest first), learnt at ``now`` (epoch seconds) unless they
        carry their time."""
        self.scales = scales
        added = False
        for order in orders:
            self.orders.append(order if order.time is not None else replace(order, time=now))
            added = True
        if added:
            self.border_title = f"Closed orders ({len(self.orders)})"
            self.changed()

    def table(self, width: int, rows: int) -> Table:
        wide = width >= SIZE_MIN
        heads = ["Time", "Side", "Price", "Filled"] if wide else ["Side", "Price", "Filled"]
        if wide:
            heads.append("Size")
        heads.append("Outcome")
        if wide:
            heads.append("Order")
        heads.append("Market")
        body: list[tuple[str, tuple[str, ...]]] = []
        for o in list(self.orders)[::-1][:rows]:
            scale = self.scales.asset(o.pair.base)
            parts = [fmt.clock(o.time or 0)] if wide else []  # compact: no room for it
            parts += [
                o.side.upper() if wide else o.side[0].upper(),
                "market" if o.price is None else fmt.price(self.scales, o.pair, o.price),
                fmt.DASH if o.result == "unknown" else fmt.trimmed(o.filled, scale),
            ]
            if wide:
                parts.append(fmt.trimmed(o.original, scale) if o.original else fmt.DASH)
            parts.append((OUTCOMES if wide else SHORT)[o.result])
            if wide:
                parts.append("—" if o.id is None else str(o.id))
            parts.append(o.pair.name)  # last: a line too long loses the end of it first
            body.append((o.side, tuple(parts)))
        aligns = "<<>>><><" if wide else "<>><<"
        return Table(tuple(heads), aligns, body, note="no orders closed yet")
