"""Issue 10, defects 12 and 13 (part): notifications clear of what they name, with a history;
read-only keys that say so; screenshots saved where they can be; NO_COLOR honoured; a
one-line header; columns decided by the width, not by the numbers.

The real app on the real exchange (see conftest). ``run_test`` leaves notifications out by
default, so the tests that look at toasts ask for them.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from cfdash.server.users import fund
from cfdash.tui.app import MAX_TOASTS, DashboardApp
from cfdash.tui.screens.messages import MessagesScreen
from cfdash.tui.widgets.balances import BalancesView
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.status import KeyFooter, StatusBar
from cfdash.tui.widgets.ticker import TickerBar

from .conftest import COOKIE, PAIR, SECRET, SMALL, USER, lines, loaded, record_notices, until
from .test_app import type_ahead
from .test_terminal_loss import PtyChild, drawn

READ_ONLY = "read-only: trading is off"


@asynccontextmanager
async def with_toasts(
    app: DashboardApp, size: tuple[int, int] = SMALL, user: int | None = USER
) -> AsyncIterator[Pilot[Any]]:
    """``running`` with Textual's notifications on (``run_test`` turns them off)."""
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: loaded(app, user))
        await pilot.pause()
        yield pilot


def toasts(app: DashboardApp) -> list[Toast]:
    return [t for t in app.screen.query(Toast) if t.region.area]


def keys_done(app: DashboardApp) -> bool:
    """Every key sent so far is read and applied (``TypeAhead`` holds none, awaits none)."""
    return app._message_queue.empty() and app._held is None and app._awaiting is None


def history_text(screen: MessagesScreen) -> str:
    """The history's table as plain text, wide enough for every message on one line."""
    console = Console(width=300, file=StringIO(), record=True, color_system=None)
    console.print(screen.table())
    return console.export_text()


def selected_row(view: OpenOrdersView) -> Region:
    """The screen region of the selected order's line (under the header line)."""
    content = view.content_region
    return Region(content.x, content.y + 1 + view.cursor, content.width, 1)


async def place(pilot: Pilot[Any], app: DashboardApp, size: str, price: str) -> None:
    """A limit buy through the form, as typed; waits for its "placed" notice."""
    before = len(app.messages)
    await pilot.press("b", *size, "tab", *price, "enter")
    await until(pilot, lambda: any("placed" in m.text for m in list(app.messages)[before:]))
    await pilot.press("escape")


@pytest.mark.slow
async def test_toasts_stay_clear_of_the_status_bar_and_the_order_they_name(exchange) -> None:
    app = exchange.dashboard().app
    async with with_toasts(app) as pilot:
        for price in ("40000", "40001", "40002"):  # three "order placed" toasts at once
            await place(pilot, app, "0.01", price)
        await pilot.press("c")  # shows the open orders: "... press c again to cancel it"
        await until(pilot, lambda: any("press c again" in m.text for m in app.messages))
        await until(pilot, lambda: any("press c again" in str(t.render()) for t in toasts(app)))
        await pilot.pause()
        shown = toasts(app)
        assert 1 <= len(shown) <= MAX_TOASTS  # the newest; the others are in the history
        view = app.query_one(OpenOrdersView)
        assert app.focused is view and view.selected is not None
        keep_clear = {
            "status bar": app.query_one(StatusBar).region,
            "footer": app.query_one(KeyFooter).region,
            "selected order": selected_row(view),
            "open orders": view.region,
            "order form": app.query_one("#entry").region,
            "header": app.query_one(TickerBar).region,
        }
        for toast in shown:
            for name, region in keep_clear.items():
                assert not toast.region.overlaps(region), (name, toast.region, region)
        assert sum("placed" in m.text for m in app.messages) == 3


@pytest.mark.slow
async def test_the_history_keeps_what_the_toasts_said(exchange) -> None:
    app = exchange.dashboard().app
    app.NOTIFICATION_TIMEOUT = 0.5  # toasts gone soon; the history stays
    async with with_toasts(app) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: any("press c again" in m.text for m in app.messages))
        await until(pilot, lambda: not toasts(app) and not app._notifications)
        await pilot.press("h")
        screen = await until(pilot, lambda: isinstance(app.screen, MessagesScreen) and app.screen)
        text = history_text(screen)
        order = app.query_one(OpenOrdersView).orders[0].id
        assert f"(order {order}): press c again to cancel it" in text
        assert "Cancel:" in text
        # a notification made while it is open joins the list
        app.notify("order 99 placed", title="Order")
        await until(pilot, lambda: "Order: order 99 placed" in history_text(screen))
        # a burst of closing keys closes it once, and nothing else
        # (in order: the h reopens it and the escape after it closes that one)
        type_ahead(app, ["escape", "escape", "h", "escape", "escape"])
        await until(pilot, lambda: keys_done(app) and not isinstance(app.screen, MessagesScreen))
        assert len(app.screen_stack) == 1 and app.is_running
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, MessagesScreen))
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)
    assert app.return_code in (None, 0)
    assert "history" in {row[2] for row in app.help_rows()}


async def test_read_only_trading_keys_say_read_only(exchange) -> None:
    app = exchange.dashboard(user=None, read_only=True).app
    notices = record_notices(app)
    before = exchange.open_orders()
    async with with_toasts(app, user=None) as pilot:
        footer = " ".join(str(key.description) for key in app.query("FooterKey"))
        for count, key in enumerate(("b", "s", "c", "C"), 1):
            await pilot.press(key)
            await until(pilot, lambda n=count: len(notices) == n)
        assert notices == [READ_ONLY] * 4
        assert not app.query_one("#entry").display
        assert not app.query_one("#entry").has_focus_within
        for words in ("Buy", "Sell", "Cancel"):
            assert words not in footer  # still not offered
    assert exchange.open_orders() == before


