"""The market picker: the listed pairs, narrowed as you type; Enter switches to the highlighted
one, Escape keeps the current one. The expired 2018 futures are hidden unless shown (Ctrl+O
here, or ``show_expired`` in the settings)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Input, OptionList
from textual.widgets.option_list import Option

from cfdash.core.assets import PAIRS, Pair
from cfdash.tui.pairs import listed, matching
from cfdash.tui.screens.dialog import Dialog


class MarketPicker(Dialog[Pair | None]):
    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Cancel", id="markets.cancel"),
        Binding("up", "move(-1)", "Up", show=False, id="markets.up"),
        Binding("down", "move(1)", "Down", show=False, id="markets.down"),
        Binding("pageup", "move(-5)", "Page up", show=False, id="markets.pageup"),
        Binding("pagedown", "move(5)", "Page down", show=False, id="markets.pagedown"),
        Binding("ctrl+o", "toggle_expired", "Expired futures", id="markets.expired"),
    ]
    DEFAULT_CSS = """
    MarketPicker { align: center middle; }
    MarketPicker > Vertical {
        width: 40; height: auto; max-height: 80%; border: thick $accent; background: $surface;
    }
    MarketPicker #picker-filter { margin: 0 1; }
    MarketPicker OptionList { height: auto; max-height: 20; border: none; }
    """

    def __init__(
        self,
        current: Pair,
        pairs: Sequence[Pair] = PAIRS,
        *,
        expired: bool = False,
        toggled: Callable[[bool], object] | None = None,
    ) -> None:
        """``expired``: list the 2018 futures too; ``toggled(expired)`` is told when the user
        shows or hides them (the app keeps the choice, for the balances as well)."""
        super().__init__()
        self.current = current
        self.all_pairs = list(pairs)
        self.expired = expired
        self.toggled = toggled
        self.pairs: list[Pair] = []
        """The pairs listed now (filtered), in the list's order."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Market"
            yield Input(placeholder="type to filter", id="picker-filter", compact=True)
            yield OptionList(id="picker-options")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self._refill(keep=self.current)
        self.query_one(Input).focus()

    def _refill(self, keep: Pair | None = None) -> None:
        """List the pairs matching the filter; the highlight stays on ``keep`` (else on the one
        highlighted before, else the first)."""
        options = self.query_one(OptionList)
        if keep is None:
            keep = self.highlighted
        query = self.query_one(Input).value
        shown = listed(self.all_pairs, expired=self.expired, keep=self.current)
        self.pairs = matching(shown, query)
        options.set_options(Option(p.name, id=p.name) for p in self.pairs)
        if self.pairs:
            options.highlighted = self.pairs.index(keep) if keep in self.pairs else 0
        hidden = "" if self.expired else " · ^o: expired futures"
        self.query_one(Vertical).border_subtitle = f"{len(self.pairs)} of {len(shown)}{hidden}"

    @property
    def highlighted(self) -> Pair | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.pairs):
            return None
        return self.pairs[index]

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        pair = self.highlighted
        if pair is not None:
            self.dismiss(pair)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.pairs[event.option_index])

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if not self.pairs:
            return
        index = options.highlighted or 0
        options.highlighted = max(0, min(len(self.pairs) - 1, index + delta))

    def action_toggle_expired(self) -> None:
        self.expired = not self.expired
        if self.toggled is not None:
            self.toggled(self.expired)
        self._refill()

    def action_cancel(self) -> None:
        self.dismiss(None)
