"""The order book ladder: asks above bids around the spread, with cumulative depth bars.

Focused, Up/Down (k/j) select a level (the first Up the best ask, the first Down the best
bid), Escape clears the selection; ``b``/``s`` then open the order form at its price. The
selection follows its price as the book moves (the nearest level of its side if it goes)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding
from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui import fmt
from cfdash.tui.source import BookRows, Level, Side
from cfdash.tui.widgets.lines import LineWidget, Paced, cells, with_bar

OWN_MARK = "●"
COUNT_FROM = 46
"""Cells from which the ladder shows each level's order count (a wide book)."""
CURSOR = "▸"
"""Marks the selected level (seen without colours too; an own order's mark wins)."""
Pick = tuple[str, int]
"""A selected level: ("ask" or "bid", its (bucket) price)."""


def nearest(levels: list[Pick], pick: Pick | None) -> Pick | None:
    """``pick`` if among ``levels``, else the level of its side nearest in price, else the
    nearest of the other side (the book emptied on one side), else None."""
    if pick is None or not levels or pick in levels:
        return pick if pick in levels else None
    kind, price = pick
    same = [lv for lv in levels if lv[0] == kind] or levels
    return min(same, key=lambda lv: (abs(lv[1] - price), lv[1]))


def moved(levels: list[Pick], pick: Pick | None, delta: int) -> Pick | None:
    """The level ``delta`` rows from ``pick`` in the ladder's order (asks highest first, then
    bids), kept in range; with no pick, Up (-1) starts at the best ask, Down at the best bid."""
    if not levels:
        return None
    current = nearest(levels, pick)
    if current is None:
        asks = [lv for lv in levels if lv[0] == "ask"]
        bids = [lv for lv in levels if lv[0] == "bid"]
        start = (asks[-1:] if delta < 0 else bids[:1]) or (bids[:1] if delta < 0 else asks[-1:])
        return start[0]
    index = levels.index(current) + delta
    return levels[max(0, min(len(levels) - 1, index))]


