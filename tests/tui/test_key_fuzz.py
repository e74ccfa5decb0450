"""Key-burst fuzz: random keys, in random bursts, on the real dashboard and the real exchange.

Over SSH keys arrive in bursts (several in one read). This drives the real ``DashboardApp``
(``App.run_test`` at 80x24 and 120x36) against the real embedded exchange (quiet, seeded; see
conftest) with thousands of keys from a weighted alphabet: digits, ``.``, ``,``, every key the
app, the order form, the open orders and the dialogs bind (``b s c C m v g p l d ? q t j k y n``,
Tab, Shift+Tab, Escape, Enter), the arrows, Backspace, Ctrl+A, Ctrl+K, Ctrl+P (the command
palette), a few stray letters, and now and then whole numbers and whole orders. A burst is
posted to the app without waiting between keys (``conftest.burst``), then the app is left to
settle: its messages handled, its workers done, every order it sent answered.

The generator is seeded (``random.Random(seed)``) and the bursts are drawn before the app runs,
so a run is the same keys every time; a failure names the seed, the size, the burst that
failed and every burst since the app started (replay them on a fresh dashboard to reproduce).
``q`` quits the app wherever it quits it: the quit must be clean (return code 0), and the run
goes on with a new dashboard on the same exchange.

After every burst:

- the app has not raised (``App._exception``; ``run_test`` re-raises it too) and, when it has
  quit, it quit cleanly;
- the screen renders (``screen_text``), and the ladder shows prices and the balances show
  something where they are on screen;
- the orders ledger holds. The test records, in one sequence:

  * every Enter as the app routes it (``TypeAhead._route``: a key typed ahead is routed once
    the key before it is done): whether the order form was on screen with the focus in
    it, its side and kind then, and its fields as they stand when the focused field gets that
    Enter (the keys typed into the field before the Enter have reached it by then);
  * every ``OrderEntry.Submitted`` as the app handles it, and whether the order was far
    through the book then (``far_through`` on the app's book);
  * every answer given to a ``ConfirmScreen`` (``dismiss``), and whether it was on screen
    (only those count);
  * every ``source.place_order(order)`` call (a send) and when its reply came (settled).

  and the exchange records every order it accepted for user 7 (``place_limit`` and
  ``_place_market`` wrapped on the engine). Then:

  * every send has its own ``Submitted`` of the same order, handled before it;
  * every ``Submitted`` has its own Enter, read before it on the visible form, whose fields
    give exactly that order (``orderform.parse``): keys typed after the Enter change nothing;
  * one Enter, one order: no order is submitted by an Enter read while an earlier order was
    still waiting for its reply;
  * a market order, and a limit far through the book, is sent only after a yes to an order's
    confirmation dialog, on screen, given after its ``Submitted``;
  * every order the exchange accepted matches one send that succeeded (or is pending), and
    every send that succeeded was accepted once: counted on the exchange's side.

``test_bursts_the_fuzz_found`` replays the failures the fuzz found, shrunk by delta debugging
to a few keys, each on a fresh dashboard: quick checks of their fixes.

Every run starts with a short tour, typed slowly (``TOUR``): an order, each dialog, a market
order confirmed. At the end, the run has sent orders and has been in every dialog (market
picker, help, confirmation, command palette; the login dialog in the run without credentials,
where no order can be sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from textual import events
from textual._context import active_message_pump
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerState

from cfdash.core.assets import V2
from cfdash.tui.app import DashboardApp
from cfdash.tui.orderform import FormError, OrderForm, far_through, parse
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.source import OrderPending, OrderRequest
from cfdash.tui.widgets.entry import OrderEntry

from .conftest import PAIR, SMALL, USER, WIDE, Exchange, burst, lines, loaded, screen_text, until

# -- the keys ---------------------------------------------------------------------------------
ALPHABET: tuple[tuple[str, float], ...] = (
    *((digit, 2.5) for digit in "0123456789"),
    ("full_stop", 4),
    ("comma", 0.4),
    ("enter", 10),
    ("escape", 4),
    ("tab", 4),
    ("shift+tab", 2),
    ("up", 1.5),
    ("down", 1.5),
    ("left", 0.8),
    ("right", 0.8),
    ("backspace", 3),
    ("ctrl+a", 0.8),
    ("ctrl+k", 0.8),
    ("ctrl+p", 0.5),
    # the dashboard's keys (DashboardApp.BINDINGS), the form's, the open orders', the dialogs'
    ("b", 3),
    ("s", 3),
    ("t", 2),
    ("c", 1.5),
    ("C", 0.8),
    ("m", 1.5),
    ("v", 1.5),
    ("g", 1),
    ("p", 0.8),
    ("l", 0.5),
    ("d", 0.2),
    ("question_mark", 1),
    ("q", 0.3),
    ("j", 1),
    ("k", 1),
    ("y", 2),
    ("n", 1),
    ("h", 0.4),
    ("r", 0.4),
    # stray keys
    ("x", 0.3),
    ("e", 0.3),
    ("space", 0.3),
)
KEYS = [key for key, _ in ALPHABET]
WEIGHTS = [weight for _, weight in ALPHABET]
NUMBERS = ("0.01", "0.1", "0.25", "1", "2", "3", "41000", "40950", "41010", "41500", "45500")
"""Amounts and prices near the seeded book (best bid 40,990, best ask 41,010)."""
QUANTITIES = ("0.01", "0.02", "0.1", "0.25", "0.5", "1")
PRICES = ("40000", "40950", "40990", "41000", "41010", "41025.5", "41500", "45500", "38000")
"""Prices for whole orders: resting, at the touch, through the book, far through it."""


def typed(text: str) -> list[str]:
    return ["full_stop" if ch == "." else ch for ch in text]


def number(rng: random.Random) -> list[str]:
    """The keys of a number: one near the book, a small quantity or a few random digits."""
    roll = rng.random()
    if roll < 0.5:
        text = rng.choice(NUMBERS)
    elif roll < 0.75:
        text = "0." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 3)))
    else:
        text = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 6)))
    return typed(text)


DASHBOARD_KEYS = ("m", "question_mark", "ctrl+p", "c", "C", "v", "g", "p", "l", "q", "j", "k")


def token(rng: random.Random) -> list[str]:
    """One key mostly; sometimes a whole number, a whole order typed from the dashboard (its
    fields emptied first, or not), or Escape out of the form and a dashboard key."""
    roll = rng.random()
    if roll < 0.08:
        return number(rng)
    if roll < 0.14:
        # from the dashboard (Escape: b and s open the form on its quantity), each field
        # emptied first (Ctrl+A Ctrl+K and a pause: editing keys typed ahead are not safe yet)
        clear = ["ctrl+a", "ctrl+k", PAUSE] if rng.random() < 0.85 else []
        keys = ["escape", rng.choice("bs"), *clear, *typed(rng.choice(QUANTITIES))]
        if rng.random() < 0.25:
            keys.insert(2, "t")  # market (or back to limit): the quantity, no total
            keys += ["tab", "ctrl+a", "ctrl+k", PAUSE]
        else:
            keys += ["tab", *clear, *typed(rng.choice(PRICES))]
        return [*keys, "enter"]
    if roll < 0.18:
        return ["escape", rng.choice(DASHBOARD_KEYS)]
    return rng.choices(KEYS, WEIGHTS)


PAUSE = "|"
"""In a token: the burst ends here (the user paused), the next keys come in a new one."""


TOUR = [
    ["escape", "b"],
    [*typed("0.01"), "tab"],
    [*typed("40000"), "enter"],  # a resting bid
    ["escape", "m"],
    ["escape"],
    ["question_mark"],
    ["escape"],
    ["ctrl+p"],
    ["escape"],
    ["escape", "b", "t"],
    ["ctrl+a", "ctrl+k"],
    [*typed("0.01"), "enter"],  # a market buy: asks first
    ["y"],
    ["escape", "t"],
]
"""The keys every run starts with, slowly: an order, each dialog, a confirmed market order (so
the run is known to reach them: see the test's last checks)."""
LOGIN_TOUR = [["l"], ["escape"]]


def bursts(seed: int, count: int, tour: list[list[str]] | None = None) -> list[list[str]]:
    """``tour`` (``TOUR`` by default), then ``count`` random keys or a few more, in bursts of 1
    to 40 keys (mostly short)."""
    rng = random.Random(seed)
    out: list[list[str]] = [list(keys) for keys in (TOUR if tour is None else tour)]
    total = 0
    keys: list[str] = []
    while total < count:
        size = rng.randint(1, 12) if rng.random() < 0.8 else rng.randint(13, 40)
        while len(keys) < size:
            for key in token(rng):
                if key != PAUSE:
                    keys.append(key)
                elif keys:
                    out.append(keys)
                    total += len(keys)
                    keys = []
        out.append(keys)
        total += len(keys)
        keys = []
    return out


# -- what the app did -------------------------------------------------------------------------
Key = tuple[str, str, int | None, int | None, int | None]
"""(side, market, quantity, price, total) in wire units, all positive: an order as both the
app and the exchange see it."""


def order_key(order: OrderRequest) -> Key:
    return order.side, order.pair.name, order.quantity, order.price, order.total


@dataclass
class Event:
    seq: int
    kind: str  # enter, submitted, confirm, send, settled
    data: Any
    app: int = 0
    """Which dashboard of the run (a new one after each quit)."""


@dataclass
class Record:
    """The app's side of the ledger, in the order things happened, for every dashboard of a run."""

    events: list[Event] = field(default_factory=list)
    screens: set[str] = field(default_factory=set)
    app: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0
    unsettled: set[int] = field(default_factory=set)
    """Sends waiting for their reply."""
    errors: list[Exception] = field(default_factory=list)
    """Exceptions in the test's own message hook."""

    def log(self, kind: str, data: Any) -> Event:
        with self._lock:  # replies settle on the source's thread
            self._seq += 1
            event = Event(self._seq, kind, data, self.app)
            self.events.append(event)
            return event

    def relog(self, event: Event, data: Any) -> None:
        """``event`` happens again, now, with ``data``."""
        with self._lock:
            self._seq += 1
            event.seq, event.data = self._seq, data

    def watch(self, app: DashboardApp) -> Callable[[Message], None]:
        """Wrap the app's ``source.place_order``; the message hook for ``run_test``."""
        self.app += 1
        source = app.source
        place_order = source.place_order

        def sending(order: OrderRequest) -> Future[Any]:
            seq = self.log("send", order).seq
            self.unsettled.add(seq)
            future = place_order(order)

            def settled(done: Future[Any]) -> None:
                exc = None if done.cancelled() else done.exception()
                outcome: object = exc
                if exc is None:
                    outcome = "pending" if isinstance(done.result(), OrderPending) else "ok"
                if done.cancelled():
                    outcome = "cancelled"
                self.log("settled", (seq, outcome))
                self.unsettled.discard(seq)

            future.add_done_callback(settled)
            return future

        source.place_order = sending  # type: ignore[method-assign]
        entry = app.query_one("#entry", OrderEntry) if app.is_running else None

        reading: dict[int, tuple[events.Key, Event]] = {}
        """Enters the app has read and not yet handed on (to the focused widget)."""
        read: dict[int, events.Key] = {}
        """The last keys the app read (a key bubbles back up to the app after its widgets)."""

        def hook(message: Message) -> None:
            if not isinstance(message, events.Key | OrderEntry.Submitted):
                return
            try:
                look(message)
            except Exception as exc:  # the test's own bug: not to be blamed on the app
                self.errors.append(exc)

        def look(message: Message) -> None:
            nonlocal entry
            if not app.screen_stack:
                return  # starting or closing
            if entry is None:
                entry = app.screen_stack[0].query_one("#entry", OrderEntry)
            if active_message_pump.get(None) is not app:
                # The widget the app handed an Enter on to reads it: the keys typed before it
                # into that field are in it now (keys reach a field through its own queue).
                if isinstance(message, events.Key) and id(message) in reading:
                    _, enter = reading.pop(id(message))
                    form = enter.data
                    if form is not None:
                        form = replace(form, **fields(entry))
                    self.relog(enter, form)
                return
            if isinstance(message, OrderEntry.Submitted):
                far = far_through(message.order, app.book, app.source.scales) is not None
                self.log("submitted", (message.order, far))

        route = app._route  # keys typed ahead are held, then routed one at a time (TypeAhead)

        async def routing(message: events.Key) -> None:
            try:
                read_now(message)
            except Exception as exc:  # the test's own bug: not to be blamed on the app
                self.errors.append(exc)
            await route(message)

        def read_now(message: events.Key) -> None:
            if entry is None or id(message) in read:
                return
            read[id(message)] = message
            if len(read) > 200:
                del read[next(iter(read))]
            self.screens.add(type(app.screen).__name__)  # the screen the key is read on
            if message.key == "enter":
                enter = self.log("enter", form_at_enter(app, entry))
                reading[id(message)] = (message, enter)

        app._route = routing  # type: ignore[method-assign]
        return hook


FIELDS = ("quantity", "price", "total")


def form_at_enter(app: DashboardApp, entry: OrderEntry) -> OrderForm | None:
    """The order form as the user sees it when the app reads an Enter, if the Enter is for it:
    on screen (no dialog over it), shown, and the focus in it. (Side, kind and focus change
    as the app reads a key: their keys are priority bindings.)"""
    if app.screen is not entry.screen or not entry.display or not entry.region.area:
        return None
    if not entry.has_focus_within or entry.pair is None:
        return None
    return OrderForm(entry.pair, entry.side, entry.kind, **fields(entry))


def fields(entry: OrderEntry) -> dict[str, str]:
    """The text of the form's three fields."""
    return {name: entry.query_one(f"#{name}", Input).value for name in FIELDS}


def record_confirmations(monkeypatch: pytest.MonkeyPatch, record: Record) -> None:
    """Log every answer to a confirmation dialog: (title, question, answer, on screen)."""
    dismiss = ConfirmScreen.dismiss

    def answering(screen: ConfirmScreen, result: bool | None = None) -> Any:
        shown = screen.is_attached and screen.app.screen is screen
        record.log("confirm", (screen.title_text, screen.question, result, shown))
        return dismiss(screen, result)

    monkeypatch.setattr(ConfirmScreen, "dismiss", answering)


def spy_accepted(exchange: Exchange) -> Callable[[], list[Key]]:
    """Every order the exchange accepts for the dashboard's user from now on (engine-side)."""
    accepted: list[Key] = []

    def install(server: Any) -> None:
        core = server.core
        place_limit, place_market = core.place_limit, core._place_market

        def limit(user_id: int, pair: Any, quantity: int, price: int, *a: Any, **k: Any) -> Any:
            order = place_limit(user_id, pair, quantity, price, *a, **k)
            if user_id == USER:
                side = "buy" if quantity > 0 else "sell"
                accepted.append((side, pair.name, abs(quantity), price, None))
            return order

        def market(user: Any, book: Any, quantity: int | None, total: int | None, *a: Any) -> Any:
            left = place_market(user, book, quantity, total, *a)
            if user.id == USER:
                signed = quantity if quantity is not None else total
                side = "buy" if signed > 0 else "sell"
                size = None if quantity is None else abs(quantity)
                spend = None if total is None else abs(total)
                accepted.append((side, book.pair.name, size, None, spend))
            return left

        core.place_limit = limit
        core._place_market = market

    exchange.server.call(install)
    return lambda: exchange.server.call(lambda s: list(accepted))


def show(form: OrderForm | None) -> str:
    """A form as the user saw it, or why the Enter was not for it."""
    if form is None:
        return "(not on the form)"
    texts = f"quantity={form.quantity!r} price={form.price!r} total={form.total!r}"
    return f"{form.side} {form.kind} {texts}"


def describe(order: OrderRequest) -> str:
    return "{} {} qty={} price={} total={}".format(*order_key(order))


def violations(record: Record, accepted: list[Key]) -> list[str]:
    """What breaks the ledger's rules (see the module's docstring); empty if nothing."""
    found = [f"the test's message hook failed: {exc!r}" for exc in record.errors]
    events_ = sorted(record.events, key=lambda e: e.seq)
    enters = [e for e in events_ if e.kind == "enter"]
    submitted = [e for e in events_ if e.kind == "submitted"]
    confirms = [e for e in events_ if e.kind == "confirm"]
    settled = {e.data[0]: e for e in events_ if e.kind == "settled"}
    # (A dialog answered twice, the second time off screen, pops the screen under it: the
    # app raises. A fix may ignore the second answer; only answers on screen count below.)
    # Every Submitted: its own Enter, read before it on the visible form, giving that order.
    used_enters: set[int] = set()
    enter_of: dict[int, Event] = {}
    for sub in submitted:
        order = sub.data[0]
        match = None
        for enter in enters:
            if enter.seq > sub.seq:
                break
            if enter.seq in used_enters or enter.app != sub.app or enter.data is None:
                continue
            with contextlib.suppress(FormError, ValueError):
                if parse(enter.data, V2) == order:
                    match = enter
                    break
        if match is None:
            seen = [show(e.data) for e in enters if e.seq < sub.seq and e.app == sub.app][-3:]
            found.append(
                f"Submitted {describe(order)} (event {sub.seq}) matches no Enter on the visible "
                f"form; the form at the last Enters read: {seen}"
            )
            continue
        used_enters.add(match.seq)
        enter_of[sub.seq] = match
    # Every send: its own Submitted before it; market and far orders: a yes after that.
    used_subs: set[int] = set()
    used_yes: set[int] = set()
    sends = [e for e in events_ if e.kind == "send"]
    previous: list[Event] = []
    for send in sends:
        order = send.data
        sub = next(
            (
                s
                for s in submitted
                if s.seq < send.seq and s.seq not in used_subs and s.data[0] == order
            ),
            None,
        )
        if sub is None:
            found.append(f"sent {describe(order)} (event {send.seq}) with no Submitted for it")
            previous.append(send)
            continue
        used_subs.add(sub.seq)
        far = sub.data[1]
        if order.is_market or far:
            yes = next(
                (
                    c
                    for c in confirms
                    if sub.seq < c.seq < send.seq
                    and c.seq not in used_yes
                    and not c.data[0].startswith("Cancel")
                    and c.data[2] is True
                    and c.data[3]
                ),
                None,
            )
            if yes is None:
                why = "a market order" if order.is_market else "a limit far through the book"
                found.append(
                    f"sent {describe(order)} (event {send.seq}), {why}, with no yes to an "
                    f"order's confirmation after its Submitted (event {sub.seq})"
                )
            else:
                used_yes.add(yes.seq)
        enter = enter_of.get(sub.seq)
        if enter is not None:
            for earlier in previous:
                done = settled.get(earlier.seq)
                if done is None or done.seq > enter.seq:
                    found.append(
                        f"one Enter, one order: {describe(order)} (event {send.seq}) was "
                        f"submitted by an Enter (event {enter.seq}) read while "
                        f"{describe(earlier.data)} (event {earlier.seq}) waited for its reply"
                    )
        previous.append(send)
    # The exchange's count: every accepted order is one successful (or pending) send.
    unmatched = list(accepted)
    for send in sends:
        done = settled.get(send.seq)
        outcome = None if done is None else done.data[1]
        key = order_key(send.data)
        if outcome == "ok":
            if key in unmatched:
                unmatched.remove(key)
            else:
                found.append(f"sent {describe(send.data)}: placed, the exchange has no such order")
        elif outcome == "pending" and key in unmatched:
            unmatched.remove(key)
    for key in unmatched:
        found.append(f"the exchange accepted {key} for user {USER}, which no send accounts for")
    return found


# -- running ----------------------------------------------------------------------------------
def quiet(app: DashboardApp, record: Record) -> bool:
    """Nothing left to do: no message waiting in any screen's widgets or the app, no worker
    running, no order waiting for its reply."""
    pumps = [app, *(w for screen in app.screen_stack for w in screen.walk_children(with_self=True))]
    if any(not pump._message_queue.empty() for pump in pumps):
        return False
    busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers)
    return not busy and not record.unsettled


