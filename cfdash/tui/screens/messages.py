"""The message history: every notification shown so far, so that nothing said is lost once
its toast has gone (``h``; Escape closes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, NamedTuple

from rich.errors import MarkupError
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from cfdash.tui import fmt

SEVERITY_STYLES = {"information": "", "warning": "bold", "error": "bold reverse"}
"""How each severity stands out, without colours (they are the toasts' own)."""


class Notice(NamedTuple):
    """One notification as shown: when (the app's clock), how severe, its title and text."""

    time: float
    severity: str
    title: str
    text: str


def plain(message: str, markup: bool) -> str:
    """A notification's text without its markup (as its toast shows it)."""
    if not markup:
        return message
    try:
        return Content.from_markup(message).plain
    except (MarkupError, ValueError):
        return message


class MessagesScreen(ModalScreen[None]):
    """The history, oldest first and scrolled to the newest; it follows new notifications
    while open (``add``)."""

    BINDINGS: ClassVar = [Binding("escape,h", "close", "Close", id="history.close")]
    DEFAULT_CSS = """
    MessagesScreen { align: center middle; }
    MessagesScreen > VerticalScroll {
        width: 92; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, notices: Iterable[Notice]) -> None:
        super().__init__()
        self.notices = list(notices)
        self._close_asked = False
        self._on_screen = False

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Messages (Escape closes)"
            yield Static(self.table(), id="messages")
        yield Footer(show_command_palette=False, compact=True)  # its keys, not the dashboard's

    def on_mount(self) -> None:
        self.call_after_refresh(self.query_one(VerticalScroll).scroll_end, animate=False)
        self._on_screen = True
        if self._close_asked:  # closed by a key of the burst that opened it
            self.call_after_refresh(self.dismiss, None)

    def table(self) -> Table:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("Time", no_wrap=True)
        table.add_column("", no_wrap=True)
        table.add_column("Message")
        if not self.notices:
            table.add_row("", "", "no messages yet")
        for notice in self.notices:
            kind = {"information": "info"}.get(notice.severity, notice.severity)
            text = f"{notice.title}: {notice.text}" if notice.title else notice.text
            table.add_row(
                fmt.clock(notice.time),
                kind,
                text,
                style=SEVERITY_STYLES.get(notice.severity, ""),
            )
        return table

    def add(self, notice: Notice) -> None:
        """A notification made while the history is open."""
        self.notices.append(notice)
        if self.is_mounted:
            self.query_one("#messages", Static).update(self.table())
            self.call_after_refresh(self.query_one(VerticalScroll).scroll_end, animate=False)

    def action_close(self) -> None:
        """Close, once, and only once shown: keys typed ahead (a burst) must neither pop
        another screen nor pop this one while it mounts (Textual then waits forever)."""
        if self._close_asked:
            return
        self._close_asked = True
        if self._on_screen:
            self.dismiss(None)
