"""ExchangeCore: the embedded exchange's sans-I/O protocol state machine and matching engine.

The server shell feeds it connections, text frames and clock ticks; it answers with text frames
to send (``take_output``) and durable state rows to commit first (``take_changes``). It is the
matching engine (``matching.Engine``, where the decisions the spec leaves open are written
down) with, composed in: the command layer (``commands.Commands``: ``receive`` and the command
handlers), the journal of durability rows (``journal.Journal``) and the outbox that renders
notices (``notices.Outbox``). This module holds the rest of the public API: users, money,
sessions, time, the rebuild from stored rows and introspection.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from typing import Any

from ..assets import Pair
from ..auth import b64
from .book import Book, Order
from .commands import INTERNAL_ERROR, Commands
from .config import EngineConfig
from .journal import Journal, Row
from .matching import Engine, _max_total
from .notices import dumps
from .rounding import ceil_div
from .sessions import Session, User

__all__ = ["INTERNAL_ERROR", "EngineConfig", "ExchangeCore", "_max_total"]


class ExchangeCore(Engine):
    """The whole exchange: users, balances, books, sessions, notices and durability rows.

    ``receive(session, text, now)`` handles one text frame of ``session`` received at ``now``
    (seconds): it is the command layer's ``Commands.receive``, bound at construction (no extra
    call per frame)."""

    __slots__ = ("commands", "receive")

    receive: Callable[[int, str, float], None]

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``rng`` (tests) replaces the seeded generator used for stochastic rounding."""
        super().__init__(config, seed=seed, rng=rng)
        self.commands = Commands(self)
        self.receive = self.commands.receive

    @property
    def internal_errors(self) -> int:
        """How many commands failed with "Internal error." (a bug; see ``Commands``)."""
        return self.commands.internal_errors

    # ------------------------------------------------------------------ users and money

    def add_user(self, user_id: int, cookie: str, public_key: bytes) -> None:
        """Create a user, or replace an existing user's cookie and public key."""
        user = self._users.get(user_id)
        if user is None:
            self._users[user_id] = User(user_id, cookie, bytes(public_key), self.config)
        else:
            user.cookie = cookie
            user.public_key = bytes(public_key)
        self._journal.users.add(user_id)

    def credit(self, user_id: int, asset: int, amount: int) -> None:
        """Deposit (or, negative, withdraw from available) ``amount`` of ``asset``."""
        user = self._users[user_id]
        avail = user.account.available
        new = avail.get(asset, 0) + amount
        if new < 0:
            raise ValueError("credit would make the available balance negative")
        avail[asset] = new
        user.account.reserved.setdefault(asset, 0)
        self._dirty_balances.add((user.id, asset))
        self._outbox.balance(user, asset)

    def login(self, session: int, user_id: int, *, rate_limited: bool = True) -> None:
        """Authenticate a trusted in-process session (no signature, no auth rate limit).

        ``rate_limited=False`` also exempts the session from the order and information limits.
        """
        sess = self._sessions[session]
        sess.bind(self._users[user_id])
        sess.limited = rate_limited

    # ------------------------------------------------------------------ sessions and time

    def connect(self, now: float, address: str | None = None) -> int:
        """Open a session; ``address`` is the peer's IP address (plain data: the per-address
        limits of ``limits`` apply to it; None exempts the session from them)."""
        self._advance(now)
        sid = self._next_session
        self._next_session += 1
        rng = self._nonce_rng
        nonce = os.urandom(16) if rng is None else rng.randbytes(16)
        self._sessions[sid] = Session(sid, nonce, self.config, address)
        self._outbox.out.append((sid, dumps({"notice": "Welcome", "nonce": b64(nonce)})))
        return sid

    def disconnect(self, session: int, now: float) -> None:
        sess = self._sessions.pop(session, None)
        if sess is None:
            return
        for pair in sess.watch_orders:
            self._market(pair).book_watchers.discard(session)
        for pair in sess.watch_ticker:
            self._market(pair).ticker_watchers.discard(session)
        if sess.user is not None:
            sess.user.sessions.remove(session)
        self._advance(now)
        for order in list(sess.volatile.values()):
            if order.live:
                self._close(order, self._users[order.user])
        self._publish_tickers()

    def tick(self, now: float) -> None:
        self._advance(now)

    def take_output(self) -> list[tuple[int, str]]:
        return self._outbox.take()

    # ------------------------------------------------------------------ durability

    def take_changes(self) -> list[Row]:
        """Rows changed since the last call (see ``Journal.take_changes``)."""
        outbox = self._outbox
        return self._journal.take_changes(
            self._next_order_id, self._clock_us, outbox.time_us, outbox.time_text
        )

    def load(self, rows: Iterable[Row]) -> None:
        """Rebuild the state stored by ``take_changes`` (call on a fresh core, before any
        session). Orders with persist=false are cancelled on the first connect or tick.

        Buckets that left their window while the exchange was down are dropped, and their
        deletions stay pending for the next ``take_changes``. A store written by an older
        cfdash (one ``trade`` row per trade) is converted: its trades are folded into buckets
        and the next ``take_changes`` replaces the trade rows with bucket rows.
        """
        stored = Journal.read(rows)
        for uid, cookie, public_key in stored.users:
            self.add_user(uid, cookie, public_key)
        self._fees.update(stored.fees)
        if stored.next_order_id is not None:
            self._next_order_id = stored.next_order_id
        if stored.clock_us is not None:
            self._clock_us = max(self._clock_us, stored.clock_us)
        users = self._users
        for uid, asset, (avail, reserved) in stored.balances:
            account = users[uid].account
            account.available[asset] = avail
            account.reserved[asset] = reserved
        for uid, tonce in stored.tonces:
            users[uid].tonce = tonce
        self._load_orders(stored.orders)
        stored.tickers.sort(key=lambda item: item[0])
        for start, base, counter, (low, high, volume) in stored.tickers:
            self._market(Pair(base, counter)).window.restore(start, low, high, volume)
            self._clock_us = max(self._clock_us, start)
        stored.volumes.sort(key=lambda item: (item[0], item[1]))
        for start, uid, amounts in stored.volumes:
            restored = {asset: amount for asset, amount in amounts}
            self._volumes.restore(start, uid, users[uid].account, restored)
            self._clock_us = max(self._clock_us, start)
        for pair, last in stored.lasts.items():
            self._market(pair).window.last = last
        self._next_expiry_us = 0
        self._expire(self._clock_us)
        journal = self._journal
        dead = list(journal.dead)
        self.take_changes()  # the rebuild itself changed nothing
        journal.dead.extend(dead)
        journal.dead.extend(stored.obsolete)
        if stored.legacy:
            self._load_legacy_trades(stored.legacy)
        self._touched.clear()
        for market in self._markets.values():
            market.ticker_pub = market.ticker_values()
        self._outbox.out.clear()

    def place_market(
        self,
        user_id: int,
        pair: Pair,
        *,
        quantity: int | None = None,
        total: int | None = None,
        tonce: int | None = None,
        now_us: int | None = None,
    ) -> int:
        """Execute a market order by quantity or by total; returns what could not trade."""
        return self._place_market(
            self._users[user_id],
            self._market(pair),
            quantity,
            total,
            tonce,
            self._clock_us if now_us is None else now_us,
        )

    def _load_orders(self, orders: list[tuple[int, list[Any]]]) -> None:
        orders.sort(key=lambda item: item[0])
        users = self._users
        for oid, (uid, base, counter, quantity, price, tonce, persist, time, reserved) in orders:
            market = self._market(Pair(base, counter))
            is_bid = quantity > 0
            quantity = abs(quantity)
            order = Order(oid, uid, market, is_bid, price, quantity, reserved, tonce, persist, time)
            order.stored = True
            (market.book.bids if is_bid else market.book.asks).add(order)
            user = users[uid]
            user.orders[oid] = order
            if tonce is not None:
                user.by_tonce[tonce] = order
            if not persist:
                self._pending_volatile.append(order)
            self._next_order_id = max(self._next_order_id, oid + 1)
            self._clock_us = max(self._clock_us, time)

    def _load_legacy_trades(self, trades: list[tuple[int, list[int]]]) -> None:
        """Fold an older store's trade rows ``seq -> [time, base, counter, price, quantity,
        total, buyer, seller]`` into buckets; their rows are replaced at the next commit."""
        trades.sort(key=lambda item: item[0])
        volumes, users = self._volumes, self._users
        for seq, (time, base, counter, price, quantity, total, buyer, seller) in trades:
            market = self._market(Pair(base, counter))
            last = market.window.last
            market.window.add(time, price, quantity)
            market.window.last = last  # the stored "last" row stays authoritative
            self._traded.add(market)
            bucket = volumes.current(time)
            for uid in {buyer, seller}:
                account = users[uid].account
                volumes.add(bucket, uid, account, base, quantity)
                volumes.add(bucket, uid, account, counter, total)
            self._journal.dead.append(("trade", str(seq), None))
            self._clock_us = max(self._clock_us, time)
        self._next_expiry_us = 0
        self._expire(self._clock_us)

    # ------------------------------------------------------------------ introspection

    def bid_reservation(self, pair: Pair, quantity: int, price: int) -> int:
        """What a bid of ``quantity`` at ``price`` reserves (the counter total, rounded up)."""
        m = self._market(pair)
        return ceil_div(abs(quantity) * price * m.c, m.d)

    def estimate(
        self, pair: Pair, *, quantity: int | None = None, total: int | None = None
    ) -> dict[str, int]:
        """What a market order would trade now, fees and balances ignored."""
        return self._market(pair).estimate(quantity, total)

    def user_ids(self) -> list[int]:
        return sorted(self._users)

    def balances(self, user_id: int) -> dict[int, tuple[int, int]]:
        """``{asset: (available, reserved)}`` of one user."""
        account = self._users[user_id].account
        avail, reserved = account.available, account.reserved
        return {a: (avail.get(a, 0), reserved.get(a, 0)) for a in account.assets()}

    def open_orders(self, user_id: int) -> list[Order]:
        return list(self._users[user_id].orders.values())

    def book(self, pair: Pair) -> Book:
        return self._market(pair).book

    def fees_collected(self) -> dict[int, int]:
        return dict(self._fees)

    def tonce(self, user_id: int) -> int:
        return self._users[user_id].tonce

    def trade_volume(self, user_id: int, asset: int) -> int:
        return self._users[user_id].account.volume.get(asset, 0)

    def ticker(self, pair: Pair) -> dict[str, int | None]:
        return self._market(pair).ticker()
