"""A widget drawn one line at a time from row data, with a small cache of rendered lines.

Subclasses turn a hashable row into a ``Strip``. ``set_rows`` compares the new rows with the old
and repaints only the lines that differ, so a book update that moves one level repaints one
line; the cache is keyed by (row, width, stale), so rows that shift position reuse their strips.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

DIM = Style(dim=True)
T = TypeVar("T")
REDRAW_EVERY = 0.1
"""Seconds between two redraws of data that changes faster, at least (10 a second: as fast as
a person reads a book; the first change after a quiet spell is drawn at once)."""


class Paced(Generic[T]):
    """Hands a widget's latest data to ``draw`` at most every ``every`` seconds: at once after
    a quiet spell, else at the end of the interval, only the newest (under a firehose every row
    of a book changes with every batch, and redrawing it is the costliest part of a frame)."""

    def __init__(self, widget: Widget, draw: Callable[[T], None], every: float = REDRAW_EVERY):
        self.widget = widget
        self.draw = draw
        self.every = every
        self._drawn_at = -every
        self._timer: Timer | None = None
        self._pending: list[T] = []  # at most one: the newest

    def offer(self, data: T) -> None:
        """New data: drawn now or soon (replacing any not drawn yet)."""
        self._pending[:] = [data]
        wait = self._drawn_at + self.every - time.monotonic()
        if wait <= 0 or not self.widget.is_mounted:
            self._run()
        elif self._timer is None:
            self._timer = self.widget.set_timer(wait, self._run)

    def drop(self) -> None:
        """Forget the data not drawn yet (it no longer applies)."""
        self._pending.clear()

    def _run(self) -> None:
        self._timer = None
        if self._pending:
            self._drawn_at = time.monotonic()
            self.draw(self._pending.pop())


class LineCache:
    """A least-recently-used map of rendered lines."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._strips: OrderedDict[Hashable, Strip] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Strip | None:
        strip = self._strips.get(key)
        if strip is None:
            self.misses += 1
            return None
        self.hits += 1
        self._strips.move_to_end(key)
        return strip

    def put(self, key: Hashable, strip: Strip) -> None:
        self._strips[key] = strip
        if len(self._strips) > self.maxsize:
            self._strips.popitem(last=False)

    def clear(self) -> None:
        self._strips.clear()

    def __len__(self) -> int:
        return len(self._strips)


class LineWidget(Widget):
    """Base for line-rendered panels; ``stale`` dims every line."""

    stale: reactive[bool] = reactive(False)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ):
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[Hashable] = []
        self.cache = LineCache()
        self._layout: tuple[Hashable, list[Hashable]] | None = None

    # subclasses ---------------------------------------------------------------------------
    def build_strip(self, row: Hashable, width: int) -> Strip:
        raise NotImplementedError

    def layout_rows(self, height: int) -> list[Hashable]:
        """The rows to show for a given height (override when the layout depends on it)."""
        return self._rows

    def layout_key(self, height: int) -> Hashable | None:
        """Everything ``layout_rows`` depends on, so that its rows can be reused until one of
        them changes (it runs for every line drawn otherwise); None: never reuse."""
        return None

    # machinery ----------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[Hashable]) -> None:
        old = self._visible()
        self._rows = list(rows)
        self._repaint_changes(old)

    def _visible(self) -> list[Hashable]:
        height = self.size.height
        key = self.layout_key(height)
        if key is not None and self._layout is not None and self._layout[0] == key:
            return self._layout[1]
        rows = self.layout_rows(height)
        self._layout = None if key is None else (key, rows)
        return rows

    def _repaint_changes(self, old: list[Hashable]) -> None:
        if not self.is_mounted:
            return
        new = self._visible()
        width = self.size.width
        changed = [
            y
            for y in range(max(len(old), len(new)))
            if (old[y] if y < len(old) else None) != (new[y] if y < len(new) else None)
        ]
        if changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    def watch_stale(self) -> None:
        self.border_subtitle = "stale" if self.stale else ""
        self.set_class(self.stale, "-stale")
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.cache.clear()

    def on_resize(self) -> None:
        self.refresh()

    def render_line(self, y: int) -> Strip:
        rows = self._visible()
        width = self.size.width
        row = rows[y] if 0 <= y < len(rows) else None
        if row is None:
            return Strip.blank(width, self.rich_style)
        key = (row, width, self.stale)
        strip = self.cache.get(key)
        if strip is None:
            strip = self.build_strip(row, width)
            if self.stale:
                strip = strip.apply_style(DIM)
            if strip.cell_length != width:  # ``rich_style`` is not cheap: only when needed
                strip = strip.adjust_cell_length(width, self.rich_style)
            self.cache.put(key, strip)
        return strip

    def line_text(self, y: int) -> str:
        """The plain text of line ``y`` (for tests and screen readers)."""
        return self.render_line(y).text


def cells(parts: Sequence[tuple[str, Style]]) -> Strip:
    """A strip from (text, style) parts."""
    return Strip([Segment(text, style) for text, style in parts])


def with_bar(text: str, style: Style, bar_style: Style, bar: int, *, right: bool = True) -> Strip:
    """``text`` with its last (or first) ``bar`` cells over ``bar_style``'s background."""
    bar = max(0, min(bar, len(text)))
    if bar == 0:
        return Strip([Segment(text, style)])
    combined = style + Style(bgcolor=bar_style.bgcolor)
    if right:
        cut = len(text) - bar
        return Strip([Segment(text[:cut], style), Segment(text[cut:], combined)])
    return Strip([Segment(text[:bar], combined), Segment(text[bar:], style)])
