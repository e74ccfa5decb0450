"""The status bar: connection state in words, latency, user, clock; ``stale`` when offline."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.widget import Widget

from cfdash.tui import fmt
from cfdash.tui.source import ConnectionStatus


def state_words(status: ConnectionStatus, now: float) -> str:
    """The state in words: connected, connecting, reconnecting in 3s (attempt 2)..."""
    words: str = status.state
    if status.state == "reconnecting" and status.reconnect_at is not None:
        words = f"reconnecting in {max(0, math.ceil(status.reconnect_at - now))}s"
    if status.state == "reconnecting" and status.attempt:
        words += f" (attempt {status.attempt})"
    return words


def latency_words(seconds: float) -> str:
    """A round trip in milliseconds; "<1 ms" on loopback rather than a misleading "0 ms"."""
    ms = round(seconds * 1000)
    return "<1 ms" if ms < 1 else f"{ms} ms"


class StatusBar(Widget):
    COMPONENT_CLASSES: ClassVar = {"status--ok", "status--bad", "status--muted", "status--stale"}
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        & > .status--ok { color: $text-success; }
        & > .status--bad { color: $text-warning; }
        & > .status--muted { color: $text-muted; }
        & > .status--stale { color: $text-warning; text-style: bold reverse; }
    }
    """

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.status = ConnectionStatus()
        self.read_only = False

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def update_status(self, status: ConnectionStatus) -> None:
        if status != self.status:
            self.status = status
            self.refresh()

    def render(self) -> Text:
        status, now = self.status, self.clock()
        ok = status.connected
        muted = self.get_component_rich_style("status--muted")
        text = Text.assemble(
            (
                "● " if ok else "○ ",
                self.get_component_rich_style("status--ok" if ok else "status--bad"),
            ),
            state_words(status, now),
        )
        if not ok:
            text.append("  ")
            text.append(" stale ", self.get_component_rich_style("status--stale"))
        if status.latency is not None:
            text.append(" · ", muted)
            text.append(latency_words(status.latency))
        text.append(" · ", muted)
        text.append("not logged in" if status.user_id is None else f"user {status.user_id}")
        if self.read_only:
            text.append(" · ", muted)
            text.append("read-only")
        clock = Text(f"{fmt.clock(now)} UTC", muted)
        pad = self.content_region.width - text.cell_len - clock.cell_len
        text.append(" " * max(1, pad))
        text.append_text(clock)
        return text