async def test_balance_columns_stay_when_the_amounts_grow(exchange) -> None:
    app = exchange.dashboard().app
    async with with_toasts(app) as pilot:
        view = app.query_one(BalancesView)
        while app.panel != "balances":
            await pilot.press("v")
        await until(pilot, lambda: view.region.area and lines(view)[0].split())
        assert lines(view)[0].split() == ["Asset", "Available", "Reserved", "Total"]
        # a deposit that makes the GBP amounts 3 digits wider: too wide for every place
        await asyncio.to_thread(
            exchange.server.call, lambda s: fund(s.core, USER, {"GBP": 1_000_000})
        )
        await until(pilot, lambda: any("1,050,000" in line for line in lines(view)))
        text = lines(view)
        assert text[0].split() == ["Asset", "Available", "Reserved", "Total"]
        assert all(len(line.rstrip()) <= view.size.width for line in text)
        gbp = next(line for line in text if line.split()[0] == "GBP").split()
        assert gbp[1] in ("1,041,810.00", "1,041,810")  # exact (a whole amount)
        assert gbp[2] in ("8,190.00", "8,190") and gbp[3] in ("1,050,000.00", "1,050,000")


async def test_order_columns_stay_when_the_numbers_grow(exchange) -> None:
    app = exchange.dashboard().app
    async with with_toasts(app, size=(110, 36)) as pilot:  # the wide layout, narrowest
        view = app.query_one(OpenOrdersView)
        heads = ["Side", "Price", "Size", "Left", "Tonce", "Age"]
        assert lines(view)[0].split() == heads
        await asyncio.to_thread(exchange.server.call, lambda s: fund(s.core, USER, {"XBT": 500}))
        client = exchange.client((USER, COOKIE, SECRET))
        await asyncio.to_thread(
            lambda: client.place_order(PAIR, "-123.45678912", "99999.99").result(3)
        )
        await until(pilot, lambda: len(view.orders) == 3)
        await pilot.pause()
        text = lines(view)
        assert text[0].split() == heads
        assert all(len(line.rstrip()) <= view.size.width for line in text)
        big = text[1].split()  # highest price first
        assert big[0].lstrip("▸") == "SELL" and big[1] == "99,999.99"
        assert big[2].startswith("123.") and big[3].startswith("123.")


async def test_the_header_stays_one_line_at_80_columns_when_disconnected(exchange) -> None:
    app = exchange.dashboard().app
    async with with_toasts(app) as pilot:
        ticker, ladder = app.query_one(TickerBar), app.query_one("#ladder")
        top = ladder.region.y
        assert ticker.size.height == 1
        await asyncio.to_thread(exchange.server.stop)
        await until(pilot, lambda: not app.status.connected and ticker.stale, timeout=10)
        await pilot.pause()
        assert ticker.size.height == 1 and ladder.region.y == top
        text = str(ticker.render())
        assert "STALE" in text and "last" in text and "\n" not in text
        assert len(text) <= ticker.content_region.width


@pytest.mark.slow
async def test_a_screenshot_from_the_palette_is_saved_under_xdg_data_home(
    exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/Downloads: not used anyway
    app = exchange.dashboard().app
    notices = record_notices(app)
    folder = tmp_path / "cfdash" / "screenshots"
    async with with_toasts(app) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: folder.is_dir() and list(folder.glob("*.svg")))
        await until(pilot, lambda: any("saved to" in n for n in notices))
    (svg,) = folder.glob("*.svg")
    assert "<svg" in svg.read_text(encoding="utf-8")[:200]
    assert any(f"saved to {svg}" in n for n in notices), notices


async def test_a_screenshot_goes_to_the_working_directory_when_the_data_dir_cannot_be_made(
    exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory would be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    app = exchange.dashboard().app
    notices = record_notices(app)
    async with with_toasts(app) as pilot:
        app.action_screenshot()
        await until(pilot, lambda: list(work.glob("*.svg")))
    (svg,) = work.glob("*.svg")
    assert notices == [f"saved to {svg}"]


SGR = re.compile(rb"\x1b\[([0-9;:]*)m")
COLOUR_PARAMS = {*range(30, 39), *range(40, 49), *range(90, 98), *range(100, 108)}
"""SGR parameters that set a colour (38 and 48: 256 or 24-bit; 39/49, the default, are none)."""


def colour_codes(output: bytes) -> list[bytes]:
    found = []
    for match in SGR.finditer(output):
        params = [int(p) for p in re.split(rb"[;:]", match.group(1)) if p]
        if params and (params[0] in COLOUR_PARAMS or 38 in params or 48 in params):
            found.append(match.group(0))
    return found


def test_no_color_sends_no_colour(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINFLOOR_", "TEXTUAL"))}
    env.update(
        NO_COLOR="1",
        TERM="xterm-256color",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHONUNBUFFERED="1",
    )
    for name in ("COLUMNS", "LINES", "COLORTERM"):
        env.pop(name, None)
    child = PtyChild(["-m", "cfdash", "--no-traders"], ctty=True, env=env)
    try:
        child.read_until(drawn)
        child.read_until(lambda out: b"connected" in out and b"user" in out)  # logged in
        os.write(child.master, b"q")
        status, _, _ = child.wait(timeout=10)
    finally:
        child.kill()
    assert status == 0, child.output[-500:]
    assert SGR.search(child.output)  # styles are still sent (bold, reverse...)
    assert colour_codes(child.output) == [], colour_codes(child.output)[:5]
