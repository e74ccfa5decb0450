"""The login dialog: user id, cookie and a masked passphrase; shows the server's error and lets
the user retry. The passphrase is read once per attempt, handed on, and the field cleared; it is
never kept on the screen object or logged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

Attempt = Callable[[int, str, str], Awaitable[str | None]]
"""(user id, cookie, passphrase) -> an error message, or ``None`` when logged in."""


class LoginScreen(ModalScreen[int | None]):
    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel", id="login.cancel")]
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

    def __init__(self, attempt: Attempt, *, user_id: int | None = None, cookie: str = "") -> None:
        super().__init__()
        self._attempt = attempt
        self._user_id = user_id
        self._cookie = cookie

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Log in"
            with Horizontal(classes="field"):
                yield Label("User id")
                user_id = "" if self._user_id is None else str(self._user_id)
                yield Input(
                    user_id, id="user-id", type="integer", compact=True, placeholder="e.g. 1"
                )
            with Horizontal(classes="field"):
                yield Label("Cookie")
                yield Input(self._cookie, id="cookie", compact=True, placeholder="base64")
            with Horizontal(classes="field"):
                yield Label("Passphrase")
                yield Input(
                    id="passphrase", password=True, compact=True, placeholder="never stored"
                )
            yield Static(id="error")
            with Horizontal(id="buttons"):
                yield Button("Log in", id="login", variant="primary")

    def on_mount(self) -> None:
        empty = [i for i in self.query(Input) if not i.value]
        (empty[0] if empty else self.query_one("#passphrase", Input)).focus()

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    @on(Input.Submitted)
    @on(Button.Pressed, "#login")
    async def submit(self) -> None:
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
        error = await attempt
        if error is None:
            self.dismiss(user_id)
        else:
            self.show_error(error)
            secret_field.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
