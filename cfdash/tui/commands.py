"""The keys listed: the command palette (every dashboard action, plus one command per
market) and the help screen's rows."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from cfdash.core.assets import PAIRS
from cfdash.tui.pairs import listed
from cfdash.tui.screens.dashboard import PANEL_NAMES, PANELS, DashboardScreen
from cfdash.tui.screens.help import HelpRow
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.orders import OpenOrdersView

if TYPE_CHECKING:
    from cfdash.tui.app import DashboardApp


class Command(NamedTuple):
    title: str
    help: str
    run: Callable[[], object]


class DashboardCommands(Provider):
    """Lists ``DashboardApp.palette_commands()``; discovery shows them all."""

    def _commands(self) -> list[Command]:
        app: DashboardApp = self.app  # type: ignore[assignment]
        return app.palette_commands()

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, text=command.title, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.run,
                    text=command.title,
                    help=command.help,
                )


def bindings(owner: type[DOMNode]) -> list[Binding]:
    """``owner.BINDINGS``: ``Binding`` objects (this package declares no tuples)."""
    return [b for b in owner.BINDINGS if isinstance(b, Binding)]


def help_rows(app: DashboardApp) -> list[HelpRow]:
    """Every key, as the user's keymap maps it, with what it does."""
    key_for = app.key_for
    rows: list[HelpRow] = [
        (key_for(b), app.DESCRIPTIONS.get(b.id or "", b.description), b.id or "")
        for b in bindings(type(app))
    ]
    digits = []
    for b in bindings(DashboardScreen):
        if (b.id or "").startswith("panel."):
            digits.append(key_for(b))
        else:  # w
            rows.append((key_for(b), "watchlist: last, change, spread (↑↓ ⏎ switch)", b.id or ""))
    if digits:
        names = ", ".join(f"{n} {PANEL_NAMES[p]}" for n, p in enumerate(PANELS, 1))
        rows.append((f"{digits[0]}…{digits[-1]}", f"show a panel: {names}", "panel.N"))
    for b in bindings(OrderEntry):
        rows.append((key_for(b), f"order form: {b.description.lower()}", b.id or ""))
    rows.append(("enter", "order form: place the order (market orders ask first)", ""))
    leave = next(b for b in bindings(OrderEntry) if b.id == "entry.leave")
    buy, sell = key_for(app.binding("buy")), key_for(app.binding("sell"))
    switch = f"{key_for(leave)} {buy}/{sell}"
    rows.append((switch, "order form: switch side (its fields take digits only)", ""))
    for b in bindings(OpenOrdersView):
        rows.append((key_for(b), f"open orders: {b.description.lower()}", b.id or ""))
    rows.append(("↑ ↓", "book (focused): select a level for b/s (at its price)", ""))
    rows.append(("esc", "book (focused): clear the selected level", ""))
    rows.append(("tab ↑↓", "balances (focused): scroll", ""))
    rows.append(("m a-z", "market picker: type to filter, Enter picks", ""))
    rows.append(("m ^o", "market picker: show/hide the expired 2018 futures", ""))
    rows.append((app.COMMAND_PALETTE_BINDING, "command palette: every action", ""))
    return rows


def palette_commands(app: DashboardApp) -> list[Command]:
    """Every available action (the palette is a dialog, so not ``check_action``, which
    leaves b and s to a dialog's field) and every other market."""
    commands = [
        Command(
            b.description,
            app.DESCRIPTIONS.get(b.id or "", b.description),
            getattr(app, f"action_{b.action}"),
        )
        for b in bindings(type(app))
        if app.available(b.action) and b.id != "help"
    ]
    commands.append(Command("Help", "list every key", app.action_help))
    watch = "every market's last price, change and spread; Enter switches"
    commands.append(Command("Watchlist", watch, app.dashboard.action_watchlist))
    for pair in listed(PAIRS, expired=app.dashboard.show_expired):
        if pair != app.pair:
            commands.append(
                Command(
                    f"Market {pair.name}", f"switch to {pair.name}", partial(app.switch_pair, pair)
                )
            )
    return commands
