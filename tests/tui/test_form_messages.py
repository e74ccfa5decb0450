"""The order form's messages on the real app: short and whole after a paste of 5,000 digits,
and a problem of quantity and price together (their total) told in the price when that is the
outlandish one, not in the quantity (nor in the hidden total field)."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from cfdash.tui.app import DashboardApp
from cfdash.tui.widgets.entry import OrderEntry

from .conftest import SMALL, WIDE, running, screen_text, until


def message(app: DashboardApp) -> str:
    return str(app.query_one("#message").render())


def shown(app: DashboardApp, widget_id: str) -> str:
    """What a widget shows on the screen, its lines joined (a wrapped message reads as one)."""
    region = app.query_one(widget_id).region
    rows = screen_text(app).splitlines()[region.y : region.bottom]
    return " ".join(text for row in rows if (text := row[region.x : region.right].strip()))


async def test_a_paste_of_5000_digits_gets_a_whole_message(app: DashboardApp) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b")
        quantity = app.query_one("#quantity", Input)
        await until(pilot, lambda: app.focused is quantity)
        quantity.post_message(events.Paste("9" * 5000))
        await until(pilot, lambda: len(quantity.value) == 5000)
        await until(pilot, lambda: message(app).startswith("✗ quantity: too large"))
        assert shown(app, "#message") == message(app)  # whole: nothing cut mid-word
        assert message(app) in {
            "✗ quantity: too large",
            "✗ quantity: too large · max 92,233,720,368.54775807",
        }
        await pilot.resize_terminal(*WIDE)
        await until(pilot, lambda: "max" in shown(app, "#message"))
        assert shown(app, "#message") == "✗ quantity: too large · max 92,233,720,368.54775807"


@pytest.mark.slow
async def test_a_big_price_is_named_when_the_price_was_edited(app: DashboardApp) -> None:
    async with running(app, WIDE) as pilot:
        entry = app.query_one(OrderEntry)
        await until(pilot, lambda: entry.available is not None)
        await pilot.press("b", "1", "0", "tab", *"1000000000000")  # 10 XBT at 10^12 GBP
        await until(pilot, lambda: app.query_one("#price", Input).value == "1000000000000")
        assert message(app).startswith("✗ price: more than the 41,810.00 available")
        await pilot.press(*"0000")  # 10^16 GBP: 10 XBT's total would not fit
        await until(pilot, lambda: "overflow" in message(app))
        assert message(app).startswith("✗ price: too large: the total would overflow")
        assert shown(app, "#message") == message(app)
        # Edited in the quantity now: still the price's fault, and told so.
        await pilot.press("shift+tab", "end", "backspace", "2")
        await until(pilot, lambda: app.query_one("#quantity", Input).value == "12")
        assert message(app).startswith("✗ price: too large: the total would overflow")
