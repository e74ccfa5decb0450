"""The command palette provider: every dashboard action, plus one command per market."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from textual.command import DiscoveryHit, Hit, Hits, Provider

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
