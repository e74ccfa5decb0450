"""The status bar (connection state in words, latency, user, clock; ``stale`` when offline)
and the key footer under it, fitted to the terminal's width."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported; the footer's own key widget

from cfdash.tui import fmt
from cfdash.tui.source import ConnectionStatus
from cfdash.tui.widgets.entry import OrderEntry


def state_words(status: ConnectionStatus, now: float) -> str:
    """The state in words: connected, connecting, reconnecting in 3s (attempt 2)...; once the
    wait is over (the attempt under way, until the next status), "reconnecting now"."""
    words: str = status.state
    if status.state == "reconnecting" and status.reconnect_at is not None:
        wait = math.ceil(status.reconnect_at - now)
        words = f"reconnecting in {wait}s" if wait > 0 else "reconnecting now"
    if status.state == "reconnecting" and status.attempt:
        words += f" (attempt {status.attempt})"
    return words


def silence_words(status: ConnectionStatus, monotonic: float) -> str | None:
    """The silence in words: "no reply for 3s" (whole seconds, counting up), or None."""
    if status.silent_since is None:
        return None
    return f"no reply for {max(0, int(monotonic - status.silent_since))}s"


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

    monotonic: Callable[[], float] = staticmethod(time.monotonic)
    """The clock of ``ConnectionStatus.silent_since``."""

    status: reactive[ConnectionStatus] = reactive(ConnectionStatus)
    """The connection (bound to ``DashboardScreen.status``)."""
    read_only: reactive[bool] = reactive(False)

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(0.5, self.refresh)  # the countdown and the silence, to the second

    def watch_status(self, before: ConnectionStatus, status: ConnectionStatus) -> None:
        """A new refusal of the login is news: say so (the bar shows it too)."""
        refused = status.login_error
        if refused is not None and refused != before.login_error:
            self.notify(
                f"The exchange refused the login: {refused}\n"
                f"Press {self._key('login', 'l')} to log in.",
                title="Login refused",
                severity="error",
                timeout=15,
            )

    def _key(self, binding_id: str, default: str) -> str:
        """The key the app's keymap gives a binding, for hints."""
        app = self.app
        try:
            return str(app.key_for(app.binding(binding_id)))  # type: ignore[attr-defined]
        except (AttributeError, StopIteration):
            return default

    def render(self) -> Text:
        status, now = self.status, self.clock()
        silence = silence_words(status, self.monotonic())
        ok = status.connected and silence is None
        bad = self.get_component_rich_style("status--bad")
        muted = self.get_component_rich_style("status--muted")
        text = Text.assemble(
            ("● " if ok else "○ ", self.get_component_rich_style("status--ok") if ok else bad),
            state_words(status, now),
        )
        if not status.connected:
            text.append("  ")
            text.append(" stale ", self.get_component_rich_style("status--stale"))
        if silence is not None:
            text.append(" · ", muted)
            text.append(silence, bad)
        if status.latency is not None:
            text.append(" · ", muted)
            text.append(latency_words(status.latency))
        text.append(" · ", muted)
        if status.login_error is not None and status.user_id is None:
            text.append("login refused", bad)
        else:
            text.append("not logged in" if status.user_id is None else f"user {status.user_id}")
        if self.read_only:
            text.append(" · ", muted)
            text.append("read-only")
        clock = Text(f"{fmt.clock(now)} UTC", muted)
        width = self.content_region.width
        if silence is not None or status.state == "reconnecting":
            hint = f" · {self._key('reconnect', 'r')} reconnect now"
            if text.cell_len + len(hint) + 1 + clock.cell_len <= width:  # when it fits
                text.append(hint, muted)
        pad = width - text.cell_len - clock.cell_len
        text.append(" " * max(1, pad))
        text.append_text(clock)
        return text


ESSENTIAL = ("help", "quit")
"""The app's actions that the footer shows last (when their keys work where the focus is),
whatever keys they are mapped to."""
COMPACT_BELOW = 110
"""Narrower footers use the compact style (one space around each key)."""


class KeyFooter(Footer):
    """The footer, fitted to its width: only keys that work where the focus is. In the order
    form, the form's keys (Enter, Tab, Esc, the kind toggle: its fields type or refuse every
    letter, so ``q`` or ``?`` would not quit or help there); elsewhere Help and Quit, the
    command palette key, then the others in order while they fit."""

    _width = 0

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.compact = event.size.width < COMPACT_BELOW
            self.call_after_refresh(self.recompose)

    def _cost(self, binding: Binding) -> int:
        """Cells a key takes, its margins included."""
        key = cell_len(self.app.get_key_display(binding))
        return key + cell_len(binding.description) + (2 if self.compact else 3)

    def _form_keys(self) -> list[Binding] | None:
        """The order form's keys (as the keymap maps them) while a field of it has focus."""
        focused = self.screen.focused
        if focused is None or not any(isinstance(n, OrderEntry) for n in focused.ancestors):
            return None
        keymap = self.app._keymap
        return [
            replace(binding, key=keymap[binding.id or ""].split(",")[0].strip(), key_display=None)
            if binding.id in keymap
            else binding
            for binding in OrderEntry.FOOTER
        ]

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        essential: dict[str, tuple[Binding, bool, str]] = {}
        others: dict[str, tuple[Binding, bool, str]] = {}
        form_keys = self._form_keys()
        if form_keys is not None:
            others = {b.action: (b, True, "") for b in form_keys}
        else:
            for node, binding, enabled, tooltip in active.values():
                action = binding.action
                if binding.show and action not in essential and action not in others:
                    group = essential if node is self.app and action in ESSENTIAL else others
                    group[action] = (binding, enabled, tooltip)
        room = (self.size.width or self.app.size.width) - sum(
            self._cost(b) for b, _, _ in essential.values()
        )
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            palette = None
        if palette is not None:
            need = self._cost(palette.binding) + 1  # and its border
            palette, room = (palette, room - need) if need <= room else (None, room)
        shown = []
        for binding, enabled, tooltip in others.values():
            if (cost := self._cost(binding)) <= room:
                shown.append((binding, enabled, tooltip))
                room -= cost
        shown += [essential[action] for action in ESSENTIAL if action in essential]
        for binding, enabled, tooltip in shown:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            binding = palette.binding
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not palette.enabled,
                tooltip=binding.tooltip or binding.description,
            )
