"""A batch pushed from the source's thread as the app shuts down (issue 13: tests that pass on
a busy machine). ``push_batch`` checks that the app is running, then hands the batch over with
``call_from_thread``, which runs it as a task of its own on the app's loop. On a loaded machine
the source's thread can be descheduled between the two: the batch is then applied while
Textual prunes the screen's widgets, and the old code queried ``#orders`` (or the form's
``#quantity``) after it was gone: ``NoMatches``. A batch that arrives once the app has stopped
running is dropped."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from cfdash.tui.app import DashboardApp
from cfdash.tui.source import Batch
from tests.support.wait import wait_until

from .conftest import WIDE, running


async def test_a_batch_that_arrives_during_shutdown_is_dropped(
    app: DashboardApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[BaseException] = []
    real = app.call_from_thread
    late = threading.Event()

    def descheduled(callback: Any, *args: Any) -> Any:
        """The thread checked ``is_running`` and lost the CPU until the app began to stop."""
        wait_until(lambda: not app.is_running, what="the app stopping")
        late.set()
        return real(callback, *args)

    def push() -> None:
        try:
            app.push_batch(Batch(pair=app.pair, orders=(), balances=()))
        except BaseException as exc:  # any failure is the bug
            errors.append(exc)

    async with running(app, WIDE):
        monkeypatch.setattr(app, "call_from_thread", descheduled)
        thread = threading.Thread(target=push, daemon=True)
        thread.start()
    await asyncio.to_thread(thread.join, 20)  # the app's loop runs the batch meanwhile
    assert late.is_set() and not thread.is_alive()
    assert errors == []


async def test_a_notification_made_once_no_screen_is_left_is_only_kept(app: DashboardApp) -> None:
    """An order's outcome can be reported while Textual takes the last screen down (it failed
    a CI run with ``ScreenStackError``): the history keeps it, nothing else happens."""
    from textual.notifications import Notification, Notify

    async with running(app, WIDE):
        pass
    assert not app.screen_stack
    before = len(app.messages)
    app.on_notify(Notify(Notification("order 5 placed", title="Order")))
    assert len(app.messages) == before + 1 and app.messages[-1].text == "order 5 placed"
