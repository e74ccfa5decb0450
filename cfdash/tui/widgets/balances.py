"""Balances: available, reserved and total per asset; private mode masks the amounts.

Every asset with funds is listed (the expired 2018 futures only when shown: ``show_expired``);
when they do not all fit, the panel scrolls (focus it with Tab, or the mouse wheel)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding
from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Scales, asset_name
from cfdash.tui import fmt
from cfdash.tui.pairs import EXPIRED_ASSETS
from cfdash.tui.source import BalanceRow
from cfdash.tui.widgets.lines import LineWidget, cells

MASK = "•••••"
HEADS = ("Asset", "Available", "Reserved", "Total")
RESERVED_MIN = 38
"""The narrowest panel that has the reserved column (the compact layout's, at 80 columns):
decided by the width alone, so that the column never comes and goes as the amounts change."""
FORMATS: tuple[tuple[str, int], ...] = (("all", 2), ("trim", 2), ("whole", 2), ("whole", 1))
"""(decimal places: all, trailing zeros past two trimmed, or whole amounts without any;
spaces between columns), widest first: all of them exact."""


class BalancesView(LineWidget, can_focus=True):
    BINDINGS: ClassVar = [
        Binding("up,k", "scroll_by(-1)", "Up", show=False, id="balances.up"),
        Binding("down,j", "scroll_by(1)", "Down", show=False, id="balances.down"),
        Binding("pageup", "scroll_by(-10)", "Page up", show=False, id="balances.pageup"),
        Binding("pagedown", "scroll_by(10)", "Page down", show=False, id="balances.pagedown"),
        Binding("home", "scroll_by(-1000000)", "Top", show=False, id="balances.top"),
        Binding("end", "scroll_by(1000000)", "End", show=False, id="balances.end"),
    ]
    COMPONENT_CLASSES: ClassVar = {"balances--header", "balances--row"}
    DEFAULT_CSS = """
    BalancesView {
        height: 1fr;
        & > .balances--header { text-style: bold; color: $text-muted; }
    }
    """

    private: reactive[bool] = reactive(False)
    read_only: reactive[bool] = reactive(False)
    """Read-only mode: no account, and no login to offer."""
    show_expired: reactive[bool] = reactive(False)
    """List the expired 2018 futures' assets too (hidden by default)."""
    top: reactive[int] = reactive(0, repaint=False)
    """The first asset shown (scrolled down by that many)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.balances: tuple[BalanceRow, ...] | None = None
        self.login_key = "l"
        """The key that logs in, after the user's keymap (the app sets it)."""

    def update_balances(self, scales: Scales, balances: Sequence[BalanceRow] | None) -> None:
        old = self._visible()
        self.scales = scales
        self.balances = None if balances is None else tuple(balances)
        self._repaint_changes(old)

    def watch_private(self) -> None:
        self.refresh()

    def watch_show_expired(self) -> None:
        self.refresh()

    def watch_top(self) -> None:
        self.refresh()

    def funded(self) -> tuple[list[BalanceRow], int]:
        """The assets with funds to list, and how many expired futures' ones are hidden."""
        rows = [b for b in self.balances or () if b.total or b.reserved]
        if self.show_expired:
            return rows, 0
        shown = [b for b in rows if b.asset not in EXPIRED_ASSETS]
        return shown, len(rows) - len(shown)

    def action_scroll_by(self, delta: int) -> None:
        self.top = max(0, self.top + delta)  # ``layout_rows`` keeps it in range

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_scroll_by(1)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_scroll_by(-1)

    def layout_key(self, height: int) -> Hashable:
        return (
            height,
            self.size.width,
            self.balances,
            self.scales,
            self.private,
            self.read_only,
            self.login_key,
            self.show_expired,
            self.top,
        )

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.balances is None:
            self.border_title = "Balances"
            login = f"log in ({self.login_key}) to see balances"
            note = "read-only: no account" if self.read_only else login
            return [("note", note)]
        shown, hidden = self.funded()
        if not shown:
            self.border_title = "Balances"
            return [
                ("note", "no funds" + (f" ({hidden} expired futures hidden)" if hidden else ""))
            ]
        heads, widths, gap, texts = self._fit(shown)
        body = max(1, height - 1)
        top = max(0, min(self.top, len(texts) - body))
        if top != self.top:
            self.set_reactive(BalancesView.top, top)
        seen = texts[top : top + body]
        more = len(texts) > body
        last = top + len(seen)
        self.border_title = f"Balances {top + 1}-{last} of {len(texts)}" if more else "Balances"
        rows: list[Hashable] = [("head", widths, gap, heads)]
        rows += [("row", widths, gap, t) for t in seen]
        if hidden and len(rows) < height:
            rows.append(("note", f"+{hidden} expired futures hidden"))
        return rows

    def _fit(
        self, shown: Sequence[BalanceRow]
    ) -> tuple[tuple[str, ...], tuple[int, ...], int, list[tuple[str, ...]]]:
        """The columns for the panel's width (the reserved one from ``RESERVED_MIN`` up), then
        the widest format that fits (see ``FORMATS``: amounts lose trailing zeros only, so
        they stay exact); if none does, amounts are cut to fewer places and marked "…"."""
        width = self.size.width
        reserved = width >= RESERVED_MIN
        heads = HEADS if reserved else (HEADS[0], HEADS[1], HEADS[3])
        Layout = tuple[tuple[str, ...], tuple[int, ...], int, list[tuple[str, ...]]]
        longest = max((len(t) for b in shown for t in self._row(b, "whole", reserved)), default=1)
        formats = [*FORMATS, *(("cut", budget) for budget in range(longest - 1, 0, -1))]
        tried: list[tuple[int, Layout]] = []
        for places, option in formats:
            gap = 1 if places == "cut" else option
            texts = [self._row(b, places, reserved, option) for b in shown]
            widths = tuple(max([len(h), *(len(t[i]) for t in texts)]) for i, h in enumerate(heads))
            need = 1 + sum(widths) + gap * (len(heads) - 1)
            if need <= width:
                return heads, widths, gap, texts
            tried.append((need, (heads, widths, gap, texts)))
        # nothing fits: the narrowest, cut least (``build_strip`` marks the line's end)
        narrowest = min(need for need, _ in tried)
        return next(layout for need, layout in tried if need == narrowest)

    def _row(self, b: BalanceRow, places: str, reserved: bool, budget: int = 0) -> tuple[str, ...]:
        """``places``: see ``FORMATS``, or "cut": amounts longer than ``budget`` cells lose
        their last decimal places (marked "…"), the others stay whole and exact."""
        values = (b.available, b.reserved, b.total) if reserved else (b.available, b.total)
        scale = self.scales.asset(b.asset)
        if self.private:
            amounts = [MASK for _ in values]
        elif places == "all":
            amounts = [fmt.amount(v, scale) for v in values]
        elif places == "cut":
            amounts = [_shorten(v, scale, budget) for v in values]
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
        if len(text.rstrip()) > width:  # never a cropped amount that reads as another one
            text = text[: max(0, width - 1)] + "…"
        return cells([(text, style)])


def _shorten(value: int, scale: int, budget: int) -> str:
    """The amount in at most ``budget`` cells if decimal places can make it so: exact (whole
    amounts without decimals), else cut to fewer places and marked "…"; the integer part is
    never cut (the column then grows)."""
    text = fmt.trimmed(value, scale, whole=True)
    decimals = fmt.places(scale)
    while len(text) > budget and decimals > 0:
        decimals -= 1
        text = fmt.cut(value, scale, decimals, keep=min(2, decimals))
    return text
