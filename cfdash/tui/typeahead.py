"""Keys are applied one at a time, in the order they were typed, whatever arrives in one read.

Over SSH a burst such as ``b 1 Tab 41000 Enter Escape s`` or ``m Down Enter`` arrives in one
read, and Textual routes each key as soon as it reads it: a key for the focused widget is
posted to that widget's queue, while a priority binding (``b``, ``s``, ``Tab``, ``m``...) acts
at once. So the ``s`` above would switch the form to a sell before the field had even seen the
Enter that was typed for the buy, and a screen pushed by one key is composed and focused only a
few event-loop turns later: the keys after it would reach the half-built screen (lost, or a
crash, as in Textual's command palette) or the dashboard behind it.

``TypeAhead`` therefore routes a key only once the one before it is done: after routing a key
it posts a marker behind it in the target widget's queue and holds every later key until the
marker has come back (twice, and until no queue on the way is busy: what the key set off, a
button's ``Pressed`` that dismisses a dialog, travels behind it); after pushing a screen it
holds them until that screen is mounted and focused. Held keys are then routed in order,
before any key read later. Once the app is exiting, keys are dropped (``q m`` must not mount a
dialog on a closing app).

A key that the focused widget does not take still bubbles up to the app, which only then
looks for a (non-priority) binding, in the screen on top *by then*: ``y C`` would answer the
Cancel-all dialog that ``C`` opened with the ``y`` typed before it. So a key acts only on the
screen it was routed to.
"""

from __future__ import annotations

import time
from typing import Any

from textual import events, on
from textual.app import App
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

HOLD_AT_MOST = 1.0
"""Seconds keys are held at most (a widget removed before it saw its marker, a screen slow to
be ready): then they are routed anyway."""


class KeyDone(Message):
    """Posted behind a routed key in its target's queue; bubbles back up to the app."""

    def __init__(self, target: Widget, rounds: int = 1) -> None:
        super().__init__()
        self.target = target
        self.rounds = rounds


ROUNDS = (2, 6)
"""Markers sent behind a key: at least, and at most while the queues on its way are busy."""


class ReleaseKeys(Message):
    """Route the held keys once the screen on top is ready (posted by ``push_screen``)."""


class TypeAhead(App[Any]):
    """An ``App`` that applies keys one at a time, in order (see the module)."""

    _held: list[events.Key] | None = None
    """Keys read and not routed yet (``None``: the next key is routed at once)."""
    _held_since = 0.0
    _awaiting: KeyDone | None = None
    """The marker behind the last key routed, until it comes back."""
    _exiting = False

    _unsticking: Timer | None = None

    def on_mount(self) -> None:
        # paused while no key is held: an idle app has no timer waking it 20 times a second
        self._unsticking = self.set_interval(0.05, self._unstick, pause=True)

    def _hold(self) -> None:
        if self._held is None:
            self._held, self._held_since = [], time.monotonic()
            if self._unsticking is not None:
                self._unsticking.resume()

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(*args, **kwargs)
        self._hold()
        self.post_message(ReleaseKeys())  # behind every key already read
        return result

    def exit(self, *args: Any, **kwargs: Any) -> None:
        self._exiting = True
        super().exit(*args, **kwargs)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._exiting or not self.screen_stack:
                return
            if self._held is not None:
                self._held.append(event)
                return
            await self._route(event)
            return
        await super().on_event(event)

    async def _route(self, event: events.Key) -> None:
        target = self.focused or self.screen
        event.routed_to = self.screen  # type: ignore[attr-defined]
        await super().on_event(event)
        self._hold()
        self._awaiting = marker = KeyDone(target)
        target.post_message(marker)

    async def _on_key(self, event: events.Key) -> None:
        """Before ``App._on_key`` (Textual calls both): a key bubbled up from a screen no longer
        on top is dropped, not matched against the bindings of the screen that is."""
        if getattr(event, "routed_to", self.screen) is not self.screen:
            event.stop()
            event.prevent_default()

    def _screen_ready(self) -> bool:
        screen = self.screen
        if not screen.is_mounted:
            return False
        return screen.focused is not None or not screen.focus_chain

    @on(KeyDone)
    async def _key_done(self, message: KeyDone) -> None:
        if message is not self._awaiting:
            return
        target, rounds = message.target, message.rounds
        path = target.ancestors_with_self[:-1] if target.is_attached else []
        busy = any(not node._message_queue.empty() for node in path)
        if path and rounds < ROUNDS[1] and (rounds < ROUNDS[0] or busy):
            self._awaiting = again = KeyDone(target, rounds + 1)
            target.post_message(again)
            return
        self._awaiting = None
        await self._release()

    @on(ReleaseKeys)
    async def _release_when_ready(self) -> None:
        await self._release()

    async def _unstick(self) -> None:
        """Keys held for a marker that cannot come back (its widget was removed, as a dialog's
        button is once answered), or for too long, are routed now."""
        if self._held is None:
            if self._unsticking is not None:
                self._unsticking.pause()
            return
        lost = self._awaiting is not None and not self._awaiting.target.is_attached
        if lost or time.monotonic() - self._held_since > HOLD_AT_MOST:
            self._awaiting = None
            await self._release(force=not lost)

    async def _release(self, *, force: bool = False) -> None:
        """Route the held keys, one at a time (each holds the rest again until it is done)."""
        if self._held is None:
            return
        if not self.screen_stack or self._exiting:  # closing: nothing to route them to
            self._held = None
            return
        if not force:
            if self._awaiting is not None:
                return  # its marker will come
            if not self._screen_ready():  # look again soon
                self.set_timer(0.01, lambda: self.post_message(ReleaseKeys()))
                return
        held, self._held = self._held, None
        for index, key in enumerate(held):
            if self._held is not None:  # the key before is not done: hold the rest again
                self._held.extend(held[index:])
                return
            await self._route(key)
