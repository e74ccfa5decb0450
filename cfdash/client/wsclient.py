"""``WSClient``: the seed library's client, rebuilt on one event thread with reply futures.

Code written for the seed (coinfloor/python-library ``coinfloor.py``) runs unchanged: same
constructor, ``set_auth_data``, ``send``, ``authenticate``, ``stop`` and one method per command,
same handler signatures, lazy connection and lazy authentication. On top of that:

* every command method returns a ``concurrent.futures.Future`` resolved by its reply (the parsed
  reply, or the typed ``CoinfloorError`` raised by ``.result()``); commands are validated
  before they reach the wire (``ValidationError`` raised, nothing sent);
* one event thread per connection reads frames, decodes each once, settles reply futures by tag,
  applies notices and replies to local views (``cfdash.core.views.Views``) and then calls
  ``msg_handler`` with the frame's original text;
* keep-alive pings, a silence watchdog, bounded sends (``socket_timeout``; a send that cannot
  progress kills the connection), a size limit on incoming frames (``MAX_FRAME_BYTES``), and
  optional reconnection with backoff,
  re-authentication, re-subscription and settlement of the orders in flight (see
  ``cfdash.client.inflight`` for the policy);
* ``place_order``/``cancel_order``/``watch``... taking ``Decimal`` amounts, automatic tonces.

Errors the seed reported through ``err_handler`` still go there; without an ``err_handler`` they
raise ``ConnectionError("Connection to <url> failed: <error>")`` in the calling thread, or are
logged when they happen on the event thread. Error *replies* are not errors of the client: they
reach ``msg_handler`` (as in the seed) and fail the command's future.
"""

from __future__ import annotations

import itertools
import json
import logging
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal

from cfdash.core.assets import V2, Scales, parse_pair
from cfdash.core.auth import PrivateKey, authenticate_command, derive_private_key, parse_user_id
from cfdash.core.errors import CoinfloorError, ProtocolError, ValidationError
from cfdash.core.views import Balances, Changed, OrderBook, OwnOrders, Ticker, Trades, Views

from . import commands
from .commands import Amount, PairLike
from .frames import OP_PING
from .futures import failed, gather, settle
from .inflight import ClosedOrder, OrderOutcomeUnknown, tonce_at_risk
from .keepalive import PingResult, run_keepalive
from .protocol import PUBLIC_METHODS, decode_frame, validate_command
from .reconnect import Reconnector
from .session import Link, Session, definitive
from .settlement import Settlement
from .tonce import TonceClock
from .transport import MAX_FRAME_BYTES, Closed, Transport

__all__ = [
    "MAX_FRAME_BYTES",
    "ClientState",
    "ClosedOrder",
    "OrderOutcomeUnknown",
    "WSClient",
    "gather",
]

log = logging.getLogger("cfdash.client")

ClientState = Literal["disconnected", "connecting", "connected", "authenticated", "reconnecting"]

TONCES = TonceClock()
"""The process-wide tonce clock shared by every client (one account may use several)."""


class _Connection(Link):
    """One WebSocket connection: its transport, and its share of the session (``Link``)."""

    __slots__ = ("transport", "welcome")

    def __init__(self, transport: Transport, restore: bool) -> None:
        super().__init__(restore)
        self.transport = transport
        self.welcome = threading.Event()
        """Set once the server's nonce has arrived."""


