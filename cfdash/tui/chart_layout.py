"""The price chart laid out into cells: candles, volume bars, a price and a time axis.

Pure (no Textual): ``layout_chart`` turns candles into rows of styled runs (``axes.Row``).
Two columns per interval (a candle and a gap), the newest on the right; a price axis on the
right (round labels, the last price marked over them and by a dotted line across the chart);
volume bars under the candles; HH:MM (UTC, as the tape) under them.

Candles are drawn at half a row's resolution: blocks for the body (open to close), a light
line for the wick (low to high), a heavy line where a cell is half body and half wick, so
that each cell shows its two halves: ``GLYPHS[(top, bottom)]``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cfdash.core.views.candles import Candle
from cfdash.tui import fmt
from cfdash.tui.axes import EIGHTHS, Row, eighths, label, nice_step, plain_rows, runs, ticks

NONE, WICK, BODY = 0, 1, 2
GLYPHS: Final = {
    (NONE, NONE): " ",
    (WICK, WICK): "│",
    (BODY, BODY): "█",
    (BODY, WICK): "╿",
    (WICK, BODY): "╽",
    (BODY, NONE): "▀",
    (NONE, BODY): "▄",
    (WICK, NONE): "╵",
    (NONE, WICK): "╷",
}
"""A cell's glyph by what its (top, bottom) halves show."""
LAST_LINE: Final = "┈"
LAST_MARK: Final = "◀"
TIME_STEPS: Final = tuple(m * 60_000_000 for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720))
"""Spacings of the time labels (µs)."""
CELL: Final = 2
"""Columns per interval: the candle and a gap."""
LABEL_GAP: Final = 4
"""Intervals from one HH:MM label to the next, at least."""
MIN_WIDTH, MIN_HEIGHT = 12, 4


@dataclass(frozen=True, slots=True)
class Frame:
    """Where things go: the plot's columns and rows, the price range shown."""

    plot: int
    """Columns left of the price axis."""
    rows: int
    """Rows of candles."""
    volume_rows: int
    low: int
    high: int

    def half(self, price: int) -> int:
        """The half-row (0 at the bottom) of ``price``: rounded to the nearest."""
        halves = 2 * self.rows - 1
        span = self.high - self.low
        return ((price - self.low) * halves * 2 + span) // (2 * span)

    @property
    def slots(self) -> int:
        """Intervals shown."""
        return self.plot // CELL

    def column(self, slot: int) -> int:
        """The column of the ``slot``-th interval shown (0: the oldest)."""
        return self.plot - CELL * (self.slots - slot)

    def row(self, price: int) -> int:
        """The row (0 at the top) of ``price``."""
        return (2 * self.rows - 1 - self.half(price)) // 2


