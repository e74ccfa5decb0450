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
HEADS = ("Asset", "Available", "Reserved", "Total")
LAYOUTS: tuple[tuple[str, int, bool], ...] = (
    ("all", 2, True),
    ("trim", 2, True),
    ("whole", 2, True),
    ("whole", 1, True),
    ("whole", 2, False),
    ("whole", 1, False),
)
"""(decimal places: all, trailing zeros past two trimmed, or whole amounts without any;
spaces between columns; the reserved column shown?), widest first."""


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
        self.read_only = False
        """Read-only mode: no account, and no login to offer."""
        self.login_key = "l"
        """The key that logs in, after the user's keymap (the app sets it)."""

    def update_balances(self, scales: Scales, balances: Sequence[Balance] | None) -> None:
        old = self._visible()
        self.scales = scales
        self.balances = None if balances is None else tuple(balances)
        self._repaint_changes(old)

    def watch_private(self) -> None:
        self.refresh()

    def layout_key(self, height: int) -> Hashable:
        return (
            height,
            self.size.width,
            self.balances,
            self.scales,
            self.private,
            self.read_only,
            self.login_key,
        )

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.balances is None:
            login = f"log in ({self.login_key}) to see balances"
            note = "read-only: no account" if self.read_only else login
            return [("note", note)]
        shown = [b for b in self.balances if b.total or b.reserved]
        if not shown:
            return [("note", "no funds")]
        heads, widths, gap, texts = self._fit(shown)
        return [("head", widths, gap, heads), *(("row", widths, gap, t) for t in texts)]

    def _fit(
        self, shown: Sequence[Balance]
    ) -> tuple[tuple[str, ...], tuple[int, ...], int, list[tuple[str, ...]]]:
        """The widest layout that fits (see ``LAYOUTS``): amounts lose trailing zeros only, so
        they stay exact; the reserved column (the total less the available) goes last."""
        width = self.size.width
        choice: tuple[tuple[str, ...], tuple[int, ...], int, list[tuple[str, ...]]]
        choice = (HEADS, tuple(map(len, HEADS)), 2, [])
        for places, gap, reserved in LAYOUTS:
            heads = HEADS if reserved else (HEADS[0], HEADS[1], HEADS[3])
            texts = [self._row(b, places, reserved) for b in shown]
            widths = tuple(max([len(h), *(len(t[i]) for t in texts)]) for i, h in enumerate(heads))
            choice = (heads, widths, gap, texts)
            if 1 + sum(widths) + gap * (len(heads) - 1) <= width:
                break
        return choice

    def _row(self, b: Balance, places: str, reserved: bool) -> tuple[str, ...]:
        values = (b.available, b.reserved, b.total) if reserved else (b.available, b.total)
        scale = self.scales.asset(b.asset)
        if self.private:
            amounts = [MASK for _ in values]
        elif places == "all":
            amounts = [fmt.amount(v, scale) for v in values]
        else:
            amounts = [fmt.trimmed(v, scale, whole=places == "whole") for v in values]
        return (asset_name(b.asset), *amounts)

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        header = self.get_component_rich_style("balances--header")
        if row[0] == "note":
            return cells([(f" {row[1]}", header)])
        kind, widths, gap, parts = row
        style = header if kind == "head" else self.get_component_rich_style("balances--row")
        text = " " + (" " * gap).join(
            f"{p:{'<' if i == 0 else '>'}{w}}"
            for i, (p, w) in enumerate(zip(parts, widths, strict=True))
        )
        return cells([(text, style)])
