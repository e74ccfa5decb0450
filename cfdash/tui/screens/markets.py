"""The market picker: every listed pair; Enter switches, Escape keeps the current one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from cfdash.core.assets import PAIRS, Pair
from cfdash.tui.screens.dialog import Dialog


class MarketPicker(Dialog[Pair | None]):
    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel", id="markets.cancel")]
    DEFAULT_CSS = """
    MarketPicker { align: center middle; }
    MarketPicker > OptionList {
        width: 40; height: auto; max-height: 80%; border: thick $accent; background: $surface;
    }
    """

    def __init__(self, current: Pair, pairs: Sequence[Pair] = PAIRS) -> None:
        super().__init__()
        self.current = current
        self.pairs = list(pairs)

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(p.name, id=p.name) for p in self.pairs))
        options.border_title = "Market"
        yield options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.pairs:
            options.highlighted = self.pairs.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.pairs[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