class WSClient:
    """A Coinfloor WebSocket API client, compatible with the seed library's ``WSClient``.

    Handlers (all optional, called on the event thread): ``msg_handler(client, text)`` for every
    incoming frame (Welcome, replies and notices) with its raw text; ``err_handler(client,
    error)``; ``open_handler(client)``; ``close_handler(client, status_code, reason)``;
    ``ping_handler(client, data)`` / ``pong_handler(client, data)`` with the payload bytes.

    Options beyond the seed's (keyword-only):

    * ``reconnect``: reconnect after any drop (server restart, network loss, missed pong,
      silence) and when the first connection fails: backoff with full jitter (first retry at
      once, then up to ``backoff_base * 2**n``, capped at ``backoff_cap`` s; reset after
      ``stable_after`` s connected), then re-authenticate with the new nonce, re-subscribe every
      watch, rebuild each book from its new snapshot, reload balances and open orders, and
      settle the orders whose PlaceOrder reply was lost (``cfdash.client.inflight``).
      ``max_attempts`` bounds the consecutive attempts without a stable connection (None: for
      ever). While it waits, ``state`` is ``"reconnecting"`` and ``reconnect_at`` /
      ``next_retry_in`` / ``reconnect_attempts`` tell when and how often; ``reconnect_now()``
      skips the wait. The defaults suit scripts; an interactive client wants a small cap
      (the dashboard: ``backoff_cap`` 2.5 s, ``ping_interval`` 1 s).
    * ``scales``: the scale table for ``Decimal`` conversions and validation (default V2).
    * ``views``: keep local views (order books, tickers, trades, own orders, balances) fed by
      the event thread. Read them under ``client.lock`` from other threads.
    * ``ping_interval``: keep-alive ping period (s). A connection with no pong within
      ``socket_timeout`` of a ping, or no frame at all for ``silence_timeout`` (default
      ``ping_interval + socket_timeout``), is dead: it is aborted, reported, and its pending
      futures fail with ``ConnectionError`` (orders in flight are settled instead when
      reconnecting). The keep-alive checks these deadlines on time even while a send is
      blocked. ``socket_timeout`` also bounds every write: a send that cannot progress for
      that long (the server stopped reading) kills the connection the same way, and the
      callers waiting on it get ``ConnectionError`` at once. ``last_received`` and
      ``waiting_since`` tell how long the server has been silent while an answer is awaited.
    * ``change_handler(client, changed)``: called on the event thread with the names of the
      views a frame changed (``"book:XBT:GBP"``, ``"orders"``, ``"balances"`` ...).
    """

    def __init__(
        self,
        url: str,
        msg_handler: Callable[[WSClient, str], Any] | None = None,
        err_handler: Callable[[WSClient, Any], Any] | None = None,
        open_handler: Callable[[WSClient], Any] | None = None,
        close_handler: Callable[[WSClient, int | None, str | None], Any] | None = None,
        ping_handler: Callable[[WSClient, bytes], Any] | None = None,
        pong_handler: Callable[[WSClient, bytes], Any] | None = None,
        insecure_ssl: bool = False,
        socket_timeout: float = 5,
        *,
        reconnect: bool = False,
        scales: Scales = V2,
        views: bool = True,
        ping_interval: float = 45.0,
        change_handler: Callable[[WSClient, Changed], Any] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        stable_after: float = 30.0,
        tonce_clock: TonceClock | None = None,
        max_attempts: int | None = None,
        silence_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.msg_handler = msg_handler
        self.err_handler = err_handler
        self.open_handler = open_handler
        self.close_handler = close_handler
        self.ping_handler = ping_handler
        self.pong_handler = pong_handler
        self.insecure_ssl = insecure_ssl
        self.socket_timeout = socket_timeout
        self.reconnect = reconnect
        self.scales = scales
        self.ping_interval = ping_interval
        self.change_handler = change_handler
        self.stable_after = stable_after
        self.max_attempts = max_attempts
        self.silence_timeout = silence_timeout
        self.tonces = tonce_clock or TONCES
        self.user_id: int | None = None
        self.cookie: str | None = None
        self._key: PrivateKey | None = None

        self.lock = threading.RLock()
        """Held by the event thread while it changes the views; hold it to read them."""
        self._cond = threading.Condition(threading.RLock())
        self._session = Session(
            url,
            Views(scales) if views else None,
            self.lock,
            self._cond,
            report=self._report,
            on_change=self._changed,
            on_welcome=self._welcomed,
        )
        self._connect_lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._conn: _Connection | None = None
        self._state: ClientState = "disconnected"
        self._event_thread: threading.Thread | None = None
        self._stopping = False
        self._stop_event = threading.Event()
        self._retry = Reconnector(backoff_base, backoff_cap, max_attempts)
        self._ever_connected = False
        self._latency: float | None = None
        self._ping_seq = itertools.count(1)

        if insecure_ssl:
            warnings.warn("insecure_ssl=True: TLS certificates will not be verified", stacklevel=2)
            self._sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        else:
            self._sslopt = {"cert_reqs": ssl.CERT_REQUIRED}

    # -- seed API --------------------------------------------------------------------------

    def set_auth_data(self, user_id: int | str, cookie: str, passphrase: str | bytes) -> None:
        """Set the credentials. Only the derived private key is kept, never the passphrase.

        ``user_id`` is a positive int or a string of digits (as the seed's ``int()`` took);
        ``ValueError`` otherwise, raised from frames that no longer hold the passphrase.
        """
        error: Exception | None = None
        try:
            user_id = parse_user_id(user_id)  # before the passphrase is touched
            key = derive_private_key(user_id, passphrase)
        except ValueError as exc:
            error = ValueError(str(exc))
        except TypeError as exc:
            error = TypeError(str(exc))
        del passphrase
        if error is not None:
            raise error  # outside the except block: no frame or chained exception holds it
        with self._cond:
            self.user_id = user_id
            self.cookie = cookie
            self._key = key
            conn = self._conn
            if conn is not None and not conn.authenticated:
                conn.auth_future = None  # a failed attempt may be retried with the new data

    def send(self, json_message: Mapping[str, Any]) -> Future[Any]:
        """Validate, authenticate if needed, connect if needed, send; a future of the reply.

        The future resolves to ``parse_reply(method, reply)`` or fails with the reply's typed
        ``CoinfloorError``; with ``tag`` 0 it resolves to None once sent (no correlation).
        ``ValidationError`` is raised (nothing sent) for a malformed command.

        A command sent with ``tag`` 0 is not followed: its reply reaches ``msg_handler`` only,
        and it does not change the local views. ``WatchOrders``/``WatchTicker`` with tag 0
        subscribe on the server (and again after a reconnection) without opening a local book
        or ticker (one opened would wait for a snapshot that is never matched to it);
        unsubscribing with tag 0 still closes them. ``PlaceOrder`` with tag 0 is not tracked as
        an order in flight.
        """
        if not isinstance(json_message, Mapping):
            raise ValidationError("a command must be a JSON object (dict)")
        validate_command(json_message, self.scales)
        return self._submit(json_message)

    def _submit(self, command: Mapping[str, Any], auto_tonce: bool = False) -> Future[Any]:
        """Authenticate if needed, connect if needed, send (already validated)."""
        if command["method"] not in PUBLIC_METHODS:
            self.authenticate()
        conn = self._smart_connect()
        if conn is None:
            return failed(ConnectionError(f"Connection to {self.url} failed: not connected"))
        return self._send_on(conn, command, auto_tonce=auto_tonce)

    def authenticate(self) -> None:
        """Authenticate the connection (once); seed semantics for errors and timeouts.

        A refusal that would recur (wrong cookie or signature, no such user) is final for the
        connection until ``set_auth_data``; a passing one (rate limit, lost reply) is retried
        by the next call rather than sticking.
        """
        conn = self._conn
        if conn is not None and not conn.closed and conn.transport.dead_reason is None:
            auth = conn.auth_future
            if auth is not None and auth.done():
                exc = auth.exception()
                if exc is None or definitive(exc):
                    return
                with self._auth_lock:
                    if conn.auth_future is auth:
                        conn.auth_future = None  # try again below
        if self._key is None or self.user_id is None or self.cookie is None:
            self._fail("Missing authentication data")
            return
        conn = self._smart_connect()
        if conn is None:
            return
        on_event_thread = threading.current_thread() is self._event_thread
        with self._auth_lock:
            future = conn.auth_future
            if future is None:
                if conn.nonce is None and not on_event_thread:
                    conn.welcome.wait(self.socket_timeout)
                if conn.nonce is None:
                    self._fail("Server nonce not received before timeout")
                    return
                future = self._start_auth(conn, report=on_event_thread)
        if on_event_thread:
            return  # pipelined: the server handles the commands that follow after it
        try:
            future.result(timeout=self.socket_timeout)
        except CoinfloorError:
            self._fail("Authentication failed")
        except (FutureTimeout, ConnectionError):
            self._fail("Unable to complete authentication")

    def stop(self) -> None:
        """Close the connection and stop the event thread (and any reconnection).

        Bounded even when the server stopped reading: the close frame is only sent if it can
        be at once; otherwise the socket is aborted (blocked senders then fail at once).
        """
        with self._cond:
            self._stopping = True
            self._stop_event.set()
            self._retry.hurry.set()
            conn = self._conn
            thread = self._event_thread
        if conn is not None:
            conn.transport.stopping = True
            if not conn.transport.send_close():
                conn.transport.abort()
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(1.0, self.socket_timeout))
            if thread.is_alive() and conn is not None:
                conn.transport.abort()
                thread.join(self.socket_timeout)
        elif conn is not None:
            conn.transport.abort()

    def GetBalances(self, **data: Any) -> Future[Any]:
        data["method"] = "GetBalances"
        return self.send(data)

    def GetOrders(self, **data: Any) -> Future[Any]:
        data["method"] = "GetOrders"
        return self.send(data)

    def EstimateMarketOrder(self, **data: Any) -> Future[Any]:
        data["method"] = "EstimateMarketOrder"
        return self.send(data)

    def PlaceOrder(self, **data: Any) -> Future[Any]:
        data["method"] = "PlaceOrder"
        return self.send(data)

    def CancelOrder(self, **data: Any) -> Future[Any]:
        data["method"] = "CancelOrder"
        return self.send(data)

    def CancelAllOrders(self, **data: Any) -> Future[Any]:
        data["method"] = "CancelAllOrders"
        return self.send(data)

    def GetTradeVolume(self, **data: Any) -> Future[Any]:
        data["method"] = "GetTradeVolume"
        return self.send(data)

    def WatchOrders(self, **data: Any) -> Future[Any]:
        data["method"] = "WatchOrders"
        return self.send(data)

    def WatchTicker(self, **data: Any) -> Future[Any]:
        data["method"] = "WatchTicker"
        return self.send(data)

    # Seed attributes some callers read.
    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed

    @property
    def auth_complete(self) -> bool:
        conn = self._conn
        return conn is not None and conn.auth_future is not None and conn.auth_future.done()

    @property
    def auth_okay(self) -> bool:
        conn = self._conn
        return conn is not None and conn.authenticated

    @property
    def auth_error(self) -> BaseException | None:
        """Why this connection's authentication failed (the server's typed error, or the
        connection's), or None: not failed, or not tried yet. ``authenticate()`` itself keeps
        the seed's generic message."""
        conn = self._conn
        future = None if conn is None else conn.auth_future
        if future is None or not future.done():
            return None
        return future.exception()

    # -- higher-level API ------------------------------------------------------------------

    def place_order(
        self,
        pair: PairLike,
        quantity: Amount | None = None,
        price: Amount | None = None,
        total: Amount | None = None,
        persist: bool | None = True,
        *,
        tonce: int | None = None,
    ) -> Future[Any]:
        """Place an order given in logical units (``Decimal`` or decimal strings).

        ``quantity`` is signed (negative sells); with ``price`` a limit order, alone a market
        order by quantity; ``total`` alone (signed) a market order by total. Amounts convert
        exactly with the client's scales (``ConversionError`` otherwise). ``persist=False``
        sends ``"persist": false`` (None or True: the server's default). A tonce is always
        added and the order registered with the own-orders view before it is sent, so fills
        that overtake the reply are recognised; an automatic tonce is taken as the frame is
        written, so concurrent callers' orders reach the wire in tonce order.

        The future resolves to ``PlacedOrder`` (limit) or ``MarketResult`` (market), or fails
        with the reply's ``CoinfloorError``. If the connection dies before the reply: with
        ``reconnect=True`` the outcome is settled by tonce on the next connection (found open:
        ``PlacedOrder``; placed but no longer open: ``ClosedOrder``; never placed: re-sent once,
        same tonce, and its reply settles it); otherwise it fails with ``OrderOutcomeUnknown``.
        See ``cfdash.client.inflight`` for the policy and its limits.
        """
        command = commands.place_order(self.scales, pair, quantity, price, total, persist, tonce)
        validate_command({"tonce": 1, **command}, self.scales)  # before spending a tonce
        return self._submit(command, auto_tonce=tonce is None)

    def cancel_order(self, id: int | None = None, tonce: int | None = None) -> Future[Any]:
        """Cancel one order by ``id`` or by ``tonce`` (exactly one)."""
        return self.send(commands.cancel_order(id, tonce))

    def cancel_all_orders(self) -> Future[Any]:
        return self.send({"method": "CancelAllOrders"})

    def estimate(
        self, pair: PairLike, quantity: Amount | None = None, total: Amount | None = None
    ) -> Future[Any]:
        """EstimateMarketOrder in logical units (signed: negative sells)."""
        return self.send(commands.estimate(self.scales, pair, quantity, total))

    def trade_volume(self, asset: int | str) -> Future[Any]:
        return self.send(commands.trade_volume(asset))

    def watch(self, pair: PairLike) -> Future[tuple[Any, Any]]:
        """Subscribe to the pair's orders and ticker; a future of both replies."""
        return self._watch(pair, True)

    def unwatch(self, pair: PairLike) -> Future[tuple[Any, Any]]:
        """Unsubscribe from the pair's orders and ticker; a future of both replies."""
        return self._watch(pair, False)

    def _watch(self, pair: PairLike, on: bool) -> Future[tuple[Any, Any]]:
        p = parse_pair(pair)
        return gather(  # type: ignore[return-value]
            [
                self.WatchOrders(base=p.base, counter=p.counter, watch=on),
                self.WatchTicker(base=p.base, counter=p.counter, watch=on),
            ]
        )

    # -- views and status ------------------------------------------------------------------

    @property
    def views(self) -> Views | None:
        """Every local view (None when built with ``views=False``)."""
        return self._session.views

    def book(self, pair: PairLike) -> OrderBook | None:
        """The pair's local order book (None unless watched)."""
        p = parse_pair(pair)
        views = self._session.views
        return views.book(p) if views is not None else None

    def ticker(self, pair: PairLike) -> Ticker | None:
        p = parse_pair(pair)
        views = self._session.views
        return views.ticker(p) if views is not None else None

    def trades(self, pair: PairLike) -> Trades | None:
        p = parse_pair(pair)
        views = self._session.views
        return views.trades(p) if views is not None else None

    @property
    def balances(self) -> Balances | None:
        views = self._session.views
        return views.balances if views is not None else None

    @property
    def own_orders(self) -> OwnOrders | None:
        views = self._session.views
        return views.own if views is not None else None

    @property
    def state(self) -> ClientState:
        """One of disconnected, connecting, connected, authenticated, reconnecting."""
        return self._state

    @property
    def reconnect_attempts(self) -> int:
        """Reconnection attempts since the last stable connection."""
        return self._retry.attempts

    @property
    def next_retry_in(self) -> float | None:
        """Seconds until the next reconnection attempt (None unless waiting for one)."""
        return self._retry.next_retry_in()

    @property
    def reconnect_at(self) -> float | None:
        """When (``time.time()``) the next reconnection attempt is due, or None (the same
        value throughout one wait)."""
        at = self._retry.retry_at
        return None if at is None else at[1]

    @property
    def last_received(self) -> float | None:
        """When (``time.monotonic()``) the current connection last received a frame (any:
        a reply, a notice, a pong), or None without a connection."""
        conn = self._conn
        return None if conn is None or conn.closed else conn.transport.last_rx

    @property
    def waiting_since(self) -> float | None:
        """When (``time.monotonic()``) the oldest command or keep-alive ping still unanswered
        on the current connection was sent, or None when nothing is awaited."""
        conn = self._conn
        if conn is None or conn.closed:
            return None
        oldest = conn.transport.ping_sent
        for _ in range(3):  # the event thread may change the dict while we look
            try:
                first = next(iter(conn.sent_at.values()), None)
            except RuntimeError:
                continue
            if first is not None and (oldest is None or first < oldest):
                oldest = first
            break
        return oldest

    def reconnect_now(self, *, drop: bool = False) -> bool:
        """Skip the wait before the next reconnection attempt (``reconnect=True``).

        With ``drop``, an open connection is dropped first (e.g. it has gone silent) and the
        new one is tried at once. Whether an attempt was hastened (False: connected and not
        dropped, an attempt already under way, or the client is not reconnecting).
        """
        if not self.reconnect or self._stopping:
            return False
        conn = self._conn
        if conn is not None and not conn.closed:
            if not drop:
                return False
            self._retry.hurry.set()
            conn.transport.abort("reconnecting now (asked)")
            return True
        if self._state != "reconnecting" or self._retry.retry_at is None:
            return False
        self._retry.hurry.set()
        return True

    @property
    def orders_in_flight(self) -> int:
        """PlaceOrders whose reply was lost with a connection and that are not settled yet."""
        return self._session.orders.orphans

    @property
    def latency(self) -> float | None:
        """The round trip of the last answered keep-alive ping, in seconds."""
        return self._latency

    @property
    def watches(self) -> list[dict[str, Any]]:
        """The Watch commands re-sent after a reconnection."""
        with self._cond:
            return [dict(c) for c in self._session.watches.values()]

    def __enter__(self) -> WSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"WSClient(url={self.url!r}, state={self._state!r}, user_id={self.user_id!r})"

    def __reduce__(self) -> Any:
        raise TypeError("WSClient cannot be pickled")

    # -- sending ---------------------------------------------------------------------------

    def _send_on(
        self, conn: _Connection, command: Mapping[str, Any], *, auto_tonce: bool = False
    ) -> Future[Any]:
        """Register and send an already validated command on ``conn``.

        Under the send lock: an automatic tonce (``auto_tonce``) is taken, the command
        registered and written, so tonces reach the wire in the order they were taken. The
        views' side (``before_send``) is queued before the frame is written and applied by
        whichever thread next holds ``self.lock`` (``Session.drain``): never a network write
        while holding ``self.lock``, never ``self.lock`` while holding the send lock.
        """
        session = self._session
        command, tag, follow = session.prepare(conn, command)
        method = command["method"]
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        transport = conn.transport
        wait = 2 * self.socket_timeout + 0.5  # a stuck send times out before that
        locked = transport.send_lock.acquire(timeout=wait)
        failure: str | None = None
        try:
            if auto_tonce:
                command["tonce"] = self.tonces.next()
            tonce = tonce_at_risk(command)
            if not locked:
                transport.abort(f"a send has been blocked for more than {wait} s")
            with self._cond:
                closed = conn.closed or transport.dead_reason is not None
                # Not sent: a reconnection may still place it.
                kept = closed and bool(tonce and tag) and self._can_keep_orphans()
                if kept and tonce is not None:
                    session.orders.orphan(tonce, future, command)
                if not closed:
                    session.register(conn, command, future, time.monotonic())
            if closed:
                if not kept:  # never sent: a plain failure
                    future.set_exception(ConnectionError(f"Connection to {self.url} is closed"))
                return future
            if follow:
                session.expect(command)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("send %s tag=%s", method, tag)  # never the frame: it may hold a cookie
            try:
                transport.send_frame(json.dumps(command))
            except ConnectionError as exc:
                failure = str(exc)
        finally:
            if locked:
                transport.send_lock.release()
            if follow:
                session.drain()
        if failure is None:
            if not tag:
                future.set_result(None)
            return future
        if tonce and tag:
            return future  # partly sent, perhaps: settled when the reader notices (_lost)
        with self._cond:
            session.unregister(conn, tag)
        settle(future, exc=ConnectionError(f"Connection to {self.url} failed: {failure}"))
        if threading.current_thread() is not self._event_thread:
            self._fail(failure)
        return future

    def _can_keep_orphans(self) -> bool:
        """Whether a PlaceOrder whose reply a connection takes with it can be kept, to settle
        after reconnecting. Call under ``_cond`` (every move to "disconnected" is followed by
        ``Session.fail_orphans``)."""
        return self.reconnect and not self._stopping and self._state != "disconnected"

    def _start_auth(self, conn: _Connection, report: bool) -> Future[Any]:
        """Send Authenticate on ``conn`` (its nonce is known); the future of its reply."""
        assert self._key is not None and self.user_id is not None and self.cookie is not None
        assert conn.nonce is not None
        tag = self._session.next_tag(conn)
        command = authenticate_command(self.user_id, self.cookie, self._key, conn.nonce, tag=tag)
        future = self._send_on(conn, command)
        conn.auth_future = future

        def done(f: Future[Any]) -> None:
            exc = f.exception()
            with self._cond:
                if exc is None:
                    self._session.authenticated(conn)
                    if self._conn is conn:
                        self._state = "authenticated"
                self._cond.notify_all()
            if exc is not None and report and not conn.closed:
                failure = (
                    "Authentication failed"
                    if isinstance(exc, CoinfloorError)
                    else "Unable to complete authentication"
                )
                self._report(failure)
            if exc is not None and conn.restore and not conn.closed and not definitive(exc):
                # A re-authentication after a drop that may pass next time (rate limit, lost
                # reply): a new connection tries again, after the reconnection backoff.
                conn.transport.abort(f"re-authentication failed: {exc}")

        future.add_done_callback(done)
        return future

    # -- connecting ------------------------------------------------------------------------

    def _usable(self) -> _Connection | None:
        conn = self._conn
        if conn is None or conn.closed or conn.transport.dead_reason is not None:
            return None  # a connection being aborted is as good as closed
        return conn if conn.ready else None

    def _smart_connect(self) -> _Connection | None:
        """The open connection, opening one if needed (bounded by ``socket_timeout``).

        A reconnected connection is handed out once restored (re-authenticated, orders in
        flight settled), so that no command overtakes the settlement. While reconnecting after
        a drop (usually a blip) a command waits up to ``socket_timeout`` for the new
        connection; a client that has never connected fails at once (and keeps retrying in
        the background with ``reconnect=True``).
        """
        conn = self._conn
        on_events = threading.current_thread() is self._event_thread
        if (
            conn is not None
            and not conn.closed
            and conn.transport.dead_reason is None
            and (conn.ready or on_events)
        ):
            return conn
        if (conn is not None and not conn.closed) or self._state == "reconnecting":
            if on_events or not self._ever_connected:  # e.g. a send from close_handler
                self._fail("not connected (reconnecting)")
                return None
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._usable() is not None
                        or (self._conn is None and self._state != "reconnecting")
                    ),
                    self.socket_timeout,
                )
                conn = self._usable()
                busy = None
                if conn is None and (self._conn is not None or self._state == "reconnecting"):
                    busy = "restoring" if self._conn is not None else "reconnecting"
            if conn is not None:
                return conn
            if busy is not None:
                self._fail(f"not connected ({busy})")
                return None
        if not self._connect_lock.acquire(timeout=self.socket_timeout * 2):
            self._fail("timed out waiting for another thread to connect")
            return None
        try:
            conn = self._conn
            if conn is not None and not conn.closed:
                return conn
            with self._cond:
                self._stopping = False
                self._stop_event = threading.Event()
                self._retry.hurry.clear()
            try:
                conn = self._open(restore=False)
            except Exception as exc:
                if self.reconnect:  # keep trying in the background
                    self._set_state("reconnecting")
                    self._start_events(None)
                else:
                    self._set_state("disconnected")
                self._fail(exc)
                return None
            self._start_events(conn)
            return conn
        finally:
            self._connect_lock.release()

    def _start_events(self, conn: _Connection | None) -> None:
        thread = threading.Thread(
            target=self._run, args=(conn,), name="cfdash-client-events", daemon=True
        )
        self._event_thread = thread
        thread.start()

    def _open(self, restore: bool) -> _Connection:
        """Connect a new WebSocket and make it the current connection."""
        if not restore:
            self._set_state("connecting")
        conn = _Connection(Transport.open(self.url, self._sslopt, self.socket_timeout), restore)
        with self._cond:
            self._ever_connected = True
            self._conn = conn
            self._state = "connected"
            self._cond.notify_all()
        threading.Thread(
            target=self._keepalive, args=(conn,), name="cfdash-client-keepalive", daemon=True
        ).start()
        log.info("connected to %s", self.url)
        return conn

    def _set_state(self, state: ClientState) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()

    def _mark_ready(self, conn: _Connection) -> None:
        with self._cond:
            conn.ready = True
            self._cond.notify_all()

    # -- the event thread ------------------------------------------------------------------

    def _run(self, conn: _Connection | None) -> None:
        """The event thread: read frames until the connection ends; reconnect if asked.

        ``conn`` is None when the first connection failed and ``reconnect`` is on.
        """
        current = conn if conn is not None else self._reconnect_loop()
        while current is not None:
            self._call(self.open_handler)
            reason, status, close_reason = self._read(current)
            self._lost(current, reason, status, close_reason)
            current = self._reconnect_loop() if self._will_reconnect(current) else None

    def _read(self, conn: _Connection) -> Closed:
        """Read until the connection ends (``Transport.read``): text to ``_on_text``."""

        def on_pong(payload: bytes, rtt: float | None) -> None:
            if rtt is not None:
                self._latency = rtt
            self._call(self.pong_handler, payload)

        return conn.transport.read(
            lambda text: self._on_text(conn, text),
            on_pong,
            lambda payload: self._call(self.ping_handler, payload),
            self._report,
        )

    def _on_text(self, conn: _Connection, text: str) -> None:
        """Handle one text frame: decode once, settle or route, then ``msg_handler``.

        A frame that cannot be used (not JSON, a notice with missing or mistyped fields, a
        reply nobody waits for) is reported and skipped; the views never see it.
        """
        try:
            message = decode_frame(text)
        except (ProtocolError, ValueError) as exc:
            self._report(exc)
            message = None
        if message is not None:
            try:
                self._session.receive(conn, message)
            except Exception as exc:  # nothing above should raise: never let a frame kill us
                log.debug("frame handling failed", exc_info=True)
                self._report(ProtocolError(f"frame skipped: {exc!r}"))
        handler = self.msg_handler
        if handler is not None:
            try:
                handler(self, text)
            except Exception as exc:
                self._report(exc)

    def _changed(self, changed: Changed) -> None:
        """The session changed these views: ``change_handler``."""
        if self.change_handler is not None:
            self._call(self.change_handler, changed)

    def _welcomed(self, link: Link) -> None:
        """The server's nonce arrived: a reconnection restores its session."""
        assert isinstance(link, _Connection)
        link.welcome.set()
        if link.restore:
            self._restore(link)

    def _restore(self, conn: _Connection) -> None:
        """After a reconnection: re-authenticate, reload, re-subscribe (all pipelined, as
        ``Session.restore_plan`` says), then settle the orders in flight once the open orders
        are known (``Settlement``)."""
        session = self._session
        plan = session.restore_plan(self._key is not None)
        orders: Future[Any] | None = None
        try:
            if plan.authenticate:
                with self._auth_lock:
                    if conn.auth_future is None:
                        self._start_auth(conn, report=True)
            if plan.balances:
                self._send_on(conn, {"method": "GetBalances"})
            if plan.orders:
                orders = self._send_on(conn, {"method": "GetOrders"})
            for command in plan.watches:
                self._send_on(conn, command)
        except Exception as exc:  # the new connection failed already: _read will notice
            self._report(exc)
            return
        if orders is not None and session.orders:
            settlement = Settlement(
                session,
                conn,
                lambda command: self._send_on(conn, command),
                conn.transport.abort,
                lambda: self._mark_ready(conn),
            )
            orders.add_done_callback(settlement.orders_known)
            return
        if session.orders:  # no credentials to look them up with
            session.fail_orphans("no credentials to settle it with")
        self._mark_ready(conn)

    def _lost(
        self, conn: _Connection, reason: str | None, status: int | None, close_reason: str | None
    ) -> None:
        """The connection ended: fail its futures, reset the views, report, ``close_handler``.

        PlaceOrders with a tonce are kept for settlement when reconnecting.
        """
        session = self._session
        reconnecting = self._will_reconnect(conn)
        with self._cond:
            if self._conn is conn:
                self._conn = None
            self._state = "reconnecting" if reconnecting else "disconnected"
            failed, unknown = session.lost(
                conn, keep_watches=reconnecting, keep_orphans=self._can_keep_orphans()
            )
            self._cond.notify_all()
        conn.transport.done.set()
        conn.transport.shutdown()
        error = ConnectionError(f"Connection to {self.url} lost: {reason or 'closed'}")
        for future in failed:
            settle(future, exc=error)
        for tonce, future in unknown:
            session.outcome_unknown(tonce, future, reason)
        if not reconnecting:
            session.fail_orphans(reason)
        session.views_lost(reset=True, close=not reconnecting)
        if reason is not None:
            log.info("connection to %s lost: %s", self.url, reason)
            self._report(reason)
        if time.monotonic() - conn.transport.opened_at >= self.stable_after:
            self._retry.stable()
        self._call(self.close_handler, status, close_reason)

    def _will_reconnect(self, conn: _Connection) -> bool:
        return self.reconnect and not self._stopping and not conn.transport.stopping

    def _reconnect_loop(self) -> _Connection | None:
        """Open a new connection with backoff; None once stopped or out of attempts."""
        stop = self._stop_event
        retry = self._retry
        why = "stopped"
        while not stop.is_set():
            with self._cond:
                delay = retry.next_delay()
                self._cond.notify_all()
            if delay is None:
                why = f"gave up reconnecting after {retry.attempts} attempts"
                self._report(why)
                break
            if delay:
                log.info("reconnecting to %s in %.2f s", self.url, delay)
                retry.hurry.wait(delay)  # reconnect_now and stop end it early
                if stop.is_set():
                    break
            retry.hurry.clear()
            with self._cond:
                retry.retry_at = None
            if not self._connect_lock.acquire(timeout=self.socket_timeout * 2):
                continue
            try:
                if stop.is_set():
                    break
                try:
                    return self._open(restore=True)
                except Exception as exc:
                    log.info("reconnecting to %s failed: %s", self.url, exc)
            finally:
                self._connect_lock.release()
        with self._cond:
            retry.retry_at = None
            self._state = "disconnected"
            self._session.watches.clear()
            self._cond.notify_all()
        self._session.fail_orphans(why)
        self._session.views_lost(reset=False, close=True)
        return None

    def _keepalive(self, conn: _Connection) -> None:
        """The keep-alive thread: ``run_keepalive`` on this connection (see ``keepalive``).

        It never waits for the send lock: a ping is skipped while another frame is being
        written (that write is bounded by ``socket_timeout``), and a dead connection is
        aborted at the raw socket regardless.
        """
        transport = conn.transport

        def ping(now: float) -> PingResult:
            if not transport.send_lock.acquire(blocking=False):
                return "busy"
            try:
                transport.last_ping = transport.ping_sent = now
                transport.send_frame(str(next(self._ping_seq)).encode(), OP_PING)
            except ConnectionError:
                return "dead"
            finally:
                transport.send_lock.release()
            return "sent"

        interval = self.ping_interval
        timeout = self.socket_timeout
        run_keepalive(
            transport,
            interval,
            timeout,
            self.silence_timeout or interval + timeout,
            ping=ping,
            abort=transport.abort,
            wait=transport.done.wait,
            clock=time.monotonic,
        )

    # -- reporting -------------------------------------------------------------------------

    def _fail(self, error: Any) -> None:
        """A client error in the calling thread: ``err_handler``, else raise (seed)."""
        if self.err_handler is not None:
            self.err_handler(self, error)
        else:
            raise ConnectionError(f"Connection to {self.url} failed: {error}")

    def _report(self, error: Any) -> None:
        """A client error on the event thread: ``err_handler``, else the log."""
        if self.err_handler is not None:
            try:
                self.err_handler(self, error)
            except Exception:
                log.exception("err_handler raised")
        else:
            log.error("Connection to %s failed: %s", self.url, error)

    def _call(self, handler: Callable[..., Any] | None, *args: Any) -> None:
        if handler is None:
            return
        try:
            handler(self, *args)
        except Exception as exc:
            self._report(exc)
