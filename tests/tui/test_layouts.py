"""Layouts that use the terminal (issue 11): every panel one key away at 80x24 (1-9), every
panel at once from 160x48 (the big layout), and back, on the real app and exchange."""

from __future__ import annotations

from textual.widget import Widget

from cfdash.tui.app import DashboardApp
from cfdash.tui.screens.dashboard import BIG, PANELS
from cfdash.tui.widgets.ladder import OrderBookLadder

from .conftest import SMALL, WIDE, running, until

HUGE = (200, 60)


def shown(app: DashboardApp) -> set[str]:
    return {w.id or "" for w in app.query(".panel") if w.display and w.region.area > 0}


def cell(app: DashboardApp, name: str) -> Widget:
    return app.query_one(f"#{name}")


async def test_every_panel_is_one_digit_away_at_80x24(app: DashboardApp) -> None:
    async with running(app, SMALL) as pilot:
        for number in (*range(len(PANELS), 0, -1), 1):  # backwards, then the first again
            await pilot.press(str(number))
            name = PANELS[number - 1]
            await until(pilot, lambda name=name: shown(app) == {name})
            assert app.panel == name


async def test_from_160x48_every_panel_is_on_screen_at_once(app: DashboardApp) -> None:
    async with running(app, HUGE) as pilot:
        everything = set(PANELS) - {"closed"}  # the closed orders share the fills' cell
        await until(pilot, lambda: shown(app) == everything)
        screen = app.screen
        assert screen.has_class("-big")
        # the trades down the left; the chart across the two other columns; the open
        # orders across the bottom, beside the fills
        tape, chart, orders = cell(app, "tape"), cell(app, "chart"), cell(app, "orders")
        fills = cell(app, "fills")
        assert tape.region.x < chart.region.x and tape.region.height > chart.region.height
        assert chart.region.width > 2 * cell(app, "depth").region.width - 4
        assert orders.region.y == fills.region.y and orders.region.x < fills.region.x
        assert orders.region.width > fills.region.width
        # the book is wider and counts each level's orders
        ladder = app.query_one(OrderBookLadder)
        assert ladder.region.width == 50
        assert "Ord" in ladder.render_line(0).text
        # the closed orders, when chosen (8), take the fills' cell; the fills come back (6)
        where = fills.region
        await pilot.press(str(PANELS.index("closed") + 1))
        await until(pilot, lambda: shown(app) == everything - {"fills"} | {"closed"})
        assert cell(app, "closed").region == where
        await pilot.press(str(PANELS.index("fills") + 1))
        await until(pilot, lambda: shown(app) == everything)
        # smaller again: the wide layout, one chosen panel in the chart's cell
        await pilot.resize_terminal(*WIDE)
        await until(pilot, lambda: not screen.has_class("-big"))
        await until(pilot, lambda: shown(app) == {"tape", "balances", "fills", "orders"})
        assert app.query_one(OrderBookLadder).region.width == 40
        await pilot.press("4")  # the chart
        await until(pilot, lambda: shown(app) == {"tape", "balances", "chart", "orders"})
        assert cell(app, "orders").region.width > cell(app, "chart").region.width
        # and big again, just at the threshold
        await pilot.resize_terminal(*BIG)
        await until(pilot, lambda: shown(app) == everything)
