"""The depth view laid out into cells: cumulative bid and ask sizes around the mid.

Pure (no Textual): ``layout_depth`` turns the book's levels (wire integers, best first) into
rows of styled runs (``axes.Row``). The x axis is price, the mid in the middle, as far each
way as the farther side's deepest level shown; each column shows (a bar at an eighth of a
cell) the size one would trade to reach its price: bids (green) to the left, asks (red) to the
right. The cumulative size axis is on the left, round labels in the base asset; prices under.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from cfdash.tui import fmt
from cfdash.tui.axes import EIGHTHS, Row, eighths, label, nice_step, place, plain_rows, runs, ticks

Level = tuple[int, int, int]
"""(price, size, order count), as ``BookRows`` holds them."""
LEVELS: Final = 60
"""Levels a side drawn at most (far levels would squeeze the ones near the mid)."""
MIN_WIDTH, MIN_HEIGHT = 16, 4


@dataclass(frozen=True, slots=True)
class DepthCurve:
    """Cumulative size by price, each side from the best level out."""

    bid_prices: list[int]
    """Ascending (worst first), for bisecting."""
    bid_sums: list[int]
    """``bid_sums[i]``: the size of the bids at ``bid_prices[i]`` and above."""
    ask_prices: list[int]
    """Ascending (best first)."""
    ask_sums: list[int]
    """``ask_sums[i]``: the size of the asks at ``ask_prices[i]`` and below."""

    @classmethod
    def of(cls, bids: Sequence[Level], asks: Sequence[Level]) -> DepthCurve:
        bid_sums = list(accumulate(size for _, size, _ in bids))
        ask_sums = list(accumulate(size for _, size, _ in asks))
        return cls(
            [price for price, _, _ in reversed(bids)],
            bid_sums[::-1],
            [price for price, _, _ in asks],
            ask_sums,
        )

    def bids_at(self, price: int) -> int:
        """The size of the bids at ``price`` or above (sold into down to ``price``)."""
        i = bisect_left(self.bid_prices, price)
        return self.bid_sums[i] if i < len(self.bid_sums) else 0

    def asks_at(self, price: int) -> int:
        """The size of the asks at ``price`` or below (bought up to ``price``)."""
        i = bisect_right(self.ask_prices, price)
        return self.ask_sums[i - 1] if i else 0


def mid_price(bids: Sequence[Level], asks: Sequence[Level]) -> int | None:
    """Halfway between the best bid and ask (rounded down), or the one side's best."""
    if bids and asks:
        return (bids[0][0] + asks[0][0]) // 2
    if bids or asks:
        return (bids or asks)[0][0]
    return None


def layout_depth(
    bids: Sequence[Level],
    asks: Sequence[Level],
    *,
    width: int,
    height: int,
    price_scale: int,
    size_scale: int,
    levels: int = LEVELS,
) -> list[Row]:
    """The depth chart of the book's ``bids`` and ``asks`` (best first), ``levels`` a side."""
    bids, asks = bids[:levels], asks[:levels]
    mid = mid_price(bids, asks)
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return plain_rows(width, height)
    if mid is None:
        return plain_rows(width, height, " no orders on the book")
    curve = DepthCurve.of(bids, asks)
    deepest = max(curve.bid_sums[:1] + curve.ask_sums[-1:])
    span = max([mid - bids[-1][0] if bids else 0, asks[-1][0] - mid if asks else 0, 1])
    rows = height - 1
    step = nice_step(deepest, max(1, rows // 2))
    marks = ticks(step, deepest, step)
    label_width = max(len(fmt.trimmed(t, size_scale)) for t in [*marks, deepest])
    axis = label_width + 1
    plot = width - axis
    half = plot // 2
    low = mid - span
    grid = [[" "] * width for _ in range(height)]
    styles = [[""] * width for _ in range(height)]
    for column in range(plot):
        if column < half:  # down to the column's lower edge
            size, style = curve.bids_at(low + column * 2 * span // plot), "bid"
        elif column >= plot - half:  # up to its upper edge
            size, style = curve.asks_at(low + -(-(column + 1) * 2 * span // plot)), "ask"
        else:  # the middle column of an odd width: the mid
            size, style = 0, "mid"
            for row in range(rows):
                grid[row][axis + column], styles[row][axis + column] = "┊", "mid"
        full, part = divmod(eighths(size, deepest, rows), 8)
        x = axis + column
        for row in range(rows - full, rows):
            grid[row][x], styles[row][x] = "█", style
        if part:
            grid[rows - 1 - full][x], styles[rows - 1 - full][x] = EIGHTHS[part], style
    _size_axis(grid, styles, marks, deepest, rows, size_scale, label_width)
    _price_axis(grid[rows], styles[rows], axis, plot, low, 2 * span, mid, price_scale)
    return [runs(chars, cell_styles) for chars, cell_styles in zip(grid, styles, strict=True)]


def _size_axis(
    grid: list[list[str]],
    styles: list[list[str]],
    marks: Sequence[int],
    deepest: int,
    rows: int,
    size_scale: int,
    label_width: int,
) -> None:
    for row in range(rows):
        grid[row][label_width], styles[row][label_width] = "│", "axis"
    used: set[int] = set()
    for mark in marks:
        row = rows - 1 - (mark * rows * 8 // deepest - 1) // 8
        if row in used or not 0 <= row < rows:
            continue
        used.update((row - 1, row, row + 1))
        text = fmt.trimmed(mark, size_scale).rjust(label_width)
        grid[row][:label_width] = text
        styles[row][:label_width] = ["label"] * label_width
        grid[row][label_width] = "┤"
    grid[rows][label_width], styles[rows][label_width] = "└", "axis"


def _price_axis(
    chars: list[str],
    styles: list[str],
    axis: int,
    plot: int,
    low: int,
    span: int,
    mid: int,
    scale: int,
) -> None:
    """Prices under the plot: the mid in the middle, round prices each side where they fit."""
    mid_text = f" {label(mid, scale)} "
    centre = axis + plot // 2
    place(chars, styles, max(axis, centre - len(mid_text) // 2), mid_text, "mid")
    edge = label(low, scale) + " "
    place(chars, styles, axis, edge, "axis")
    edge = " " + label(low + span, scale)
    place(chars, styles, axis + plot - len(edge), edge, "axis")
    width = len(label(low + span, scale)) + 2
    step = nice_step(span, max(1, plot // width))
    for tick in ticks(low, low + span, step):
        text = f" {label(tick, scale)} "
        at = axis + (tick - low) * plot // span - len(text) // 2
        if at >= axis:
            place(chars, styles, at, text, "axis")
