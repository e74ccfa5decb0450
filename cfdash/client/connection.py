"""A ``WSClient``'s connections over time: connect, the event thread, reconnect, restore.

The ``Connector`` holds the current ``Connection`` (a ``Transport`` and its ``Link`` of the
session) and the client's connection state, and runs the threads: the event thread reads
frames into the ``Session`` and, after a drop, reconnects (``Reconnector``), restores the
session (``Session.restore_plan``) and settles the orders in flight (``Settlement``); each
connection's keep-alive thread runs ``keepalive.run_keepalive``. It reads its options,
user id, cookie and handlers from the client that owns it (``owner``), so that they may change
after construction as in the seed.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Literal

from cfdash.core.auth import PrivateKey, authenticate_command
from cfdash.core.errors import CoinfloorError, ProtocolError
from cfdash.core.views import Changed, Views

from .frames import OP_PING
from .futures import settle
from .inflight import tonce_at_risk
from .keepalive import PingResult, run_keepalive
from .protocol import decode_frame
from .reconnect import Reconnector
from .session import Link, Session, definitive
from .settlement import Settlement
from .transport import Closed, Transport

if TYPE_CHECKING:
    from .wsclient import WSClient

__all__ = ["ClientState", "Connection", "Connector"]

log = logging.getLogger("cfdash.client")

ClientState = Literal["disconnected", "connecting", "connected", "authenticated", "reconnecting"]


class Connection(Link):
    """One WebSocket connection: its transport, and its share of the session (``Link``)."""

    __slots__ = ("transport", "welcome")

    def __init__(self, transport: Transport, restore: bool) -> None:
        super().__init__(restore)
        self.transport = transport
        self.welcome = threading.Event()
        """Set once the server's nonce has arrived."""


