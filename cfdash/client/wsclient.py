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

import contextlib
import itertools
import json
import logging
import select
import socket
import ssl
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from typing import Any, Literal

import websocket

from cfdash.core.assets import V2, Pair, Scales, asset_code, parse_pair
from cfdash.core.auth import (
    PrivateKey,
    authenticate_command,
    decode_nonce,
    derive_private_key,
    parse_user_id,
)
from cfdash.core.errors import (
    AuthenticationError,
    BadRequestError,
    CoinfloorError,
    NotFoundError,
    ProtocolError,
    TonceOutOfSequenceError,
    ValidationError,
)
from cfdash.core.messages import PlacedOrder
from cfdash.core.views import Balances, Changed, OrderBook, OwnOrders, Ticker, Trades, Views

from .backoff import Backoff
from .closing import NORMAL, InvalidUTF8, close_payload, failure_code, parse_close
from .frames import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameReader, FrameTooLarge
from .guard import VIEW_NOTICES, notice_problem
from .handshake import HandshakeWebSocket, receiver
from .inflight import ClosedOrder, InFlightOrders, OrderOutcomeUnknown
from .protocol import PUBLIC_METHODS, decode_frame, parse_reply, validate_command
from .sync import apply_reply, before_send
from .tonce import TonceClock

__all__ = ["MAX_FRAME_BYTES", "ClientState", "ClosedOrder", "OrderOutcomeUnknown", "WSClient"]

log = logging.getLogger("cfdash.client")

ClientState = Literal["disconnected", "connecting", "connected", "authenticated", "reconnecting"]
PairLike = Pair | str | tuple[int | str, int | str]
Amount = Decimal | int | str

_READ_SIZE = 65536
"""Bytes asked of the socket per read: a burst of notices parsed from one ``recv``."""
MAX_FRAME_BYTES = 16 * 2**20
"""The largest incoming message (after reassembling fragments) the client accepts, in bytes.
A bigger one is reported and its connection dropped (and replaced, with ``reconnect=True``)
as soon as its header announces it, before its payload is buffered."""

