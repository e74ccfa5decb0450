"""The protocol layer of the exchange: decode a frame, validate, authorise, rate-limit,
dispatch to a command handler and render the reply.

``Commands`` works on an ``Engine`` (the state it reads, sessions, users, markets and the
outbox, is the engine's). A command that fails with anything but a protocol error is a bug:
it is answered "Internal error.", its traceback is logged and it is counted
(``internal_errors``), so that the server can stop trusting the state (see
``cfdash.server.app``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from ..assets import Pair
from ..auth import decode_nonce, verify
from ..errors import (
    AlreadyWatchingError,
    AuthenticationError,
    BadRequestError,
    CoinfloorError,
    Msg,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    TonceOutOfSequenceError,
)
from ..messages import (
    INFO_METHODS,
    ORDER_METHODS,
    PUBLIC_METHODS,
    decode_frame,
    validate_command,
)
from .limits import WATCH_TOO_RAPID, KeyedLimiter, RateLimiter
from .matching import Engine
from .notices import error_text, message_of, order_info, order_info_fields, render_reply
from .sessions import Market, Session

log = logging.getLogger(__name__)

INTERNAL_ERROR: Final = "Internal error."
MAX_SHOWN: Final = 64
"""At most this many characters of a client's method name are echoed in an error."""
_TAG_MIN: Final = -(2**63)
_TAG_MAX: Final = 2**63 - 1
WATCH_METHODS: Final = frozenset({"WatchOrders", "WatchTicker"})

Result = str | dict[str, Any] | None
Handler = Callable[[Session, dict[str, Any], int, float], Result]