async def settle(pilot: Pilot[Any], record: Record, timeout: float = 30.0) -> bool:
    """Let the app handle every key and message, finish its workers and get the replies to
    the orders it sent, then draw; True if it has exited meanwhile. (Not ``pilot.pause()``,
    which waits for the whole process to idle: the exchange's and the client's threads keep
    it from idling for up to a second.)"""
    app = pilot.app
    task: asyncio.Task[Any] | None = getattr(app, "_task", None)
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 2:  # quiet twice in a row: nothing was on its way between two looks
        if task is None or task.done():
            return True
        waiting = asyncio.ensure_future(pilot._wait_for_screen())
        await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            with contextlib.suppress(BaseException):
                await waiting
            return True
        waiting.result()
        calm = calm + 1 if quiet(app, record) else 0
        if time.monotonic() > deadline:
            raise AssertionError(f"the app did not settle: workers {list(app.workers)}")
        await asyncio.sleep(0.002 if calm else 0.01)
    if task is None or task.done():
        return True
    app.screen._on_timer_update()  # draw now, as pilot.pause() does
    return False


def check_screen(app: DashboardApp) -> None:
    """The screen renders; the ladder and the balances too, where they are shown."""
    assert screen_text(app).strip(), "a blank screen"
    base = app.screen_stack[0]
    ladder, balances = base.query_one("#ladder"), base.query_one("#balances")
    if ladder.region.area:
        text = "\n".join(lines(ladder))
        if app.pair == PAIR:
            assert any(ch.isdigit() for ch in text), f"the ladder shows no prices:\n{text}"
    if balances.region.area:
        assert "\n".join(lines(balances)).strip(), f"the balances panel is blank: {balances.region}"


