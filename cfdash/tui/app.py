"""``DashboardApp``: the Textual shell around a ``DataSource``.

The app polls nothing: the source pushes ``Batch`` objects to ``push_batch`` (from any thread)
and ``apply_batch`` updates only the widgets whose data changed, inside ``batch_update()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Final

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.filter import Monochrome, NoColor
from textual.notifications import Notify
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from cfdash.core.assets import PAIRS, Assets, Pair, asset_name
from cfdash.core.errors import AuthenticationError, CoinfloorError, NotFoundError
from cfdash.tui import commands, fmt, outcomes
from cfdash.tui.commands import Command, DashboardCommands, bindings
from cfdash.tui.orderform import far_through
from cfdash.tui.screens import account
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.dashboard import DashboardScreen
from cfdash.tui.screens.help import HelpRow, HelpScreen
from cfdash.tui.screens.login import LoginScreen, known_login
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.screens.messages import MessagesScreen, Notice, plain
from cfdash.tui.source import (
    Batch,
    BookRows,
    ConnectionStatus,
    DataSource,
    MarketSnapshot,
    OpenOrder,
    OrderPending,
    OrderRequest,
    OrderResult,
    OutcomeUnknown,
    Side,
)
from cfdash.tui.typeahead import TypeAhead
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.orders import OpenOrdersView

CSS_FILE = Path(__file__).with_name("cfdash.tcss")
TRADING_ACTIONS: Final = frozenset({"buy", "sell", "cancel", "cancel_all"})
PENDING_NOTE: Final = "order pending: outcome not known yet"
PRIVATE_PANELS: Final = frozenset({"orders", "balances", "fills", "positions", "closed"})
MAX_TOASTS: Final = 2
"""Notifications shown at once (the newest): older ones stay in the message history (``h``)."""
HISTORY: Final = 1000
"""Notifications the message history keeps."""
LOW_COLOURS: dict[tuple[str, bool], dict[str, str]] = {
    # 16 colours: exact entries of the standard palette, so nothing rounds to white or to
    # bright red: bids green, asks red, grey borders (white or black when focused).
    ("standard", True): {
        "primary": "#aaaaaa",
        "accent": "#ffffff",
        "panel-lighten-2": "#555555",
        "success": "#00aa00",
        "error": "#aa0000",
        "warning": "#aa5500",
        "text-success": "#00aa00",
        "text-error": "#aa0000",
        "text-warning": "#ffff55",
        "text-accent": "#00aaaa",
        "text-primary": "#00aaaa",
        "success-muted": "#555555",
        "error-muted": "#555555",
        "footer-key-foreground": "#55ffff",
    },
    ("standard", False): {
        "primary": "#555555",
        "accent": "#000000",
        "panel-lighten-2": "#555555",
        "success": "#00aa00",
        "error": "#aa0000",
        "warning": "#aa5500",
        "text-success": "#00aa00",
        "text-error": "#aa0000",
        "text-warning": "#aa00aa",
        "text-accent": "#0000aa",
        "text-primary": "#0000aa",
        "success-muted": "#aaaaaa",
        "error-muted": "#aaaaaa",
        "footer-key-foreground": "#0000aa",
    },
    # 256 colours: the theme's pastel reds and greens, made clearly red and green.
    ("256", True): {"text-success": "#5fd75f", "text-error": "#ff5f5f"},
    ("256", False): {
        "text-success": "#008700",
        "text-error": "#af0000",
        "panel-lighten-2": "#a8a8a8",
    },
}
"""Theme variables replaced when the terminal has fewer colours than truecolor, by (colour
system, dark theme)."""


class DashboardApp(TypeAhead):
    """The dashboard. ``keymap`` maps binding ids (see ``BINDINGS``) to keys; ``login`` says
    that no credentials were given, so the first private action asks for them."""

    CSS_PATH = CSS_FILE
    TITLE = "cfdash"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    # Textual declares these as instance attributes (a screen may have its own): no ClassVar.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: keys that move the focus or open a dialog act as the app reads them, so
        # that the keys typed after them in one burst go where they were meant (TypeAhead).
        Binding("b", "buy", "Buy", id="buy", priority=True),
        Binding("s", "sell", "Sell", id="sell", priority=True),
        Binding("c", "cancel", "Cancel", id="cancel"),  # after the j/k typed before it
        Binding("C", "cancel_all", "Cancel all", id="cancel_all", key_display="C", priority=True),
        Binding("m", "market", "Market", id="market", priority=True),
        Binding("v", "next_panel", "Panel", id="panel"),
        Binding("g", "group", "Group", show=False, id="group"),
        Binding("i", "chart_interval", "Interval", show=False, id="interval"),
        Binding("p", "private", "Private", show=False, id="private"),
        Binding("l", "login", "Log in", show=False, id="login", priority=True),
        Binding("r", "reconnect", "Reconnect", show=False, id="reconnect"),
        Binding("d", "toggle_dark", "Light/dark", show=False, id="theme"),
        Binding("h", "history", "Messages", show=False, id="history", priority=True),
        Binding("question_mark", "help", "Help", key_display="?", id="help", priority=True),
        Binding("q", "quit", "Quit", id="quit", priority=True),
    ]
    show_expired = False  # list the 2018 futures from the start (picker, balances)
    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "buy": "open the buy form: a limit order, on its quantity",
        "sell": "open the sell form: a limit order, on its quantity",
        "cancel": "cancel the selected open order, once shown",
        "cancel_all": "cancel all open orders (asks to confirm)",
        "market": "switch market",
        "panel": "show the next panel (trades, orders, chart, depth, P&L, …)",
        "group": "group the book by the next price increment",
        "interval": "chart: the next candle interval (1m, 5m, 1h; shows the chart)",
        "private": "private mode: hide balances and P&L",
        "login": "log in",
        "reconnect": "reconnect now (skip the wait; drop a connection gone silent)",
        "theme": "switch between the light and the dark theme",
        "history": "message history: every notification so far (Escape closes)",
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
        color_system: str | None = None,
    ) -> None:
        """``color_system`` ("truecolor", "256" or "standard") picks the colours; None: the
        terminal's, once running (headless runs, as in tests, use truecolor)."""
        self.color_system = color_system or "truecolor"
        self._detect_colors = color_system is None
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
        self._private = private
        self._thread: int | None = None
        self.applied = 0
        """Batches applied so far (for tests and the bridge's statistics)."""
        self.login_user_id: int | None = None
        self.login_cookie = ""
        """Pre-filled in the login dialog (from the settings file)."""
        self.currency = Assets["GBP"]
        self.start_costs: dict[Pair, Decimal] = {}
        """The positions panel's valuation currency and starting costs (settings file)."""
        self.messages: deque[Notice] = deque(maxlen=HISTORY)
        """Every notification so far, oldest first (the message history, ``h``)."""
        if self.no_color:  # NO_COLOR: no colour at all, not Textual's shades of grey
            self._filters = [f for f in self._filters if not isinstance(f, Monochrome | NoColor)]
            self._filters.append(NoColor())

    # -- layout ----------------------------------------------------------------------------
    def get_default_screen(self) -> DashboardScreen:
        login_key = self.key_for(self.binding("login"))
        return DashboardScreen(
            self.clock,
            read_only=self.read_only,
            private=self._private,
            login_key=login_key,
            ready=self._start,
        )

    @property
    def dashboard(self) -> DashboardScreen:
        """The dashboard's screen (under any dialog)."""
        return self.default_screen  # type: ignore[return-value]

    @property
    def status(self) -> ConnectionStatus:
        """The connection, as the last batch gave it."""
        return self.dashboard.status

    @property
    def book(self) -> BookRows:
        """The book on the ladder."""
        return self.dashboard.book

    @property
    def panel(self) -> str:
        """The panel shown beside the ladder."""
        return self.dashboard.panel

    @property
    def private(self) -> bool:
        """Private mode: no balance shown."""
        return self.dashboard.private

    def on_mount(self) -> None:
        self._thread = threading.get_ident()
        if self._detect_colors and not self.is_headless:
            detected = self.console.color_system or "standard"
            self.color_system = "standard" if detected == "windows" else detected
            if self.color_system != "truecolor":
                self.refresh_css(animate=False)
        if self.user_keymap:
            self.set_keymap(self.user_keymap)

    def _start(self) -> None:
        """The dashboard's screen is composed: show the market and follow the source."""
        self._thread = threading.get_ident()
        self.source.subscribe(self.push_batch)
        self.source.watch(self.pair)
        self.load(self.source.snapshot(self.pair))
        self.set_interval(1.0, self._tick)
        self.query_one("#ladder").focus()

    def on_unmount(self) -> None:
        self.source.unsubscribe(self.push_batch)

    def _tick(self) -> None:
        with contextlib.suppress(NoMatches):  # the app is shutting down: its widgets are gone
            self.dashboard.tick()

    @property
    def compact(self) -> bool:
        return self.screen.has_class("-narrow") or self.screen.has_class("-short")

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables, with clear reds, greens and greys below truecolor."""
        variables = super().get_css_variables()
        low = LOW_COLOURS.get((self.color_system, self.current_theme.dark))
        if low:
            variables.update(low)
            self.theme_variables = variables
        return variables

    # -- data ------------------------------------------------------------------------------
    def push_batch(self, batch: Batch) -> None:
        """The source's sink: safe from any thread."""
        if self._thread is None or not self.is_running:
            return
        if threading.get_ident() == self._thread:
            self.apply_batch(batch)
            return
        with contextlib.suppress(RuntimeError):  # the app closed while the batch was on its way
            self.call_from_thread(self._apply_pushed, batch)

    def _apply_pushed(self, batch: Batch) -> None:
        """A batch from the source's thread, now on ours. ``call_from_thread`` runs it as a
        task of its own, not through the message queue: if the app stopped running after
        ``push_batch`` looked (a loaded machine deschedules that thread), the screen's widgets
        are being removed (or are gone) and the batch has nothing to show it on."""
        if not self.is_running:
            return
        self.apply_batch(batch)

    def load(self, snap: MarketSnapshot) -> None:
        """Show a whole snapshot (on start and after a market switch)."""
        self.applied += 1
        self.dashboard.load(snap)

    def apply_batch(self, batch: Batch) -> None:
        """Update the widgets whose data the batch changes."""
        self.applied += 1
        self.dashboard.apply_batch(batch, self.source.scales, self.pair)

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
        """The form is locked ("sending…") from its Enter until the order's outcome."""
        entry, order, preview = event.entry, event.order, event.entry.preview_text
        if self.needs_login():  # the dialog may be declined: the form must not stay locked
            entry.unlock_form()

            def then() -> None:
                entry.lock_form()
                self._submit(order, preview)

            self.when_logged_in(then)
            return
        self._submit(order, preview)

    def _submit(self, order: OrderRequest, preview: str) -> None:
        far = None if order.is_market else far_through(order, self.book, self.source.scales)
        if not order.is_market and far is None:
            self._send(order)
            return
        verb = "Buy" if order.side == "buy" else "Sell"
        amount = outcomes.amount(self.source.scales, order, order.quantity, order.total)
        question = f"{verb} {amount} at market on {order.pair.name}?"
        if far is not None:  # a limit far through the book: as good as a market order
            price = fmt.price(self.source.scales, order.pair, order.price)
            at = f"{price} {asset_name(order.pair.counter)} on {order.pair.name}"
            question = f"{verb} {amount} at {at}?\n{far}"
        if preview:
            question += f"\n{preview}"

        entry = self.query_one("#entry", OrderEntry)
        entry.lock_form("confirm the order…")

        def answered(yes: bool | None) -> None:
            if yes:
                entry.lock_form()
                self._send(order)
            else:
                entry.unlock_form("not sent")

        title = "Market order" if far is None else "Limit order"
        self.push_screen(ConfirmScreen(title, question, yes=verb), answered)

    def _send(self, order: OrderRequest) -> None:
        self.query_one("#entry", OrderEntry).lock_form()  # until _place has the outcome
        self.run_worker(self._place(order), group="orders")

    async def _place(self, order: OrderRequest) -> None:
        entry = self.query_one("#entry", OrderEntry)
        try:
            result = await asyncio.wrap_future(self.source.place_order(order))
        except CoinfloorError as exc:  # show_error unlocks the form
            refused = isinstance(exc, AuthenticationError | NotFoundError)  # e.g. COINFLOOR_*
            login = refused and self.status.user_id is None
            entry.show_error("not logged in: press l to log in" if login else exc.message)
            hint = "\nPress l to log in." if login else ""
            self.notify(exc.message + hint, title="Order refused", severity="error")
            return
        if isinstance(result, OrderPending):
            # sent, not refused: clear (and unlock) the form so that Enter cannot send it again
            entry.clear(PENDING_NOTE)
            if not result.outcome.done():  # else _settled says what it came to
                self.notify(result.message, title="Order pending", severity="warning", timeout=10)
            self.run_worker(self._settled(order, result.outcome), group="pending")
            return
        entry.clear(self._placed(order, result))

    async def _settled(self, order: OrderRequest, outcome: Future[OrderResult]) -> None:
        """Report a pending order's outcome when it is known; the form's "pending" note, if
        still shown (nothing typed since), becomes the outcome."""
        entry = self.query_one("#entry", OrderEntry)
        try:
            result = await asyncio.wrap_future(outcome)
        except OutcomeUnknown as exc:  # listed as "unknown" in the open orders
            self.notify(exc.message, title="Order outcome unknown", severity="error", timeout=30)
            note = f"outcome unknown (tonce {exc.tonce}): see Open orders"
        except CoinfloorError as exc:
            self.notify(exc.message, title="Pending order refused", severity="error")
            note = f"pending order refused: {exc.message}"
        else:
            note = self._placed(order, result)
        if entry.note == PENDING_NOTE:
            entry.note = note
            entry.revalidate(ask_estimate=False)

    def _placed(self, order: OrderRequest, result: OrderResult) -> str:
        """Tell the user what an order did (``outcomes.placed``); the form's note for it."""
        note, report = outcomes.placed(self.source.scales, order, result)
        self.notify(report.text, title=report.title, timeout=report.timeout)
        return note

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
    def available(self, action: str) -> bool:
        """Whether the action makes sense at all now (the keys, the footer and the palette):
        read-only offers no trading and no login; nobody logs in twice."""
        if self.read_only and (action in TRADING_ACTIONS or action == "login"):
            return False
        return not (action == "login" and self.status.user_id is not None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.available(action):
            return False
        # The dashboard's keys are letters, several of them priority keys: in a dialog (the
        # command palette too) its field takes them, and in a number field they are refused
        # as letters, never a switch of side or a quit.
        if action in DASHBOARD_ACTIONS:
            return not (isinstance(self.screen, ModalScreen) or isinstance(self.focused, Input))
        return True

    def action_buy(self) -> None:
        self._open_form("buy")

    def action_sell(self) -> None:
        self._open_form("sell")

    def _open_form(self, side: Side) -> None:
        """Open the form for ``side`` (a limit), at the ladder's selected level if focused."""
        self.query_one("#entry", OrderEntry).open(side, self.dashboard.picked_price())

    def action_cancel(self) -> None:
        self.when_logged_in(self._cancel_shown)

    def _cancel_shown(self) -> None:
        """Cancel the order the last prompt named (armed), if it is still the one selected and
        in sight; otherwise show the open orders (the first selected if they were hidden), name
        the selected order and arm the next key for it. Moving the selection, leaving the
        panel or the order going disarms it (``OpenOrdersView.armed``)."""
        view = self.query_one("#orders", OpenOrdersView)
        selected = view.selected
        armed = view.armed
        if (
            selected is not None
            and armed is not None
            and selected.id == armed
            and view.has_focus
            and view.region.area
        ):
            view.arm(None)
            self.run_worker(self._cancel(selected), group="cancel")
            return
        if not view.region.area:
            self.show_panel("orders")
            view.cursor = 0
        view.focus()
        order = view.selected
        if order is None:
            view.arm(None)
            self.notify(f"no open orders on {self.pair.name}", severity="warning")
            return
        if order.state == "unknown" and order.tonce is not None:
            view.arm(None)
            self.source.dismiss(order.tonce)
            account.dismissed(self.dashboard, self.source.scales, order)
            self.notify(
                f"{self.describe(order)}: its outcome is unknown (it is not among the open "
                "orders: nothing to cancel). Removed from the list.",
                title="Cancel",
            )
            return
        if order.in_flight:
            view.arm(None)
            self.notify(
                f"{self.describe(order)} is in flight: it can be cancelled once the exchange "
                "has answered",
                title="Cancel",
                severity="warning",
            )
            return
        view.arm(order)
        key = self.key_for(self.binding("cancel"))
        self.notify(f"{self.describe(order)}: press {key} again to cancel it", title="Cancel")

    def describe(self, order: OpenOrder) -> str:
        """'SELL 0.10000000 XBT at 41,100.00 GBP (order 54)' (``outcomes.describe``)."""
        return outcomes.describe(self.source.scales, order)

    async def _cancel(self, order: OpenOrder) -> None:
        assert order.id is not None  # never armed while in flight
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
        if count == 1:
            question = f"Cancel your one open order, {self.describe(view.all_orders[0])}?"
        else:
            question = f"Cancel all {count} open orders, on every market?"

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                done = await asyncio.wrap_future(self.source.cancel_all())
            except CoinfloorError as exc:
                self.notify(exc.message, title="Cancel refused", severity="error")
                return
            self.notify(f"{fmt.plural(len(done), 'order')} cancelled")

        self.push_screen(ConfirmScreen("Cancel all", question, yes="Cancel all"), answered)

    def action_market(self) -> None:
        def chosen(pair: Pair | None) -> None:
            if pair is not None:
                self.switch_pair(pair)

        self.push_screen(MarketPicker(self.pair, **self.dashboard.picker_options()), chosen)

    def action_next_panel(self) -> None:
        self._panel_shown(self.dashboard.next_panel())

    def show_panel(self, name: str) -> None:
        self.dashboard.show_panel(name)
        self._panel_shown(name)

    def _panel_shown(self, name: str) -> None:
        if name in PRIVATE_PANELS:
            self.when_logged_in(lambda: None, quiet=True)

    def action_group(self) -> None:
        self.dashboard.next_group()

    def action_chart_interval(self) -> None:
        self.dashboard.next_interval()

    def action_private(self) -> None:
        self.dashboard.private = not self.dashboard.private

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    def action_reconnect(self) -> None:
        reconnect = getattr(self.source, "reconnect", None)
        done = "this source cannot reconnect" if reconnect is None else reconnect()
        self.notify(done, title="Connection")

    # -- notifications: kept in a history, few shown at once ------------------------------
    def on_notify(self, event: Notify) -> None:
        """Keep every notification (Textual's own handler shows it after this)."""
        n = event.notification
        notice = Notice(self.clock(), n.severity, n.title, plain(n.message, n.markup))
        self.messages.append(notice)
        if self.screen_stack and isinstance(self.screen, MessagesScreen):  # none: closing
            self.screen.add(notice)

    def _refresh_notifications(self) -> None:
        """Show only the newest ``MAX_TOASTS``: a stack of toasts would cover the screen (the
        history keeps the others). Textual calls this whenever its notifications change."""
        live = [n for n in self._notifications if not n.has_expired]
        for old in live[:-MAX_TOASTS]:
            self._unnotify(old, refresh=False)
        super()._refresh_notifications()

    def action_history(self) -> None:
        self.push_screen(MessagesScreen(self.messages))

    @on(events.Key)
    def _read_only_key(self, event: events.Key) -> None:
        """Read-only: a trading key says why it does nothing (the footer does not offer it)."""
        if not self.read_only or isinstance(self.screen, ModalScreen):
            return
        bindings = self._bindings.copy()
        bindings.apply_keymap(self._keymap)
        if any(b.action in TRADING_ACTIONS for b in bindings.key_to_bindings.get(event.key, ())):
            event.stop()
            self.notify("read-only: trading is off", severity="warning")

    # -- screenshots -----------------------------------------------------------------------
    screenshots = True
    """False (an SSH session's dashboard): a viewer must not write files on the host."""

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if self.screenshots or "screenshot" not in command.title.lower():
                yield command

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Save an SVG of the screen in ``screenshot_dir()`` (Textual's default, ~/Downloads,
        may not exist), else in the working directory, and say where, or why not."""
        if not self.screenshots:
            self.notify("screenshots are off here", title="Screenshot", severity="warning")
            return None
        places = [Path(path).expanduser()] if path else [screenshot_dir(), Path.cwd()]
        why = ""
        for directory in places:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                saved = self.save_screenshot(filename, str(directory), time_format)
            except OSError as exc:
                why += f"{'; ' if why else ''}not in {directory}: {exc.strerror or exc}"
                continue
            self.notify(f"saved to {saved}", title="Screenshot", markup=False)
            return saved
        self.notify(f"not saved: {why}", title="Screenshot", severity="error", markup=False)
        return None

    # -- logging in when needed ------------------------------------------------------------
    def needs_login(self) -> bool:
        """Nobody has logged in yet, and no credentials were given (a real endpoint) or the
        exchange refused the ones given."""
        status = self.status
        if self.read_only or status.user_id is not None:
            return False
        return self.ask_login or status.login_error is not None

    def when_logged_in(self, then: Callable[[], object], *, quiet: bool = False) -> None:
        """Run ``then`` now, or after logging in: the first private action without credentials
        (or with credentials the exchange refused: the dialog says why) opens the login dialog
        by itself and continues once logged in; after that, ``l`` does (a notice says so unless
        ``quiet``)."""
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

        user_id, cookie = known_login(self.status.user_id or self.login_user_id, self.login_cookie)
        refused = self.status.login_error
        why = "" if refused is None else f"The exchange refused the automatic login: {refused}"
        self.push_screen(LoginScreen(attempt, user_id=user_id, cookie=cookie, why=why), done)

    # -- keys listing (help and palette) ---------------------------------------------------
    def binding(self, binding_id: str) -> Binding:
        """The dashboard binding with this id."""
        return next(b for b in bindings(type(self)) if b.id == binding_id)

    def key_for(self, binding: Binding) -> str:
        """The key(s) a binding answers to after the user's keymap, for display."""
        keys = self.user_keymap.get(binding.id or "", None)
        if keys is None:
            keys = binding.key_display or binding.key
        return keys.replace("question_mark", "?")

    def help_rows(self) -> list[HelpRow]:
        return commands.help_rows(self)

    def palette_commands(self) -> list[Command]:
        """Every available action and every other market (``commands.palette_commands``)."""
        return commands.palette_commands(self)


def screenshot_dir() -> Path:
    """``$XDG_DATA_HOME/cfdash/screenshots`` (``~/.local/share`` when unset or relative)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "cfdash" / "screenshots"


DASHBOARD_ACTIONS: Final = frozenset(b.action for b in bindings(DashboardApp))
"""The dashboard's own actions: none acts while a dialog is open or a field has focus."""
