"""The user's open orders on the current market, with a cursor selecting one."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar

from textual.binding import Binding
from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui import fmt
from cfdash.tui.source import OpenOrder
from cfdash.tui.widgets.lines import LineWidget, cells

WIDE = 56  # below this width the original size column is left out


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
        now = self.clock()
        wide = self.size.width >= WIDE
        body = max(1, height - 1)
        start = max(0, self.cursor - body + 1)
        shown = self.orders[start : start + body]
        texts = []
        for i, o in enumerate(shown, start):
            texts.append(
                (
                    i == self.cursor,
                    o.side,
                    "BUY" if o.side == "buy" else "SELL",
                    fmt.price(self.scales, self.pair, o.price),
                    fmt.quantity(self.scales, self.pair, abs(o.quantity)) if wide else "",
                    fmt.quantity(self.scales, self.pair, abs(o.remaining)),
                    "—" if o.tonce is None else str(o.tonce),
                    fmt.age(now - o.time / 1_000_000),
                )
            )
        heads = ("Side", "Price", "Size" if wide else "", "Left", "Tonce", "Age")
        widths = tuple(max([len(heads[i]), *(len(r[i + 2]) for r in texts)]) for i in range(6))
        rows: list[Hashable] = [("head", widths, heads)]
        rows += [("row", widths, *r) for r in texts]
        if not texts:
            rows.append(("note", "no open orders"))
        return rows

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
        aligns = ("<", ">", ">", ">", ">", ">")
        text = " " + "  ".join(
            f"{p:{a}{w}}" for p, a, w in zip(parts, aligns, widths, strict=True) if w
        )
        if side is None:
            return cells([(text, header)])
        style = self.get_component_rich_style(f"orders--{side}")
        if selected:
            style += self.get_component_rich_style("orders--cursor", partial=True)
            text = text.ljust(width)
        return cells([(text, style)])