@dataclass
class Run:
    name: str
    size: tuple[int, int]
    seed: int
    keys: int
    credentials: bool = True


SCALE = float(os.environ.get("CFDASH_FUZZ_SCALE", "1"))
"""More keys for a long local run (e.g. 10); CI runs the default."""
SEED = int(os.environ.get("CFDASH_FUZZ_SEED", "0"))
"""Added to every run's seed: other keys, as reproducible (the failure names the seed)."""
RUNS = [
    Run("80x24", SMALL, seed=1 + SEED, keys=int(700 * SCALE)),
    Run("120x36", WIDE, seed=2 + SEED, keys=int(700 * SCALE)),
    Run("login", SMALL, seed=3 + SEED, keys=int(300 * SCALE), credentials=False),
]
"""About 1,700 keys in all: some 35 s on a loaded 2-core box (the app's own work on each key
is most of it); the replays of ``KNOWN`` take some 20 s more. ``CFDASH_FUZZ_SCALE=3`` plays
about 5,000 keys."""
KNOWN: dict[str, list[list[str]]] = {
    # Bursts the fuzz found (shrunk by delta debugging), each on a fresh dashboard.
    "picker-enter-enter": [["m", "enter", "enter"]],  # MarketPicker dismissed twice: crash
    "picker-enter-escape": [["m", "enter", "escape"]],  # the same, Enter then Escape
    "double-enter": [["b", "1", "tab", "3", "enter", "enter"]],  # two orders for one form
    "key-after-enter": [["b", "1", "tab", "3", "enter", "5"]],  # placed at 35, not 3
    "key-after-enter-invalid": [["b", "1", "tab", "enter", "5"]],  # no price at Enter: at 5
    # a confirmation answered twice (No pressed, Tab, Yes pressed): dismissed twice, crash
    "confirm-cancel-all-twice": [["C"], ["enter", "tab", "enter"]],
    "confirm-market-twice": [["b", "t", "1"], ["enter"], ["enter", "tab", "enter"]],
    # a key typed ahead into the command palette: its search runs before its list is there
    # (Textual's CommandPalette: NoMatches 'CommandList' in a worker): crash
    "palette-typed-ahead": [["escape", "ctrl+p", "e"]],
    # a dialog opened by a key typed after q: it mounts on the closing app, its on_mount
    # finds nothing (NoMatches): q ends in a crash, not a clean quit
    "quit-then-market": [["q", "m"]],
    "quit-then-cancel-all": [["q", "C"]],
    # 120x36: the palette's Keys panel docks at the right, the layout stays "wide" in the 80
    # columns left, and the balances panel is squeezed to one blank column
    "keys-panel-wide": [["ctrl+p"], ["k", "e", "y", "s"], ["enter"]],
}
KNOWN_SIZE = {"keys-panel-wide": WIDE}


