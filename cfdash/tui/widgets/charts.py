"""The price chart (candles) and the depth view: thin shells over ``chart_layout`` and
``depth_layout``, which lay the data out into styled runs; these widgets colour them.

Both draw nothing while hidden: an update of a panel out of sight only records the data, and
the layout is computed when the panel is painted (``LineWidget`` keeps it, keyed by what it
depends on, and repaints only the lines that changed).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from cfdash.core.assets import V2, Pair, Scales
from cfdash.core.views.candles import INTERVALS, MarketCandles, interval_name
from cfdash.tui.chart_layout import layout_chart
from cfdash.tui.depth_layout import layout_depth
from cfdash.tui.source import BookRows, TradeRow
from cfdash.tui.widgets.lines import LineWidget, Paced

STYLES: tuple[str, ...] = ("up", "down", "volume-up", "volume-down", "axis", "label", "last")
STYLES += ("last-line", "bid", "ask", "mid")


class CellChart(LineWidget):
    """A panel drawn from a layout of runs (``axes.Row``); the run styles are component
    classes ``chart--<style>``."""

    COMPONENT_CLASSES: ClassVar = {f"chart--{name}" for name in STYLES}
    DEFAULT_CSS = """
    CellChart {
        height: 1fr;
        & > .chart--up { color: $text-success; }
        & > .chart--down { color: $text-error; }
        & > .chart--volume-up { color: $success-muted; }
        & > .chart--volume-down { color: $error-muted; }
        & > .chart--bid { color: $text-success; }
        & > .chart--ask { color: $text-error; }
        & > .chart--axis { color: $text-muted; }
        & > .chart--label { color: $text-muted; }
        & > .chart--mid { color: $text-warning; }
        & > .chart--last { color: $text; background: $primary-muted; text-style: bold; }
        & > .chart--last-line { color: $primary; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self._styles: dict[str, Style] = {}
        """The run styles' colours (until the theme changes)."""
        self.renders = 0
        """Layouts computed so far (tests check that a hidden panel computes none)."""

    @property
    def shown(self) -> bool:
        """On screen now (a hidden panel defers its drawing until shown)."""
        return self.is_mounted and self.display and self.region.area > 0

    def changing(self) -> list[Hashable] | None:
        """The lines shown before a change, or None if hidden (nothing to compare)."""
        return self._visible() if self.shown else None

    def changed(self, old: list[Hashable] | None) -> None:
        """Repaint the lines that differ from ``old`` (if shown)."""
        if old is not None:
            self._repaint_changes(old)

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.scales, self.pair = scales, pair
        self.cache.clear()
        self.refresh()

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        styles = self._styles
        for _, name in row:
            if name not in styles:
                base = self.rich_style
                styles[name] = (
                    base + self.get_component_rich_style(f"chart--{name}") if name else base
                )
        # every glyph is one cell wide: the row's length is its width (no measuring)
        return Strip([Segment(text, styles[name]) for text, name in row], width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def layout_key(self, height: int) -> Hashable:
        return (height, self.size.width, self.pair, self.scales, *self.data_key())

    def data_key(self) -> tuple[Hashable, ...]:
        raise NotImplementedError


class PriceChart(CellChart):
    """Candles of the market shown at one interval (``next_interval`` cycles), built from the
    trades seen since start; each market keeps its own."""

    def __init__(
        self, clock: Callable[[], float], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.markets: dict[Pair, MarketCandles] = {}
        self.interval = INTERVALS[0]
        self._title()

    @property
    def candles(self) -> MarketCandles | None:
        """The candles of the market shown."""
        return None if self.pair is None else self.markets.get(self.pair)

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.markets.setdefault(pair, MarketCandles())
        super().set_market(scales, pair)

    def feed(self, trades: Sequence[TradeRow]) -> None:
        """The market's tape (newest first): its trades not seen yet become candles."""
        candles = self.candles
        if candles is None:
            return
        old = self.changing()
        if candles.feed(trades):
            self.changed(old)

    def next_interval(self) -> int:
        """Show the next interval (1m, 5m, 1h); the new one."""
        old = self.changing()
        self.interval = INTERVALS[(INTERVALS.index(self.interval) + 1) % len(INTERVALS)]
        self._title()
        self.changed(old)
        return self.interval

    def _title(self) -> None:
        self.border_title = f"Price · {interval_name(self.interval)}"

    def end(self) -> int:
        """The start of the newest column's interval: now, or the newest trade if later."""
        now = int(self.clock() * 1_000_000)
        candles = self.candles
        if candles is not None and candles.last_time is not None:
            now = max(now, candles.last_time)
        return now - now % self.interval

    def tick(self) -> None:
        """Once a second: move the chart on when a new interval starts (if shown)."""
        if (
            self.shown
            and self._layout is not None
            and self._layout[0] != self.layout_key(self.size.height)
        ):
            self.refresh()

    def data_key(self) -> tuple[Hashable, ...]:
        candles = self.candles
        version = None if candles is None else (id(candles), candles.version)
        return (self.interval, self.end(), version)

    def layout_rows(self, height: int) -> list[Hashable]:
        candles = self.candles
        if candles is None:
            return []
        self.renders += 1
        rows = layout_chart(
            candles.series[self.interval].candles,
            interval=self.interval,
            end=self.end(),
            width=self.size.width,
            height=height,
            price_scale=self.scales.price_scale(self.pair) if self.pair else 100,
            last=candles.last_price,
            volume_scale=self.scales.asset(self.pair.base) if self.pair else None,
        )
        return [tuple(row) for row in rows]


class DepthView(CellChart):
    """Cumulative bid and ask sizes around the mid, from the book on the ladder."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.book = BookRows()
        self._pace: Paced[BookRows] = Paced(self, self._draw)
        self._version = 0
        self.border_title = "Depth"

    def update_book(self, book: BookRows) -> None:
        """Follow ``book`` (at most every ``REDRAW_EVERY`` seconds, as the ladder)."""
        self._pace.offer(book)

    def _draw(self, book: BookRows) -> None:
        old = self.changing()
        self.book = book
        self._version += 1
        self.changed(old)

    def data_key(self) -> tuple[Hashable, ...]:
        return (self._version,)

    def layout_rows(self, height: int) -> list[Hashable]:
        if self.pair is None:
            return []
        self.renders += 1
        rows = layout_depth(
            self.book.bids,
            self.book.asks,
            width=self.size.width,
            height=height,
            price_scale=self.scales.price_scale(self.pair),
            size_scale=self.scales.asset(self.pair.base),
        )
        return [tuple(row) for row in rows]
