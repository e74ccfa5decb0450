"""The durability layer of ``ExchangeCore``: the state rows to commit (``take_changes``) and
the rebuild from them (``load``).

Rows are ``(kind, key, JSON value)``, value None = delete. Only what changed since the last
``take_changes`` is rendered, once per key however often it changed (the last value wins).
Trade history is not stored: the trailing windows are stored as their buckets, so the number
of rows is bounded by users x assets, open orders and the windows' bucket counts.

A mixin: the state it reads belongs to ``ExchangeCore``.
"""

from __future__ import annotations

import json
from base64 import b64decode
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..assets import Pair
from ..auth import b64
from .book import Order
from .notices import dumps, null

if TYPE_CHECKING:
    from .exchange import ExchangeCore

Row = tuple[str, str, str | None]


class Durability:
    """``take_changes`` and ``load``."""

    __slots__ = ()

    def take_changes(self: ExchangeCore) -> list[Row]:
        """Rows changed since the last call: (kind, key, JSON value), value None = delete.

        ``user`` id -> {cookie, public_key (base64)}; ``balance`` "user:asset" ->
        [available, reserved]; ``tonce`` user -> last tonce; ``order`` id -> [user, base,
        counter, signed remaining, price, tonce, persist, time, reservation]; ``fees`` asset ->
        collected; ``last`` "base:counter" -> last trade price; ``ticker``
        "base:counter:start" -> [low, high, volume] of one ticker bucket; ``volume``
        "start:user" -> [[asset, volume], ...] of one trade-volume bucket; ``meta``
        next_order_id / clock (microseconds).
        """
        rows: list[Row] = []
        append = rows.append
        users = self._users
        if self._dirty_users:
            for uid in self._dirty_users:
                user = users[uid]
                value = {"cookie": user.cookie, "public_key": b64(user.public_key)}
                append(("user", str(uid), dumps(value)))
            self._dirty_users = set()
        balance_keys = self._balance_keys
        for key in self._dirty_balances:
            uid, asset = key
            account = users[uid].account
            name = balance_keys.get(key)
            if name is None:
                name = balance_keys[key] = f"{uid}:{asset}"
            append(
                (
                    "balance",
                    name,
                    f"[{account.available.get(asset, 0)},{account.reserved.get(asset, 0)}]",
                )
            )
        self._dirty_balances = set()
        if self._dirty_tonces:
            for uid in self._dirty_tonces:
                append(("tonce", str(uid), str(users[uid].tonce)))
            self._dirty_tonces = set()
        time_us, time_text = self._time_us, self._time_text
        for oid, order in self._dirty_orders.items():
            if order.live:
                market = order.market
                head = market.row_heads.get(order.user)
                if head is None:
                    head = market.row_heads[order.user] = f"[{order.user}{market.row_pair},"
                remaining = order.remaining
                if order.is_bid:
                    quantity = remaining
                    price = market.book.bids.levels[order.price].text
                else:
                    quantity = -remaining
                    price = market.book.asks.levels[order.price].text
                tonce, time = order.tonce, order.time
                flags = (
                    (",null,true," if order.persist else ",null,false,")
                    if tonce is None
                    else f",{tonce},{'true' if order.persist else 'false'},"
                )
                append(
                    (
                        "order",
                        str(oid),
                        f"{head}{quantity},{price}{flags}"
                        f"{time_text if time == time_us else time},{order.reserved}]",
                    )
                )
                order.stored = True
            elif order.stored:
                append(("order", str(oid), None))
                order.stored = False
        self._dirty_orders = {}
        if self._dirty_fees:
            for asset in self._dirty_fees:
                append(("fees", str(asset), str(self._fees[asset])))
            self._dirty_fees = set()
        if self._traded:
            for market in self._traded:
                pair = market.pair
                name = f"{pair.base}:{pair.counter}"
                window = market.window
                append(("last", name, null(window.last)))
                for start, (_, low, high, volume) in window.dirty.items():
                    append(("ticker", f"{name}:{start}", f"[{low},{high},{volume}]"))
                window.dirty.clear()
            self._traded = set()
        volumes = self._volumes
        if volumes.dirty:
            assets = self._asset_texts  # the listed pairs' assets, rendered
            for start, bucket in volumes.dirty.items():
                amounts = bucket.amounts
                prefix = f"{start}:"
                for uid in bucket.dirty:
                    parts = []
                    for a, v in amounts[uid].items():
                        parts.append(f"[{assets.get(a) or a},{v}]")
                    append(("volume", f"{prefix}{uid}", f"[{','.join(parts)}]"))
                bucket.dirty.clear()
            volumes.dirty.clear()
        if self._dead_rows:
            rows.extend(self._dead_rows)
            self._dead_rows = []
        if self._meta_dirty:
            append(("meta", "next_order_id", str(self._next_order_id)))
            append(("meta", "clock", str(self._clock_us)))
            self._meta_dirty = False
        return rows

    def load(self: ExchangeCore, rows: Iterable[tuple[str, str, str | None]]) -> None:
        """Rebuild the state stored by ``take_changes`` (call on a fresh core, before any
        session). Orders with persist=false are cancelled on the first connect or tick.

        Buckets that left their window while the exchange was down are dropped, and their
        deletions stay pending for the next ``take_changes``. A store written by an older
        cfdash (one ``trade`` row per trade) is converted: its trades are folded into buckets
        and the next ``take_changes`` replaces the trade rows with bucket rows.
        """
        orders: list[tuple[int, list[Any]]] = []
        balances: list[tuple[int, int, list[int]]] = []
        tonces: list[tuple[int, int]] = []
        lasts: dict[Pair, int | None] = {}
        tickers: list[tuple[int, int, int, list[int]]] = []
        volumes: list[tuple[int, int, list[list[int]]]] = []
        legacy: list[tuple[int, list[int]]] = []
        obsolete: list[tuple[str, str, None]] = []  # an older store's rows to delete
        for kind, key, text in rows:
            if text is None:
                continue
            value = json.loads(text)
            if kind == "user":
                self.add_user(int(key), value["cookie"], b64decode(value["public_key"]))
            elif kind == "balance":
                uid, asset = (int(x) for x in key.split(":"))
                balances.append((uid, asset, value))
            elif kind == "tonce":
                tonces.append((int(key), int(value)))
            elif kind == "order":
                orders.append((int(key), value))
            elif kind == "fees":
                self._fees[int(key)] = int(value)
            elif kind == "last":
                base, counter = (int(x) for x in key.split(":"))
                lasts[Pair(base, counter)] = value
            elif kind == "ticker":
                base, counter, start = (int(x) for x in key.split(":"))
                tickers.append((start, base, counter, value))
            elif kind == "volume":
                start, uid = (int(x) for x in key.split(":"))
                volumes.append((start, uid, value))
            elif kind == "trade":  # an older store's per-trade row
                legacy.append((int(key), value))
            elif kind == "meta":
                if key == "next_order_id":
                    self._next_order_id = int(value)
                elif key == "clock":
                    self._clock_us = max(self._clock_us, int(value))
                elif key == "next_trade_seq":
                    obsolete.append(("meta", key, None))
        users = self._users
        for uid, asset, (avail, reserved) in balances:
            account = users[uid].account
            account.available[asset] = avail
            account.reserved[asset] = reserved
        for uid, tonce in tonces:
            users[uid].tonce = tonce
        orders.sort(key=lambda item: item[0])
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
        tickers.sort(key=lambda item: item[0])
        for start, base, counter, (low, high, volume) in tickers:
            self._market(Pair(base, counter)).window.restore(start, low, high, volume)
            self._clock_us = max(self._clock_us, start)
        volumes.sort(key=lambda item: (item[0], item[1]))
        for start, uid, amounts in volumes:
            self._volumes.restore(start, uid, users[uid].account, dict(map(tuple, amounts)))
            self._clock_us = max(self._clock_us, start)
        for pair, last in lasts.items():
            self._market(pair).window.last = last
        self._next_expiry_us = 0
        self._expire(self._clock_us)
        dead = self._dead_rows
        self.take_changes()  # the rebuild itself changed nothing
        self._dead_rows = dead + obsolete
        if legacy:
            self._load_legacy_trades(legacy)
        self._touched.clear()
        for market in self._markets.values():
            market.ticker_pub = market.ticker_values()
        self._out.clear()

    def _load_legacy_trades(self: ExchangeCore, trades: list[tuple[int, list[int]]]) -> None:
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
            self._dead_rows.append(("trade", str(seq), None))
            self._clock_us = max(self._clock_us, time)
        self._next_expiry_us = 0
        self._expire(self._clock_us)
