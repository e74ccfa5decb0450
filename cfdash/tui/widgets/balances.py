"""Balances: available, reserved and total per asset; private mode masks the amounts."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Scales, asset_name
from cfdash.tui import fmt
from cfdash.tui.source import Balance
from cfdash.tui.widgets.lines import LineWidget, cells

MASK = "•••••"


class BalancesView(LineWidget):
    COMPONENT_CLASSES: ClassVar = {"balances--header", "balances--row"}
    DEFAULT_CSS = """
    BalancesView {
        height: 1fr;
        & > .balances--header { text-style: bold; color: $text-muted; }
    }
    """

    private: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.balances: tuple[Balance, ...] | None = None

    def update_balances(self, scales: Scales, balances: Sequence[Balance] | None) -> None:
        old = self._visible()
        self.scales = scales
        self.balances = None if balances is None else tuple(balances)
        self._repaint_changes(old)

    def watch_private(self) -> None:
        self.refresh()

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.balances is None:
            return [("note", "log in (l) to see balances")]
        texts = [
            (
                asset_name(b.asset),
                *(
                    MASK if self.private else fmt.asset_amount(self.scales, b.asset, v)
                    for v in (b.available, b.reserved, b.total)
                ),
            )
            for b in self.balances
            if b.total or b.reserved
        ]
        heads = ("Asset", "Available", "Reserved", "Total")
        widths = tuple(max([len(heads[i]), *(len(r[i]) for r in texts)]) for i in range(4))
        gap = 2 if 1 + sum(widths) + 6 <= self.size.width else 1  # tight: one space, no margin
        rows: list[Hashable] = [("head", widths, gap)]
        rows += [("row", widths, gap, *r) for r in texts]
        if not texts:
            rows.append(("note", "no funds"))
        return rows

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        header = self.get_component_rich_style("balances--header")
        if row[0] == "note":
            return cells([(f" {row[1]}", header)])
        if row[0] == "head":
            _, widths, gap = row
            parts = ("Asset", "Available", "Reserved", "Total")
            style = header
        else:
            _, widths, gap, *parts = row
            style = self.get_component_rich_style("balances--row")
        aligns = ("<", ">", ">", ">")
        text = (" " if gap > 1 else "") + (" " * gap).join(
            f"{p:{a}{w}}" for p, a, w in zip(parts, aligns, widths, strict=True)
        )
        return cells([(text, style)])
