"""Render time of the price chart and the depth view at 200x60 (a whole panel).

``python tests/bench/bench_charts.py [--renders 1000]`` prints the median and p99 µs per render
of: the pure layouts alone (``layout_chart``, ``layout_depth``), and the widgets' whole path
(layout, then a ``Strip`` per line, as Textual asks for a panel's lines) in a headless app of
that size, the line cache cleared before each render. The chart holds 500 one-minute candles
(20,000 trades), the depth view 60 levels a side.

If ``plotext`` (5.x, as ``textual-plotext`` needs; not a dependency) can be imported, the same
candles (the 94 the chart shows at that width) are drawn with its ``candlestick`` too, its
output turned into Rich lines as ``textual-plotext`` does: the cost of that alternative.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual.app import App, ComposeResult

from cfdash.core.assets import PAIRS, V2
from cfdash.core.views.candles import MINUTE, MarketCandles
from cfdash.tui.chart_layout import layout_chart
from cfdash.tui.depth_layout import layout_depth
from cfdash.tui.source import BookRows
from cfdash.tui.widgets.charts import CellChart, DepthView, PriceChart

SIZE = (200, 60)
PAIR = PAIRS[0]
NOW = 1_700_000_000.0


def market(trades: int = 20_000) -> MarketCandles:
    rng = random.Random(1)
    candles = MarketCandles()
    t, price = int(NOW * 1_000_000), 4_100_000
    for _ in range(trades):
        t += rng.randint(0, 3_000_000)
        price = max(1, price + rng.randint(-300, 300))
        candles.add(t, price, rng.randint(1, 10**7))
    return candles


def book(levels: int = 60) -> BookRows:
    rng = random.Random(2)
    bids = tuple((4_099_000 - i * 150, rng.randint(10**5, 10**9), 1) for i in range(levels))
    asks = tuple((4_101_000 + i * 150, rng.randint(10**5, 10**9), 1) for i in range(levels))
    return BookRows(bids, asks)


def timed(fn: Callable[[], object], renders: int) -> tuple[float, float]:
    """Median and p99 µs per call."""
    samples = []
    for _ in range(renders):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, len(samples) * 99 // 100)]


class Bench(App[None]):
    def __init__(self, widget: CellChart) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def widget_path(widget: CellChart, renders: int) -> tuple[float, float]:
    app = Bench(widget)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        height = widget.size.height

        def render() -> None:
            widget._layout = None  # as after a change of data
            widget.cache.clear()
            for y in range(height):
                widget.render_line(y)

        return timed(render, renders)


def plotext_path(candles: MarketCandles, renders: int) -> tuple[float, float] | None:
    """``plotext``'s candlestick at 200x60, built and turned into Rich lines (None: no plotext)."""
    try:
        from plotext._figure import _figure_class  # type: ignore[import-not-found]
    except ImportError:
        return None
    from rich.console import Console
    from rich.text import Text

    shown = list(candles.series[MINUTE].candles)[-94:]
    data = {
        name: [getattr(c, name.lower()) / 100 for c in shown]
        for name in ("Open", "Close", "High", "Low")
    }
    dates = [time.strftime("%d/%m/%Y %H:%M:%S", time.gmtime(c.start // 10**6)) for c in shown]
    width, height = SIZE
    console = Console(width=width, height=height, color_system="truecolor", file=sys.stderr)

    def render() -> None:
        figure = _figure_class()
        figure.plotsize(width, height)
        figure.date_form("d/m/Y H:M:S")
        figure.candlestick(dates, data)
        text = Text.from_ansi(figure.build())
        console.render_lines(text, console.options.update(width=width, height=height))

    return timed(render, renders)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=1000)
    renders = parser.parse_args().renders
    candles = market()
    series = candles.series[MINUTE].candles
    end = int(NOW * 1_000_000) + 20_000 * 1_500_000
    end -= end % MINUTE
    levels = book()
    width, height = SIZE

    def chart() -> None:
        layout_chart(
            series,
            interval=MINUTE,
            end=end,
            width=width,
            height=height,
            price_scale=V2.price_scale(PAIR),
            last=candles.last_price,
        )

    def depth() -> None:
        layout_depth(
            levels.bids,
            levels.asks,
            width=width,
            height=height,
            price_scale=V2.price_scale(PAIR),
            size_scale=V2.asset(PAIR.base),
        )

    price = PriceChart(lambda: end / 1_000_000)
    price.set_market(V2, PAIR)
    price.markets[PAIR] = candles
    view = DepthView()
    view.set_market(V2, PAIR)
    view.book = levels
    rows = [
        ("chart layout", timed(chart, renders)),
        ("depth layout", timed(depth, renders)),
        ("chart widget (layout + strips)", asyncio.run(widget_path(price, renders))),
        ("depth widget (layout + strips)", asyncio.run(widget_path(view, renders))),
    ]
    plotext = plotext_path(candles, max(1, renders // 5))
    if plotext is not None:
        rows.append((f"plotext candlestick ({max(1, renders // 5)} renders)", plotext))
    print(f"{renders} renders of a {width}x{height} panel, µs per render:")
    for name, (median, p99) in rows:
        print(f"  {name:32} median {median:8.0f}   p99 {p99:8.0f}")


if __name__ == "__main__":
    main()
