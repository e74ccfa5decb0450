"""``DashboardScreen``: the dashboard's widgets, and how a ``Batch`` updates them.

The app (``cfdash.tui.app``) keeps what is app-wide: the source, keys and actions, dialogs,
notifications. This screen composes the panels and applies batches to them, inside
``batch_update()``, touching only the widgets whose data changed. The state several widgets
show (the connection ``status``, ``private`` mode, ``read_only``) lives in reactives here that
the widgets are bound to (``data_bind``), so one assignment reaches them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen

from cfdash.core.assets import Pair, Scales
from cfdash.tui import fills as fill_report
from cfdash.tui.screens import account
from cfdash.tui.source import Batch, BookRows, ConnectionStatus, MarketSnapshot
from cfdash.tui.widgets.balances import BalancesView
from cfdash.tui.widgets.charts import DepthView, PriceChart
from cfdash.tui.widgets.closed import ClosedOrdersView
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.fills import FillsView
from cfdash.tui.widgets.ladder import OrderBookLadder
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.positions import PositionsView
from cfdash.tui.widgets.status import KeyFooter, StatusBar
from cfdash.tui.widgets.tape import TradeTape
from cfdash.tui.widgets.ticker import TickerBar
from cfdash.tui.widgets.watch import WatchlistView

PANEL_NAMES: Final = {
    "tape": "trades",
    "orders": "orders",
    "balances": "balances",
    "chart": "chart",
    "depth": "depth",
    "fills": "fills",
    "positions": "P&L",
    "closed": "closed",
    "watch": "markets",
}
"""Each panel's id and the name the help gives it."""
PANELS: Final = tuple(PANEL_NAMES)
"""The panels beside the ladder, in the order ``v`` shows them (and keys 1-9 name them)."""
EXTRA_PANELS: Final = frozenset({"depth", *account.PANELS, "watch"})
"""Wide layout: the one of these chosen takes the chart's cell."""
BIG: Final = (160, 48)
"""From this terminal size (columns, rows) on, every panel is on screen at once."""
ORDER: Final = (
    "tape",
    "balances",
    "chart",
    "depth",
    "fills",
    "positions",
    "closed",
    "watch",
    "orders",
)
"""The panels in the grid's order (compose's), for the compact and wide layouts."""
BIG_ORDER: Final = (
    "tape",
    "balances",
    "positions",
    "chart",
    "depth",
    "watch",
    "orders",
    "fills",
    "closed",
)
"""The big layout's grid order: the trades down the left, beside the balances and positions;
the chart across; the depth and the watchlist; the open orders and the fills (or the closed
orders, when chosen) across the bottom."""
GROUPS: Final = (1, 10, 100, 1000, 10000)
"""Ladder price increments, in wire price units."""


