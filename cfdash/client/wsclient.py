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
* keep-alive pings, dead-connection detection, and optional reconnection with backoff,
  re-authentication and re-subscription;
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
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from typing import Any, Literal

import websocket

from cfdash.core.assets import V2, Pair, Scales, asset_code, parse_pair
from cfdash.core.auth import PrivateKey, authenticate_command, decode_nonce, derive_private_key
from cfdash.core.errors import CoinfloorError, ProtocolError, ValidationError
from cfdash.core.views import Balances, Changed, OrderBook, OwnOrders, Ticker, Trades, Views

from .backoff import Backoff
from .protocol import PUBLIC_METHODS, decode_frame, parse_reply, validate_command
from .sync import apply_reply, before_send
from .tonce import TonceClock

__all__ = ["ClientState", "WSClient"]

log = logging.getLogger("cfdash.client")

ClientState = Literal["disconnected", "connecting", "connected", "authenticated", "reconnecting"]
PairLike = Pair | str | tuple[int | str, int | str]
Amount = Decimal | int | str

_OP_TEXT = websocket.ABNF.OPCODE_TEXT
_OP_PING = websocket.ABNF.OPCODE_PING
_OP_PONG = websocket.ABNF.OPCODE_PONG
_OP_CLOSE = websocket.ABNF.OPCODE_CLOSE
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
        "restore",
        "stopping",
        "welcome",
        "ws",
    )

    def __init__(self, ws: websocket.WebSocket, restore: bool) -> None:
        now = time.monotonic()
        self.ws = ws
        self.pending: dict[int, tuple[Future[Any], dict[str, Any]]] = {}
        self.nonce: bytes | None = None
        self.welcome = threading.Event()
        self.auth_future: Future[Any] | None = None
        self.authenticated = False
        self.restore = restore
        self.closed = False
        self.stopping = False
        self.dead_reason: str | None = None
        self.done = threading.Event()
        self.opened_at = now
        self.last_rx = now
        self.last_ping = now
        self.ping_sent: float | None = None


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()
    future.set_exception(exc)
    return future