class Failure(AssertionError):
    """A broken rule, with what to replay."""


async def play(
    app: DashboardApp,
    hook: Callable[[Message], None],
    record: Record,
    accepted: Callable[[], list[Key]],
    size: tuple[int, int],
    plan: Iterator[list[str]],
    played: list[list[str]],
    user: int | None,
) -> bool:
    """Play bursts of ``plan`` on ``app`` until the plan ends (False) or the app quits
    (True); ``played`` gets each burst before it is played."""
    try:
        async with app.run_test(size=size, message_hook=hook) as pilot:
            await until(pilot, lambda: loaded(app, user), timeout=15)
            await pilot.pause()
            for keys in plan:
                played.append(keys)
                burst(app, keys)
                exited = await settle(pilot, record)
                if app._exception is not None:
                    raise Failure(f"the app raised {app._exception!r}") from app._exception
                problems = violations(record, accepted())
                if problems:
                    raise Failure("\n".join(problems))
                if exited:
                    break
                try:
                    check_screen(app)
                except AssertionError as exc:
                    raise Failure(f"the screen does not render: {exc}") from exc
            else:
                return False
    except Failure:
        raise
    except Exception as exc:
        raise Failure(f"the app raised {exc!r}") from exc
    if app.return_code not in (0, None):
        raise Failure(f"the app quit with return code {app.return_code}")
    return True