class DashboardScreen(Screen[None]):
    """The ticker, the ladder, the order form, the panels, the status bar and the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority, as the app's keys that move the focus (``TypeAhead``): w Down Enter in one
        # burst picks the second market. A field or a dialog takes the letter instead.
        Binding("w", "watchlist", "Watchlist", show=False, id="watchlist", priority=True),
        # Not priority: a field takes its digits first.
        *(
            Binding(str(n), f"panel({n})", f"Panel {n}", show=False, id=f"panel.{n}")
            for n in range(1, len(PANELS) + 1)
        ),
    ]

    status: reactive[ConnectionStatus] = reactive(ConnectionStatus, init=False)
    """The connection, as the last batch gave it (bound by the status bar and the form)."""
    stale: reactive[bool] = reactive(False, init=False)
    """Not connected: what the panels show may be out of date (bound by each panel)."""
    private: reactive[bool] = reactive(False)
    """Private mode: no balance shown (bound by the balances and the form)."""
    read_only: reactive[bool] = reactive(False)
    """No trading (and no login offered; bound by the status bar)."""
    no_account: reactive[bool] = reactive(False)
    """Read-only and not logged in: no account to show (bound by the account's panels as
    their ``read_only``). A view-only dashboard (``cfdash ssh``) is read-only, logged in."""
    show_expired: reactive[bool] = reactive(False)
    """List the expired 2018 futures (bound by the balances; the market picker follows it)."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        read_only: bool,
        private: bool,
        login_key: str,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """``ready`` is called once the widgets are mounted (the app then loads the data)."""
        super().__init__()
        self.clock = clock
        self._ready = ready
        self.login_key = login_key
        self.book = BookRows()
        """The book on the ladder (for ``far_through``)."""
        self.panel = PANELS[0]
        self.set_reactive(DashboardScreen.read_only, read_only)
        self.set_reactive(DashboardScreen.no_account, read_only)
        self.set_reactive(DashboardScreen.private, private)

    def compose(self) -> ComposeResult:
        screen = DashboardScreen
        stale = {"stale": screen.stale}
        yield TickerBar(id="ticker").data_bind(**stale)
        with Horizontal(id="body"):
            yield OrderBookLadder(id="ladder").data_bind(**stale)
            with Vertical(id="right"):
                yield OrderEntry(id="entry").data_bind(screen.status, screen.private)
                with Horizontal(id="panels"):  # wide: open orders span the bottom row
                    yield TradeTape(id="tape", classes="panel -active").data_bind(**stale)
                    balances = BalancesView(id="balances", classes="panel")
                    yield balances.data_bind(
                        screen.private,
                        screen.show_expired,
                        read_only=screen.no_account,
                        **stale,
                    )
                    yield PriceChart(self.clock, id="chart", classes="panel").data_bind(**stale)
                    yield DepthView(id="depth", classes="panel extra").data_bind(**stale)
                    yield FillsView(id="fills", classes="panel extra").data_bind(**stale)
                    positions = PositionsView(id="positions", classes="panel extra")
                    yield positions.data_bind(
                        screen.private,
                        screen.show_expired,
                        read_only=screen.no_account,
                        **stale,
                    )
                    yield ClosedOrdersView(id="closed", classes="panel extra").data_bind(**stale)
                    yield WatchlistView(id="watch", classes="panel extra").data_bind(**stale)
                    orders = OpenOrdersView(self.clock, id="orders", classes="panel")
                    yield orders.data_bind(read_only=screen.no_account, **stale)
        yield StatusBar(self.clock, id="status").data_bind(screen.status, screen.read_only)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fit(*self.app.size)
        # the app's setting (``DashboardApp.show_expired``, from config.toml) to start with
        self.show_expired = bool(getattr(self.app, "show_expired", False))
        self.query_one("#tape", TradeTape).border_title = "Trades"
        balances = self.query_one("#balances", BalancesView)
        balances.border_title = "Balances"
        balances.login_key = self.login_key
        account.mount_panels(self, self.login_key)
        self.query_one("#watch", WatchlistView).border_title = "Markets · change since start"
        self.query_one("#entry", OrderEntry).display = not self.read_only
        if self._ready is not None:
            self._ready()

    def watch_status(self, old: ConnectionStatus, status: ConnectionStatus) -> None:
        self.stale = not status.connected
        self.no_account = self.read_only and status.user_id is None
        if old.user_id != status.user_id:  # no login offered once logged in
            # only then: it recomposes the footer (~50 ms), and the latency changes often
            self.app.refresh_bindings()

    # -- data ------------------------------------------------------------------------------
    def load(self, snap: MarketSnapshot) -> None:
        """Show a whole snapshot (on start and after a market switch)."""
        pair, scales = snap.pair, snap.scales
        with self.app.batch_update():
            self.set_market(scales, pair)
            self.book = BookRows()
            batch = Batch(
                pair=pair,
                book=snap.book,
                trades=snap.trades,
                ticker=snap.ticker,
                balances=snap.balances,
                orders=snap.orders,
                status=snap.status,
                fee_rate=snap.fee_rate,
                fill_history=snap.fill_history,
                quotes=snap.quotes,
                tickers=snap.tickers,
            )
            self.apply_batch(batch, scales, pair, force=True)

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.query_one("#ticker", TickerBar).set_market(scales, pair)
        self.query_one("#ladder", OrderBookLadder).set_market(scales, pair)
        self.query_one("#tape", TradeTape).set_market(scales, pair)
        self.query_one("#orders", OpenOrdersView).set_market(scales, pair)
        self.query_one("#entry", OrderEntry).set_market(scales, pair)
        self.query_one("#chart", PriceChart).set_market(scales, pair)
        self.query_one("#depth", DepthView).set_market(scales, pair)
        self.query_one("#watch", WatchlistView).set_market(scales, pair)

    def apply_batch(
        self, batch: Batch, scales: Scales, shown: Pair, *, force: bool = False
    ) -> None:
        """Update the widgets whose data the batch changes (``shown``: the market on screen;
        ``force``: every part the batch has, changed or not)."""
        market = batch.pair == shown
        with self.app.batch_update():
            if batch.status is not None and force:  # even unchanged, the widgets follow
                self.set_reactive(DashboardScreen.status, batch.status)
                self.mutate_reactive(DashboardScreen.status)
            elif batch.status is not None:
                self.status = batch.status
            orders_view = self.query_one("#orders", OpenOrdersView)
            ladder = self.query_one("#ladder", OrderBookLadder)
            if batch.orders is not None:
                orders_view.update_orders(batch.orders)
                ladder.set_own_orders(
                    (o.side, o.price)
                    for o in orders_view.orders
                    if o.price is not None and not o.in_flight
                )
            if batch.fills:
                for report in fill_report.reports(scales, batch.fills):
                    self.notify(report.text, title=report.title, timeout=report.timeout)
            if market and batch.book is not None and (force or batch.book != self.book):
                self.book = batch.book
                ladder.update_book(batch.book)
                self.query_one("#depth", DepthView).update_book(batch.book)
            if market and batch.trades is not None:
                tape = self.query_one("#tape", TradeTape)
                if force or batch.trades != tape.trades:
                    tape.update_trades(batch.trades)
                    self.query_one("#chart", PriceChart).feed(batch.trades)
            if batch.tickers is not None:
                self.query_one("#watch", WatchlistView).update_tickers(scales, batch.tickers)
            if market and batch.ticker is not None:
                self.query_one("#ticker", TickerBar).update_ticker(batch.ticker)
            account.apply_batch(self, batch, scales, force=force)
            entry = self.query_one("#entry", OrderEntry)
            if batch.balances is not None or force:
                self.query_one("#balances", BalancesView).update_balances(scales, batch.balances)
                available = (
                    None
                    if batch.balances is None
                    else {b.asset: b.available for b in batch.balances}
                )
                entry.set_account(available, batch.fee_rate or entry.fee_rate)
            elif batch.fee_rate is not None:
                entry.set_account(entry.available, batch.fee_rate)

    # -- panels ----------------------------------------------------------------------------
    def show_panel(self, name: str) -> None:
        self.panel = name
        for panel in PANELS:
            self.query_one(f"#{panel}").set_class(panel == name, "-active")
        panels = self.query_one("#panels")
        panels.set_class(name in EXTRA_PANELS, "-extra")
        panels.set_class(name == "closed", "-closed")  # big: in the fills' cell

    def action_panel(self, number: int) -> None:
        """Show panel ``number`` of ``PANELS`` (1 is the first): every panel one key away."""
        if 1 <= number <= len(PANELS):
            show: Callable[[str], object] = getattr(self.app, "show_panel", self.show_panel)
            show(PANELS[number - 1])

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """The big layout from ``BIG`` on: its own class and grid order."""
        big = width >= BIG[0] and height >= BIG[1]
        if big == self.has_class("-big"):
            return
        self.set_class(big, "-big")
        panels = self.query_one("#panels")
        for index, name in enumerate(BIG_ORDER if big else ORDER):
            widget = self.query_one(f"#{name}")
            if panels.children[index] is not widget:
                panels.move_child(widget, before=index)

    def action_watchlist(self) -> None:
        """Show the watchlist and focus it: Up/Down pick a market, Enter switches to it."""
        self.show_panel("watch")
        self.query_one("#watch").focus()

    def picker_options(self) -> dict[str, Any]:
        """The market picker's options: the expired futures listed or not (Ctrl+O there
        toggles it here, for the balances too)."""
        return {"expired": self.show_expired, "toggled": self.set_expired}

    @on(WatchlistView.Picked)
    def _picked(self, event: WatchlistView.Picked) -> None:
        """Switch market as the app does (``DashboardApp.switch_pair``)."""
        event.stop()
        switch: Callable[[Pair], object] | None = getattr(self.app, "switch_pair", None)
        if switch is not None:
            switch(event.pair)

    def picked_price(self) -> int | None:
        """The price of the level selected in the ladder, if the ladder has the focus (``b``
        and ``s`` open the form at it)."""
        ladder = self.query_one("#ladder", OrderBookLadder)
        return ladder.selected_price if ladder.has_focus else None

    def set_expired(self, shown: bool) -> None:
        """List the expired 2018 futures, or not (the market picker's Ctrl+O)."""
        self.show_expired = shown

    def next_panel(self) -> str:
        """Show the next panel; its name."""
        self.show_panel(PANELS[(PANELS.index(self.panel) + 1) % len(PANELS)])
        return self.panel

    def next_group(self) -> None:
        """Group the ladder by the next price increment."""
        ladder = self.query_one("#ladder", OrderBookLadder)
        ladder.group = GROUPS[(GROUPS.index(ladder.group) + 1) % len(GROUPS)]

    def next_interval(self) -> None:
        """The chart's next candle interval (the chart shown if it was not)."""
        chart = self.query_one("#chart", PriceChart)
        if not chart.shown:
            self.show_panel("chart")
        chart.next_interval()

    def tick(self) -> None:
        """Once a second: the open orders' ages, the chart's newest interval."""
        self.query_one("#orders", OpenOrdersView).tick()
        self.query_one("#chart", PriceChart).tick()
