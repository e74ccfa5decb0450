"""Undoing a batch whose commit failed: back to the stored state, connections kept.

The server applies a batch of frames in memory, commits the rows it changed and only then
sends the replies. When that commit fails (a full disk), the state in memory is ahead of the
store and nothing of the batch may be acknowledged. ``Rollback.undo`` then

1. puts the stored state back in place (``ExchangeCore.load`` on a fresh core, then the durable
   attributes moved over): users' money, books, orders, tonces, fees and windows are the
   store's again, while the connections keep what is not stored: their authentication,
   watches, rate limits and their ``persist: false`` orders (those still stored);
2. answers the batch again on that state: the commands that change the stored state
   (``WRITES``) are refused (``refuse_writes``: an error reply, nothing changed), successful
   reads and watches are run again (their replies must not show what was undone), the other
   replies stand (an authentication, an error); the batch's notices are dropped, except the
   Welcome of a new connection.

The server then stays read-only (``refuse_writes``) until the store takes rows again.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from typing import Any, Final

from ..errors import BadRequestError
from ..messages import decode_frame
from .book import Order
from .commands import Result
from .exchange import ExchangeCore
from .journal import Row
from .matching import Engine
from .sessions import Session, User

WRITES: Final = frozenset({"PlaceOrder", "CancelOrder", "CancelAllOrders"})
"""The commands that change the stored state (the others change only a connection's)."""
READS: Final = frozenset({"GetBalances", "GetOrders", "GetTradeVolume", "EstimateMarketOrder"})
WATCHES: Final = frozenset({"WatchOrders", "WatchTicker"})

# The engine's attributes that belong to the connections or the process, not to the store.
_KEPT: Final = frozenset(
    {"__dict__", "_sessions", "_next_session", "_nonce_rng", "_rng", "_below", "_outbox"}
)
# A user's stored attributes (the others, e.g. its rate limiters, carry over).
_USER_STORED: Final = frozenset(
    {"account", "by_tonce", "cookie", "id", "orders", "public_key", "sessions", "tonce"}
)
_WELCOME: Final = '{"notice":"Welcome"'


class Rollback:
    """Undo for one ``ExchangeCore``: ``take_changes`` instead of the core's, ``undo`` when
    their commit failed, ``refuse_writes``/``allow_writes`` for the read-only mode."""

    __slots__ = ("_core", "_orders", "_saved")

    def __init__(self, core: ExchangeCore) -> None:
        self._core = core
        self._orders: dict[int, Order] = {}  # the orders of the last take_changes
        self._saved: dict[str, Any] = {}  # the write handlers while refused

    def take_changes(self) -> list[Row]:
        """``core.take_changes()``, remembering its orders: which connection owned a
        ``persist: false`` order closed in the batch is not in the rows."""
        core = self._core
        self._orders = dict(core._journal.orders)
        return core.take_changes()

    # ------------------------------------------------------------------ read-only

    def refuse_writes(self, message: str) -> None:
        """Answer ``WRITES`` with error 8 ``message`` (after the usual checks) and change
        nothing, until ``allow_writes``."""

        def refuse(sess: Session, cmd: dict[str, Any], now_us: int, now: float) -> Result:
            raise BadRequestError(message)

        handlers = self._core.commands.handlers
        for method in WRITES:
            self._saved.setdefault(method, handlers[method])
            handlers[method] = refuse

    def allow_writes(self) -> None:
        self._core.commands.handlers.update(self._saved)
        self._saved.clear()

    # ------------------------------------------------------------------ undo

    def undo(
        self,
        stored: Iterable[Row],
        frames: Iterable[tuple[int, str | None]],
        output: list[tuple[int, str]],
        now: float,
    ) -> list[tuple[int, str]]:
        """Back to the ``stored`` rows; the output to send instead of ``output`` for the
        batch's ``frames`` ((session, text), None for a frame answered outside the engine,
        e.g. a binary one). Call ``refuse_writes`` first."""
        restore(self._core, stored, self._orders)
        self._orders = {}
        return rerun(self._core, frames, output, now)


def restore(
    core: ExchangeCore, rows: Iterable[Row], closed: dict[int, Order] | None = None
) -> None:
    """Replace ``core``'s stored state by ``rows``' (``ExchangeCore.load``), in place,
    keeping its sessions. ``closed``: orders changed since the rows were stored (their
    ``session`` tells which connection a ``persist: false`` one belongs to)."""
    fresh = ExchangeCore(core.config)
    fresh.load(rows)
    old_users = core._users
    clock = core._clock_us
    for name in Engine.__slots__:
        if name not in _KEPT:
            setattr(core, name, getattr(fresh, name))
    core._clock_us = max(clock, core._clock_us)  # the clock never goes back
    users = core._users
    for uid, old in old_users.items():
        user = users.get(uid)
        if user is not None:
            for name in User.__slots__:
                if name not in _USER_STORED:
                    setattr(user, name, getattr(old, name))
    owners = {oid: o.session for oid, o in (closed or {}).items() if o.session is not None}
    markets = core._markets
    for sid, sess in core._sessions.items():
        owners.update(dict.fromkeys(sess.volatile, sid))
        sess.volatile = {}
        if sess.user is not None:
            user = users.get(sess.user.id)
            sess.user = user  # None: a user created in the undone batch
            if user is not None:
                user.sessions.append(sid)
        for pair in sess.watch_orders:
            markets[(pair.base, pair.counter)].book_watchers.add(sid)
        for pair in sess.watch_ticker:
            markets[(pair.base, pair.counter)].ticker_watchers.add(sid)
    pending = []
    for order in core._pending_volatile:  # the stored persist=false orders
        owner = core._sessions.get(owners.get(order.id, -1))
        if owner is not None and owner.user is not None and owner.user.id == order.user:
            order.session = owner.id
            owner.volatile[order.id] = order
        else:
            pending.append(order)  # its connection is gone: cancelled at the next tick
    core._pending_volatile = pending


def rerun(
    core: ExchangeCore,
    frames: Iterable[tuple[int, str | None]],
    output: list[tuple[int, str]],
    now: float,
) -> list[tuple[int, str]]:
    """The output of an undone batch (see the module docstring): ``output`` was the batch's,
    one reply per frame and session in order, notices interleaved."""
    replies: dict[int, deque[str]] = {}
    result: list[tuple[int, str]] = []
    for sid, sent in output:
        if not sent.startswith('{"notice"'):
            replies.setdefault(sid, deque()).append(sent)
        elif sent.startswith(_WELCOME):
            result.append((sid, sent))
    sessions = core._sessions
    for sid, text in frames:
        queue = replies.get(sid)
        sess = sessions.get(sid)
        if not queue or sess is None:
            continue  # the connection is gone
        reply = queue.popleft()
        if text is None or not _rerun_one(core, sess, text, reply, now):
            result.append((sid, reply))
        result.extend(core.take_output())
    return result


def _rerun_one(core: ExchangeCore, sess: Session, text: str, reply: str, now: float) -> bool:
    """Run one frame of an undone batch again (True), or let its ``reply`` stand (False)."""
    try:
        cmd = decode_frame(text)
        succeeded = json.loads(reply).get("error_code") == 0
    except Exception:  # malformed: its error reply stands
        return False
    method = cmd.get("method")
    if method in WRITES:
        pass  # refused now (or malformed: the same error again)
    elif method in READS:
        if not succeeded:
            return False  # not authenticated then, rate-limited...: that answer stands
    elif method in WATCHES:
        if not succeeded or not _before_watch(core, sess, method, cmd):
            return False
    else:
        return False  # Authenticate (its answer does not depend on the undone state), unknown
    limited, sess.limited = sess.limited, False  # counted once already
    try:
        core.commands.receive(sess.id, text, now)
    finally:
        sess.limited = limited
    return True


def _before_watch(core: ExchangeCore, sess: Session, method: str, cmd: dict[str, Any]) -> bool:
    """Put a watch back as it was before a successful watch command (to run it again)."""
    base, counter = cmd.get("base"), cmd.get("counter")
    market = core._markets.get((base, counter)) if type(base) is type(counter) is int else None
    if market is None:
        return False
    if method == "WatchOrders":
        subscribed, watchers = sess.watch_orders, market.book_watchers
    else:
        subscribed, watchers = sess.watch_ticker, market.ticker_watchers
    if cmd.get("watch"):
        subscribed.discard(market.pair)
        watchers.discard(sess.id)
    else:
        subscribed.add(market.pair)
        watchers.add(sess.id)
    return True
