"""The login dialog: user id, cookie and a masked passphrase; shows the server's error and lets
the user retry. The passphrase is read once per attempt, handed on, and the field cleared; it is
never kept on the screen object or logged, nor pre-filled."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from cfdash.tui.screens.dialog import Dialog
from cfdash.tui.widgets.entry import FIELD_KEYS, FieldInput

Attempt = Callable[[int, str, str], Awaitable[str | None]]
"""(user id, cookie, passphrase) -> an error message, or ``None`` when logged in."""


def known_login(
    user_id: int | None, cookie: str, env: Mapping[str, str] | None = None
) -> tuple[int | None, str]:
    """The user id and cookie to pre-fill: ``COINFLOOR_USER_ID`` and ``COINFLOOR_COOKIE`` (what
    a refused environment login used), else ``user_id`` and ``cookie`` (the settings file's).
    ``COINFLOOR_PASSPHRASE`` is never read here."""
    env = os.environ if env is None else env
    text = env.get("COINFLOOR_USER_ID", "").strip()
    if text.isdigit() and int(text) > 0 and int(text) != user_id:
        user_id, cookie = int(text), ""  # the settings' cookie is another user's
    return user_id, env.get("COINFLOOR_COOKIE", "").strip() or cookie


class LoginScreen(Dialog[int | None]):
    trying = False
    """A login attempt is on its way: another Enter does not send a second one."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel", id="login.cancel"), *FIELD_KEYS]
    """Tab and shift+tab move focus at once, so that a burst of keys (user id, Tab, cookie,
    Tab, passphrase) never puts the passphrase in the cookie field, in clear."""
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 100%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    LoginScreen .field { height: 1; margin-bottom: 1; }
    LoginScreen Label { width: 12; color: $text-muted; }
    LoginScreen Input { width: 1fr; background: $boost; }
    LoginScreen #error { color: $text-error; height: auto; }
    LoginScreen #buttons { height: auto; margin-top: 1; align-horizontal: right; }
    """

    def __init__(
        self, attempt: Attempt, *, user_id: int | None = None, cookie: str = "", why: str = ""
    ) -> None:
        """``why``: shown when the dialog opens (e.g. why the automatic login was refused)."""
        super().__init__()
        self._attempt = attempt
        self._user_id = user_id
        self._cookie = cookie
        self._why = why

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Log in"
            with Horizontal(classes="field"):
                yield Label("User id")
                user_id = "" if self._user_id is None else str(self._user_id)
                yield FieldInput(
                    user_id, id="user-id", type="integer", compact=True, placeholder="e.g. 1"
                )
            with Horizontal(classes="field"):
                yield Label("Cookie")
                yield FieldInput(self._cookie, id="cookie", compact=True, placeholder="base64")
            with Horizontal(classes="field"):
                yield Label("Passphrase")
                yield FieldInput(
                    id="passphrase", password=True, compact=True, placeholder="never stored"
                )
            yield Static(self._why, id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Log in", id="login", variant="primary")

    def on_mount(self) -> None:
        empty = [i for i in self.query(Input) if not i.value]
        self.set_focus(empty[0] if empty else self.query_one("#passphrase", Input))  # now

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    @on(Input.Submitted)
    @on(Button.Pressed, "#login")
    async def submit(self) -> None:
        if self.trying or self.answered:
            return  # Enter Enter in one burst: one attempt
        user_text = self.query_one("#user-id", Input).value.strip()
        cookie = self.query_one("#cookie", Input).value.strip()
        secret_field = self.query_one("#passphrase", Input)
        if not user_text.isdigit() or int(user_text) <= 0:
            self.show_error("user id: a positive whole number")
            return
        if not cookie:
            self.show_error("cookie: required")
            return
        if not secret_field.value:
            self.show_error("passphrase: required")
            secret_field.focus()
            return
        user_id = int(user_text)
        self.show_error("logging in…")
        attempt = self._attempt(user_id, cookie, secret_field.value)
        secret_field.value = ""
        self.trying = True
        try:
            error = await attempt
        finally:
            self.trying = False
        if error is None:
            self.dismiss(user_id)
        else:
            self.show_error(error)
            secret_field.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