def _settle(future: Future[Any], result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(result)
    else:
        future.set_exception(exc)


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

    * ``reconnect``: reconnect after a dropped connection (backoff with full jitter: first retry
      at once, cap ``backoff_cap`` s; reset after ``stable_after`` s connected), then
      re-authenticate with the new nonce, re-subscribe every watch and reload the views.
    * ``scales``: the scale table for ``Decimal`` conversions and validation (default V2).
    * ``views``: keep local views (order books, tickers, trades, own orders, balances) fed by
      the event thread. Read them under ``client.lock`` from other threads.
    * ``ping_interval``: keep-alive ping period (s). A connection with no pong within
      ``socket_timeout`` of a ping, or no frame for ``ping_interval + socket_timeout``, is dead:
      it is closed, reported, and its pending futures fail with ``ConnectionError``.
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
        self._latency: float | None = None
        self._ping_seq = itertools.count(1)

        if insecure_ssl:
            warnings.warn("insecure_ssl=True: TLS certificates will not be verified", stacklevel=2)
            self._sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        else:
            self._sslopt = {"cert_reqs": ssl.CERT_REQUIRED}

    # -- seed API --------------------------------------------------------------------------

    def set_auth_data(self, user_id: int, cookie: str, passphrase: str | bytes) -> None:
        """Set the credentials. Only the derived private key is kept, never the passphrase."""
        key = derive_private_key(user_id, passphrase)
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
        """
        if not isinstance(json_message, Mapping):
            raise ValidationError("a command must be a JSON object (dict)")
        validate_command(json_message, self.scales)
        if json_message["method"] not in PUBLIC_METHODS:
            self.authenticate()
        conn = self._smart_connect()
        if conn is None:
            return _failed(ConnectionError(f"Connection to {self.url} failed: not connected"))
        return self._send_on(conn, json_message)

    def authenticate(self) -> None:
        """Authenticate the connection (once); seed semantics for errors and timeouts."""
        conn = self._conn
        if conn is not None and not conn.closed:
            auth = conn.auth_future
            if auth is not None and auth.done():
                return
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
        """Close the connection and stop the event thread (and any reconnection)."""
        with self._cond:
            self._stopping = True
            self._stop_event.set()
            conn = self._conn
            thread = self._event_thread
        if conn is not None:
            conn.stopping = True
            with contextlib.suppress(Exception):  # already gone
                conn.ws.send_close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(1.0, self.socket_timeout))
            if thread.is_alive() and conn is not None:
                conn.ws.abort()
                thread.join(self.socket_timeout)
        elif conn is not None:
            conn.ws.abort()

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

    # -- higher-level API ------------------------------------------------------------------

    def place_order(
        self,
        pair: PairLike,
        quantity: Amount | None = None,
        price: Amount | None = None,
        total: Amount | None = None,
        persist: bool = True,
        *,
        tonce: int | None = None,
    ) -> Future[Any]:
        """Place an order given in logical units (``Decimal`` or decimal strings).

        ``quantity`` is signed (negative sells); with ``price`` a limit order, alone a market
        order by quantity; ``total`` alone (signed) a market order by total. Amounts convert
        exactly with the client's scales (``ConversionError`` otherwise). A tonce is always
        added (automatic unless given) and the order registered with the own-orders view before
        it is sent, so fills that overtake the reply are recognised.
        """
        p = parse_pair(pair)
        command: dict[str, Any] = {"method": "PlaceOrder", "base": p.base, "counter": p.counter}
        if quantity is not None:
            command["quantity"] = self.scales.quantity_to_wire(p, quantity)
        if price is not None:
            command["price"] = self.scales.price_to_wire(p, price)
        if total is not None:
            command["total"] = self.scales.total_to_wire(p, total)
        if not persist:
            command["persist"] = False
        validate_command({**command, "tonce": 1}, self.scales)  # before spending a tonce
        command["tonce"] = tonce if tonce is not None else self.tonces.next()
        return self.send(command)

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

    def _send_on(self, conn: _Connection, command: Mapping[str, Any]) -> Future[Any]:
        """Register and send an already validated command on ``conn``."""
        method = command["method"]
        tag = command.get("tag")
        if tag is None:
            tag = self._next_tag(conn.pending)
            command = {**command, "tag": tag}
        elif tag in conn.pending:
            raise ValidationError(f"tag {tag} is already in use by a command in flight")
        else:
            command = dict(command)
        text = json.dumps(command)
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        with self._cond:
            if conn.closed:
                future.set_exception(ConnectionError(f"Connection to {self.url} is closed"))
                return future
            if tag:
                conn.pending[tag] = (future, command)
            if method in _WATCHES:
                key = (method, command["base"], command["counter"])
                if command.get("watch", True):
                    self._watches[key] = {k: v for k, v in command.items() if k != "tag"}
                else:
                    self._watches.pop(key, None)
        views = self._views
        if views is not None and method in _VIEW_METHODS:
            with self.lock:
                before_send(views, command)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("send %s tag=%s", method, tag)  # never the frame: it may hold a cookie
        try:
            conn.ws.send(text)
        except Exception as exc:
            with self._cond:
                conn.pending.pop(tag, None)
            error = ConnectionError(f"Connection to {self.url} failed: {exc}")
            future.set_exception(error)
            conn.ws.abort()
            if threading.current_thread() is not self._event_thread:
                self._fail(exc)
            return future
        if not tag:
            future.set_result(None)
        return future

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

        future.add_done_callback(done)
        return future

    # -- connecting ------------------------------------------------------------------------

    def _smart_connect(self) -> _Connection | None:
        """The open connection, opening one if needed (bounded by ``socket_timeout``)."""
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        if self._state == "reconnecting":
            if threading.current_thread() is self._event_thread:
                self._fail("not connected (reconnecting)")  # e.g. a send from close_handler
                return None
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        (self._conn is not None and not self._conn.closed)
                        or self._state != "reconnecting"
                    ),
                    self.socket_timeout,
                )
                conn = self._conn
            if conn is not None and not conn.closed:
                return conn
            if self._state == "reconnecting":
                self._fail("not connected (reconnecting)")
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
            try:
                conn = self._open(restore=False)
            except Exception as exc:
                self._set_state("disconnected")
                self._fail(exc)
                return None
            thread = threading.Thread(
                target=self._run, args=(conn,), name="cfdash-client-events", daemon=True
            )
            self._event_thread = thread
            thread.start()
            return conn
        finally:
            self._connect_lock.release()

    def _open(self, restore: bool) -> _Connection:
        """Connect a new WebSocket and make it the current connection."""
        if not restore:
            self._set_state("connecting")
        ws = websocket.WebSocket(
            sslopt=self._sslopt, skip_utf8_validation=True, enable_multithread=True
        )
        try:
            ws.connect(self.url, timeout=self.socket_timeout)
        except BaseException:
            ws.shutdown()
            raise
        ws.settimeout(None)  # the keep-alive thread detects dead connections
        conn = _Connection(ws, restore)
        with self._cond:
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

    # -- the event thread ------------------------------------------------------------------

    def _run(self, conn: _Connection) -> None:
        """The event thread: read frames until the connection ends; reconnect if asked."""
        current: _Connection | None = conn
        while current is not None:
            self._call(self.open_handler)
            reason, status, close_reason = self._read(current)
            self._lost(current, reason, status, close_reason)
            current = self._reconnect_loop() if self._will_reconnect(current) else None

    def _read(self, conn: _Connection) -> tuple[str | None, int | None, str | None]:
        """Read until the connection ends; (reason or None if normal, close status, reason)."""
        recv = conn.ws.recv_data_frame
        on_text = self._on_text
        monotonic = time.monotonic
        try:
            while True:
                opcode, frame = recv(True)
                conn.last_rx = monotonic()
                if opcode == _OP_TEXT:
                    on_text(conn, frame.data.decode("utf-8"))
                elif opcode == _OP_PONG:
                    sent = conn.ping_sent
                    if sent is not None:
                        self._latency = conn.last_rx - sent
                        conn.ping_sent = None
                    self._call(self.pong_handler, frame.data)
                elif opcode == _OP_PING:
                    self._call(self.ping_handler, frame.data)
                elif opcode == _OP_CLOSE:
                    data = frame.data
                    status = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                    text = data[2:].decode("utf-8", "replace") if len(data) >= 2 else None
                    normal = conn.stopping or status == websocket.STATUS_NORMAL
                    return (None if normal else f"closed by server ({status})"), status, text
        except Exception as exc:
            if conn.dead_reason is not None:
                return conn.dead_reason, None, None
            if conn.stopping:
                return None, None, None
            return (str(exc) or type(exc).__name__), None, None

    def _on_text(self, conn: _Connection, text: str) -> None:
        """Handle one text frame: decode once, settle or route, then ``msg_handler``."""
        try:
            message = decode_frame(text)
        except (ProtocolError, ValueError) as exc:
            self._report(exc)
            message = None
        if message is not None:
            notice = message.get("notice")
            if notice is not None:
                if notice == "Welcome":
                    self._welcome(conn, message)
                elif self._views is not None:
                    with self.lock:
                        changed = self._views.route(message)
                    if changed and self.change_handler is not None:
                        self._call(self.change_handler, changed)
            else:
                tag = message.get("tag")
                if tag:
                    entry = conn.pending.pop(tag, None)
                    if entry is not None:
                        self._reply(entry[0], entry[1], message)
        handler = self.msg_handler
        if handler is not None:
            try:
                handler(self, text)
            except Exception as exc:
                self._report(exc)

    def _reply(self, future: Future[Any], command: dict[str, Any], reply: dict[str, Any]) -> None:
        method = command["method"]
        views = self._views
        if views is not None and method in _VIEW_METHODS:
            with self.lock:
                changed = apply_reply(views, command, reply)
            if changed and self.change_handler is not None:
                self._call(self.change_handler, changed)
        if method in _WATCHES and reply.get("error_code") not in (0, 2, None):
            with self._cond:
                key = (method, command["base"], command["counter"])
                if self._watches.get(key, {}).get("watch", True) and command.get("watch", True):
                    self._watches.pop(key, None)
        try:
            result = parse_reply(method, reply)
        except (CoinfloorError, ProtocolError) as exc:
            _settle(future, exc=exc)
        except Exception as exc:  # a malformed reply the parser did not expect
            _settle(future, exc=ProtocolError(f"bad {method} reply: {exc!r}"))
        else:
            _settle(future, result)

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
        """After a reconnection: re-authenticate, re-subscribe, reload (all pipelined)."""
        try:
            if self._was_authenticated and self._key is not None:
                with self._auth_lock:
                    self._start_auth(conn, report=True)
                if self._views is not None:
                    self._send_on(conn, {"method": "GetBalances"})
                    self._send_on(conn, {"method": "GetOrders"})
            with self._cond:
                watches = list(self._watches.values())
            for command in watches:
                self._send_on(conn, command)
        except Exception as exc:  # the new connection failed already: _read will notice
            self._report(exc)

    def _lost(
        self, conn: _Connection, reason: str | None, status: int | None, close_reason: str | None
    ) -> None:
        """The connection ended: fail its futures, reset the views, report, ``close_handler``."""
        reconnecting = self._will_reconnect(conn)
        with self._cond:
            conn.closed = True
            pending, conn.pending = conn.pending, {}
            if self._conn is conn:
                self._conn = None
            self._state = "reconnecting" if reconnecting else "disconnected"
            if not reconnecting:
                self._watches.clear()
            self._cond.notify_all()
        conn.done.set()
        conn.ws.shutdown()
        error = ConnectionError(f"Connection to {self.url} lost: {reason or 'closed'}")
        for future, _ in pending.values():
            _settle(future, exc=error)
        views = self._views
        if views is not None:
            with self.lock:
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
        self._call(self.close_handler, status, close_reason)

    def _will_reconnect(self, conn: _Connection) -> bool:
        return self.reconnect and not self._stopping and not conn.stopping

    def _reconnect_loop(self) -> _Connection | None:
        """Open a new connection with backoff; None once stopped."""
        stop = self._stop_event
        while not stop.is_set():
            delay = self._backoff.next_delay()
            if delay and stop.wait(delay):
                break
            with self._connect_lock:
                if stop.is_set():
                    break
                try:
                    return self._open(restore=True)
                except Exception as exc:
                    log.info("reconnecting to %s failed: %s", self.url, exc)
        self._set_state("disconnected")
        return None

    def _keepalive(self, conn: _Connection) -> None:
        """Ping every ``ping_interval``; abort the connection when it has gone silent."""
        interval = self.ping_interval
        timeout = self.socket_timeout
        tick = max(0.02, min(interval, timeout) / 4)
        while not conn.done.wait(tick):
            now = time.monotonic()
            sent = conn.ping_sent
            dead = None
            if sent is not None and now - sent > timeout and conn.last_rx < sent:
                dead = f"no pong within {timeout} s"
            elif now - conn.last_rx > interval + timeout:
                dead = f"nothing received for {interval + timeout} s"
            if dead is not None:
                conn.dead_reason = dead
                conn.ws.abort()
                return
            if sent is None and now - conn.last_ping >= interval:
                conn.last_ping = now
                conn.ping_sent = now
                try:
                    conn.ws.ping(str(next(self._ping_seq)))
                except Exception:
                    return  # the reader notices the broken socket

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