class Connector:
    """The connection side of a ``WSClient`` (see the module's docstring).

    ``cond`` guards the state (``conn``, ``state``, the session's watch registry) and is
    notified at each change; ``owner.lock`` guards the views.
    """

    def __init__(
        self,
        owner: WSClient,
        views: Views | None,
        sslopt: dict[str, Any],
        backoff_base: float,
        backoff_cap: float,
        max_attempts: int | None,
    ) -> None:
        self.owner = owner
        self.cond = threading.Condition(threading.RLock())
        self.session = Session(
            owner.url,
            views,
            owner.lock,
            self.cond,
            report=self.report,
            on_change=self.changed,
            on_welcome=self.welcomed,
        )
        self.sslopt = sslopt
        self.key: PrivateKey | None = None
        """The private key derived by ``WSClient.set_auth_data`` (never the passphrase)."""
        self.connect_lock = threading.Lock()
        self.auth_lock = threading.Lock()
        self.conn: Connection | None = None
        self.state: ClientState = "disconnected"
        self.event_thread: threading.Thread | None = None
        self.stopping = False
        self.stop_event = threading.Event()
        self.retry = Reconnector(backoff_base, backoff_cap, max_attempts)
        self.ever_connected = False
        self.latency: float | None = None
        """The round trip of the last answered keep-alive ping (s)."""
        self.ping_seq = itertools.count(1)

    def authenticate(self) -> None:
        """Authenticate the connection (once); seed semantics for errors and timeouts.

        A refusal that would recur (wrong cookie or signature, no such user) is final for the
        connection until ``set_auth_data``; a passing one (rate limit, lost reply) is retried
        by the next call rather than sticking.
        """
        conn = self.conn
        if conn is not None and not conn.closed and conn.transport.dead_reason is None:
            auth = conn.auth_future
            if auth is not None and auth.done():
                exc = auth.exception()
                if exc is None or definitive(exc):
                    return
                with self.auth_lock:
                    if conn.auth_future is auth:
                        conn.auth_future = None  # try again below
        if self.key is None or self.owner.user_id is None or self.owner.cookie is None:
            self.fail("Missing authentication data")
            return
        conn = self.smart_connect()
        if conn is None:
            return
        on_event_thread = threading.current_thread() is self.event_thread
        with self.auth_lock:
            future = conn.auth_future
            if future is None:
                if conn.nonce is None and not on_event_thread:
                    conn.welcome.wait(self.owner.socket_timeout)
                if conn.nonce is None:
                    self.fail("Server nonce not received before timeout")
                    return
                future = self.start_auth(conn, report=on_event_thread)
        if on_event_thread:
            return  # pipelined: the server handles the commands that follow after it
        try:
            future.result(timeout=self.owner.socket_timeout)
        except CoinfloorError:
            self.fail("Authentication failed")
        except (FutureTimeout, ConnectionError):
            self.fail("Unable to complete authentication")

    def stop(self) -> None:
        """Close the connection and stop the event thread (and any reconnection).

        Bounded even when the server stopped reading: the close frame is only sent if it can
        be at once; otherwise the socket is aborted (blocked senders then fail at once).
        """
        with self.cond:
            self.stopping = True
            self.stop_event.set()
            self.retry.hurry.set()
            conn = self.conn
            thread = self.event_thread
        if conn is not None:
            conn.transport.stopping = True
            if not conn.transport.send_close():
                conn.transport.abort()
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(1.0, self.owner.socket_timeout))
            if thread.is_alive() and conn is not None:
                conn.transport.abort()
                thread.join(self.owner.socket_timeout)
        elif conn is not None:
            conn.transport.abort()

    # -- sending ---------------------------------------------------------------------------

    def send_on(
        self, conn: Connection, command: Mapping[str, Any], *, auto_tonce: bool = False
    ) -> Future[Any]:
        """Register and send an already validated command on ``conn``.

        Under the send lock: an automatic tonce (``auto_tonce``) is taken, the command
        registered and written, so tonces reach the wire in the order they were taken. The
        views' side (``before_send``) is queued before the frame is written and applied by
        whichever thread next holds ``self.lock`` (``Session.drain``): never a network write
        while holding ``self.lock``, never ``self.lock`` while holding the send lock.
        """
        session = self.session
        command, tag, follow = session.prepare(conn, command)
        method = command["method"]
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        transport = conn.transport
        wait = 2 * self.owner.socket_timeout + 0.5  # a stuck send times out before that
        locked = transport.send_lock.acquire(timeout=wait)
        failure: str | None = None
        try:
            if auto_tonce:
                command["tonce"] = self.owner.tonces.next()
            tonce = tonce_at_risk(command)
            if not locked:
                transport.abort(f"a send has been blocked for more than {wait} s")
            with self.cond:
                closed = conn.closed or transport.dead_reason is not None
                # Not sent: a reconnection may still place it.
                kept = closed and bool(tonce and tag) and self.can_keep_orphans()
                if kept and tonce is not None:
                    session.orders.orphan(tonce, future, command, sent=False)
                if not closed:
                    session.register(conn, command, future, time.monotonic())
            if closed:
                if not kept:  # never sent: a plain failure
                    future.set_exception(
                        ConnectionError(f"Connection to {self.owner.url} is closed")
                    )
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
        with self.cond:
            session.unregister(conn, tag)
        settle(future, exc=ConnectionError(f"Connection to {self.owner.url} failed: {failure}"))
        if threading.current_thread() is not self.event_thread:
            self.fail(failure)
        return future

    def can_keep_orphans(self) -> bool:
        """Whether a PlaceOrder whose reply a connection takes with it can be kept, to settle
        after reconnecting. Call under ``_cond`` (every move to "disconnected" is followed by
        ``Session.fail_orphans``)."""
        return self.owner.reconnect and not self.stopping and self.state != "disconnected"

    def start_auth(self, conn: Connection, report: bool) -> Future[Any]:
        """Send Authenticate on ``conn`` (its nonce is known); the future of its reply."""
        assert (
            self.key is not None
            and self.owner.user_id is not None
            and self.owner.cookie is not None
        )
        assert conn.nonce is not None
        tag = self.session.next_tag(conn)
        command = authenticate_command(
            self.owner.user_id, self.owner.cookie, self.key, conn.nonce, tag=tag
        )
        future = self.send_on(conn, command)
        conn.auth_future = future

        def done(f: Future[Any]) -> None:
            exc = f.exception()
            with self.cond:
                if exc is None:
                    self.session.authenticated(conn)
                    if self.conn is conn:
                        self.state = "authenticated"
                self.cond.notify_all()
            if exc is not None and report and not conn.closed:
                failure = (
                    "Authentication failed"
                    if isinstance(exc, CoinfloorError)
                    else "Unable to complete authentication"
                )
                self.report(failure)
            if exc is not None and conn.restore and not conn.closed and not definitive(exc):
                # A re-authentication after a drop that may pass next time (rate limit, lost
                # reply): a new connection tries again, after the reconnection backoff.
                conn.transport.abort(f"re-authentication failed: {exc}")

        future.add_done_callback(done)
        return future

    # -- connecting ------------------------------------------------------------------------

    def usable(self) -> Connection | None:
        conn = self.conn
        if conn is None or conn.closed or conn.transport.dead_reason is not None:
            return None  # a connection being aborted is as good as closed
        return conn if conn.ready else None

    def smart_connect(self) -> Connection | None:
        """The open connection, opening one if needed (bounded by ``socket_timeout``).

        A reconnected connection is handed out once restored (re-authenticated, orders in
        flight settled), so that no command overtakes the settlement. While reconnecting after
        a drop (usually a blip) a command waits up to ``socket_timeout`` for the new
        connection; a client that has never connected fails at once (and keeps retrying in
        the background with ``reconnect=True``).
        """
        conn = self.conn
        on_events = threading.current_thread() is self.event_thread
        if (
            conn is not None
            and not conn.closed
            and conn.transport.dead_reason is None
            and (conn.ready or on_events)
        ):
            return conn
        if (conn is not None and not conn.closed) or self.state == "reconnecting":
            if on_events or not self.ever_connected:  # e.g. a send from close_handler
                self.fail("not connected (reconnecting)")
                return None
            with self.cond:
                self.cond.wait_for(
                    lambda: (
                        self.usable() is not None
                        or (self.conn is None and self.state != "reconnecting")
                    ),
                    self.owner.socket_timeout,
                )
                conn = self.usable()
                busy = None
                if conn is None and (self.conn is not None or self.state == "reconnecting"):
                    busy = "restoring" if self.conn is not None else "reconnecting"
            if conn is not None:
                return conn
            if busy is not None:
                self.fail(f"not connected ({busy})")
                return None
        if not self.connect_lock.acquire(timeout=self.owner.socket_timeout * 2):
            self.fail("timed out waiting for another thread to connect")
            return None
        try:
            conn = self.conn
            if conn is not None and not conn.closed:
                return conn
            with self.cond:
                self.stopping = False
                self.stop_event = threading.Event()
                self.retry.hurry.clear()
            try:
                conn = self.open(restore=False)
            except Exception as exc:
                if self.owner.reconnect:  # keep trying in the background
                    self.set_state("reconnecting")
                    self.start_events(None)
                else:
                    self.set_state("disconnected")
                self.fail(exc)
                return None
            self.start_events(conn)
            return conn
        finally:
            self.connect_lock.release()

    def start_events(self, conn: Connection | None) -> None:
        thread = threading.Thread(
            target=self.run, args=(conn,), name="cfdash-client-events", daemon=True
        )
        self.event_thread = thread
        thread.start()

    def open(self, restore: bool) -> Connection:
        """Connect a new WebSocket and make it the current connection."""
        if not restore:
            self.set_state("connecting")
        conn = Connection(
            Transport.open(self.owner.url, self.sslopt, self.owner.socket_timeout), restore
        )
        with self.cond:
            self.ever_connected = True
            self.conn = conn
            self.state = "connected"
            self.cond.notify_all()
        threading.Thread(
            target=self.keepalive, args=(conn,), name="cfdash-client-keepalive", daemon=True
        ).start()
        log.info("connected to %s", self.owner.url)
        return conn

    def set_state(self, state: ClientState) -> None:
        with self.cond:
            self.state = state
            self.cond.notify_all()

    def mark_ready(self, conn: Connection) -> None:
        with self.cond:
            conn.ready = True
            self.cond.notify_all()

    # -- the event thread ------------------------------------------------------------------

    def run(self, conn: Connection | None) -> None:
        """The event thread: read frames until the connection ends; reconnect if asked.

        ``conn`` is None when the first connection failed and ``reconnect`` is on.
        """
        current = conn if conn is not None else self.reconnect_loop()
        while current is not None:
            self.call(self.owner.open_handler)
            reason, status, close_reason = self.read(current)
            self.lost(current, reason, status, close_reason)
            current = self.reconnect_loop() if self.will_reconnect(current) else None

    def read(self, conn: Connection) -> Closed:
        """Read until the connection ends (``Transport.read``): text to ``_on_text``."""

        def on_pong(payload: bytes, rtt: float | None) -> None:
            if rtt is not None:
                self.latency = rtt
            self.call(self.owner.pong_handler, payload)

        return conn.transport.read(
            lambda text: self.on_text(conn, text),
            on_pong,
            lambda payload: self.call(self.owner.ping_handler, payload),
            self.report,
        )

    def on_text(self, conn: Connection, text: str) -> None:
        """Handle one text frame: decode once, settle or route, then ``msg_handler``.

        A frame that cannot be used (not JSON, a notice with missing or mistyped fields, a
        reply nobody waits for) is reported and skipped; the views never see it.
        """
        try:
            message = decode_frame(text)
        except (ProtocolError, ValueError) as exc:
            self.report(exc)
            message = None
        if message is not None:
            try:
                self.session.receive(conn, message)
            except Exception as exc:  # nothing above should raise: never let a frame kill us
                log.debug("frame handling failed", exc_info=True)
                self.report(ProtocolError(f"frame skipped: {exc!r}"))
        handler = self.owner.msg_handler
        if handler is not None:
            try:
                handler(self.owner, text)
            except Exception as exc:
                self.report(exc)

    def changed(self, changed: Changed) -> None:
        """The session changed these views: ``change_handler``."""
        if self.owner.change_handler is not None:
            self.call(self.owner.change_handler, changed)

    def welcomed(self, link: Link) -> None:
        """The server's nonce arrived: a reconnection restores its session."""
        assert isinstance(link, Connection)
        link.welcome.set()
        if link.restore:
            self.restore(link)

    def restore(self, conn: Connection) -> None:
        """After a reconnection: re-authenticate, reload, re-subscribe (all pipelined, as
        ``Session.restore_plan`` says), then settle the orders in flight once the open orders
        are known (``Settlement``)."""
        session = self.session
        plan = session.restore_plan(self.key is not None)
        orders: Future[Any] | None = None
        try:
            if plan.authenticate:
                with self.auth_lock:
                    if conn.auth_future is None:
                        self.start_auth(conn, report=True)
            if plan.balances:
                self.send_on(conn, {"method": "GetBalances"})
            if plan.orders:
                orders = self.send_on(conn, {"method": "GetOrders"})
            for command in plan.watches:
                self.send_on(conn, command)
        except Exception as exc:  # the new connection failed already: _read will notice
            self.report(exc)
            return
        if orders is not None and session.orders:
            settlement = Settlement(
                session,
                conn,
                lambda command: self.send_on(conn, command),
                conn.transport.abort,
                lambda: self.mark_ready(conn),
            )
            orders.add_done_callback(settlement.orders_known)
            return
        if session.orders:  # no credentials to look them up with
            session.fail_orphans("no credentials to settle it with")
        self.mark_ready(conn)

    def lost(
        self, conn: Connection, reason: str | None, status: int | None, close_reason: str | None
    ) -> None:
        """The connection ended: fail its futures, reset the views, report, ``close_handler``.

        PlaceOrders with a tonce are kept for settlement when reconnecting.
        """
        session = self.session
        reconnecting = self.will_reconnect(conn)
        # The views first: whoever sees the new state must not find the old book still synced.
        session.views_lost(reset=True, close=not reconnecting)
        with self.cond:
            if self.conn is conn:
                self.conn = None
            self.state = "reconnecting" if reconnecting else "disconnected"
            failed, unknown = session.lost(
                conn, keep_watches=reconnecting, keep_orphans=self.can_keep_orphans()
            )
            self.cond.notify_all()
        conn.transport.done.set()
        conn.transport.shutdown()
        error = ConnectionError(f"Connection to {self.owner.url} lost: {reason or 'closed'}")
        for future in failed:
            settle(future, exc=error)
        for tonce, future in unknown:
            session.outcome_unknown(tonce, future, reason)
        if not reconnecting:
            session.fail_orphans(reason)
        if reason is not None:
            log.info("connection to %s lost: %s", self.owner.url, reason)
            self.report(reason)
        if time.monotonic() - conn.transport.opened_at >= self.owner.stable_after:
            self.retry.stable()
        self.call(self.owner.close_handler, status, close_reason)

    def will_reconnect(self, conn: Connection) -> bool:
        return self.owner.reconnect and not self.stopping and not conn.transport.stopping

    def reconnect_loop(self) -> Connection | None:
        """Open a new connection with backoff; None once stopped or out of attempts."""
        stop = self.stop_event
        retry = self.retry
        why = "stopped"
        while not stop.is_set():
            with self.cond:
                delay = retry.next_delay()
                self.cond.notify_all()
            if delay is None:
                why = f"gave up reconnecting after {retry.attempts} attempts"
                self.report(why)
                break
            if delay:
                log.info("reconnecting to %s in %.2f s", self.owner.url, delay)
                retry.hurry.wait(delay)  # reconnect_now and stop end it early
                if stop.is_set():
                    break
            retry.hurry.clear()
            with self.cond:
                retry.retry_at = None
            if not self.connect_lock.acquire(timeout=self.owner.socket_timeout * 2):
                continue
            try:
                if stop.is_set():
                    break
                try:
                    return self.open(restore=True)
                except Exception as exc:
                    log.info("reconnecting to %s failed: %s", self.owner.url, exc)
            finally:
                self.connect_lock.release()
        with self.cond:
            retry.retry_at = None
            self.state = "disconnected"
            self.session.watches.clear()
            self.cond.notify_all()
        self.session.fail_orphans(why)
        self.session.views_lost(reset=False, close=True)
        return None

    def keepalive(self, conn: Connection) -> None:
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
                transport.send_frame(str(next(self.ping_seq)).encode(), OP_PING)
            except ConnectionError:
                return "dead"
            finally:
                transport.send_lock.release()
            return "sent"

        interval = self.owner.ping_interval
        timeout = self.owner.socket_timeout
        run_keepalive(
            transport,
            interval,
            timeout,
            self.owner.silence_timeout or interval + timeout,
            ping=ping,
            abort=transport.abort,
            wait=transport.done.wait,
            clock=time.monotonic,
        )

    # -- reporting -------------------------------------------------------------------------

    def fail(self, error: Any) -> None:
        """A client error in the calling thread: ``err_handler``, else raise (seed)."""
        if self.owner.err_handler is not None:
            self.owner.err_handler(self.owner, error)
        else:
            raise ConnectionError(f"Connection to {self.owner.url} failed: {error}")

    def report(self, error: Any) -> None:
        """A client error on the event thread: ``err_handler``, else the log."""
        if self.owner.err_handler is not None:
            try:
                self.owner.err_handler(self.owner, error)
            except Exception:
                log.exception("err_handler raised")
        else:
            log.error("Connection to %s failed: %s", self.owner.url, error)

    def call(self, handler: Callable[..., Any] | None, *args: Any) -> None:
        if handler is None:
            return
        try:
            handler(self.owner, *args)
        except Exception as exc:
            self.report(exc)
