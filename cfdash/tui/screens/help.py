"""The help screen: every key, as currently mapped, with what it does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from cfdash.tui.screens.dialog import Dialog

HelpRow = tuple[str, str, str]
"""(keys, description, binding id)."""


class HelpScreen(Dialog[None]):
    BINDINGS: ClassVar = [Binding("escape,question_mark", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, rows: Sequence[HelpRow]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("Key", style="bold", no_wrap=True)
        table.add_column("Action")
        table.add_column("Id", style="dim", no_wrap=True)
        for keys, description, binding_id in self.rows:
            table.add_row(keys, description, binding_id)
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys (Escape closes)"
            yield Static(table, id="keys")
        yield Footer(show_command_palette=False, compact=True)  # its keys, not the dashboard's

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