def group_levels(levels: Iterable[Level], step: int, *, ask: bool) -> list[Level]:
    """Merge levels into buckets of ``step`` price units: bids round down, asks round up, so a
    bucket never shows a better price than any order in it."""
    if step <= 1:
        return list(levels)
    out: list[list[int]] = []
    for price, size, count in levels:
        bucket = -(-price // step) * step if ask else price // step * step
        if out and out[-1][0] == bucket:
            out[-1][1] += size
            out[-1][2] += count
        else:
            out.append([bucket, size, count])
    return [(p, s, c) for p, s, c in out]


def bucket_of(price: int, step: int, *, ask: bool) -> int:
    if step <= 1:
        return price
    return -(-price // step) * step if ask else price // step * step


class OrderBookLadder(LineWidget, can_focus=True):
    """Asks (highest at the top, best next to the spread line) above bids (best first)."""

    BINDINGS: ClassVar = [
        Binding("up,k", "select(-1)", "Level up", show=False, id="ladder.up"),
        Binding("down,j", "select(1)", "Level down", show=False, id="ladder.down"),
        Binding("escape", "deselect", "Clear selection", show=False, id="ladder.clear"),
    ]

    COMPONENT_CLASSES: ClassVar = {
        "ladder--header",
        "ladder--ask",
        "ladder--bid",
        "ladder--ask-bar",
        "ladder--bid-bar",
        "ladder--spread",
        "ladder--own",
        "ladder--cursor",
    }
    DEFAULT_CSS = """
    OrderBookLadder {
        height: 1fr;
        & > .ladder--header { text-style: bold; color: $text-muted; }
        & > .ladder--ask { color: $text-error; }
        & > .ladder--bid { color: $text-success; }
        & > .ladder--ask-bar { background: $error-muted; }
        & > .ladder--bid-bar { background: $success-muted; }
        & > .ladder--spread { color: $text-muted; }
        & > .ladder--own { color: $text-warning; text-style: bold; }
        & > .ladder--cursor { background: $accent 40%; }
    }
    """

    group: reactive[int] = reactive(1)
    """Price increment in wire units (1 = every price)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.book = BookRows()
        self.own: frozenset[tuple[Side, int]] = frozenset()
        """The user's orders on this market: (side, price)."""
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self.pick: Pick | None = None
        """The selected level, as last chosen (``selected`` follows the book)."""
        self._next_own: frozenset[tuple[Side, int]] | None = None  # with the book not drawn
        self._pace: Paced[BookRows] = Paced(self, self._draw)

    def set_market(self, scales: Scales, pair: Pair) -> None:
        if pair != self.pair:
            self.pick = None
        self._pace.drop()  # the old market's
        self._next_own = None
        self.scales, self.pair = scales, pair
        self.border_title = f"Book {pair.name}"
        self.cache.clear()
        self.refresh()

    def update_book(self, book: BookRows, own: Iterable[tuple[Side, int]] | None = None) -> None:
        """Show ``book`` (at most every ``REDRAW_EVERY`` seconds: ``Paced``)."""
        if own is not None:
            self._next_own = frozenset(own)
        self._pace.offer(book)

    def _draw(self, book: BookRows) -> None:
        old = self._visible()
        self.book = book
        if self._next_own is not None:
            self.own, self._next_own = self._next_own, None
        self._repaint_changes(old)

    def set_own_orders(self, own: Iterable[tuple[Side, int]]) -> None:
        """Mark the user's orders, given as (side, price): a bid marks its bid bucket only."""
        old = self._visible()
        self.own, self._next_own = frozenset(own), None
        self._repaint_changes(old)

    # -- selection -------------------------------------------------------------------------
    def levels(self) -> list[Pick]:
        """The levels shown, in the ladder's order: asks highest first, then bids."""
        depth = max(0, (self.size.height - 2) // 2)
        step = self.group
        asks = group_levels(self.book.asks, step, ask=True)[:depth]
        bids = group_levels(self.book.bids, step, ask=False)[:depth]
        return [("ask", lv[0]) for lv in reversed(asks)] + [("bid", lv[0]) for lv in bids]

    @property
    def selected(self) -> Pick | None:
        """The selected level now (the nearest to the one chosen if that one went)."""
        return nearest(self.levels(), self.pick)

    @property
    def selected_price(self) -> int | None:
        picked = self.selected
        return None if picked is None else picked[1]

    def action_select(self, delta: int) -> None:
        old = self._visible()
        self.pick = moved(self.levels(), self.pick, delta)
        self._repaint_changes(old)

    def action_deselect(self) -> None:
        old = self._visible()
        self.pick = None
        self._repaint_changes(old)

    def watch_group(self) -> None:
        if self.pair is not None:
            step = fmt.price(self.scales, self.pair, self.group)
            self.border_title = f"Book {self.pair.name}" + (f" · {step}" if self.group > 1 else "")
        self.refresh()

    def layout_key(self, height: int) -> Hashable:
        return (height, self.book, self.own, self.group, self.pair, self.scales, self.pick)

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.pair is None or height <= 0:
            return []
        pair, scales, step = self.pair, self.scales, self.group
        depth = max(0, (height - 2) // 2)
        asks = group_levels(self.book.asks, step, ask=True)[:depth]
        bids = group_levels(self.book.bids, step, ask=False)[:depth]
        own_asks = {bucket_of(p, step, ask=True) for side, p in self.own if side == "sell"}
        own_bids = {bucket_of(p, step, ask=False) for side, p in self.own if side == "buy"}
        shown = [("ask", lv[0]) for lv in reversed(asks)] + [("bid", lv[0]) for lv in bids]
        picked = nearest(shown, self.pick)

        def side(
            levels: list[Level], own: set[int], kind: str
        ) -> list[tuple[int, str, str, str, bool, bool, str]]:
            out, cum = [], 0
            for price, size, count in levels:
                cum += size
                out.append(
                    (
                        cum,
                        fmt.price(scales, pair, price),
                        fmt.quantity(scales, pair, size),
                        fmt.quantity(scales, pair, cum),
                        price in own,
                        picked == (kind, price),
                        str(count),
                    )
                )
            return out

        ask_rows, bid_rows = side(asks, own_asks, "ask"), side(bids, own_bids, "bid")
        everything = ask_rows + bid_rows
        heads = ("Price", "Size", "Cum", "Ord")
        cells = [(*r[1:4], r[6]) for r in everything]
        widths = tuple(max([len(heads[i]), *(len(c[i]) for c in cells)]) for i in range(4))
        top = max((r[0] for r in everything), default=0)
        rows: list[Hashable] = [("head", widths, pair)]
        rows += [None] * (depth - len(ask_rows))
        rows += [("ask", widths, top, *r) for r in reversed(ask_rows)]
        rows.append(("spread", self.book.best_bid, self.book.best_ask, pair))
        rows += [("bid", widths, top, *r) for r in bid_rows]
        return rows

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        kind = row[0]
        if kind == "head":
            _, (pw, sw, cw, nw), pair = row
            text = f" {'Price':>{pw}}  {'Size':>{sw}}  {'Cum':>{cw}}"
            if width >= COUNT_FROM:
                text += f"  {'Ord':>{nw}}"
            return cells([(text, self.get_component_rich_style("ladder--header"))])
        if kind == "spread":
            _, bid, ask, pair = row
            if bid is None or ask is None:
                label = " spread — "
            else:
                label = f" spread {fmt.price(self.scales, pair, ask - bid)} "
            text = label.center(width, "─")
            return cells([(text, self.get_component_rich_style("ladder--spread"))])
        _, (pw, sw, cw, nw), top, cum, price, size, cum_text, own, picked, count = row
        style = self.get_component_rich_style(f"ladder--{kind}")
        bar_style = self.get_component_rich_style(f"ladder--{kind}-bar")
        if picked:  # the cursor's background under the whole row (the bar's too)
            cursor = Style(bgcolor=self.get_component_rich_style("ladder--cursor").bgcolor)
            style, bar_style = style + cursor, bar_style + cursor
        mark = OWN_MARK if own else CURSOR if picked else " "
        text = f"{mark}{price:>{pw}}  {size:>{sw}}  {cum_text:>{cw}}"
        if width >= COUNT_FROM:  # by the width alone: the column never comes and goes
            text += f"  {count:>{nw}}"
        text = text.ljust(width)[:width]
        bar = (cum * width // top) if top else 0
        strip = with_bar(text, style, bar_style, bar)
        if own:
            own_style = self.get_component_rich_style("ladder--own")
            strip = Strip.join([cells([(mark, style + own_style)]), strip.crop(1)])
        return strip
