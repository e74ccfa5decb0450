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

``WSClient`` is the facade; the work is done by what it holds, websockets-style: a sans-I/O
``session.Session`` (tags, reply futures, watches, dispatch, the restore plan), and a
``connection.Connector`` that runs the threads over ``transport.Transport`` (the socket),
``keepalive`` (the watchdog), ``reconnect`` and ``settlement`` (the policy: ``inflight``).
"""

from __future__ import annotations

import ssl
import threading
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from cfdash.core.assets import V2, Scales, parse_pair
from cfdash.core.auth import derive_private_key, parse_user_id
from cfdash.core.errors import ValidationError
from cfdash.core.views import Balances, Changed, OrderBook, OwnOrders, TickerView, Trades, Views

from . import commands
from .commands import Amount, PairLike
from .connection import ClientState, Connector
from .futures import failed, gather
from .inflight import ClosedOrder, OrderOutcomeUnknown
from .protocol import PUBLIC_METHODS, validate_command
from .tonce import TonceClock
from .transport import MAX_FRAME_BYTES

__all__ = [
    "MAX_FRAME_BYTES",
    "ClientState",
    "ClosedOrder",
    "OrderOutcomeUnknown",
    "WSClient",
    "gather",
]

TONCES = TonceClock()
"""The process-wide tonce clock shared by every client (one account may use several)."""


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

        self.lock = threading.RLock()
        """Held by the event thread while it changes the views; hold it to read them."""
        if insecure_ssl:
            warnings.warn("insecure_ssl=True: TLS certificates will not be verified", stacklevel=2)
            self._sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        else:
            self._sslopt = {"cert_reqs": ssl.CERT_REQUIRED}
        self._connector = Connector(
            self,
            Views(scales) if views else None,
            self._sslopt,
            backoff_base,
            backoff_cap,
            max_attempts,
        )
        self._session = self._connector.session

    # -- seed API --------------------------------------------------------------------------

    def set_auth_data(self, user_id: int | str, cookie: str, passphrase: str | bytes) -> None:
        """Set the credentials. Only the derived private key is kept, never the passphrase.

        ``user_id`` is a positive int or a string of digits (as the seed's ``int()`` took);
        ``ValueError`` otherwise, raised from frames that no longer hold the passphrase.
        """
        error: Exception | None = None
        try:
            uid = parse_user_id(user_id)  # before the passphrase is touched
            key = derive_private_key(uid, passphrase)
        except ValueError as exc:
            error = ValueError(str(exc))
        except TypeError as exc:
            error = TypeError(str(exc))
        del passphrase
        if error is not None:
            raise error  # outside the except block: no frame or chained exception holds it
        with self._connector.cond:
            self.user_id = uid
            self.cookie = cookie
            self._connector.key = key
            conn = self._connector.conn
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
        connector = self._connector
        conn = connector.smart_connect()
        if conn is None:
            return failed(ConnectionError(f"Connection to {self.url} failed: not connected"))
        return connector.send_on(conn, command, auto_tonce=auto_tonce)

    def authenticate(self) -> None:
        """Authenticate the connection (once); seed semantics for errors and timeouts.

        A refusal that would recur (wrong cookie or signature, no such user) is final for the
        connection until ``set_auth_data``; a passing one (rate limit, lost reply) is retried
        by the next call rather than sticking.
        """
        self._connector.authenticate()

    def stop(self) -> None:
        """Close the connection and stop the event thread (and any reconnection).

        Bounded even when the server stopped reading: the close frame is only sent if it can
        be at once; otherwise the socket is aborted (blocked senders then fail at once).
        """
        self._connector.stop()

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
        conn = self._connector.conn
        return conn is not None and not conn.closed

    @property
    def auth_complete(self) -> bool:
        conn = self._connector.conn
        return conn is not None and conn.auth_future is not None and conn.auth_future.done()

    @property
    def auth_okay(self) -> bool:
        conn = self._connector.conn
        return conn is not None and conn.authenticated

    @property
    def auth_error(self) -> BaseException | None:
        """Why this connection's authentication failed (the server's typed error, or the
        connection's), or None: not failed, or not tried yet. ``authenticate()`` itself keeps
        the seed's generic message."""
        conn = self._connector.conn
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
        ``PlacedOrder``; seen placed in a notice, no longer open: ``ClosedOrder``; never left
        the client: sent then, and its reply settles it); otherwise, and always without
        ``reconnect``, it fails with ``OrderOutcomeUnknown``: an order that may have reached
        the exchange is never sent again. See ``cfdash.client.inflight`` for the policy.
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
        return gather(
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

    def ticker(self, pair: PairLike) -> TickerView | None:
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
        return self._connector.state

    @property
    def reconnect_attempts(self) -> int:
        """Reconnection attempts since the last stable connection."""
        return self._connector.retry.attempts

    @property
    def next_retry_in(self) -> float | None:
        """Seconds until the next reconnection attempt (None unless waiting for one)."""
        return self._connector.retry.next_retry_in()

    @property
    def reconnect_at(self) -> float | None:
        """When (``time.time()``) the next reconnection attempt is due, or None (the same
        value throughout one wait)."""
        at = self._connector.retry.retry_at
        return None if at is None else at[1]

    @property
    def last_received(self) -> float | None:
        """When (``time.monotonic()``) the current connection last received a frame (any:
        a reply, a notice, a pong), or None without a connection."""
        conn = self._connector.conn
        return None if conn is None or conn.closed else conn.transport.last_rx

    @property
    def waiting_since(self) -> float | None:
        """When (``time.monotonic()``) the oldest command or keep-alive ping still unanswered
        on the current connection was sent, or None when nothing is awaited."""
        conn = self._connector.conn
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
        if not self.reconnect or self._connector.stopping:
            return False
        conn = self._connector.conn
        if conn is not None and not conn.closed:
            if not drop:
                return False
            self._connector.retry.hurry.set()
            conn.transport.abort("reconnecting now (asked)")
            return True
        if self._connector.state != "reconnecting" or self._connector.retry.retry_at is None:
            return False
        self._connector.retry.hurry.set()
        return True

    @property
    def orders_in_flight(self) -> int:
        """PlaceOrders whose reply was lost with a connection and that are not settled yet."""
        return self._session.orders.orphans

    @property
    def latency(self) -> float | None:
        """The round trip of the last answered keep-alive ping, in seconds."""
        return self._connector.latency

    @property
    def watches(self) -> list[dict[str, Any]]:
        """The Watch commands re-sent after a reconnection."""
        with self._connector.cond:
            return [dict(c) for c in self._session.watches.values()]

    def __enter__(self) -> WSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"WSClient(url={self.url!r}, state={self._connector.state!r}, user_id={self.user_id!r})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("WSClient cannot be pickled")