def layout_chart(
    candles: Sequence[Candle],
    *,
    interval: int,
    end: int,
    width: int,
    height: int,
    price_scale: int,
    last: int | None = None,
    volume_scale: int | None = None,
) -> list[Row]:
    """The chart of ``candles`` (oldest first, of ``interval`` µs), the newest column the
    interval starting at ``end``; ``last`` (the last trade's price) marked on the axis; the
    largest volume shown labelled beside the volume bars if ``volume_scale`` is given (the base
    asset's)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return plain_rows(width, height)
    prices = [c.high for c in candles] + ([last] if last is not None else [])
    if not prices:
        return plain_rows(width, height, " no trades yet: candles are built from the trades seen")
    label_width = len(label(max(prices), price_scale))  # the widest: prices are positive
    axis = label_width + 2  # "┤ 41,000.00"
    plot = width - axis
    first = end - (plot // CELL - 1) * interval
    shown = [c for c in candles if first <= c.start <= end]
    frame = _frame(shown, last, plot, height)
    if frame is None:
        return plain_rows(width, height, " no trades in sight")
    grid = [[" "] * width for _ in range(height)]
    styles = [[""] * width for _ in range(height)]
    for candle in shown:
        column = frame.column((candle.start - first) // interval)
        _draw_candle(grid, styles, frame, column, candle)
    _draw_volume(grid, styles, frame, first, interval, shown)
    if volume_scale is not None:
        largest = fmt.trimmed(max(c.volume for c in shown), volume_scale)
        top = frame.rows
        _write(grid[top], styles[top], plot + 2, largest[:label_width].rjust(label_width), "label")
    last_row = None if last is None else frame.row(last)
    if last_row is not None:
        line, line_styles = grid[last_row], styles[last_row]
        for x in range(plot):
            if line[x] == " ":
                line[x], line_styles[x] = LAST_LINE, "last-line"
    _draw_price_axis(grid, styles, frame, price_scale, label_width, last, last_row)
    _draw_time_axis(grid[height - 1], styles[height - 1], frame, first, interval)
    return [runs(chars, cell_styles) for chars, cell_styles in zip(grid, styles, strict=True)]


def _frame(shown: Sequence[Candle], last: int | None, plot: int, height: int) -> Frame | None:
    volume_rows = max(1, (height - 1) // 5)
    rows = height - 1 - volume_rows
    lows = [c.low for c in shown] + ([last] if last is not None else [])
    highs = [c.high for c in shown] + ([last] if last is not None else [])
    if not lows:
        return None
    low, high = min(lows), max(highs)
    if low == high:  # one price: a band around it
        pad = max(1, nice_step(max(low, 1) // 1000, 1))
        low, high = max(0, low - pad), high + pad
    return Frame(plot, rows, volume_rows, low, high)


def _draw_candle(
    grid: list[list[str]], styles: list[list[str]], frame: Frame, column: int, candle: Candle
) -> None:
    low, high = frame.half(candle.low), frame.half(candle.high)
    body_low = frame.half(min(candle.open, candle.close))
    body_high = frame.half(max(candle.open, candle.close))
    style = "up" if candle.up else "down"
    top_half = 2 * frame.rows - 1
    for row in range(frame.row(candle.high), frame.row(candle.low) + 1):
        top = top_half - 2 * row
        upper = BODY if body_low <= top <= body_high else WICK if low <= top <= high else NONE
        top -= 1
        lower = BODY if body_low <= top <= body_high else WICK if low <= top <= high else NONE
        grid[row][column] = GLYPHS[upper, lower]
        styles[row][column] = styles[row][column + 1] = style  # the gap too: fewer runs


def _draw_volume(
    grid: list[list[str]],
    styles: list[list[str]],
    frame: Frame,
    first: int,
    interval: int,
    shown: Sequence[Candle],
) -> None:
    largest = max((c.volume for c in shown), default=0)
    bottom = frame.rows + frame.volume_rows - 1
    for candle in shown:
        column = frame.column((candle.start - first) // interval)
        full, part = divmod(eighths(candle.volume, largest, frame.volume_rows), 8)
        style = "volume-up" if candle.up else "volume-down"
        for row in range(bottom - full + 1, bottom + 1):
            grid[row][column] = "█"
            styles[row][column] = styles[row][column + 1] = style
        if part:
            grid[bottom - full][column], styles[bottom - full][column] = EIGHTHS[part], style


def _draw_price_axis(
    grid: list[list[str]],
    styles: list[list[str]],
    frame: Frame,
    scale: int,
    label_width: int,
    last: int | None,
    last_row: int | None,
) -> None:
    x = frame.plot
    for row in range(frame.rows + frame.volume_rows):
        grid[row][x], styles[row][x] = "│", "axis"
    step = nice_step(frame.high - frame.low, max(1, frame.rows // 3))
    taken = set() if last_row is None else {last_row - 1, last_row, last_row + 1}
    for tick in ticks(frame.low, frame.high, step):
        row = frame.row(tick)
        if row in taken:
            continue
        taken.update((row - 1, row, row + 1))
        grid[row][x] = "┤"
        _write(grid[row], styles[row], x + 2, label(tick, scale).rjust(label_width), "label")
    if last is not None and last_row is not None:
        text = label(last, scale).rjust(label_width)
        grid[last_row][x] = LAST_MARK
        styles[last_row][x] = "last"
        _write(grid[last_row], styles[last_row], x + 1, " " + text, "last")
    grid[frame.rows + frame.volume_rows - 1][x] = "┴" if frame.volume_rows else "│"


def _draw_time_axis(
    chars: list[str], styles: list[str], frame: Frame, first: int, interval: int
) -> None:
    step = next((s for s in TIME_STEPS if s % interval == 0 and s // interval >= LABEL_GAP), None)
    if step is None:  # coarse intervals: a label every LABEL_GAP columns
        step = interval * LABEL_GAP
    for slot in range(frame.slots):
        start = first + slot * interval
        if start % step:
            continue
        text = time.strftime("%H:%M", time.gmtime(start // 1_000_000))
        column = frame.column(slot)
        if column + len(text) <= frame.plot:
            _write(chars, styles, column, text, "axis")
    for column in range(frame.plot, len(chars)):
        chars[column] = " "


def _write(chars: list[str], styles: list[str], at: int, text: str, style: str) -> None:
    end = min(len(chars), at + len(text))
    chars[at:end] = text[: end - at]
    styles[at:end] = [style] * (end - at)
