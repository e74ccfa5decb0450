"""The user's open orders on the current market, with a cursor selecting one.

Orders in flight (sent, no outcome yet) are listed too, dimmed, their age replaced by
"sending…" or "pending", and those whose outcome cannot be known by "unknown". ``armed`` is the
order a first cancel key named: moving the cursor off it, leaving the panel or the order going
disarms it, so a second key only ever cancels the order the prompt named.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
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
ARMED = "✗"
"""Marks the selected order once a cancel key has named it (the next one cancels it)."""
IN_FLIGHT = {"sending": "sending…", "pending": "pending", "unknown": "unknown"}
"""What an order in flight shows instead of its age."""
IN_FLIGHT_SHORT = {"sending": "sent…", "pending": "pend…", "unknown": "unkn?"}
"""The same, where the narrowest layout has no room for it."""
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
        "orders--flight",
    }
    DEFAULT_CSS = """
    OpenOrdersView {
        height: 1fr;
        & > .orders--header { text-style: bold; color: $text-muted; }
        & > .orders--buy { color: $text-success; }
        & > .orders--sell { color: $text-error; }
        & > .orders--cursor { background: $accent 40%; }
        & > .orders--flight { text-style: dim italic; }
    }
    """

    cursor: reactive[int] = reactive(0)
    read_only: reactive[bool] = reactive(False)
    """Read-only mode: no account, so no orders to show."""

    def __init__(
        self, clock: Callable[[], float], *, id: str | None = None, classes: str | None = None
    ):
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self.all_orders: tuple[OpenOrder, ...] = ()
        self.orders: tuple[OpenOrder, ...] = ()
        self.armed: int | None = None
        """The id of the order a first cancel key named (see the module docstring)."""

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.scales, self.pair = scales, pair
        self.update_orders(self.all_orders)

    def update_orders(self, orders: Sequence[OpenOrder]) -> None:
        old = self._visible()
        selected = self.selected
        self.all_orders = tuple(orders)
        mine = [o for o in self.all_orders if o.pair == self.pair]
        self.orders = tuple(sorted(mine, key=_order_key))
        same = [i for i, o in enumerate(self.orders) if _same(o, selected)]
        if same:
            self.cursor = same[0]
        else:
            self.cursor = min(self.cursor, max(0, len(self.orders) - 1))
        if self.armed is not None and not any(o.id == self.armed for o in self.orders):
            self.armed = None  # the order the prompt named is gone
        if self.pair is not None:
            flying = sum(o.in_flight for o in self.orders)
            resting = len(self.orders) - flying
            extra = sum(not o.in_flight for o in self.all_orders) - resting
            more = f", {resting + extra} in all" if extra else ""
            sent = f", {flying} in flight" if flying else ""
            self.border_title = f"Open orders ({resting}{more}{sent})"
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
        selected = self.selected
        if self.armed is not None and (selected is None or selected.id != self.armed):
            self.armed = None
        self.refresh()

    def arm(self, order: OpenOrder | None) -> None:
        """Name ``order`` as the one the next cancel key cancels (None: disarm)."""
        self.armed = None if order is None else order.id
        self.refresh()

    def on_blur(self) -> None:
        if self.armed is not None:
            self.arm(None)

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.pair is None:
            return []
        body = max(1, height - 1)
        start = max(0, self.cursor - body + 1)
        shown = self.orders[start : start + body]
        # A market order in flight has no price: laid out as 0, then shown as "market".
        laid = [o if o.price is not None else replace(o, price=0) for o in shown]
        width = budget = self.size.width
        for attempt in range(8):  # their marks are wider than ages: ask for narrower layouts
            heads, columns = self._columns(laid, budget, panel=width)
            _mark_in_flight(shown, heads, columns, self.scales, short=attempt > 0)
            widths = _widths(heads, columns)
            over = 1 + sum(widths) + GAP * (len(widths) - 1) - width
            if over <= 0 or not any(o.in_flight for o in shown):
                break
            budget -= over
        rows: list[Hashable] = [("head", widths, heads)]
        for n, (i, o) in enumerate(enumerate(shown, start)):
            armed = o.id is not None and o.id == self.armed
            mark = (ARMED if armed else CURSOR) if i == self.cursor else ""
            cols = (col[n] for col in columns)
            rows.append(("row", widths, mark, o.side, o.in_flight, *cols))
        if not shown:
            rows.append(("note", "read-only: no account" if self.read_only else "no open orders"))
        return rows

    def _columns(
        self, shown: Sequence[OpenOrder], width: int, *, panel: int | None = None
    ) -> tuple[tuple[str, ...], list[list[str]]]:
        """The columns for the ``panel`` width (default ``width``; narrower: no tonce, then
        no original size), with the widest amounts that fit ``width`` (see ``LAYOUTS``)."""
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
        panel = width if panel is None else panel
        tonce, size = panel >= TONCE_MIN, panel >= SIZE_MIN
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
            mark, side, flight = "", None, False
        else:
            mark, side, flight, *parts = row[2:]
        selected = bool(mark)
        aligns = ("<", *(">" for _ in widths[1:]))
        text = (mark or " ") + (" " * GAP).join(
            f"{p:{a}{w}}" for p, a, w in zip(parts, aligns, widths, strict=True)
        )
        if side is None:
            return cells([(text, header)])
        style = self.get_component_rich_style(f"orders--{side}")
        if flight:
            style += self.get_component_rich_style("orders--flight", partial=True)
        if selected:  # the background only, blended over the panel's (not the raw accent)
            style += Style(bgcolor=self.get_component_rich_style("orders--cursor").bgcolor)
            text = text.ljust(width)
        return cells([(text, style)])


def _order_key(order: OpenOrder) -> tuple[bool, int, int, int]:
    """Highest price first (market orders in flight above all), then by id, then tonce."""
    price = order.price
    return (price is not None, -(price or 0), order.id or 0, order.tonce or 0)


def _same(order: OpenOrder, other: OpenOrder | None) -> bool:
    """The same order, also once an order in flight has become an open one (its tonce)."""
    if other is None:
        return False
    if order.id is not None and order.id == other.id:
        return True
    return order.tonce is not None and order.tonce == other.tonce


def _mark_in_flight(
    shown: Sequence[OpenOrder],
    heads: Sequence[str],
    columns: list[list[str]],
    scales: Scales,
    *,
    short: bool = False,
) -> None:
    """Orders in flight: "market" for a market order's price, its total (with the asset)
    for one by total (its size unknown: "—"), "sending…"/"pending"/"unknown" for the age."""
    where = {head: n for n, head in enumerate(heads)}
    for row, order in enumerate(shown):
        if not order.in_flight:
            continue
        if order.price is None and "Price" in where:
            columns[where["Price"]][row] = "market"
        if order.total is not None:
            scale = scales.asset(order.pair.counter)
            amount = fmt.trimmed(abs(order.total), scale, whole=True)
            if "Size" in where:
                columns[where["Size"]][row] = fmt.DASH
            if "Left" in where:
                columns[where["Left"]][row] = f"{amount} {fmt.counter_name(order.pair)}"
        if "Age" in where:
            marks = IN_FLIGHT_SHORT if short else IN_FLIGHT
            columns[where["Age"]][row] = marks.get(order.state, order.state)


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