async def fuzz(
    exchange: Exchange,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    plan: list[list[str]],
    *,
    credentials: bool = True,
    label: str = "",
) -> Record:
    """Play ``plan`` (bursts of keys) on dashboards of the exchange, one after another (a new
    one after each quit); fail with the failing burst and how to replay it."""
    record = Record()
    accepted = spy_accepted(exchange)
    record_confirmations(monkeypatch, record)
    options: dict[str, Any] = {} if credentials else {"user": None, "login": True}
    user = USER if credentials else None
    bursts_left = iter(plan)
    quit_ = True
    while quit_:
        dashboard = exchange.dashboard(**options)
        app = dashboard.app
        played: list[list[str]] = []
        try:
            quit_ = await play(
                app, record.watch(app), record, accepted, size, bursts_left, played, user
            )
            # quit (or done): the orders it sent still get their replies, then it closes
            deadline = time.monotonic() + 10
            while record.unsettled and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            problems = violations(record, accepted())
            if problems:
                raise Failure("after the app quit: " + "\n".join(problems))
            dashboard.close()
        except Failure as exc:
            raise Failure(
                f"{label} size {size}, dashboard #{record.app}: {exc}\n"
                f"failing burst: {played[-1] if played else None}\n"
                f"bursts since this dashboard started (replay them on a fresh one): {played}"
            ) from exc.__cause__
    problems = violations(record, accepted())
    assert not problems, "\n".join(problems)
    return record