_WATCHES = frozenset({"WatchOrders", "WatchTicker"})
# Commands whose sending or reply changes the local views.
_VIEW_METHODS = frozenset(
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

TONCES = TonceClock()
"""The process-wide tonce clock shared by every client (one account may use several)."""


def _definitive(exc: BaseException) -> bool:
    """Whether an authentication failure would recur with the same credentials: a wrong
    cookie or signature (7), no such user (1), a malformed command (8). A rate limit (6), a
    lost connection or a malformed reply may pass."""
    return isinstance(exc, AuthenticationError | NotFoundError | BadRequestError)


def _watchdog_step(
    now: float,
    last_rx: float,
    last_ping: float,
    ping_sent: float | None,
    interval: float,
    timeout: float,
    silence: float,
) -> tuple[str | None, bool, float]:
    """The keep-alive's decision at ``now``: (why the connection is dead or None, whether a
    ping is due, when to look again). The next look is the nearest deadline, so a missed pong
    is caught ``timeout`` after its ping, and silence ``silence`` after the last frame."""
    # The pong deadline, while nothing at all came since the ping.
    pong_by = ping_sent + timeout if ping_sent is not None and last_rx < ping_sent else None
    if pong_by is not None and now >= pong_by:
        return f"no pong within {timeout} s", False, now
    if now >= last_rx + silence:
        return f"nothing received for {silence} s", False, now
    due = ping_sent is None and now >= last_ping + interval
    wake = last_rx + silence
    if pong_by is not None:
        wake = min(wake, pong_by)
    if due:
        wake = min(wake, now + timeout)  # the pong deadline of the ping about to go
    elif last_ping + interval > now:
        wake = min(wake, last_ping + interval)
    return None, due, wake


class _Connection:
    """One WebSocket connection and what belongs to it: pending replies, nonce, auth state."""

    __slots__ = (
        "auth_future",
        "authenticated",
        "closed",
        "dead_reason",
        "done",
        "last_ping",
        "last_rx",
        "nonce",
        "opened_at",
        "pending",
        "ping_sent",
        "raw",
        "ready",
        "restore",
        "send_lock",
        "sent_at",
        "stopping",
        "welcome",
        "ws",
    )

    def __init__(self, ws: websocket.WebSocket, restore: bool) -> None:
        now = time.monotonic()
        self.ws = ws
        self.pending: dict[int, tuple[Future[Any], dict[str, Any]]] = {}
        self.sent_at: dict[int, float] = {}
        """When each pending command was registered (monotonic), oldest first."""
        self.nonce: bytes | None = None
        self.welcome = threading.Event()
        self.auth_future: Future[Any] | None = None
        self.authenticated = False
        self.restore = restore
        self.ready = not restore
        """Open to other threads' commands: a reconnection first restores (and settles orders)."""
        self.closed = False
        self.stopping = False
        self.dead_reason: str | None = None
        self.done = threading.Event()
        self.opened_at = now
        self.last_rx = now
        self.last_ping = now
        self.ping_sent: float | None = None
        self.raw = False
        """A plain TCP socket, written by ``WSClient._write`` (TLS: by websocket-client)."""
        self.send_lock = threading.Lock()
        """Held while a frame is written: frames never interleave, automatic tonces reach the
        wire in order, and the keep-alive can tell that a send is under way."""


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()
    future.set_exception(exc)
    return future


def _settle(future: Future[Any], result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    with contextlib.suppress(InvalidStateError):  # settled by another thread meanwhile
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)


def _field(item: Any, name: str) -> Any:
    """``item[name]`` for a mapping (fallback replies), else ``item.name`` (typed ones)."""
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def gather(futures: Iterable[Future[Any]]) -> Future[tuple[Any, ...]]:
    """A future of every result as a tuple, or the first exception (in the given order)."""
    items = list(futures)
    combined: Future[tuple[Any, ...]] = Future()
    combined.set_running_or_notify_cancel()
    remaining = [len(items)]
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        for f in items:
            if f.exception() is not None:
                _settle(combined, exc=f.exception())
                return
        _settle(combined, tuple(f.result() for f in items))

    if not items:
        combined.set_result(())
    for f in items:
        f.add_done_callback(one_done)
    return combined


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
        self._views: Views | None = Views(scales) if views else None
        self._cond = threading.Condition(threading.RLock())
        self._connect_lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._conn: _Connection | None = None
        self._state: ClientState = "disconnected"
        self._event_thread: threading.Thread | None = None
        self._tags = itertools.count(1)
        self._watches: dict[tuple[str, int, int], dict[str, Any]] = {}
        self._was_authenticated = False
        self._stopping = False
        self._stop_event = threading.Event()
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._attempts = 0  # reconnection attempts since the last stable connection
        self._ever_connected = False
        self._retry_at: float | None = None  # monotonic time of the next attempt
        self._retry_wall: float | None = None  # the same, as time.time()
        self._hurry = threading.Event()
        """Set by ``reconnect_now`` (and ``stop``): the reconnection wait ends at once."""
        self._orders = InFlightOrders()
        self._unknown_notices: set[str] = set()
        self._latency: float | None = None
        self._ping_seq = itertools.count(1)
        self._expected: deque[dict[str, Any]] = deque()
        """Commands sent whose ``before_send`` the views have not seen yet (see ``_drain``)."""

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
            return _failed(ConnectionError(f"Connection to {self.url} failed: not connected"))
        return self._send_on(conn, command, auto_tonce=auto_tonce)

    def authenticate(self) -> None:
        """Authenticate the connection (once); seed semantics for errors and timeouts.

        A refusal that would recur (wrong cookie or signature, no such user) is final for the
        connection until ``set_auth_data``; a passing one (rate limit, lost reply) is retried
        by the next call rather than sticking.
        """
        conn = self._conn
        if conn is not None and not conn.closed and conn.dead_reason is None:
            auth = conn.auth_future
            if auth is not None and auth.done():
                exc = auth.exception()
                if exc is None or _definitive(exc):
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
            self._hurry.set()
            conn = self._conn
            thread = self._event_thread
        if conn is not None:
            conn.stopping = True
            if not self._send_close(conn):
                self._abort(conn)
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(1.0, self.socket_timeout))
            if thread.is_alive() and conn is not None:
                self._abort(conn)
                thread.join(self.socket_timeout)
        elif conn is not None:
            self._abort(conn)

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
        p = parse_pair(pair)
        command: dict[str, Any] = {"method": "PlaceOrder", "base": p.base, "counter": p.counter}
        if quantity is not None:
            command["quantity"] = self.scales.quantity_to_wire(p, quantity)
        if price is not None:
            command["price"] = self.scales.price_to_wire(p, price)
        if total is not None:
            command["total"] = self.scales.total_to_wire(p, total)
        if persist is False:
            command["persist"] = False
        if tonce is not None:
            command["tonce"] = tonce
        validate_command({"tonce": 1, **command}, self.scales)  # before spending a tonce
        return self._submit(command, auto_tonce=tonce is None)

    def cancel_order(self, id: int | None = None, tonce: int | None = None) -> Future[Any]:
        """Cancel one order by ``id`` or by ``tonce`` (exactly one)."""
        command: dict[str, Any] = {"method": "CancelOrder"}
        if id is not None:
            command["id"] = id
        if tonce is not None:
            command["tonce"] = tonce
        return self.send(command)

    def cancel_all_orders(self) -> Future[Any]:
        return self.send({"method": "CancelAllOrders"})

    def estimate(
        self, pair: PairLike, quantity: Amount | None = None, total: Amount | None = None
    ) -> Future[Any]:
        """EstimateMarketOrder in logical units (signed: negative sells)."""
        p = parse_pair(pair)
        command: dict[str, Any] = {
            "method": "EstimateMarketOrder",
            "base": p.base,
            "counter": p.counter,
        }
        if quantity is not None:
            command["quantity"] = self.scales.quantity_to_wire(p, quantity)
        if total is not None:
            command["total"] = self.scales.total_to_wire(p, total)
        return self.send(command)

    def trade_volume(self, asset: int | str) -> Future[Any]:
        return self.send({"method": "GetTradeVolume", "asset": asset_code(asset)})

    def watch(self, pair: PairLike) -> Future[tuple[Any, Any]]:
        """Subscribe to the pair's orders and ticker; a future of both replies."""
        p = parse_pair(pair)
        return gather(  # type: ignore[return-value]
            [
                self.WatchOrders(base=p.base, counter=p.counter, watch=True),
                self.WatchTicker(base=p.base, counter=p.counter, watch=True),
            ]
        )

    def unwatch(self, pair: PairLike) -> Future[tuple[Any, Any]]:
        """Unsubscribe from the pair's orders and ticker; a future of both replies."""
        p = parse_pair(pair)
        return gather(  # type: ignore[return-value]
            [
                self.WatchOrders(base=p.base, counter=p.counter, watch=False),
                self.WatchTicker(base=p.base, counter=p.counter, watch=False),
            ]
        )

    # -- views and status ------------------------------------------------------------------

    @property
    def views(self) -> Views | None:
        """Every local view (None when built with ``views=False``)."""
        return self._views

    def book(self, pair: PairLike) -> OrderBook | None:
        """The pair's local order book (None unless watched)."""
        p = parse_pair(pair)
        return self._views.book(p) if self._views is not None else None

    def ticker(self, pair: PairLike) -> Ticker | None:
        p = parse_pair(pair)
        return self._views.ticker(p) if self._views is not None else None

    def trades(self, pair: PairLike) -> Trades | None:
        p = parse_pair(pair)
        return self._views.trades(p) if self._views is not None else None

    @property
    def balances(self) -> Balances | None:
        return self._views.balances if self._views is not None else None

    @property
    def own_orders(self) -> OwnOrders | None:
        return self._views.own if self._views is not None else None

    @property
    def state(self) -> ClientState:
        """One of disconnected, connecting, connected, authenticated, reconnecting."""
        return self._state

    @property
    def reconnect_attempts(self) -> int:
        """Reconnection attempts since the last stable connection."""
        return self._attempts

    @property
    def next_retry_in(self) -> float | None:
        """Seconds until the next reconnection attempt (None unless waiting for one)."""
        at = self._retry_at
        return None if at is None else max(0.0, at - time.monotonic())

    @property
    def reconnect_at(self) -> float | None:
        """When (``time.time()``) the next reconnection attempt is due, or None (the same
        value throughout one wait)."""
        return self._retry_wall if self._retry_at is not None else None

    @property
    def last_received(self) -> float | None:
        """When (``time.monotonic()``) the current connection last received a frame (any:
        a reply, a notice, a pong), or None without a connection."""
        conn = self._conn
        return None if conn is None or conn.closed else conn.last_rx

    @property
    def waiting_since(self) -> float | None:
        """When (``time.monotonic()``) the oldest command or keep-alive ping still unanswered
        on the current connection was sent, or None when nothing is awaited."""
        conn = self._conn
        if conn is None or conn.closed:
            return None
        oldest = conn.ping_sent
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
            self._hurry.set()
            self._abort(conn, "reconnecting now (asked)")
            return True
        if self._state != "reconnecting" or self._retry_at is None:
            return False
        self._hurry.set()
        return True

    @property
    def orders_in_flight(self) -> int:
        """PlaceOrders whose reply was lost with a connection and that are not settled yet."""
        return self._orders.orphans

    @property
    def latency(self) -> float | None:
        """The round trip of the last answered keep-alive ping, in seconds."""
        return self._latency

    @property
    def watches(self) -> list[dict[str, Any]]:
        """The Watch commands re-sent after a reconnection."""
        with self._cond:
            return [dict(c) for c in self._watches.values()]

    def __enter__(self) -> WSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"WSClient(url={self.url!r}, state={self._state!r}, user_id={self.user_id!r})"

    def __reduce__(self) -> Any:
        raise TypeError("WSClient cannot be pickled")

    # -- sending ---------------------------------------------------------------------------

    def _next_tag(self, pending: Mapping[int, Any]) -> int:
        tag = next(self._tags)
        while tag in pending:
            tag = next(self._tags)
        return tag

    def _send_on(
        self, conn: _Connection, command: Mapping[str, Any], *, auto_tonce: bool = False
    ) -> Future[Any]:
        """Register and send an already validated command on ``conn``.

        Under ``conn.send_lock``: an automatic tonce (``auto_tonce``) is taken, the command
        registered and written, so tonces reach the wire in the order they were taken. The
        views' side (``before_send``) is queued before the frame is written and applied by
        whichever thread next holds ``self.lock`` (``_drain``): never a network write while
        holding ``self.lock``, never ``self.lock`` while holding the send lock.
        """
        method = command["method"]
        tag = command.get("tag")
        if tag is None:
            tag = self._next_tag(conn.pending)
            command = {**command, "tag": tag}
        elif tag in conn.pending:
            raise ValidationError(f"tag {tag} is already in use by a command in flight")
        else:
            command = dict(command)
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        views = self._views
        # A tag-0 reply is never matched to its command: such a command must not leave a view
        # waiting for it (a book buffering notices for ever, an order in flight for ever).
        follow = views is not None and method in _VIEW_METHODS
        if follow and not tag:
            follow = method in _WATCHES and not command.get("watch", True)
        wait = self._send_wait()
        locked = conn.send_lock.acquire(timeout=wait)
        failure: str | None = None
        try:
            if auto_tonce:
                command["tonce"] = self.tonces.next()
            tonce = command.get("tonce") if method == "PlaceOrder" else None
            if not locked:
                self._abort(conn, f"a send has been blocked for more than {wait} s")
            with self._cond:
                closed = conn.closed or conn.dead_reason is not None
                # Not sent: a reconnection may still place it.
                kept = closed and bool(tonce and tag) and self._keep_orphan(tonce, future, command)
                if not closed:
                    if tonce and tag:
                        self._orders.track(tonce, future)
                    if tag:
                        conn.pending[tag] = (future, command)
                        conn.sent_at[tag] = time.monotonic()
                    if method in _WATCHES:
                        key = (method, command["base"], command["counter"])
                        if command.get("watch", True):
                            self._watches[key] = {
                                k: v for k, v in command.items() if k != "tag" or not v
                            }
                        else:
                            self._watches.pop(key, None)
            if closed:
                if not kept:  # never sent: a plain failure
                    future.set_exception(ConnectionError(f"Connection to {self.url} is closed"))
                return future
            if follow:
                self._expected.append(command)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("send %s tag=%s", method, tag)  # never the frame: it may hold a cookie
            try:
                self._send_frame(conn, json.dumps(command))
            except ConnectionError as exc:
                failure = str(exc)
        finally:
            if locked:
                conn.send_lock.release()
            if follow:
                self._drain()
        if failure is None:
            if not tag:
                future.set_result(None)
            return future
        if tonce and tag:
            return future  # partly sent, perhaps: settled when the reader notices (_lost)
        with self._cond:
            conn.pending.pop(tag, None)
            conn.sent_at.pop(tag, None)
        _settle(future, exc=ConnectionError(f"Connection to {self.url} failed: {failure}"))
        if threading.current_thread() is not self._event_thread:
            self._fail(failure)
        return future

    def _send_wait(self) -> float:
        """How long a sender waits for another's send: a stuck one times out before that."""
        return 2 * self.socket_timeout + 0.5

    def _send_frame(self, conn: _Connection, data: str | bytes, opcode: int = OP_TEXT) -> None:
        """Write one frame (hold ``conn.send_lock``). Each write waits at most
        ``socket_timeout`` for room in the socket buffer; a send that fails or cannot progress
        aborts the connection and raises ``ConnectionError``."""
        try:
            if conn.raw:
                self._write(conn, data, opcode)
            else:
                conn.ws.send(data, opcode)
        except websocket.WebSocketTimeoutException:
            reason = f"send timed out after {self.socket_timeout} s (the server is not reading)"
            self._abort(conn, reason)
            raise ConnectionError(reason) from None
        except Exception as exc:
            reason = conn.dead_reason or f"send failed: {exc or type(exc).__name__}"
            self._abort(conn, reason)
            raise ConnectionError(reason) from None

    def _write(self, conn: _Connection, data: str | bytes, opcode: int) -> None:
        """One frame on a blocking plain socket, each write without blocking (MSG_DONTWAIT):
        ``WebSocketTimeoutException`` once no byte could go for ``socket_timeout``."""
        sock = conn.ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("socket is already closed.")
        frame = websocket.ABNF.create_frame(data, opcode)
        buf = memoryview(frame.format())
        deadline: float | None = None
        while buf:
            try:
                sent = sock.send(buf, socket.MSG_DONTWAIT)
            except BlockingIOError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.socket_timeout
                if now >= deadline or not select.select([], [sock], [], deadline - now)[1]:
                    raise websocket.WebSocketTimeoutException("send timed out") from None
                continue
            buf = buf[sent:]
            deadline = None  # progress: the next wait starts afresh

    def _send_close(self, conn: _Connection, code: int = NORMAL) -> bool:
        """Send a close frame (normal by default) if that cannot block; whether it was sent."""
        if not conn.send_lock.acquire(timeout=min(0.2, self.socket_timeout)):
            return False  # a send is stuck
        try:
            sock = conn.ws.sock
            if sock is None or conn.dead_reason is not None:
                return False
            try:
                if not select.select([], [sock], [], 0)[1]:
                    return False  # the buffer is full: the server is not reading
                conn.ws.send(close_payload(code), OP_CLOSE)
            except Exception:
                return False
            return True
        finally:
            conn.send_lock.release()

    def _abort(self, conn: _Connection, reason: str | None = None) -> None:
        """Shut the raw socket down, whatever holds the locks: the reader and any blocked
        sender wake up with an error. ``reason`` (the first one given) is reported."""
        if reason is not None and conn.dead_reason is None:
            conn.dead_reason = reason
        sock = conn.ws.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _drain(self) -> None:
        """Apply the ``before_send`` of every command sent since the last drain, in order."""
        views = self._views
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
    def _views_locked(self) -> Iterator[Views]:
        """``self.lock`` held and the views up to date with every command sent."""
        views = self._views
        assert views is not None
        with self.lock:
            self._drain()
            yield views

    def _start_auth(self, conn: _Connection, report: bool) -> Future[Any]:
        """Send Authenticate on ``conn`` (its nonce is known); the future of its reply."""
        assert self._key is not None and self.user_id is not None and self.cookie is not None
        assert conn.nonce is not None
        command = authenticate_command(
            self.user_id, self.cookie, self._key, conn.nonce, tag=self._next_tag(conn.pending)
        )
        future = self._send_on(conn, command)
        conn.auth_future = future

        def done(f: Future[Any]) -> None:
            exc = f.exception()
            with self._cond:
                if exc is None:
                    conn.authenticated = True
                    self._was_authenticated = True
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
            if exc is not None and conn.restore and not conn.closed and not _definitive(exc):
                # A re-authentication after a drop that may pass next time (rate limit, lost
                # reply): a new connection tries again, after the reconnection backoff.
                self._abort(conn, f"re-authentication failed: {exc}")

        future.add_done_callback(done)
        return future

    # -- connecting ------------------------------------------------------------------------

    def _usable(self) -> _Connection | None:
        conn = self._conn
        if conn is None or conn.closed or conn.dead_reason is not None:
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
            and conn.dead_reason is None
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
                self._hurry.clear()
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
        ws = HandshakeWebSocket(
            sslopt=self._sslopt, skip_utf8_validation=True, enable_multithread=True
        )
        try:
            ws.connect(self.url, timeout=self.socket_timeout)
        except BaseException:
            ws.shutdown()
            raise
        conn = _Connection(ws, restore)
        # Every write is bounded (a send that cannot progress kills the connection). On plain
        # TCP the socket stays blocking and ``_write`` bounds each write itself: a timeout on
        # the socket would add a poll() to every read (three per frame; ingest -25 %). A TLS
        # socket takes the timeout (its reader just reads again after one); on both, the
        # keep-alive thread judges silence.
        conn.raw = ws.sock is not None and not isinstance(ws.sock, ssl.SSLSocket)
        ws.settimeout(None if conn.raw else self.socket_timeout)
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

    def _read(self, conn: _Connection) -> tuple[str | None, int | None, str | None]:
        """Read until the connection ends; (reason or None if normal, close status, reason).

        The socket is read in large chunks and parsed by a ``FrameReader`` (one ``recv`` for
        many small frames, not three per frame); control replies go through the send lock.
        Binary messages are reported and skipped; a message over ``MAX_FRAME_BYTES``, a text
        message that is not UTF-8 or a breach of the framing fails the connection, with the
        close code of RFC 6455 (``closing.failure_code``).
        """
        sock = conn.ws.sock
        if sock is None:
            return "socket is already closed", None, None
        recv = receiver(conn.ws, sock)  # the bytes that came with the handshake first
        feed = FrameReader(MAX_FRAME_BYTES).feed
        on_text = self._on_text
        monotonic = time.monotonic
        try:
            while True:
                try:
                    data = recv(_READ_SIZE)
                except (TimeoutError, ssl.SSLWantReadError):  # TLS: the socket has a timeout
                    if conn.dead_reason is not None:
                        return conn.dead_reason, None, None
                    continue  # quiet for socket_timeout: the keep-alive judges that
                if not data:
                    raise ConnectionError("Connection to remote host was lost.")
                conn.last_rx = monotonic()
                for opcode, payload in feed(data):
                    if opcode == OP_TEXT:
                        try:
                            text = payload.decode("utf-8")
                        except UnicodeDecodeError as exc:
                            raise InvalidUTF8("a text message is not valid UTF-8") from exc
                        on_text(conn, text)
                    elif opcode == OP_BINARY:
                        self._report(
                            ProtocolError(
                                f"binary frame of {len(payload)} bytes skipped: "
                                "the protocol uses text frames"
                            )
                        )
                    elif opcode == OP_PONG:
                        sent = conn.ping_sent
                        if sent is not None:
                            self._latency = conn.last_rx - sent
                            conn.ping_sent = None
                        self._call(self.pong_handler, payload)
                    elif opcode == OP_PING:
                        self._control(conn, payload, OP_PONG)
                        self._call(self.ping_handler, payload)
                    elif opcode == OP_CLOSE:
                        close = parse_close(payload)
                        if not conn.stopping:  # the closing handshake, if it cannot block
                            self._send_close(conn, close.reply)
                        return close.outcome(conn.stopping), close.code, close.reason
        except ProtocolError as exc:  # FrameTooLarge, or a stream that cannot be trusted
            if not isinstance(exc, FrameTooLarge):
                self._report(exc)
            self._send_close(conn, failure_code(exc))  # fail the connection (RFC 6455 7.1.7)
            return conn.dead_reason or str(exc), None, None
        except Exception as exc:
            if conn.dead_reason is not None:
                return conn.dead_reason, None, None
            if conn.stopping:
                return None, None, None
            return (str(exc) or type(exc).__name__), None, None

    def _control(self, conn: _Connection, data: bytes, opcode: int) -> None:
        """Send a control frame (a pong) unless a send is stuck: that one ends the connection."""
        if not conn.send_lock.acquire(timeout=self.socket_timeout):
            return
        try:
            self._send_frame(conn, data, opcode)
        except ConnectionError:
            pass  # aborted: the next read fails
        finally:
            conn.send_lock.release()

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
                self._dispatch(conn, message)
            except Exception as exc:  # nothing above should raise: never let a frame kill us
                log.debug("frame handling failed", exc_info=True)
                self._report(ProtocolError(f"frame skipped: {exc!r}"))
        handler = self.msg_handler
        if handler is not None:
            try:
                handler(self, text)
            except Exception as exc:
                self._report(exc)

    def _dispatch(self, conn: _Connection, message: dict[str, Any]) -> None:
        notice = message.get("notice")
        if notice is not None:
            if notice == "Welcome":
                self._welcome(conn, message)
            elif notice.__class__ is not str:
                self._report(ProtocolError(f"notice name {repr(notice)[:40]} is not a string"))
            elif notice not in VIEW_NOTICES:  # a newer server's, perhaps: not an error
                if notice not in self._unknown_notices and len(self._unknown_notices) < 100:
                    self._unknown_notices.add(notice)
                    log.warning("skipping unknown notice %r", notice[:40])
            elif (problem := notice_problem(message)) is not None:
                self._report(ProtocolError(problem))
            else:
                self._orders.note(message)
                if self._views is not None:
                    with self.lock:  # _views_locked, inlined: this runs for every notice
                        if self._expected:
                            self._drain()
                        changed = self._views.route(message)
                    if changed and self.change_handler is not None:
                        self._call(self.change_handler, changed)
            return
        tag = message.get("tag")
        if tag:
            entry = conn.pending.pop(tag, None) if tag.__class__ is int else None
            if entry is not None:
                conn.sent_at.pop(tag, None)
                self._reply(entry[0], entry[1], message)
            else:
                self._report(ProtocolError(f"reply with unexpected tag {repr(tag)[:40]}"))
        elif "error_code" not in message:
            self._report(ProtocolError("frame is neither a reply nor a notice"))

    def _reply(self, future: Future[Any], command: dict[str, Any], reply: dict[str, Any]) -> None:
        method = command["method"]
        try:
            result = parse_reply(method, reply)
            exc: BaseException | None = None
        except (CoinfloorError, ProtocolError) as error:
            exc = error
        except Exception as error:  # a malformed reply the parser did not expect
            exc = ProtocolError(f"bad {method} reply: {error!r}")
        malformed = isinstance(exc, ProtocolError)
        if malformed:
            self._report(exc)
        elif exc is None:
            self._note_placed(method, command, result)
        views = self._views
        # A malformed reply is not loaded; a malformed snapshot counts as a refusal.
        if views is not None and method in _VIEW_METHODS and (not malformed or method in _WATCHES):
            loaded = {"error_code": 8} if malformed else reply
            try:
                with self._views_locked():
                    changed = apply_reply(views, command, loaded)
            except Exception as error:
                self._report(ProtocolError(f"{method} reply not loaded: {error!r}"))
                changed = frozenset()
            if changed and self.change_handler is not None:
                self._call(self.change_handler, changed)
        code = 8 if malformed else reply.get("error_code")
        if method in _WATCHES and code not in (0, 2, None):
            with self._cond:
                key = (method, command["base"], command["counter"])
                if self._watches.get(key, {}).get("watch", True) and command.get("watch", True):
                    self._watches.pop(key, None)
        if exc is None:
            _settle(future, result)
        else:
            _settle(future, exc=exc)

    def _note_placed(self, method: str, command: Mapping[str, Any], result: Any) -> None:
        """Follow the highest tonce known placed since the last CancelAllOrders (inflight)."""
        if method == "PlaceOrder":
            tonce = command.get("tonce")
            if tonce:
                self._orders.placed(tonce)
        elif method == "GetOrders":
            for order in result or ():
                tonce = _field(order, "tonce")
                if tonce:
                    self._orders.placed(tonce)
        elif method == "CancelAllOrders":
            self._orders.reset_placed()

    def _welcome(self, conn: _Connection, message: Mapping[str, Any]) -> None:
        if conn.nonce is not None:
            self._report("Server nonce received more than once")
            return
        try:
            conn.nonce = decode_nonce(message.get("nonce"))
        except ValueError:
            self._report("Server nonce received is invalid")
            return
        conn.welcome.set()
        if conn.restore:
            self._restore(conn)

    def _restore(self, conn: _Connection) -> None:
        """After a reconnection: re-authenticate, reload, re-subscribe (all pipelined), then
        settle the orders in flight once the open orders are known."""
        orders: Future[Any] | None = None
        try:
            # Orders in flight imply an authenticated session (its reply may have been lost).
            if (self._was_authenticated or self._orders) and self._key is not None:
                with self._auth_lock:
                    if conn.auth_future is None:
                        self._start_auth(conn, report=True)
                if self._views is not None:
                    self._send_on(conn, {"method": "GetBalances"})
                if self._views is not None or self._orders:
                    orders = self._send_on(conn, {"method": "GetOrders"})
            with self._cond:
                watches = list(self._watches.values())
            for command in watches:
                self._send_on(conn, command)
        except Exception as exc:  # the new connection failed already: _read will notice
            self._report(exc)
            return
        if orders is not None and self._orders:
            orders.add_done_callback(lambda f: self._settle_orders(conn, f))
            return
        if self._orders:  # no credentials to look them up with
            self._fail_orphans("no credentials to settle it with")
        self._mark_ready(conn)

    def _settle_orders(self, conn: _Connection, orders: Future[Any]) -> None:
        """The open orders are known: settle each order in flight (see ``inflight``)."""
        exc = orders.exception()
        if exc is not None:
            if conn.closed or isinstance(exc, ConnectionError):
                return  # the orders stay in flight for the next connection
            auth = conn.auth_future
            refused = auth.exception() if auth is not None and auth.done() else None
            if refused is not None and _definitive(refused):
                # The credentials are refused: another connection would be refused as well.
                self._fail_orphans(f"re-authentication refused: {refused}")
                self._mark_ready(conn)
                return
            # Most likely the re-authentication did not pass: try again on a new connection.
            self._abort(conn, f"cannot settle the orders in flight: {exc}")
            return
        open_orders = {_field(o, "tonce"): o for o in orders.result()}
        resends: list[tuple[int, Future[Any], Future[Any]]] = []
        for tonce, future, command in self._orders.take_orphans():
            if future.done():
                continue
            order = open_orders.get(tonce)
            if order is not None:
                log.info("order with tonce %d was placed: it is open", tonce)
                placed = PlacedOrder(_field(order, "id"), _field(order, "time"), {})
                _settle(future, placed)
                continue
            seen, order_id = self._orders.seen(tonce)
            if seen:
                log.info("order with tonce %d was placed and has closed", tonce)
                self._orders.placed(tonce)
                self._forget_in_flight(tonce)
                _settle(future, ClosedOrder(tonce, order_id))
                continue
            log.info("re-sending the order with tonce %d", tonce)
            resends.append((tonce, future, self._send_on(conn, command)))
        if resends:
            # What was known placed before the re-sends reached the server.
            self._await_resends(conn, resends, self._orders.highest_placed)
        self._mark_ready(conn)

    def _await_resends(
        self, conn: _Connection, resends: list[tuple[int, Future[Any], Future[Any]]], higher: int
    ) -> None:
        """Once every re-sent PlaceOrder is answered, settle the callers' futures."""
        answered = gather(inner for _, _, inner in resends)  # done once all are, errors too
        answered.add_done_callback(lambda _: self._resent(conn, resends, higher))

    def _resent(
        self, conn: _Connection, resends: list[tuple[int, Future[Any], Future[Any]]], higher: int
    ) -> None:
        """The replies to re-sent PlaceOrders settle the callers' futures.

        "Tonce is out of sequence" (3) means this tonce *or a higher one* was placed since the
        last CancelAllOrders. It proves this order was placed only when no higher tonce could
        have been: none known placed (``higher``), and every higher order re-sent alongside
        was accepted by its re-send (so was not placed before). Otherwise the outcome is
        unknown, unless GetOrders finds the order open.
        """
        direct = not conn.closed  # every reply came on this connection
        refused: list[tuple[int, Future[Any]]] = []
        for tonce, outer, inner in resends:
            exc = inner.exception()
            if isinstance(exc, TonceOutOfSequenceError):
                refused.append((tonce, outer))
            else:
                _settle(outer, None if exc else inner.result(), exc)
        if not refused:
            return

        def accepted(inner: Future[Any]) -> bool:
            return inner.exception() is None and not isinstance(inner.result(), ClosedOrder)

        def ambiguous(tonce: int) -> bool:
            return (
                not direct
                or higher > tonce
                or any(t > tonce and not accepted(inner) for t, _, inner in resends)
            )

        def checked(f: Future[Any]) -> None:
            rows = f.result() if f.exception() is None else ()
            found = {_field(o, "tonce"): o for o in rows}
            for tonce, outer in refused:
                order = found.get(tonce)
                if order is not None:
                    _settle(outer, PlacedOrder(_field(order, "id"), _field(order, "time"), {}))
                elif ambiguous(tonce):
                    log.info("re-sent order with tonce %d: outcome unknown", tonce)
                    self._outcome_unknown(
                        tonce,
                        outer,
                        "the re-sent order was refused as out of sequence, but an order with a "
                        "higher tonce was (or may have been) placed",
                    )
                else:
                    seen_id = self._orders.seen(tonce)[1]
                    _settle(outer, ClosedOrder(tonce, seen_id, resent=True))

        # Already placed (its tonce is used) and, as GetOrders said, not open? Check once more
        # in case it was placed on the old connection after that GetOrders.
        self._send_on(conn, {"method": "GetOrders"}).add_done_callback(checked)

    def _forget_in_flight(self, tonce: int) -> None:
        """Drop a settled order's in-flight entry from the own-orders view."""
        views = self._views
        if views is not None:
            with self._views_locked():
                changed = views.own.failed(tonce)
            if changed and self.change_handler is not None:
                self._call(self.change_handler, {OwnOrders.name})

    def _unknown(self, tonce: int, why: str | None) -> OrderOutcomeUnknown:
        return OrderOutcomeUnknown(
            f"Connection to {self.url} lost before the reply to PlaceOrder (tonce {tonce}): "
            f"{why or 'closed'}; the order may or may not have been placed",
            tonce,
        )

    def _keep_orphan(self, tonce: int, future: Future[Any], command: Mapping[str, Any]) -> bool:
        """Keep a PlaceOrder whose reply the connection took with it, to settle it after
        reconnecting; False when the client will not reconnect. Call under ``_cond`` (every
        move to "disconnected" is followed by ``_fail_orphans``)."""
        if self.reconnect and not self._stopping and self._state != "disconnected":
            self._orders.orphan(tonce, future, command)
            return True
        return False

    def _outcome_unknown(self, tonce: int, future: Future[Any], why: str | None) -> None:
        self._forget_in_flight(tonce)
        _settle(future, exc=self._unknown(tonce, why))

    def _lost(
        self, conn: _Connection, reason: str | None, status: int | None, close_reason: str | None
    ) -> None:
        """The connection ended: fail its futures, reset the views, report, ``close_handler``.

        PlaceOrders with a tonce are kept for settlement when reconnecting.
        """
        reconnecting = self._will_reconnect(conn)
        with self._cond:
            conn.closed = True
            pending, conn.pending = conn.pending, {}
            conn.sent_at = {}
            if self._conn is conn:
                self._conn = None
            self._state = "reconnecting" if reconnecting else "disconnected"
            if not reconnecting:
                self._watches.clear()
            failed, unknown = [], []
            for future, command in pending.values():
                tonce = command.get("tonce") if command["method"] == "PlaceOrder" else None
                if not tonce:
                    failed.append(future)
                elif not self._keep_orphan(tonce, future, command):
                    unknown.append((tonce, future))
            self._cond.notify_all()
        conn.done.set()
        conn.ws.shutdown()
        error = ConnectionError(f"Connection to {self.url} lost: {reason or 'closed'}")
        for future in failed:
            _settle(future, exc=error)
        for tonce, future in unknown:
            self._outcome_unknown(tonce, future, reason)
        if not reconnecting:
            self._fail_orphans(reason)
        views = self._views
        if views is not None:
            with self._views_locked():
                views.reset()
                if not reconnecting:
                    for key in list(views.pairs):
                        views.close_book(key)
                        views.close_ticker(key)
        if reason is not None:
            log.info("connection to %s lost: %s", self.url, reason)
            self._report(reason)
        if time.monotonic() - conn.opened_at >= self.stable_after:
            self._backoff.reset()
            self._attempts = 0
        self._call(self.close_handler, status, close_reason)

    def _fail_orphans(self, why: str | None) -> None:
        for tonce, future, _ in self._orders.take_orphans():
            self._outcome_unknown(tonce, future, why)

    def _will_reconnect(self, conn: _Connection) -> bool:
        return self.reconnect and not self._stopping and not conn.stopping

    def _reconnect_loop(self) -> _Connection | None:
        """Open a new connection with backoff; None once stopped or out of attempts."""
        stop = self._stop_event
        why = "stopped"
        while not stop.is_set():
            if self.max_attempts is not None and self._attempts >= self.max_attempts:
                why = f"gave up reconnecting after {self._attempts} attempts"
                self._report(why)
                break
            delay = self._backoff.next_delay()
            if self._hurry.is_set():  # reconnect_now: no wait
                delay = 0.0
            self._attempts += 1
            with self._cond:
                self._retry_at = time.monotonic() + delay
                self._retry_wall = time.time() + delay
                self._cond.notify_all()
            if delay:
                log.info("reconnecting to %s in %.2f s", self.url, delay)
                self._hurry.wait(delay)  # reconnect_now and stop end it early
                if stop.is_set():
                    break
            self._hurry.clear()
            with self._cond:
                self._retry_at = None
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
            self._retry_at = None
            self._state = "disconnected"
            self._watches.clear()
            self._cond.notify_all()
        self._fail_orphans(why)
        views = self._views
        if views is not None:
            with self._views_locked():
                for key in list(views.pairs):
                    views.close_book(key)
                    views.close_ticker(key)
        return None

    def _keepalive(self, conn: _Connection) -> None:
        """Ping every ``ping_interval``; abort the connection when it has gone silent.

        It wakes at the nearest deadline (``_watchdog_step``) and never waits for the send
        lock: a ping is skipped while another frame is being written (that write is bounded
        by ``socket_timeout``), and a dead connection is aborted at the raw socket regardless.
        """
        interval = self.ping_interval
        timeout = self.socket_timeout
        silence = self.silence_timeout or interval + timeout
        clock = time.monotonic
        while True:
            now = clock()
            dead, due, wake = _watchdog_step(
                now, conn.last_rx, conn.last_ping, conn.ping_sent, interval, timeout, silence
            )
            if dead is not None:
                self._abort(conn, dead)
                return
            if due:
                if conn.send_lock.acquire(blocking=False):
                    try:
                        conn.last_ping = conn.ping_sent = now
                        self._send_frame(conn, str(next(self._ping_seq)).encode(), OP_PING)
                    except ConnectionError:
                        return  # aborted: the reader notices
                    finally:
                        conn.send_lock.release()
                    continue  # the new pong deadline
                wake = min(wake, now + 0.05)  # a frame is being written: try again soon
            if conn.done.wait(min(max(wake - clock(), 0.001), 60.0)):
                return

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