class Commands:
    """``receive`` and the ten command handlers, over an engine.

    Besides the spec's limits (per user, per session) it keeps the per-peer-address ones
    (``limits``): failed authentications, anonymous orders and estimates, watch toggles."""

    __slots__ = (
        "_engine",
        "address_auth_fails",
        "address_orders",
        "address_watches",
        "handlers",
        "internal_errors",
        "last_internal_error",
    )

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        config = engine.config
        self.address_auth_fails = KeyedLimiter(*config.address_auth_fail_limit)
        self.address_orders = KeyedLimiter(*config.address_order_limit)
        self.address_watches = KeyedLimiter(*config.address_watch_limit)
        self.internal_errors = 0  # commands answered "Internal error." (bugs)
        self.last_internal_error: BaseException | None = None
        self.handlers: dict[str, Handler] = {
            "Authenticate": self._cmd_authenticate,
            "GetBalances": self._cmd_get_balances,
            "GetOrders": self._cmd_get_orders,
            "EstimateMarketOrder": self._cmd_estimate,
            "PlaceOrder": self._cmd_place,
            "CancelOrder": self._cmd_cancel,
            "CancelAllOrders": self._cmd_cancel_all,
            "GetTradeVolume": self._cmd_trade_volume,
            "WatchOrders": self._cmd_watch_orders,
            "WatchTicker": self._cmd_watch_ticker,
        }

    def receive(self, session: int, text: str, now: float) -> None:
        """Handle one text frame of ``session`` received at ``now`` (seconds)."""
        engine = self._engine
        sess = engine._sessions.get(session)
        if sess is None:
            return
        out = engine._outbox.out
        try:
            cmd = decode_frame(text)
        except Exception as exc:  # ProtocolError for bad JSON; anything else is refused too
            out.append((session, error_text(None, 8, message_of(exc))))
            return
        if cmd.__class__ is not dict:
            out.append((session, error_text(None, 8, "A command must be a JSON object.")))
            return
        tag = cmd.get("tag")
        # echoed iff a non-zero 64-bit integer (not a bool): never an attacker's 10**29
        if tag.__class__ is not int or tag == 0 or not _TAG_MIN <= tag <= _TAG_MAX:
            tag = None
        method = cmd.get("method")
        try:
            handler = self.handlers.get(method) if method.__class__ is str else None
            if handler is None:
                validate_command(cmd, engine._scales)  # names what is wrong with the method
                raise BadRequestError(f"Unknown method: {str(method)[:MAX_SHOWN]!r}")
            # the spec's tables answer 7 to an anonymous private command, however malformed
            if sess.user is None and method not in PUBLIC_METHODS:
                raise AuthenticationError(Msg.NOT_AUTHENTICATED)
            validate_command(cmd, engine._scales)
            now_us = int(now * 1_000_000)
            if now_us > engine._clock_us:
                engine._clock_us = now_us
            else:
                now_us = engine._clock_us
            if now_us >= engine._next_expiry_us or engine._pending_volatile:
                engine._advance(now)
            if sess.limited:
                if method in ORDER_METHODS:
                    if sess.user is not None:
                        if not sess.user.order_limiter.allow(now):
                            raise RateLimitedError(Msg.ORDERS_TOO_RAPID)
                    elif not self._allow(sess.order_limiter, self.address_orders, sess, now):
                        raise RateLimitedError(Msg.ORDERS_TOO_RAPID)
                elif method in INFO_METHODS and not sess.info_limiter.allow(now):
                    raise RateLimitedError(Msg.INFO_TOO_RAPID)
                elif method in WATCH_METHODS and not self._allow(
                    sess.watch_limiter, self.address_watches, sess, now
                ):
                    raise RateLimitedError(WATCH_TOO_RAPID)
            result = handler(sess, cmd, now_us, now)
        except CoinfloorError as exc:
            out.append((session, error_text(tag, exc.code or 8, exc.message)))
            engine._publish_tickers()
            return
        except ProtocolError as exc:
            out.append((session, error_text(tag, 8, message_of(exc))))
            return
        except Exception as exc:  # a bug: still answer, never raise into the server loop
            self._internal_error(session, method, exc)
            out.append((session, error_text(tag, 8, INTERNAL_ERROR)))
            engine._publish_tickers()
            return
        if result.__class__ is str:
            head = '{"error_code":0' if tag is None else f'{{"tag":{tag},"error_code":0'
            out.append((session, f"{head}{result}}}"))
        else:
            out.append((session, render_reply(tag, result)))
        if engine._touched:
            engine._publish_tickers()

    @staticmethod
    def _allow(limiter: RateLimiter, by_address: KeyedLimiter, sess: Session, now: float) -> bool:
        """An event of ``sess`` within its own ``limiter`` and its address's (if known); a
        refused event is recorded in neither."""
        address = sess.address
        if address is None:
            return limiter.allow(now)
        if limiter.full(now) or not by_address.allow(address, now):
            return False
        return limiter.allow(now)

    def _internal_error(self, session: int, method: object, exc: Exception) -> None:
        """Count and log a bug (the traceback; never the command: it may hold a cookie)."""
        self.internal_errors += 1
        self.last_internal_error = exc
        name = method if isinstance(method, str) and method in self.handlers else "?"
        log.error(
            "internal error in %s (session %d): %s", name, session, type(exc).__name__,
            exc_info=exc,
        )  # fmt: skip

    def _cmd_market(self, cmd: dict[str, Any]) -> Market:
        market = self._engine._markets.get((cmd.get("base"), cmd.get("counter")))  # type: ignore[arg-type]
        if market is None:
            raise NotFoundError(Msg.INVALID_PAIR)
        return market

    def _cmd_authenticate(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        # Only attempts with the right cookie count against the user's allowance (LIMITS.md):
        # a stranger's guesses count against their connection and address, which are refused
        # before the cookie is looked at once their failures are used up (no guessing oracle).
        limited = sess.limited
        address = sess.address
        fails = self.address_auth_fails
        if limited and (
            sess.auth_fail_limiter.full(now) or (address is not None and fails.full(address, now))
        ):
            raise RateLimitedError(Msg.AUTH_TOO_RAPID)
        user_id = cmd.get("user_id")
        user = self._engine._users.get(user_id) if isinstance(user_id, int) else None
        if user is None or cmd.get("cookie") != user.cookie:
            if limited:
                sess.auth_fail_limiter.allow(now)
                if address is not None:
                    fails.allow(address, now)
            if user is None:
                raise NotFoundError(Msg.NO_SUCH_USER)
            raise AuthenticationError(Msg.BAD_COOKIE)
        if not user.auth_limiter.allow(now):
            raise RateLimitedError(Msg.AUTH_TOO_RAPID)
        try:
            client_nonce = decode_nonce(cmd.get("nonce"))
        except ValueError:
            raise BadRequestError("The nonce must be 16 bytes, base64.") from None
        signature = cmd.get("signature")
        if not (
            isinstance(signature, list | tuple)
            and len(signature) == 2
            and all(isinstance(c, str) for c in signature)
            and verify(user.public_key, user.id, sess.nonce, client_nonce, signature)
        ):
            raise AuthenticationError(Msg.BAD_SIGNATURE)
        sess.bind(user)
        return None

    def _cmd_get_balances(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        assert sess.user is not None
        account = sess.user.account
        return {
            "balances": [
                {"asset": a, "balance": account.available.get(a, 0)} for a in account.assets()
            ]
        }

    def _cmd_get_orders(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        assert sess.user is not None
        return {"orders": [order_info(o) for o in sess.user.orders.values()]}

    def _cmd_trade_volume(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        assert sess.user is not None
        asset = cmd.get("asset")
        if not isinstance(asset, int) or isinstance(asset, bool):
            raise BadRequestError("asset must be an integer.")
        return {"volume": sess.user.account.volume.get(asset, 0)}

    def _cmd_watch_orders(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        market = self._cmd_market(cmd)
        pair = market.pair
        watchers = market.book_watchers
        if cmd.get("watch"):
            if pair in sess.watch_orders:
                raise AlreadyWatchingError(Msg.ALREADY_WATCHING_ORDERS)
            sess.watch_orders.add(pair)
            watchers.add(sess.id)
            book = market.book
            depth = self._engine.config.snapshot_depth
            orders = book.bids.top(depth) + book.asks.top(depth)
            return {
                "orders": [
                    {"id": o.id, "quantity": o.quantity, "price": o.price, "time": o.time}
                    for o in orders
                ]
            }
        if pair not in sess.watch_orders:
            raise NotFoundError(Msg.NOT_WATCHING_ORDERS)
        sess.watch_orders.discard(pair)
        watchers.discard(sess.id)
        return None

    def _cmd_watch_ticker(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        market = self._cmd_market(cmd)
        pair: Pair = market.pair
        watchers = market.ticker_watchers
        if cmd.get("watch"):
            if pair in sess.watch_ticker:
                raise AlreadyWatchingError(Msg.ALREADY_WATCHING_TICKER)
            self._engine._publish_tickers()
            sess.watch_ticker.add(pair)
            watchers.add(sess.id)
            market.ticker_pub = market.ticker_values()  # stale while nobody watched
            return market.ticker()
        if pair not in sess.watch_ticker:
            raise NotFoundError(Msg.NOT_WATCHING_TICKER)
        sess.watch_ticker.discard(pair)
        watchers.discard(sess.id)
        return None

    def _cmd_estimate(self, sess: Session, cmd: dict[str, Any], now_us: int, now: float) -> Result:
        market = self._cmd_market(cmd)
        quantity, total = cmd.get("quantity"), cmd.get("total")
        if quantity is not None:
            if quantity == 0:
                raise BadRequestError(Msg.QUANTITY_ZERO)
            return market.estimate(quantity=quantity)
        if total is not None:
            if total == 0:
                raise BadRequestError(Msg.TOTAL_ZERO)
            return market.estimate(total=total)
        raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)

    def _cmd_place(self, sess: Session, cmd: dict[str, Any], now_us: int, now: float) -> Result:
        user = sess.user
        assert user is not None
        market = self._cmd_market(cmd)
        get = cmd.get
        tonce = get("tonce")
        quantity, price, total = get("quantity"), get("price"), get("total")
        if tonce == 0:
            raise BadRequestError(Msg.TONCE_ZERO)
        if tonce is not None and tonce <= user.tonce:
            raise TonceOutOfSequenceError(Msg.TONCE_OUT_OF_SEQUENCE)
        if price is not None:
            if quantity is None or total is not None:
                raise BadRequestError("A limit order needs quantity and price, and no total.")
            order = self._engine.place_limit(
                user.id,
                market.pair,
                quantity,
                price,
                tonce=tonce,
                persist=get("persist", True) is not False,
                session=sess.id,
                now_us=now_us,
            )
            return f',"id":{order.id},"time":{order.time}'
        if quantity is not None and total is not None:
            raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        if quantity is None and total is None:
            raise BadRequestError(Msg.MARKET_NEEDS_QTY_OR_TOTAL)
        remaining = self._engine._place_market(user, market, quantity, total, tonce, now_us)
        return f',"remaining":{remaining}'

    def _cmd_cancel(self, sess: Session, cmd: dict[str, Any], now_us: int, now: float) -> Result:
        user = sess.user
        assert user is not None
        return order_info_fields(self._engine.cancel(user.id, cmd.get("id"), cmd.get("tonce")))

    def _cmd_cancel_all(
        self, sess: Session, cmd: dict[str, Any], now_us: int, now: float
    ) -> Result:
        user = sess.user
        assert user is not None
        orders = list(user.orders.values())
        infos = [order_info(o) for o in orders]
        for order in orders:
            self._engine._close(order, user)
        if user.tonce:
            user.tonce = 0
            self._engine._dirty_tonces.add(user.id)
        return {"orders": infos}
