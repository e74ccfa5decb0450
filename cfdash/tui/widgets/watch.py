"""The watchlist panel: every watched market's last price, change since the session started
and spread, live; Enter on a row switches the dashboard to that market (``Picked``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui.source import PairTicker
from cfdash.tui.watchlist import HEADS, watch_lines, widths
from cfdash.tui.widgets.lines import LineWidget, cells

GAP = 2
CURSOR = "▸"
SHOWN = "•"
"""Marks the market on screen."""


class WatchlistView(LineWidget, can_focus=True):
    BINDINGS: ClassVar = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="watch.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="watch.down"),
        Binding("enter", "pick", "Switch market", id="watch.pick"),
    ]
    COMPONENT_CLASSES: ClassVar = {
        "watch--header",
        "watch--row",
        "watch--up",
        "watch--down",
        "watch--cursor",
    }
    DEFAULT_CSS = """
    WatchlistView {
        height: 1fr;
        & > .watch--header { text-style: bold; color: $text-muted; }
        & > .watch--up { color: $text-success; }
        & > .watch--down { color: $text-error; }
        & > .watch--cursor { background: $accent 40%; }
    }
    """

    cursor: reactive[int] = reactive(0, repaint=False)

    @dataclass
    class Picked(Message):
        """The user picked ``pair`` (Enter on its row)."""

        pair: Pair

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.pair: Pair | None = None
        """The market on screen."""
        self.tickers: tuple[PairTicker, ...] = ()

    def set_market(self, scales: Scales, pair: Pair) -> None:
        old = self._visible()
        self.scales, self.pair = scales, pair
        self._repaint_changes(old)

    def update_tickers(self, scales: Scales, tickers: Sequence[PairTicker]) -> None:
        old = self._visible()
        self.scales = scales
        selected = self.selected
        self.tickers = tuple(tickers)
        pairs = [t.pair for t in self.tickers]
        if selected in pairs:  # the cursor stays on its market
            self.set_reactive(WatchlistView.cursor, pairs.index(selected))
        else:
            self.set_reactive(WatchlistView.cursor, min(self.cursor, max(0, len(pairs) - 1)))
        self._repaint_changes(old)

    @property
    def selected(self) -> Pair | None:
        if 0 <= self.cursor < len(self.tickers):
            return self.tickers[self.cursor].pair
        return None

    def on_focus(self) -> None:
        """Focused: the cursor starts on the market on screen."""
        pairs = [t.pair for t in self.tickers]
        if self.pair in pairs:
            self.cursor = pairs.index(self.pair)

    def action_cursor(self, delta: int) -> None:
        if self.tickers:
            self.cursor = max(0, min(len(self.tickers) - 1, self.cursor + delta))

    def watch_cursor(self) -> None:
        self.refresh()

    def action_pick(self) -> None:
        pair = self.selected
        if pair is not None:
            self.post_message(self.Picked(pair))

    def layout_key(self, height: int) -> Hashable:
        return (height, self.tickers, self.scales, self.pair, self.cursor, self.has_focus)

    def layout_rows(self, height: int) -> list[Hashable]:
        if height <= 0:  # not displayed (the compact layout's other panel): nothing to lay out
            return []
        if not self.tickers:
            return [("note", "no tickers yet")]
        lines = watch_lines(self.scales, self.tickers)
        columns = widths(lines)
        body = max(1, height - 1)
        start = max(0, self.cursor - body + 1)
        rows: list[Hashable] = [("head", columns, HEADS, "", 0)]
        for index in range(start, min(len(lines), start + body)):
            line = lines[index]
            mark = SHOWN if self.tickers[index].pair == self.pair else " "
            if index == self.cursor and self.has_focus:
                mark = CURSOR
            rows.append(("row", columns, line.cells, mark, line.direction))
        return rows

    def on_blur(self) -> None:
        self.refresh()

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        header = self.get_component_rich_style("watch--header")
        if row[0] == "note":
            return cells([(f" {row[1]}", header)])
        kind, columns, texts, mark, direction = row
        aligns = ("<", ">", ">", ">")
        parts = [f"{t:{a}{w}}" for t, a, w in zip(texts, aligns, columns, strict=True)]
        if kind == "head":
            return cells([(" " + (" " * GAP).join(parts), header)])
        style = self.get_component_rich_style("watch--row")
        if mark == CURSOR:
            style += Style(bgcolor=self.get_component_rich_style("watch--cursor").bgcolor)
        trend = "watch--up" if direction > 0 else "watch--down" if direction < 0 else None
        change_style = style + self.get_component_rich_style(trend) if trend else style
        gap = " " * GAP
        head = mark + gap.join(parts[:2]) + gap
        tail = gap + parts[3]
        if mark == CURSOR:  # the cursor's background across the panel
            tail = tail.ljust(width - len(head) - len(parts[2]))
        return cells([(head, style), (parts[2], change_style), (tail, style)])
