"""``ClientSource``: the dashboard's ``DataSource`` backed by a real ``WSClient``.

Reading is local and fast: ``snapshot`` and every pushed ``Batch`` are built from the client's
views (``cfdash.core.views``) under ``client.lock``. Changes reach the app through a ``Bridge``
(one coalesced batch at a time, never one call per notice). Anything that may block on the
network (connecting, authenticating, sending) runs on one worker thread, in submission order,
so the UI thread never waits; requests return futures the app awaits.

Login is lazy: public panels need no credentials. ``login()`` authenticates with the given
credentials (the passphrase is turned into a key at once and dropped). Credentials given to the
constructor (the demo user on the embedded exchange, or ``COINFLOOR_*`` environment variables)
are used in the background after the first watch, and otherwise by the first private action,
once. ``read_only`` never authenticates. After a login the balances and open orders are loaded.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeVar

from cfdash.client import OrderOutcomeUnknown, WSClient
from cfdash.client.futures import failed, settle
from cfdash.core import messages
from cfdash.core.assets import Pair, Scales
from cfdash.core.errors import (
    AuthenticationError,
    CoinfloorError,
    Msg,
    NotFoundError,
    ProtocolError,
)
from cfdash.core.views import OwnOrders, Views
from cfdash.tui.batches import ALL, BatchBuilder, cancelled_row
from cfdash.tui.bridge import Bridge
from cfdash.tui.source import (
    Batch,
    ConnectionState,
    ConnectionStatus,
    EstimateRow,
    MarketSnapshot,
    OpenOrder,
    OrderPending,
    OrderReply,
    OrderRequest,
    OrderResult,
    OutcomeUnknown,
    Side,
    Sink,
)
from cfdash.tui.worker import ConnectionFailed, RequestWorker, as_coinfloor

log = logging.getLogger(__name__)

_T = TypeVar("_T")
RETRY_FIRST: Final = 0.5
RETRY_CAP: Final = 2.5
"""Delays between attempts when the first connection cannot be opened and the client does not
retry by itself (doubling, with jitter, capped as the dashboard's client reconnects: see
``cfdash.tui.main``)."""
SILENCE: Final = 2.0
AWAITED: Final = 1.0
"""Seconds without any frame, while an answer has been awaited for ``AWAITED`` s, before the
status says "no reply" (counted from the last frame)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What ``Authenticate`` needs. The passphrase is never shown in a repr."""

    user_id: int
    cookie: str
    passphrase: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials | None:
        """``COINFLOOR_USER_ID``, ``COINFLOOR_COOKIE``, ``COINFLOOR_PASSPHRASE``, or None if
        any is missing; ``ValueError`` for a user id that is not a positive integer."""
        env = os.environ if env is None else env
        user, cookie, secret = (
            env.get(f"COINFLOOR_{name}") for name in ("USER_ID", "COOKIE", "PASSPHRASE")
        )
        if not (user and cookie and secret):
            return None
        if not user.strip().isdigit() or int(user) <= 0:
            raise ValueError("COINFLOOR_USER_ID must be a positive integer")
        return cls(int(user), cookie.strip(), secret)


def _log_failure(what: str) -> Callable[[Future[Any]], None]:
    """A done-callback that logs a request's failure (a watch nobody waits for)."""

    def done(future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.info("%s: %s", what, future.exception())

    return done


def _order_result(reply: Any) -> OrderResult:
    if isinstance(reply, messages.MarketResult):
        return OrderResult(remaining=reply.remaining)
    # PlacedOrder, or (settled after a lost reply) an order placed and already closed
    return OrderResult(id=getattr(reply, "id", None), time=getattr(reply, "time", None))


class ClientSource:
    """A ``DataSource`` over ``client`` (see the module docstring).

    The source takes over the client's ``change_handler`` and ``err_handler`` (calling any it
    had) and wraps its ``open_handler``/``close_handler``. ``depth`` caps the levels per side
    sent to the ladder, ``tape`` the trades; ``interval`` is the bridge's minimum time between
    two pushes.
    """

    def __init__(
        self,
        client: WSClient,
        *,
        credentials: Credentials | None = None,
        read_only: bool = False,
        fee_rate: Decimal | None = None,
        depth: int = 500,
        tape: int = 200,
        interval: float = 0.04,
        poll: float = 0.5,
        timeout: float | None = None,
    ) -> None:
        if client.views is None:
            raise ValueError("ClientSource needs a client that keeps views (views=True)")
        self.client = client
        self.views: Views = client.views
        self.read_only = read_only
        self.fee_rate = fee_rate
        self.worker = RequestWorker(
            timeout if timeout is not None else max(2.0, client.socket_timeout * 2)
        )
        self.last_error: str | None = None
        """The client's most recent connection error, for the log and tests."""
        self.rows = BatchBuilder(self.views, depth=depth, tape=tape)
        self._mu = self.rows.mu
        self._sinks: list[Sink] = []
        self._user_id: int | None = None
        self._has_credentials = False
        self._auto_login = False
        self._login_error: CoinfloorError | None = None
        self._attempted = False
        self._retry_at: float | None = None
        self._retry_delay = RETRY_FIRST
        self._retries = 0
        self._retry_timer: threading.Timer | None = None
        self._refused: str | None = None
        """Why the credentials given at start were refused (``ConnectionStatus.login_error``)."""
        self._closed = False
        self._last_status: ConnectionStatus | None = None
        self.bridge = Bridge(self._build, self._push, interval=interval, poll=poll)

        self._chain_handlers(client)
        if credentials is not None and not read_only:
            client.set_auth_data(credentials.user_id, credentials.cookie, credentials.passphrase)
            self._has_credentials = self._auto_login = True
        del credentials

    # -- wiring ----------------------------------------------------------------------------
    def _chain_handlers(self, client: WSClient) -> None:
        changed, err = client.change_handler, client.err_handler
        opened, closed = client.open_handler, client.close_handler
        notify = self.bridge.changed
        status_only = frozenset({"status"})

        def on_change(c: WSClient, names: AbstractSet[str]) -> None:
            notify(names)
            if changed is not None:
                changed(c, names)

        def on_error(c: WSClient, error: Any) -> None:
            self.last_error = str(error)
            log.info("client: %s", error)
            if err is not None:
                err(c, error)

        def on_open(c: WSClient) -> None:
            notify(status_only)
            if not self._closed:
                pair = self._pair
                if pair is not None:
                    self._submit(self._switch, pair)  # repair the watches (see _switch)
                if self._auto_login and self._user_id is None:
                    self._submit(self._login_once, False)
            if opened is not None:
                opened(c)

        def on_close(c: WSClient, status: int | None, reason: str | None) -> None:
            notify({ALL})  # the views were reset: show the (empty, stale) state at once
            if closed is not None:
                closed(c, status, reason)

        client.change_handler = on_change
        client.err_handler = on_error
        client.open_handler = on_open
        client.close_handler = on_close

    # -- DataSource: reading ---------------------------------------------------------------
    @property
    def scales(self) -> Scales:
        return self.client.scales

    @property
    def timeout(self) -> float:
        """How long a request waits for its reply (seconds)."""
        return self.worker.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.worker.timeout = value

    @property
    def depth(self) -> int:
        """The levels per side sent to the ladder."""
        return self.rows.depth

    @property
    def tape(self) -> int:
        """The trades sent to the tape."""
        return self.rows.tape

    @property
    def _pair(self) -> Pair | None:
        """The market on screen (set on the caller's thread)."""
        return self.rows.pair

    @property
    def user_id(self) -> int | None:
        """The authenticated user, or None."""
        return self._user_id

    def subscribe(self, sink: Sink) -> None:
        with self._mu:
            self._sinks.append(sink)
        self.bridge.start()

    def unsubscribe(self, sink: Sink) -> None:
        with self._mu:
            if sink in self._sinks:
                self._sinks.remove(sink)

    def snapshot(self, pair: Pair) -> MarketSnapshot:
        status = self._status()
        private = self._user_id is not None
        with self.client.lock:
            snap = self.rows.snapshot(
                pair, self.scales, status, private=private, fee_rate=self.fee_rate
            )
        self._last_status = status
        return snap

    def watch(self, pair: Pair) -> None:
        """Show ``pair``: unwatch the previous market, watch this one (on the worker)."""
        old, old_names = self.rows.watch(pair)
        if old == pair:
            return
        self.bridge.discard(old_names)  # updates still queued for the old market
        self._submit(self._switch, pair)
        if self._auto_login and self.client.connected:
            self._submit(self._login_once, False)  # otherwise the connection's opening does

    # -- DataSource: requests --------------------------------------------------------------
    def login(self, user_id: int, cookie: str, passphrase: str) -> Future[None]:
        if self.read_only:
            failed: Future[None] = Future()
            failed.set_exception(AuthenticationError("Read-only mode: not logging in."))
            return failed
        try:
            self.client.set_auth_data(user_id, cookie, passphrase)
        except ValueError as exc:
            failed = Future()
            failed.set_exception(AuthenticationError(str(exc)))
            return failed
        del passphrase
        self._has_credentials = True
        return self._submit(self._authenticate)

    def place_order(self, order: OrderRequest) -> Future[OrderReply]:
        return self._submit(self._place, order)

    def cancel_order(self, order_id: int) -> Future[OpenOrder]:
        return self._submit(self._cancel, order_id)

    def cancel_all(self) -> Future[tuple[OpenOrder, ...]]:
        return self._submit(self._cancel_all)

    def dismiss(self, tonce: int) -> None:
        self.rows.dismiss(tonce)
        self.bridge.changed({OwnOrders.name})

    def estimate(
        self, pair: Pair, side: Side, *, quantity: int | None = None, total: int | None = None
    ) -> Future[EstimateRow]:
        return self._submit(self._estimate, pair, side, quantity, total)

    def close(self) -> None:
        """Stop pushing, stop the client and the worker."""
        self._closed = True
        timer = self._retry_timer
        if timer is not None:
            timer.cancel()
        self.bridge.stop()
        self.worker.shutdown()
        self.client.stop()

    # -- the worker ------------------------------------------------------------------------
    def _submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        return self.worker.submit(fn, *args)

    def _switch(self, pair: Pair) -> None:
        """Make ``pair`` the one watched market (skipped if another switch follows).

        Works from the client's registry of watches (what it re-subscribes after a
        reconnection), so it also repairs a switch made while disconnected; it runs again
        whenever a connection opens.
        """
        if self._closed or self._pair != pair:
            return
        client = self.client
        self._attempted = True
        if client.state == "reconnecting":
            return  # the connection's opening runs this again
        key = (pair.base, pair.counter)
        registered = self._unwatch_others(key)
        if ("WatchOrders", *key) in registered and client.connected:
            self._watch_tickers(registered)
            return
        futures = [client.WatchOrders(base=pair.base, counter=pair.counter, watch=True)]
        if not self._reconnecting():  # the first failed: do not wait on a second
            futures.append(client.WatchTicker(base=pair.base, counter=pair.counter, watch=True))
        self.bridge.changed({"status"})
        for future in futures:
            try:
                future.result(self.timeout)
            except CoinfloorError as exc:  # e.g. already watching: the views stay live
                log.warning("watching %s: %s", pair.name, exc.message)
            except Exception as exc:
                log.info("watching %s failed: %s", pair.name, exc)
                if client.state == "disconnected":  # never connected: the client won't retry
                    self._retry_later(pair)
                return  # reconnecting: the next open runs this again
        self._retry_delay = RETRY_FIRST
        self._retry_at = None
        self._retries = 0
        # A reconnection's re-subscription may have raced the unwatching: check once more.
        self._watch_tickers(self._unwatch_others(key))

    def _watch_tickers(self, registered: AbstractSet[tuple[str, int, int]]) -> None:
        """Watch the tickers of the watchlist's markets not watched yet (cheap: a few fields
        a market); not waited for, as the market on screen is."""
        if not self.client.connected:
            return
        for pair in self.rows.watched_tickers():
            if ("WatchTicker", pair.base, pair.counter) not in registered:
                future = self.client.WatchTicker(base=pair.base, counter=pair.counter, watch=True)
                future.add_done_callback(_log_failure(f"watching the ticker of {pair.name}"))

    def _reconnecting(self) -> bool:
        """The client's state now (it changes on its own thread while a request is sent)."""
        return self.client.state == "reconnecting"

    def _unwatch_others(self, key: tuple[int, int]) -> set[tuple[str, int, int]]:
        """Unwatch every registered market's orders but ``key``'s, and every ticker but those
        of ``key`` and the watchlist; the registered watches before, as (method, base,
        counter)."""
        registered = {(w["method"], w["base"], w["counter"]) for w in self.client.watches}
        tickers = {(p.base, p.counter) for p in self.rows.watchlist} | {key}
        for method, base, counter in registered:
            if method == "WatchOrders" and (base, counter) != key:
                future = self.client.WatchOrders(base=base, counter=counter, watch=False)
            elif method == "WatchTicker" and (base, counter) not in tickers:
                future = self.client.WatchTicker(base=base, counter=counter, watch=False)
            else:
                continue
            future.add_done_callback(_log_failure(f"unwatching {Pair(base, counter).name}"))
        return registered

    def _retry_later(self, pair: Pair) -> None:
        """The first connection failed: try again (the client reconnects only once connected)."""
        if self._closed:
            return
        delay = self._retry_delay * random.uniform(0.5, 1.0)  # jitter
        self._retry_delay = min(RETRY_CAP, self._retry_delay * 2)
        self._retry_at = time.time() + delay
        self._retries += 1
        self.bridge.changed({"status"})

        def again() -> None:
            self._retry_at = None
            if not self._closed and self._pair == pair:
                self._submit(self._switch, pair)  # once open, the auto-login follows

        self._retry_timer = threading.Timer(delay, again)
        self._retry_timer.daemon = True
        self._retry_timer.start()

    def reconnect(self) -> str:
        """Reconnect now (the ``r`` key): skip the wait before the next attempt, or drop a
        connection that has gone silent. What was done, in words."""
        if self._closed:
            return "closing"
        client = self.client
        timer = self._retry_timer
        if self._retry_at is not None and timer is not None:  # the first connection failed
            timer.cancel()
            self._retry_at = None
            pair = self._pair
            if pair is not None:
                self._submit(self._switch, pair)
            self.bridge.changed({"status"})
            return "reconnecting now"
        silent = self._status().silent_since is not None
        if client.reconnect_now(drop=silent):
            self.bridge.changed({"status"})
            return "reconnecting now"
        if client.state == "reconnecting":
            return "reconnecting: an attempt is under way"
        if client.connected:
            return "connected: nothing to do"
        pair = self._pair
        if pair is not None:  # never connected (or given up): start again
            self._submit(self._switch, pair)
        return "connecting"

    def _login_once(self, needed: bool) -> None:
        """Log in with the stored credentials unless done; an auth refusal is not retried."""
        if self._user_id is not None:
            return  # the client re-authenticates by itself after a reconnection
        if self.read_only:
            raise AuthenticationError("Read-only mode: not logging in.")
        if not self._has_credentials:
            raise AuthenticationError(Msg.NOT_AUTHENTICATED)
        if self._login_error is not None:
            if needed:
                raise self._login_error
            return
        try:
            self._authenticate()
        except (AuthenticationError, NotFoundError) as exc:
            self._auto_login = False
            self._refused = exc.message  # the server's words: never the passphrase
            self.bridge.changed({"status"})  # the app says so at once (the status bar)
            if needed:
                raise
            log.warning("automatic login failed: %s", exc.message)
        except CoinfloorError as exc:
            if needed:
                raise
            log.info("automatic login not done: %s", exc.message)

    def _authenticate(self) -> None:
        client = self.client
        self._attempted = True
        self._online()
        client.authenticate()  # never raises: failures go to err_handler
        if not client.auth_okay:
            error = self._auth_error()
            if isinstance(error, AuthenticationError | NotFoundError):
                self._login_error = error  # the same credentials would be refused again
            raise error
        self._login_error = None
        self._refused = None
        loads = [client.GetBalances(), client.GetOrders()]
        for future in loads:
            with contextlib.suppress(Exception):  # shown as missing data, not fatal
                future.result(self.timeout)
        self._user_id = client.user_id  # private panels appear once loaded
        self._auto_login = False
        log.info("logged in as user %s", self._user_id)
        self.bridge.changed({ALL})

    def _auth_error(self) -> CoinfloorError:
        """Why the last ``authenticate()`` failed, with the server's own message if any."""
        exc = self.client.auth_error
        if exc is not None:
            return as_coinfloor(exc)
        return ConnectionFailed(self.last_error or "Unable to complete authentication.")

    def _private(self) -> None:
        self._online()
        self._login_once(True)

    def _online(self) -> None:
        """Fail at once while reconnecting, rather than hold every later request behind it."""
        if self._retry_at is None and self.client.state != "reconnecting":
            return
        at = self._status().reconnect_at
        wait = f" (next attempt in {max(0, math.ceil(at - time.time()))} s)" if at else ""
        raise ConnectionFailed(f"Not connected to the exchange: reconnecting{wait}.")

    def _place(self, order: OrderRequest) -> OrderReply:
        self._private()
        pair, scales = order.pair, self.scales
        sign = 1 if order.side == "buy" else -1
        quantity = price = total = None
        if order.quantity is not None:
            quantity = scales.quantity_from_wire(pair, sign * order.quantity)
        if order.price is not None:
            price = scales.price_from_wire(pair, order.price)
        if order.total is not None:
            total = scales.total_from_wire(pair, sign * order.total)
        # The tonce is taken here rather than by the client (the worker is the one thread that
        # places this client's orders, so they still reach the wire in tonce order): its fills
        # are then recognised even when they overtake the reply.
        tonce = self.client.tonces.next()
        self.rows.placing(tonce, "sending", order)
        try:
            sent = self.client.place_order(pair, quantity, price, total, tonce=tonce)
        except BaseException:
            self._release(tonce)
            raise
        self.bridge.changed({OwnOrders.name})  # shown in flight at once
        try:
            return self._outcome(tonce, _order_result(sent.result(self.timeout)))
        except FutureTimeout:
            pass
        except BaseException as exc:
            error = self._failed(tonce, exc)
            if not isinstance(error, OutcomeUnknown):
                raise error from exc
            return OrderPending(error.message, failed(error))
        # Not refused: the order has a tonce, and the client settles it (found open or closed
        # by its tonce, or of unknown outcome) once a connection is back. Hand the app that
        # later outcome.
        outcome: Future[OrderResult] = Future()
        self.rows.placing(tonce, "pending", order)
        self.bridge.changed({OwnOrders.name})

        def settled(done: Future[Any]) -> None:
            try:
                result = _order_result(done.result())
            except BaseException as exc:
                settle(outcome, exc=self._failed(tonce, exc))
            else:
                settle(outcome, self._outcome(tonce, result))

        sent.add_done_callback(settled)
        return OrderPending(
            "No answer from the exchange yet: the order will not be placed twice. Once the "
            "connection is back it is looked up by its tonce (or reported of unknown outcome).",
            outcome,
        )

    def _outcome(self, tonce: int, result: OrderResult) -> OrderResult:
        """``result`` with its tonce and the order's fills so far (no longer held: later
        fills of a resting order are pushed as they come)."""
        resting = None
        with self.client.lock:
            if result.id is None and result.remaining is not None:  # a market order, done
                self.rows.market_done(tonce, result.remaining)
            fills = self.rows.settled(tonce)
            if result.id is not None:
                own = self.views.own
                order = own.get(result.id)
                if order is not None:
                    resting = abs(order.quantity)
                elif own.was_closed(result.id):
                    resting = 0
        self.bridge.changed({OwnOrders.name})
        return OrderResult(result.id, result.time, result.remaining, tonce, fills, resting)

    def _failed(self, tonce: int, exc: BaseException) -> CoinfloorError:
        """What the app is told of an order placed here that failed (its fills held are
        pushed), or whose outcome cannot be known (listed as "unknown" until dismissed)."""
        if not isinstance(exc, OrderOutcomeUnknown):
            self._release(tonce)
            return as_coinfloor(exc)
        self.rows.unknown(tonce)
        self.bridge.changed({OwnOrders.fills_name, OwnOrders.name})
        why = (
            "the exchange's answer did not fit the order"
            if isinstance(exc, ProtocolError)  # MalformedOrderReply
            else "the connection was lost before the exchange answered"
        )
        return OutcomeUnknown(
            f"Order outcome unknown (tonce {tonce}): {why}, and the order is neither open nor "
            "known to have traded. It may "
            "have been placed (and have traded, or been cancelled elsewhere) or never have "
            "reached the exchange; it was not sent again. Check your balances and fills before "
            'placing it again. It is listed as "unknown" in Open orders (c removes it).',
            tonce,
        )

    def _release(self, tonce: int) -> None:
        """An order placed here failed, or its outcome is unknown: push any fills held."""
        self.rows.release(tonce)
        self.bridge.changed({OwnOrders.fills_name, OwnOrders.name})

    def _cancel(self, order_id: int) -> OpenOrder:
        self._private()
        with self.client.lock:
            known = self.views.own.get(order_id)
            original = known.original if known is not None else None
        reply = self.worker.wait(self.client.cancel_order(id=order_id))
        return cancelled_row(reply, original)

    def _cancel_all(self) -> tuple[OpenOrder, ...]:
        self._private()
        with self.client.lock:
            originals = {o.id: o.original for o in self.views.own.open_orders()}
        reply = self.worker.wait(self.client.cancel_all_orders())
        return tuple(cancelled_row(o, originals.get(o.id)) for o in reply)

    def _estimate(
        self, pair: Pair, side: Side, quantity: int | None, total: int | None
    ) -> EstimateRow:
        self._online()
        scales, sign = self.scales, 1 if side == "buy" else -1
        q = None if quantity is None else scales.quantity_from_wire(pair, sign * quantity)
        t = None if total is None else scales.total_from_wire(pair, sign * total)
        reply = self.worker.wait(self.client.estimate(pair, q, t))
        return EstimateRow(quantity=abs(reply.quantity), total=abs(reply.total))

    # -- building batches ------------------------------------------------------------------
    def _push(self, batch: Batch) -> None:
        with self._mu:
            sinks = list(self._sinks)
        for sink in sinks:
            sink(batch)

    def _build(self, dirty: AbstractSet[str]) -> Batch | None:
        """The bridge's builder: one batch with every view in ``dirty`` (None if nothing)."""
        status = self._status()
        changed = status != self._last_status
        self._last_status = status
        private = self._user_id is not None
        with self.client.lock:
            return self.rows.build(dirty, status, status_changed=changed, private=private)

    def _status(self) -> ConnectionStatus:
        client = self.client
        raw = client.state
        reconnect_at: float | None = None
        attempt: int | None = None
        state: ConnectionState
        if raw in ("connected", "authenticated"):
            # open, but not live until the watched book is rebuilt from its fresh snapshot
            state = "connected" if self.rows.synced() else "connecting"
        elif raw == "reconnecting":
            state = "reconnecting"
            attempt = client.reconnect_attempts or None  # counted when its wait begins
            at = client.reconnect_at
            reconnect_at = at if at is not None and at > time.time() else None
        elif raw == "connecting":
            state = "connecting"
        elif self._retry_at is not None:
            state, reconnect_at, attempt = "reconnecting", self._retry_at, self._retries
        elif not self._attempted and not self._closed:
            state = "connecting"
        else:
            state = "disconnected"
        silent_since = self._silent_since() if raw in ("connected", "authenticated") else None
        latency = client.latency if state == "connected" and silent_since is None else None
        if latency is not None:
            latency = round(latency, 3)  # as shown (ms): a new ping's equal figure is no change
        user = self._user_id if client.auth_okay or state != "connected" else None
        refused = self._refused if user is None else None
        return ConnectionStatus(state, reconnect_at, latency, user, attempt, silent_since, refused)

    def _silent_since(self) -> float | None:
        """Since when (monotonic) the exchange has sent nothing, once that lasts ``SILENCE`` s
        while an answer (a reply, or the pong of the keep-alive ping) has been awaited for
        ``AWAITED`` s: a quiet market with nothing asked is not silence, nor is the moment
        between a request and its reply after a long quiet spell."""
        waiting = self.client.waiting_since
        last = self.client.last_received
        if waiting is None or last is None:
            return None
        now = time.monotonic()
        return last if now - last >= SILENCE and now - waiting >= AWAITED else None
