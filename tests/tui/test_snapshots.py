"""Snapshots of the main screens on the quiet embedded exchange (see conftest).

Deterministic by construction: the exchange's wall clock is frozen (the times of orders and
trades), the dashboard's clock is fixed, tonces come from a fixed clock, no latency is measured
(the first ping is 45 s away), and the widgets sort what they show. The trades on the tape are
made once the dashboard watches the market, in a fixed order.

Regenerate after an intended visual change with ``pytest tests/tui --snapshot-update`` and
review the SVGs in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from cfdash.tui.widgets.closed import ClosedOrdersView
from cfdash.tui.widgets.fills import FillsView
from cfdash.tui.widgets.tape import TradeTape

from .conftest import SMALL, WIDE, Exchange, loaded, until

TAPE = ("0.02", "-0.15", "0.3", "-0.05")
"""Trades made while the dashboard watches: buys lift the asks, sells hit the bids."""


def ready(exchange: Exchange) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """``run_before``: wait for the seeded market, then trade and wait for the tape."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await until(pilot, lambda: loaded(app))  # type: ignore[arg-type]
        await asyncio.to_thread(exchange.trade, *TAPE)
        tape = app.query_one(TradeTape)
        await until(pilot, lambda: len(tape.trades) == len(TAPE))
        await pilot.pause(0.2)  # the bridge's last batch (book, ticker, balances)

    return run_before


def test_overview_wide(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    assert snap_compare(app, terminal_size=WIDE, run_before=ready(exchange))


def test_overview_compact(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    assert snap_compare(app, terminal_size=SMALL, run_before=ready(exchange))


@pytest.mark.slow
def test_order_entry(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    press = ["b", *"0.25", "tab", *"40500"]
    assert snap_compare(app, press=press, terminal_size=WIDE, run_before=ready(exchange))


def test_help(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    assert snap_compare(
        app, press=["question_mark"], terminal_size=WIDE, run_before=ready(exchange)
    )


def account_panel(exchange: Exchange, panel: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """``run_before``: the market, then user 7's fills and closed orders (from another
    session: see ``test_account_panels.trade_and_sell``), then ``panel`` shown."""
    from .test_account_panels import close_three, trade_and_sell

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await ready(exchange)(pilot)
        await asyncio.to_thread(trade_and_sell, exchange)
        await asyncio.to_thread(close_three, exchange)
        closed = app.query_one(ClosedOrdersView)
        await until(pilot, lambda: len(closed.orders) == 3)
        await until(pilot, lambda: len(app.query_one(FillsView).fills) == 5)
        await pilot.pause(0.2)  # the bridge's last batch (book, ticker, balances)
        app.show_panel(panel)  # type: ignore[attr-defined]
        app.clear_notifications()  # how many fill reports depends on how batches coalesced
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("panel", ["fills", "positions", "closed"])
def test_account_panels(snap_compare, exchange: Exchange, panel: str) -> None:
    app = exchange.dashboard().app
    assert snap_compare(app, terminal_size=SMALL, run_before=account_panel(exchange, panel))
