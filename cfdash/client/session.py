"""The client's side of the conversation, sans I/O: what was asked, what came back, what it means.

A ``Session`` (one per client) owns the tags and reply futures of each connection (a ``Link``),
the watch registry re-sent after a reconnection, the orders in flight, the local views and
their bookkeeping, and the dispatch of every decoded frame: replies settle their futures and
load the views, notices go to the views, a Welcome gives the nonce. It also draws up the plan
of what to send on a new connection after a drop (``restore_plan``).

It opens no socket and starts no thread: ``WSClient`` writes the frames and reads them, and
calls in here under its own lock (``guard``, the one that also guards the client's state).
What the session has to say goes out through callbacks: ``report`` (a problem with a frame),
``on_change`` (the names of the views a frame changed), ``on_welcome`` (a connection's nonce
arrived).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from cfdash.core.auth import decode_nonce
from cfdash.core.errors import (
    AuthenticationError,
    BadRequestError,
    CoinfloorError,
    NotFoundError,
    ProtocolError,
    ValidationError,
)
from cfdash.core.views import Changed, OwnOrders, Views

from .futures import settle
from .guard import VIEW_NOTICES, notice_problem
from .inflight import InFlightOrders, OrderOutcomeUnknown, tonce_at_risk
from .protocol import parse_reply
from .sync import apply_reply, before_send

__all__ = [
    "VIEW_METHODS",
    "WATCHES",
    "Link",
    "MalformedOrderReply",
    "RestorePlan",
    "Session",
    "definitive",
]

log = logging.getLogger("cfdash.client")

WATCHES = frozenset({"WatchOrders", "WatchTicker"})
VIEW_METHODS = frozenset(
    {
        "WatchOrders",
        "WatchTicker",
        "PlaceOrder",
        "GetBalances",
        "GetOrders",
        "CancelAllOrders",
        "GetTradeVolume",
    }
)
"""Commands whose sending or reply changes the local views."""

WatchKey = tuple[str, int, int]
Pending = tuple[Future[Any], dict[str, Any]]


def definitive(exc: BaseException) -> bool:
    """Whether an authentication failure would recur with the same credentials: a wrong
    cookie or signature (7), no such user (1), a malformed command (8). A rate limit (6), a
    lost connection or a malformed reply may pass."""
    return isinstance(exc, AuthenticationError | NotFoundError | BadRequestError)


class MalformedOrderReply(OrderOutcomeUnknown, ProtocolError):
    """A PlaceOrder's reply did not fit the order sent (a market order's shape to a limit
    order, an id out of range...): the server said something, but not whether (nor as what)
    the order was placed. Both a ``ProtocolError`` and an ``OrderOutcomeUnknown``: check
    ``GetOrders``, or cancel by tonce. ``tonce`` is 0 for a PlaceOrder sent without one."""


class Link:
    """One connection's share of the conversation: pending replies, nonce, auth state."""

    __slots__ = (
        "auth_future",
        "authenticated",
        "closed",
        "nonce",
        "pending",
        "ready",
        "restore",
        "sent_at",
    )

    def __init__(self, restore: bool) -> None:
        self.pending: dict[int, Pending] = {}
        self.sent_at: dict[int, float] = {}
        """When each pending command was registered (monotonic), oldest first."""
        self.nonce: bytes | None = None
        self.auth_future: Future[Any] | None = None
        self.authenticated = False
        self.restore = restore
        """A reconnection: restored (``restore_plan``) once its nonce arrives."""
        self.ready = not restore
        """Open to other threads' commands: a reconnection first restores (and settles orders)."""
        self.closed = False


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """What to send on a new connection after a drop, in this order (all pipelined)."""

    authenticate: bool
    balances: bool
    orders: bool
    """GetOrders: reloads the own orders and settles the orders in flight."""
    watches: list[dict[str, Any]]


