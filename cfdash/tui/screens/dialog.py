"""``Dialog``: a modal screen that answers once.

Keys typed in one burst (Enter Enter over SSH) reach a dialog before it has gone: a second
``dismiss`` would pop the screen under it (or raise ``ScreenStackError`` on the last one).
Every dialog dismisses through here: the first answer counts, later ones are ignored.
"""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

R = TypeVar("R")


async def _nothing() -> None:
    return None


class Dialog(ModalScreen[R]):
    """A modal screen whose first ``dismiss`` wins; later calls do nothing."""

    answered = False
    """Set by the first ``dismiss``: the dialog is going and takes no other answer."""

    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if self.answered or not self.is_active:
            return AwaitComplete(_nothing())
        self.answered = True
        return super().dismiss(result)
