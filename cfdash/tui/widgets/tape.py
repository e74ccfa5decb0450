"""The trades tape: newest first, price coloured by the aggressor's side; the user's own
trades marked with ``OWN`` in the first column (and bold)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

from rich.style import Style
from textual.strip import Strip

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui import fmt
from cfdash.tui.source import TradeRow
from cfdash.tui.widgets.lines import LineWidget, cells

OWN = "●"
"""Marks a trade of one of the user's orders (as the ladder marks their price levels)."""


class TradeTape(LineWidget):
    COMPONENT_CLASSES: ClassVar = {"tape--header", "tape--buy", "tape--sell"}
    DEFAULT_CSS = """
    TradeTape {
        height: 1fr;
        & > .tape--header { text-style: bold; color: $text-muted; }
        & > .tape--buy { color: $text-success; }
        & > .tape--sell { color: $text-error; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self.trades: tuple[TradeRow, ...] = ()

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.scales, self.pair = scales, pair
        self.cache.clear()
        self.refresh()

    def update_trades(self, trades: Sequence[TradeRow]) -> None:
        old = self._visible()
        self.trades = tuple(trades)
        self._repaint_changes(old)

    def layout_key(self, height: int) -> Hashable:
        return (height, self.trades, self.pair, self.scales)

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.pair is None:
            return []
        shown = self.trades[: max(0, height - 1)]
        texts = [
            (
                t.aggressor,
                t.own,
                fmt.micros_clock(t.time),
                fmt.price(self.scales, self.pair, t.price),
                fmt.quantity(self.scales, self.pair, t.quantity),
            )
            for t in shown
        ]
        pw = max([5, *(len(r[3]) for r in texts)])
        sw = max([4, *(len(r[4]) for r in texts)])
        if not texts:
            return [("head", pw, sw), ("empty",)]
        return [("head", pw, sw), *((*r, pw, sw) for r in texts)]

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        if row[0] == "head":
            _, pw, sw = row
            text = f" {'Time':<8}  {'Price':>{pw}}  {'Size':>{sw}}"
            return cells([(text, self.get_component_rich_style("tape--header"))])
        if row[0] == "empty":
            return cells([(" no trades yet", self.get_component_rich_style("tape--header"))])
        side, own, clock, price, size, pw, sw = row
        style = self.get_component_rich_style(f"tape--{side}")
        arrow = "▲" if side == "buy" else "▼"
        mark = OWN if own else " "
        if own:
            style += Style(bold=True)
        return cells([(f"{mark}{clock:<8}  {price:>{pw}}  {size:>{sw}} {arrow}", style)])
