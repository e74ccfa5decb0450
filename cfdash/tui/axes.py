"""Chart axes and cells, shared by the price chart and the depth view: pure, no Textual.

Ticks are round numbers of wire units (1-2-5 steps), labels exact (``Decimal`` through
``fmt``). A layout is a list of rows, each a list of runs ``(text, style)`` whose texts add up
to the row's width; the style is a name the widget maps to a colour.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress, pairwise
from operator import ne
from typing import Final

from cfdash.tui import fmt

Run = tuple[str, str]
Row = list[Run]

EIGHTHS: Final = " ▁▂▃▄▅▆▇█"
"""Bars at an eighth of a cell: ``EIGHTHS[n]`` fills ``n`` eighths from the bottom."""


def nice_step(span: int, count: int) -> int:
    """The smallest 1-2-5 x 10^k step (at least 1) that cuts ``span`` into at most ``count``
    parts."""
    wanted = max(1, -(-max(span, 1) // max(count, 1)))
    power = 1
    while True:
        for mantissa in (1, 2, 5):
            if mantissa * power >= wanted:
                return mantissa * power
        power *= 10


def ticks(low: int, high: int, step: int) -> list[int]:
    """The multiples of ``step`` from ``low`` to ``high`` (both included)."""
    first = -(-low // step) * step
    return list(range(first, high + 1, step))


def label(value: int, scale: int) -> str:
    """A tick's label: every decimal place of ``scale`` (a price), exact."""
    return fmt.amount(value, scale)


def eighths(value: int, largest: int, rows: int) -> int:
    """``value`` as a bar height in eighths of a cell, ``largest`` filling ``rows`` rows; at
    least one eighth for anything above zero."""
    if value <= 0 or largest <= 0:
        return 0
    return max(1, value * rows * 8 // largest)


def runs(chars: list[str], styles: list[str]) -> Row:
    """Cells to runs: neighbouring cells of one style joined."""
    text = "".join(chars)
    cuts = [0, *compress(range(1, len(styles)), map(ne, styles[1:], styles)), len(styles)]
    return [(text[a:b], styles[a]) for a, b in pairwise(cuts)]


def place(
    chars: list[str], styles: list[str], at: int, text: str, style: str, *, clip: int | None = None
) -> bool:
    """Write ``text`` into the cells from ``at`` if it fits (before ``clip``, default the end)
    over blank cells only; whether it did."""
    end = len(chars) if clip is None else clip
    if at < 0 or at + len(text) > end:
        return False
    if any(c != " " for c in chars[at : at + len(text)]):
        return False
    chars[at : at + len(text)] = text
    styles[at : at + len(text)] = [style] * len(text)
    return True


def plain_rows(width: int, height: int, message: str = "") -> list[Row]:
    """An empty panel, ``message`` on its first row."""
    rows = [[(" " * width, "")] for _ in range(height)]
    if height and message:
        text = message[:width].ljust(width)
        rows[0] = [(text, "label")]
    return rows


def text_of(rows: list[Row]) -> Iterator[str]:
    """Each row's text (for tests and the widget's ``line_text``)."""
    for row in rows:
        yield "".join(text for text, _ in row)
