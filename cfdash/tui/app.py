"""``DashboardApp``: the Textual shell around a ``DataSource``.

The app polls nothing: the source pushes ``Batch`` objects to ``push_batch`` (from any thread)
and ``apply_batch`` updates only the widgets whose data changed, inside ``batch_update()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Sparkline

from cfdash.core.assets import PAIRS, Pair, asset_name
from cfdash.core.errors import CoinfloorError
from cfdash.tui import fmt
from cfdash.tui.commands import Command, DashboardCommands
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.help import HelpRow, HelpScreen
from cfdash.tui.screens.login import LoginScreen
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.source import (
    Batch,
    Book,
    ConnectionStatus,
    DataSource,
    MarketSnapshot,
    OrderRequest,
    Side,
)
from cfdash.tui.widgets.balances import BalancesView
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.ladder import OrderBookLadder
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.status import StatusBar
from cfdash.tui.widgets.tape import TradeTape
from cfdash.tui.widgets.ticker import TickerBar

CSS_FILE = Path(__file__).with_name("cfdash.tcss")
GROUPS = (1, 10, 100, 1000, 10000)
"""Ladder price increments, in wire price units."""
PANELS = ("tape", "orders", "balances", "chart")
TRADING_ACTIONS = frozenset({"buy", "sell", "cancel", "cancel_all"})
PRIVATE_PANELS = frozenset({"orders", "balances"})


class DashboardApp(App[None]):
    """The dashboard. ``keymap`` maps binding ids (see ``BINDINGS``) to keys; ``login`` says
    that no credentials were given, so the first private action asks for them."""

    CSS_PATH = CSS_FILE
    TITLE = "cfdash"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar = [
        # priority: the form is focused before the next key typed ahead is routed
        Binding("b", "buy", "Buy", id="buy", priority=True),
        Binding("s", "sell", "Sell", id="sell", priority=True),
        Binding("c", "cancel", "Cancel", id="cancel"),
        Binding("C", "cancel_all", "Cancel all", id="cancel_all", key_display="C"),
        Binding("m", "market", "Market", id="market"),
        Binding("v", "next_panel", "Panel", id="panel"),
        Binding("g", "group", "Group", show=False, id="group"),
        Binding("p", "private", "Private", show=False, id="private"),
        Binding("l", "login", "Log in", show=False, id="login"),
        Binding("d", "toggle_dark", "Light/dark", show=False, id="theme"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]
    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "buy": "open the buy form (limit; focus on quantity)",
        "sell": "open the sell form (limit; focus on quantity)",
        "cancel": "cancel the selected open order",
        "cancel_all": "cancel all open orders (asks to confirm)",
        "market": "switch market",
        "panel": "show the next panel (trades, orders, balances, chart)",
        "group": "group the book by the next price increment",
        "private": "private mode: hide balances",
        "login": "log in",
        "theme": "switch between the light and the dark theme",
        "help": "this help",
        "quit": "quit",
    }

    def __init__(
        self,
        source: DataSource,
        *,
        pair: Pair = PAIRS[0],
        read_only: bool = False,
        login: bool = False,
        clock: Callable[[], float] = time.time,
        keymap: Mapping[str, str] | None = None,
        theme: str = "textual-dark",
        private: bool = False,
    ) -> None:
        super().__init__()
        self.source = source
        self.pair = pair
        self.read_only = read_only
        self.ask_login = login
        """No credentials: the first private action opens the login dialog."""
        self._login_offered = False
        self.clock = clock
        self.user_keymap = dict(keymap or {})
        self.theme = theme
        self.private = private
        self.status = ConnectionStatus()
        self.book = Book()
        self.panel = PANELS[0]
        self._thread: int | None = None
        self.applied = 0
        """Batches applied so far (for tests and the bridge's statistics)."""
        self.login_user_id: int | None = None
        self.login_cookie = ""
        """Pre-filled in the login dialog (from the settings file)."""

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TickerBar(id="ticker")
        with Horizontal(id="body"):
            yield OrderBookLadder(id="ladder")
            with Vertical(id="right"):
                yield OrderEntry(id="entry")
                with Horizontal(id="panels"):
                    yield TradeTape(id="tape", classes="panel -active")
                    yield OpenOrdersView(self.clock, id="orders", classes="panel")
                    chart = Sparkline([], id="chart", classes="panel")
                    chart.border_title = "Price"
                    yield chart
                    yield BalancesView(id="balances", classes="panel")
        yield StatusBar(self.clock, id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._thread = threading.get_ident()
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        self.query_one("#tape", TradeTape).border_title = "Trades"
        self.query_one("#balances", BalancesView).border_title = "Balances"
        self.query_one("#balances", BalancesView).private = self.private
        self.query_one("#entry", OrderEntry).display = not self.read_only
        self.query_one("#status", StatusBar).read_only = self.read_only
        self.source.subscribe(self.push_batch)
        self.source.watch(self.pair)
        self.load(self.source.snapshot(self.pair))
        self.set_interval(1.0, self._tick)
        self.query_one("#ladder").focus()

    def on_unmount(self) -> None:
        self.source.unsubscribe(self.push_batch)

    def _tick(self) -> None:
        self.query_one("#orders", OpenOrdersView).tick()

    @property
    def compact(self) -> bool:
        return self.screen.has_class("-narrow") or self.screen.has_class("-short")

    # -- data ------------------------------------------------------------------------------
    def push_batch(self, batch: Batch) -> None:
        """The source's sink: safe from any thread."""
        if self._thread is None or not self.is_running:
            return
        if threading.get_ident() == self._thread:
            self.apply_batch(batch)
            return
        with contextlib.suppress(RuntimeError):  # the app closed while the batch was on its way
            self.call_from_thread(self.apply_batch, batch)

    def load(self, snap: MarketSnapshot) -> None:
        """Show a whole snapshot (on start and after a market switch)."""
        pair, scales = snap.pair, snap.scales
        with self.batch_update():
            self.query_one("#ticker", TickerBar).set_market(scales, pair)
            self.query_one("#ladder", OrderBookLadder).set_market(scales, pair)
            self.query_one("#tape", TradeTape).set_market(scales, pair)
            self.query_one("#orders", OpenOrdersView).set_market(scales, pair)
            self.query_one("#entry", OrderEntry).set_market(scales, pair)
            self.book = Book()
            self.apply_batch(
                Batch(
                    pair=pair,
                    book=snap.book,
                    trades=snap.trades,
                    ticker=snap.ticker,
                    balances=snap.balances,
                    orders=snap.orders,
                    status=snap.status,
                    fee_rate=snap.fee_rate,
                ),
                force=True,
            )

    def apply_batch(self, batch: Batch, *, force: bool = False) -> None:
        """Update the widgets whose data the batch changes."""
        self.applied += 1
        scales = self.source.scales
        market = batch.pair == self.pair
        with self.batch_update():
            if batch.status is not None and (force or batch.status != self.status):
                self._set_status(batch.status)
            orders_view = self.query_one("#orders", OpenOrdersView)
            ladder = self.query_one("#ladder", OrderBookLadder)
            if batch.orders is not None:
                orders_view.update_orders(batch.orders)
                ladder.set_own_prices({o.price for o in orders_view.orders})
            if market and batch.book is not None and (force or batch.book != self.book):
                self.book = batch.book
                ladder.update_book(batch.book)
            if market and batch.trades is not None:
                tape = self.query_one("#tape", TradeTape)
                if force or batch.trades != tape.trades:
                    tape.update_trades(batch.trades)
                    chart = self.query_one("#chart", Sparkline)
                    chart.data = [t.price for t in reversed(batch.trades)]
            if market and batch.ticker is not None:
                self.query_one("#ticker", TickerBar).update_ticker(batch.ticker)
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

    def _set_status(self, status: ConnectionStatus) -> None:
        self.status = status
        self.query_one("#status", StatusBar).update_status(status)
        stale = not status.connected
        for widget_id in ("#ladder", "#tape", "#orders", "#balances"):
            self.query_one(widget_id).stale = stale  # type: ignore[attr-defined]
        self.query_one("#ticker", TickerBar).stale = stale
        self.query_one("#chart").set_class(stale, "-stale")
        self.refresh_bindings()

    def switch_pair(self, pair: Pair) -> None:
        if pair == self.pair:
            return
        self.pair = pair
        self.source.watch(pair)
        self.load(self.source.snapshot(pair))
        self.sub_title = pair.name

    # -- orders ----------------------------------------------------------------------------
    @on(OrderEntry.Submitted)
    def _submitted(self, event: OrderEntry.Submitted) -> None:
        order, preview = event.order, event.entry.preview_text
        self.when_logged_in(lambda: self._submit(order, preview))

    def _amount(self, order: OrderRequest, quantity: int | None, total: int | None) -> str:
        """A market order's amount, or what was left of it, with its asset (XBT or GBP)."""
        pair, scales = order.pair, self.source.scales
        if quantity is not None:
            return f"{fmt.quantity(scales, pair, abs(quantity))} {asset_name(pair.base)}"
        return f"{fmt.total(scales, pair, abs(total or 0))} {asset_name(pair.counter)}"

    def _submit(self, order: OrderRequest, preview: str) -> None:
        if not order.is_market:
            self._send(order)
            return
        verb = "Buy" if order.side == "buy" else "Sell"
        amount = self._amount(order, order.quantity, order.total)
        question = f"{verb} {amount} at market on {order.pair.name}?"
        if preview:
            question += f"\n{preview}"

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(order)

        self.push_screen(ConfirmScreen("Market order", question, yes=verb), answered)

    def _send(self, order: OrderRequest) -> None:
        self.run_worker(self._place(order), group="orders")

    async def _place(self, order: OrderRequest) -> None:
        entry = self.query_one("#entry", OrderEntry)
        try:
            result = await asyncio.wrap_future(self.source.place_order(order))
        except CoinfloorError as exc:
            entry.show_error(exc.message)
            self.notify(exc.message, title="Order refused", severity="error")
            return
        if order.is_market:
            left = result.remaining or 0
            by_quantity = order.quantity is not None
            unfilled = self._amount(order, left if by_quantity else None, left)
            note = "market order done" + (f", {unfilled} unfilled" if left else "")
            self.notify(note, title="Order")
        else:
            note = f"placed #{result.id}"
            self.notify(f"order {result.id} placed", title="Order")
        entry.clear(note)

    @on(OrderEntry.EstimateWanted)
    def _estimate(self, event: OrderEntry.EstimateWanted) -> None:
        self.run_worker(
            self._ask_estimate(event.entry, event.order), group="estimate", exclusive=True
        )

    async def _ask_estimate(self, entry: OrderEntry, order: OrderRequest) -> None:
        future = self.source.estimate(
            order.pair, order.side, quantity=order.quantity, total=order.total
        )
        try:
            estimate = await asyncio.wrap_future(future)
        except CoinfloorError:
            estimate = None
        entry.set_estimate(order, estimate)

    @on(OrderEntry.Left)
    def _left_form(self) -> None:
        self.query_one("#ladder").focus()

    # -- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in TRADING_ACTIONS and self.read_only:
            return False
        if action in ("buy", "sell") and isinstance(self.screen, ModalScreen):
            return False  # a dialog's field takes the letter
        return not (action == "login" and self.status.user_id is not None)

    def action_buy(self) -> None:
        self._open_form("buy")

    def action_sell(self) -> None:
        self._open_form("sell")

    def _open_form(self, side: Side) -> None:
        """Open the form on its quantity field; in the form, only switch the side."""
        entry = self.query_one("#entry", OrderEntry)
        if entry.has_focus_within:
            entry.side = side
        else:
            entry.open(side)

    def action_cancel(self) -> None:
        self.when_logged_in(lambda: self.run_worker(self._cancel_selected(), group="cancel"))

    async def _cancel_selected(self) -> None:
        order = self.query_one("#orders", OpenOrdersView).selected
        if order is None:
            self.notify("no open order selected", severity="warning")
            return
        try:
            await asyncio.wrap_future(self.source.cancel_order(order.id))
        except CoinfloorError as exc:
            self.notify(exc.message, title="Cancel refused", severity="error")
            return
        self.notify(f"order {order.id} cancelled")

    def action_cancel_all(self) -> None:
        self.when_logged_in(self._confirm_cancel_all)

    def _confirm_cancel_all(self) -> None:
        view = self.query_one("#orders", OpenOrdersView)
        count = len(view.all_orders)
        if count == 0:
            self.notify("no open orders to cancel")
            return

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                done = await asyncio.wrap_future(self.source.cancel_all())
            except CoinfloorError as exc:
                self.notify(exc.message, title="Cancel refused", severity="error")
                return
            self.notify(f"{len(done)} orders cancelled")

        question = f"Cancel all {count} open orders, on every market?"
        self.push_screen(ConfirmScreen("Cancel all", question, yes="Cancel all"), answered)

    def action_market(self) -> None:
        def chosen(pair: Pair | None) -> None:
            if pair is not None:
                self.switch_pair(pair)

        self.push_screen(MarketPicker(self.pair), chosen)

    def action_next_panel(self) -> None:
        self.show_panel(PANELS[(PANELS.index(self.panel) + 1) % len(PANELS)])

    def show_panel(self, name: str) -> None:
        self.panel = name
        for panel in PANELS:
            self.query_one(f"#{panel}").set_class(panel == name, "-active")
        if name in PRIVATE_PANELS:
            self.when_logged_in(lambda: None, quiet=True)

    def action_group(self) -> None:
        ladder = self.query_one("#ladder", OrderBookLadder)
        ladder.group = GROUPS[(GROUPS.index(ladder.group) + 1) % len(GROUPS)]

    def action_private(self) -> None:
        view = self.query_one("#balances", BalancesView)
        view.private = self.private = not view.private

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    # -- logging in when needed ------------------------------------------------------------
    def needs_login(self) -> bool:
        """No credentials were given (a real endpoint) and nobody has logged in yet."""
        return self.ask_login and not self.read_only and self.status.user_id is None

    def when_logged_in(self, then: Callable[[], object], *, quiet: bool = False) -> None:
        """Run ``then`` now, or after logging in: the first private action without credentials
        opens the login dialog by itself and continues once logged in; after that, ``l`` does
        (a notice says so unless ``quiet``)."""
        if not self.needs_login():
            then()
            return
        if self._login_offered:
            if not quiet:
                self.notify("not logged in: press l to log in", severity="warning")
            return
        self._login_offered = True
        self.action_login(then)

    def action_login(self, then: Callable[[], object] | None = None) -> None:
        async def attempt(user_id: int, cookie: str, passphrase: str) -> str | None:
            future = self.source.login(user_id, cookie, passphrase)
            del passphrase
            try:
                await asyncio.wrap_future(future)
            except CoinfloorError as exc:
                return exc.message
            return None

        def done(user_id: int | None) -> None:
            if user_id is not None:
                self.load(self.source.snapshot(self.pair))
                self.notify(f"logged in as user {user_id}")
                if then is not None:
                    then()

        user_id = self.status.user_id or self.login_user_id
        self.push_screen(LoginScreen(attempt, user_id=user_id, cookie=self.login_cookie), done)

    # -- keys listing (help and palette) ---------------------------------------------------
    def key_for(self, binding: Binding) -> str:
        """The key(s) a binding answers to after the user's keymap, for display."""
        keys = self.user_keymap.get(binding.id or "", None)
        if keys is None:
            keys = binding.key_display or binding.key
        return keys.replace("question_mark", "?")

    def help_rows(self) -> list[HelpRow]:
        rows: list[HelpRow] = [
            (self.key_for(b), self.DESCRIPTIONS.get(b.id or "", b.description), b.id or "")
            for b in self.BINDINGS
        ]
        for b in OrderEntry.BINDINGS:
            rows.append((self.key_for(b), f"order form: {b.description.lower()}", b.id or ""))
        rows.append(("enter", "order form: place the order (market orders ask first)", ""))
        for b in OpenOrdersView.BINDINGS:
            rows.append((self.key_for(b), f"open orders: {b.description.lower()}", b.id or ""))
        rows.append((self.COMMAND_PALETTE_BINDING, "command palette: every action", ""))
        return rows

    def palette_commands(self) -> list[Command]:
        commands = [
            Command(
                f"{b.description}",
                self.DESCRIPTIONS.get(b.id or "", b.description),
                lambda action=b.action: self.run_action(action),
            )
            for b in self.BINDINGS
            if self.check_action(b.action, ()) and b.id != "help"
        ]
        commands.append(Command("Help", "list every key", self.action_help))
        for pair in PAIRS:
            if pair != self.pair:
                commands.append(
                    Command(
                        f"Market {pair.name}",
                        f"switch to {pair.name}",
                        lambda p=pair: self.switch_pair(p),
                    )
                )
        return commands
