"""The user's open orders on the current market, with a cursor selecting one."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding
from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui import fmt
from cfdash.tui.source import OpenOrder
from cfdash.tui.widgets.lines import LineWidget, cells

GAP = 2
"""Spaces between two columns."""
CURSOR = "▸"
"""Marks the selected order (seen without colours too)."""
SIZE_MIN = 38
"""The narrowest panel with the original size column (the compact layout's, at 80 columns)."""
TONCE_MIN = 66
"""The narrowest panel with the tonce column (the wide layout's from 110 columns)."""
LAYOUTS: tuple[int | None, ...] = (None, -1, 7, 6, 5, 4, 3, 2, 1, 0)
"""Amounts with every decimal place (None), trailing zeros trimmed (-1), then sizes cut to
that many places (marked "…"), widest first. The columns themselves depend on the width alone
(``SIZE_MIN``, ``TONCE_MIN``), never on the numbers, so that none comes and goes as they
change."""


class OpenOrdersView(LineWidget, can_focus=True):
    BINDINGS: ClassVar = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="orders.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="orders.down"),
    ]
    COMPONENT_CLASSES: ClassVar = {
        "orders--header",
        "orders--buy",
        "orders--sell",
        "orders--cursor",
    }
    DEFAULT_CSS = """
    OpenOrdersView {
        height: 1fr;
        & > .orders--header { text-style: bold; color: $text-muted; }
        & > .orders--buy { color: $text-success; }
        & > .orders--sell { color: $text-error; }
        & > .orders--cursor { background: $accent 40%; }
    }
    """

    cursor: reactive[int] = reactive(0)

    def __init__(
        self, clock: Callable[[], float], *, id: str | None = None, classes: str | None = None
    ):
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self.all_orders: tuple[OpenOrder, ...] = ()
        self.orders: tuple[OpenOrder, ...] = ()
        self.read_only = False
        """Read-only mode: no account, so no orders to show."""

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.scales, self.pair = scales, pair
        self.update_orders(self.all_orders)

    def update_orders(self, orders: Sequence[OpenOrder]) -> None:
        old = self._visible()
        selected = self.selected
        self.all_orders = tuple(orders)
        mine = [o for o in self.all_orders if o.pair == self.pair]
        self.orders = tuple(sorted(mine, key=lambda o: (-o.price, o.id)))
        ids = [o.id for o in self.orders]
        if selected is not None and selected.id in ids:
            self.cursor = ids.index(selected.id)
        else:
            self.cursor = min(self.cursor, max(0, len(ids) - 1))
        if self.pair is not None:
            extra = len(self.all_orders) - len(self.orders)
            more = f", {len(self.all_orders)} in all" if extra else ""
            self.border_title = f"Open orders ({len(self.orders)}{more})"
        self._repaint_changes(old)

    def tick(self) -> None:
        """Ages change with the clock (unchanged lines come from the cache)."""
        self.refresh()

    @property
    def selected(self) -> OpenOrder | None:
        if 0 <= self.cursor < len(self.orders):
            return self.orders[self.cursor]
        return None

    def action_cursor(self, delta: int) -> None:
        if self.orders:
            self.cursor = max(0, min(len(self.orders) - 1, self.cursor + delta))

    def watch_cursor(self) -> None:
        self.refresh()

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.pair is None:
            return []
        body = max(1, height - 1)
        start = max(0, self.cursor - body + 1)
        shown = self.orders[start : start + body]
        heads, columns = self._columns(shown, self.size.width)
        widths = _widths(heads, columns)
        rows: list[Hashable] = [("head", widths, heads)]
        for n, (i, o) in enumerate(enumerate(shown, start)):
            rows.append(("row", widths, i == self.cursor, o.side, *(col[n] for col in columns)))
        if not shown:
            rows.append(("note", "read-only: no account" if self.read_only else "no open orders"))
        return rows

    def _columns(
        self, shown: Sequence[OpenOrder], width: int
    ) -> tuple[tuple[str, ...], list[list[str]]]:
        """The columns for ``width`` (narrower: no tonce, then no original size), with the
        widest amounts that fit (see ``LAYOUTS``)."""
        assert self.pair is not None
        now = self.clock()
        price_scale = self.scales.price_scale(self.pair)
        size_scale = self.scales.asset(self.pair.base)
        sides = ["BUY" if o.side == "buy" else "SELL" for o in shown]
        ages = [fmt.age(now - o.time / 1_000_000) for o in shown]
        tonces = ["—" if o.tonce is None else str(o.tonce) for o in shown]
        prices_raw = [o.price for o in shown]
        sizes_raw = [abs(o.quantity) for o in shown]
        lefts_raw = [abs(o.remaining) for o in shown]
        tonce, size = width >= TONCE_MIN, width >= SIZE_MIN
        choice: tuple[tuple[str, ...], list[list[str]]] = ((), [])
        for places in LAYOUTS:
            if places is None:
                prices = [fmt.amount(v, price_scale) for v in prices_raw]
                sizes = [fmt.amount(v, size_scale) for v in sizes_raw]
                lefts = [fmt.amount(v, size_scale) for v in lefts_raw]
            else:
                prices = fmt.column(prices_raw, price_scale)
                sizes = _cut_column(sizes_raw, size_scale, places)
                lefts = _cut_column(lefts_raw, size_scale, places)
            heads: list[str] = ["Side", "Price"]
            columns = [sides, prices]
            if size:
                heads.append("Size")
                columns.append(sizes)
            heads.append("Left")
            columns.append(lefts)
            if tonce:
                heads.append("Tonce")
                columns.append(tonces)
            heads.append("Age")
            columns.append(ages)
            choice = (tuple(heads), columns)
            if 1 + sum(_widths(heads, columns)) + GAP * (len(heads) - 1) <= width:
                break
        return choice

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        header = self.get_component_rich_style("orders--header")
        if row[0] == "note":
            return cells([(f" {row[1]}", header)])
        widths = row[1]
        if row[0] == "head":
            parts = row[2]
            selected, side = False, None
        else:
            selected, side, *parts = row[2:]
        aligns = ("<", *(">" for _ in widths[1:]))
        text = (CURSOR if selected else " ") + (" " * GAP).join(
            f"{p:{a}{w}}" for p, a, w in zip(parts, aligns, widths, strict=True)
        )
        if side is None:
            return cells([(text, header)])
        style = self.get_component_rich_style(f"orders--{side}")
        if selected:  # the background only, blended over the panel's (not the raw accent)
            style += Style(bgcolor=self.get_component_rich_style("orders--cursor").bgcolor)
            text = text.ljust(width)
        return cells([(text, style)])


def _widths(heads: Sequence[str], columns: Sequence[Sequence[str]]) -> tuple[int, ...]:
    return tuple(max([len(h), *map(len, c)]) for h, c in zip(heads, columns, strict=True))


def _cut_column(values: Sequence[int], scale: int, places: int) -> list[str]:
    """A column of amounts with trailing zeros trimmed (``places`` < 0), or cut to at most
    ``places`` decimal places: cut ones end in "…", the others in a space, so that the
    decimal points still line up."""
    if places < 0:
        return fmt.column(list(values), scale)
    texts = fmt.column(list(values), scale)
    if all(len(t.rpartition(".")[2]) <= places for t in texts if "." in t):
        return texts
    shown = min(places, fmt.places(scale))
    cut = [fmt.cut(v, scale, shown, keep=shown) for v in values]
    return [t if t.endswith("…") else t + " " for t in cut]