@pytest.fixture
def home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The palette can save screenshots and settings: keep them in a temporary home."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.mark.parametrize("run", RUNS, ids=[run.name for run in RUNS])
@pytest.mark.slow
async def test_random_key_bursts_never_crash_and_every_order_is_an_enter(
    run: Run, exchange: Exchange, monkeypatch: pytest.MonkeyPatch, home: None
) -> None:
    plan = bursts(run.seed, run.keys, None if run.credentials else LOGIN_TOUR)
    label = f"seed {run.seed} ({run.name}, {run.keys} keys):"
    record = await fuzz(
        exchange, monkeypatch, run.size, plan, credentials=run.credentials, label=label
    )
    # The run went where it should (the tour at least): orders sent, every dialog opened.
    if run.credentials:
        assert sum(e.kind == "send" for e in record.events) >= 2, "the tour's orders not sent"
        dialogs = {"MarketPicker", "HelpScreen", "ConfirmScreen", "CommandPalette"}
        assert dialogs <= record.screens, f"dialogs seen: {record.screens}"
    else:
        assert "LoginScreen" in record.screens, f"screens seen: {record.screens}"


@pytest.mark.parametrize("name", list(KNOWN))
async def test_bursts_the_fuzz_found(
    name: str, exchange: Exchange, monkeypatch: pytest.MonkeyPatch, home: None
) -> None:
    size = KNOWN_SIZE.get(name, SMALL)
    await fuzz(exchange, monkeypatch, size, KNOWN[name], label=f"{name}:")
