"""Snapshots of the watchlist on the quiet embedded exchange (see test_snapshots)."""

from __future__ import annotations

from cfdash.tui.widgets.watch import WatchlistView

from .conftest import SMALL, WIDE, Exchange, until
from .test_snapshots import ready


def watchlist_ready(exchange: Exchange):  # type: ignore[no-untyped-def]
    before = ready(exchange)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        await pilot.press("w")
        view = pilot.app.query_one(WatchlistView)
        await until(pilot, lambda: len(view.tickers) == 5)
        await pilot.pause()

    return run_before


def test_watchlist_compact(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    assert snap_compare(app, terminal_size=SMALL, run_before=watchlist_ready(exchange))


def test_watchlist_wide(snap_compare, exchange: Exchange) -> None:
    app = exchange.dashboard().app
    assert snap_compare(app, terminal_size=WIDE, run_before=watchlist_ready(exchange))
