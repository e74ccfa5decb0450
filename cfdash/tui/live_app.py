"""``LiveDashboard``: the dashboard plus what a terminal program needs (``cfdash.tui.main``).

Imported by ``main.build`` only when the dashboard runs: ``cfdash --help`` loads no Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from textual.theme import Theme

from cfdash.core.assets import Pair
from cfdash.tui.app import DashboardApp
from cfdash.tui.config import THEMES


class LiveDashboard(DashboardApp):
    """The dashboard plus what a terminal program needs: warnings shown, SIGHUP -> exit
    (by ``run``'s ``TerminalGuard`` when ``guarded``, which also notices a lost terminal)."""

    notes: tuple[str, ...] = ()
    """Warnings shown on start (``build`` sets them)."""
    guarded = False
    remember: Callable[..., None] | None = None
    """Called with ``market=`` or ``theme=`` when the user changes it (``build`` sets it)."""
    _theme_kept: str | None = None
    _mounted_loop: asyncio.AbstractEventLoop | None = None
    _leave_code: int | None = None

    def on_mount(self) -> None:  # runs before DashboardApp.on_mount (both run)
        for note in self.notes:
            self.notify(note, title="Warning", severity="warning", timeout=30)
        self._mounted_loop = asyncio.get_running_loop()
        if self._leave_code is not None:  # asked before the app ran
            self.exit(return_code=self._leave_code)
        if hasattr(signal, "SIGHUP") and not self.guarded:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
        self._theme_kept = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def switch_pair(self, pair: Pair) -> None:
        before = self.pair
        super().switch_pair(pair)
        if self.remember is not None and self.pair != before:
            self.remember(market=self.pair)

    def _theme_changed(self, theme: Theme) -> None:
        """Remember dark or light (not the palette's other themes: the settings know
        only these two)."""
        name = next((k for k, v in THEMES.items() if v == theme.name), None)
        if name is not None and theme.name != self._theme_kept and self.remember:
            self._theme_kept = theme.name
            self.remember(theme=name)

    def on_unmount(self) -> None:
        if hasattr(signal, "SIGHUP") and not self.guarded:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    def leave(self, return_code: int) -> None:
        """Exit with ``return_code``; from any thread, without blocking (the loop may be
        stuck); before the app runs, as soon as it does."""
        self._leave_code = return_code
        loop = self._mounted_loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # closed: the app has ended
                loop.call_soon_threadsafe(self.exit, None, return_code)
