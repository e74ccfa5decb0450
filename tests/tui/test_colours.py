"""Colours in terminals without truecolor: what the terminal is sent, per colour system.

Textual renders in truecolor and the terminal's output downgrades each colour to the nearest
one it has; these tests downgrade the rendered screen the same way (``Color.downgrade``) and
check the meaning survives: bids and buys green, asks and sells red, borders neutral.
"""

from __future__ import annotations

import asyncio
import colorsys

import pytest
from rich.color import Color, ColorSystem
from rich.style import Style
from textual.geometry import Region
from textual.widget import Widget

from cfdash.tui.app import DashboardApp
from cfdash.tui.widgets.ladder import OrderBookLadder
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.tape import TradeTape
from cfdash.tui.widgets.ticker import TickerBar

from .conftest import WIDE, Exchange, running, until

SYSTEMS = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT}
GREYS = {0, 7, 8, 15}
"""The standard palette's black, white, bright black and bright white."""

Cells = list[list[tuple[str, Style]]]


def screen_cells(app: DashboardApp) -> Cells:
    """Every cell of the screen as rendered: (character, style)."""
    update = app.screen._compositor.render_update(full=True)
    grid: Cells = []
    for line in update.strips:  # type: ignore[attr-defined]
        grid.append(
            [(ch, seg.style or Style()) for strip in line for seg in strip for ch in seg.text]
        )
    return grid


def colour_of(cells: Cells, widget: Widget, text: str) -> Color:
    """The foreground of the first cell of ``text`` inside ``widget``'s region."""
    region: Region = widget.region
    for y in range(region.y, region.bottom):
        row = "".join(ch for ch, _ in cells[y][region.x : region.right])
        if (x := row.find(text)) >= 0:
            color = cells[y][region.x + x][1].color
            assert color is not None
            return color
    raise AssertionError(f"{text!r} not shown in {widget}")


def border_of(cells: Cells, widget: Widget) -> Color:
    color = cells[widget.region.y][widget.region.x][1].color
    assert color is not None
    return color


def sent(color: Color, system: str) -> Color:
    """The colour the terminal gets."""
    return color.downgrade(SYSTEMS[system]) if system in SYSTEMS else color


def hue(color: Color) -> float:
    """Degrees, red at 0, green at 120; the terminal's colour for a palette entry."""
    r, g, b = (c / 255 for c in color.get_truecolor())
    h, s, _ = colorsys.rgb_to_hsv(r, g, b)
    assert s > 0.3, f"{color} is grey"
    return h * 360


def is_red(color: Color) -> bool:
    return hue(color) < 20 or hue(color) > 330


def is_green(color: Color) -> bool:
    return 90 < hue(color) < 160


@pytest.mark.parametrize("system", ["standard", "256", "truecolor"])
@pytest.mark.slow
async def test_buys_green_sells_red_and_neutral_borders(exchange: Exchange, system: str) -> None:
    app = exchange.dashboard(color_system=system).app
    async with running(app, WIDE) as pilot:
        await asyncio.to_thread(exchange.trade, "-0.01", "0.01")  # one of each; up at last
        tape = app.query_one(TradeTape)
        await until(pilot, lambda: len(tape.trades) == 2)
        ladder, ticker = app.query_one(OrderBookLadder), app.query_one(TickerBar)
        orders = app.query_one(OpenOrdersView)
        for theme in ("dark", "light"):
            await pilot.pause()
            cells = screen_cells(app)
            buys = {
                "bid": colour_of(cells, ladder, "40,990.00"),
                "buy": colour_of(cells, tape, "▲"),
                "own bid": colour_of(cells, orders, "BUY"),
            }
            sells = {
                "ask": colour_of(cells, ladder, "41,040.00"),
                "sell": colour_of(cells, tape, "▼"),
                "own ask": colour_of(cells, orders, "SELL"),
            }
            up = "▲" in str(ticker.render())  # the change since the reference price
            (buys if up else sells)["change"] = colour_of(cells, ticker, "▲" if up else "▼")
            for name, color in buys.items():
                assert is_green(sent(color, system)), (theme, name, sent(color, system))
            for name, color in sells.items():
                assert is_red(sent(color, system)), (theme, name, sent(color, system))
            for widget in (ladder, tape, orders):  # focused, active, neither
                border = sent(border_of(cells, widget), system)
                if system == "standard":
                    assert border.number in GREYS, (theme, widget, border)
                else:
                    assert border.get_truecolor() != sent(sells["ask"], system).get_truecolor()
            await pilot.press("d")