class Session:
    """The conversation, sans I/O (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        views: Views | None,
        lock: contextlib.AbstractContextManager[Any],
        guard: contextlib.AbstractContextManager[Any],
        *,
        report: Callable[[Any], None],
        on_change: Callable[[Changed], None],
        on_welcome: Callable[[Link], None],
    ) -> None:
        self.url = url
        """Named in the errors of orders whose outcome is unknown."""
        self.views = views
        self.lock = lock
        """Held while the views change (the client's ``lock``)."""
        self.guard = guard
        """Guards the watch registry (the client's state lock)."""
        self.report = report
        self.on_change = on_change
        self.on_welcome = on_welcome
        self.orders = InFlightOrders()
        self.watches: dict[WatchKey, dict[str, Any]] = {}
        """The Watch commands to re-send after a reconnection, without their tag."""
        self.was_authenticated = False
        self._tags = itertools.count(1)  # next() is atomic: senders on several threads
        self._expected: deque[Mapping[str, Any]] = deque()
        """Commands sent whose ``before_send`` the views have not seen yet (see ``drain``)."""
        self._unknown_notices: set[str] = set()

    # -- sending ---------------------------------------------------------------------------

    def next_tag(self, link: Link) -> int:
        """A tag no command pending on ``link`` uses."""
        tag = next(self._tags)
        while tag in link.pending:
            tag = next(self._tags)
        return tag

    def prepare(self, link: Link, command: Mapping[str, Any]) -> tuple[dict[str, Any], int, bool]:
        """A copy of ``command`` with its tag, the tag, and whether the views follow it.

        ``ValidationError`` when the caller's tag is already pending."""
        tag = command.get("tag")
        if tag is None:
            tag = self.next_tag(link)
            copy = {**command, "tag": tag}
        elif tag in link.pending:
            raise ValidationError(f"tag {tag} is already in use by a command in flight")
        else:
            copy = dict(command)
        method = command["method"]
        # A tag-0 reply is never matched to its command: such a command must not leave a view
        # waiting for it (a book buffering notices for ever, an order in flight for ever).
        follow = self.views is not None and method in VIEW_METHODS
        if follow and not tag:
            follow = method in WATCHES and not command.get("watch", True)
        return copy, tag, follow

    def register(
        self, link: Link, command: dict[str, Any], future: Future[Any], now: float
    ) -> None:
        """``command`` goes out on ``link`` (open): await its reply, track its order in flight,
        follow its watch. Call under ``guard``."""
        method = command["method"]
        tag = command.get("tag")
        tonce = tonce_at_risk(command)
        if tonce and tag:
            self.orders.track(tonce, future)
        if tag:
            link.pending[tag] = (future, command)
            link.sent_at[tag] = now
        if method in WATCHES:
            key = (method, command["base"], command["counter"])
            if command.get("watch", True):
                self.watches[key] = {k: v for k, v in command.items() if k != "tag" or not v}
            else:
                self.watches.pop(key, None)

    def unregister(self, link: Link, tag: int) -> None:
        """The command tagged ``tag`` did not go out. Call under ``guard``."""
        link.pending.pop(tag, None)
        link.sent_at.pop(tag, None)

    def expect(self, command: Mapping[str, Any]) -> None:
        """Queue the views' side of ``command`` (applied by ``drain``, in order)."""
        self._expected.append(command)

    def drain(self) -> None:
        """Apply the ``before_send`` of every command sent since the last drain, in order."""
        views = self.views
        expected = self._expected
        if views is None or not expected:
            return
        with self.lock:
            while expected:
                try:
                    command = expected.popleft()
                except IndexError:  # drained by another thread meanwhile
                    break
                try:
                    before_send(views, command)
                except Exception:  # a validated command: should not happen
                    log.exception("views not prepared for %s", command.get("method"))

    @contextlib.contextmanager
    def views_locked(self) -> Iterator[Views]:
        """``lock`` held and the views up to date with every command sent."""
        views = self.views
        assert views is not None
        with self.lock:
            self.drain()
            yield views

    # -- receiving -------------------------------------------------------------------------

    def receive(self, link: Link, message: dict[str, Any]) -> None:
        """One decoded frame from ``link``: a notice, a reply, or something to report."""
        notice = message.get("notice")
        if notice is not None:
            if notice == "Welcome":
                self._welcome(link, message)
            elif notice.__class__ is not str:
                self.report(ProtocolError(f"notice name {repr(notice)[:40]} is not a string"))
            elif notice not in VIEW_NOTICES:  # a newer server's, perhaps: not an error
                if notice not in self._unknown_notices and len(self._unknown_notices) < 100:
                    self._unknown_notices.add(notice)
                    log.warning("skipping unknown notice %r", notice[:40])
            elif (problem := notice_problem(message)) is not None:
                self.report(ProtocolError(problem))
            else:
                self.orders.note(message)
                views = self.views
                if views is not None:
                    with self.lock:  # views_locked, inlined: this runs for every notice
                        if self._expected:
                            self.drain()
                        changed = views.route(message)
                    if changed:
                        self.on_change(changed)
            return
        tag = message.get("tag")
        if tag:
            entry = link.pending.pop(tag, None) if tag.__class__ is int else None
            if entry is not None:
                link.sent_at.pop(tag, None)
                self.reply(entry[0], entry[1], message)
            else:
                self.report(ProtocolError(f"reply with unexpected tag {repr(tag)[:40]}"))
        elif "error_code" not in message:
            self.report(ProtocolError("frame is neither a reply nor a notice"))

    def reply(self, future: Future[Any], command: dict[str, Any], reply: dict[str, Any]) -> None:
        """The reply to ``command``: parse it, load it into the views, settle ``future``."""
        method = command["method"]
        result: Any = None
        try:
            result = parse_reply(method, reply, command)
            exc: BaseException | None = None
        except (CoinfloorError, ProtocolError) as error:
            exc = error
        except Exception as error:  # a malformed reply the parser did not expect
            exc = ProtocolError(f"bad {method} reply: {error!r}")
        malformed = isinstance(exc, ProtocolError)
        if malformed:
            self.report(exc)
            if method == "PlaceOrder":  # neither placed nor refused: unknown
                exc = self._malformed_order(command, exc)
        views = self.views
        # A malformed reply is not loaded; a malformed snapshot counts as a refusal.
        if views is not None and method in VIEW_METHODS and (not malformed or method in WATCHES):
            loaded = {"error_code": 8} if malformed else reply
            try:
                with self.views_locked():
                    changed = apply_reply(views, command, loaded)
            except Exception as error:
                self.report(ProtocolError(f"{method} reply not loaded: {error!r}"))
                changed = frozenset()
            if changed:
                self.on_change(changed)
        code = 8 if malformed else reply.get("error_code")
        if method in WATCHES and code not in (0, 2, None):
            with self.guard:
                key = (method, command["base"], command["counter"])
                if self.watches.get(key, {}).get("watch", True) and command.get("watch", True):
                    self.watches.pop(key, None)
        if exc is None:
            settle(future, result)
        else:
            settle(future, exc=exc)

    def _malformed_order(
        self, command: Mapping[str, Any], error: BaseException | None
    ) -> MalformedOrderReply:
        """The failure of a PlaceOrder whose reply is malformed; its order leaves the
        in-flight view (its notices, if it was placed, bring it back as an open order)."""
        tonce = command.get("tonce") or 0
        if tonce:
            self.forget_in_flight(tonce)
        exc = MalformedOrderReply(
            f"Malformed reply from {self.url} to PlaceOrder (tonce {tonce or 'none'}): "
            f"{str(error).rstrip('.')}; the order may or may not have been placed",
            tonce,
        )
        exc.__cause__ = error
        return exc

    def _welcome(self, link: Link, message: Mapping[str, Any]) -> None:
        if link.nonce is not None:
            self.report("Server nonce received more than once")
            return
        try:
            link.nonce = decode_nonce(message.get("nonce"))
        except ValueError:
            self.report("Server nonce received is invalid")
            return
        self.on_welcome(link)

    # -- authentication, restore, loss -----------------------------------------------------

    def authenticated(self, link: Link) -> None:
        """``link``'s Authenticate passed. Call under ``guard``."""
        link.authenticated = True
        self.was_authenticated = True

    def restore_plan(self, has_credentials: bool) -> RestorePlan:
        """What a reconnected connection sends before it is handed out: authenticate again
        (orders in flight imply an authenticated session: their reply may have been lost),
        reload balances and open orders, re-subscribe every watch."""
        account = (self.was_authenticated or bool(self.orders)) and has_credentials
        with self.guard:
            watches = list(self.watches.values())
        return RestorePlan(
            authenticate=account,
            balances=account and self.views is not None,
            orders=account and (self.views is not None or bool(self.orders)),
            watches=watches,
        )

    def lost(
        self, link: Link, *, keep_watches: bool, keep_orphans: bool
    ) -> tuple[list[Future[Any]], list[tuple[int, Future[Any]]]]:
        """``link`` ended. Its pending commands fail, except PlaceOrders with a tonce: kept
        to settle on the next connection (``keep_orphans``), else their outcome is unknown.
        Returns (the futures to fail, the (tonce, future) of unknown outcome). Without
        ``keep_watches`` the watch registry is cleared. Call under ``guard``."""
        link.closed = True
        pending, link.pending = link.pending, {}
        link.sent_at = {}
        if not keep_watches:
            self.watches.clear()
        failed: list[Future[Any]] = []
        unknown: list[tuple[int, Future[Any]]] = []
        for future, command in pending.values():
            tonce = tonce_at_risk(command)
            if tonce is None:
                failed.append(future)
            elif keep_orphans:
                self.orders.orphan(tonce, future, command)
            else:
                unknown.append((tonce, future))
        return failed, unknown

    def views_lost(self, *, reset: bool, close: bool) -> None:
        """The connection is gone: ``reset`` every view (it awaits new snapshots), ``close``
        every pair's (no reconnection will reload them)."""
        views = self.views
        if views is None:
            return
        with self.views_locked():
            if reset:
                views.reset()
            if close:
                for key in list(views.pairs):
                    views.close_book(key)
                    views.close_ticker(key)

    def forget_in_flight(self, tonce: int) -> None:
        """Drop a settled order's in-flight entry from the own-orders view."""
        views = self.views
        if views is not None:
            with self.views_locked():
                changed = views.own.failed(tonce)
            if changed:
                self.on_change({OwnOrders.name})

    def outcome_unknown(self, tonce: int, future: Future[Any], why: str | None) -> None:
        """Fail an order in flight that will not be settled with ``OrderOutcomeUnknown``."""
        self.forget_in_flight(tonce)
        exc = OrderOutcomeUnknown(
            f"Connection to {self.url} lost before the reply to PlaceOrder (tonce {tonce}): "
            f"{why or 'closed'}; the order may or may not have been placed",
            tonce,
        )
        settle(future, exc=exc)

    def fail_orphans(self, why: str | None) -> None:
        """No settlement will come: every order in flight's outcome is unknown."""
        for orphan in self.orders.take_orphans():
            self.outcome_unknown(orphan.tonce, orphan.future, why)
