"""The engine's journal: the durability rows to commit (``take_changes``) and their decoding
for the rebuild (``read``).

Rows are ``(kind, key, JSON value)``, value None = delete. The journal owns the dirty sets
the engine marks as it works; only what changed since the last ``take_changes`` is rendered,
once per key however often it changed (the last value wins). Trade history is not stored: the
trailing windows are stored as their buckets, so the number of rows is bounded by users x
assets, open orders and the windows' bucket counts.
"""

from __future__ import annotations

import json
from base64 import b64decode
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..assets import Pair
from ..auth import b64
from .accounts import VolumeWindow
from .book import Order
from .notices import dumps, null
from .sessions import Market, User

Row = tuple[str, str, str | None]


@dataclass
class Stored:
    """The rows of a store, decoded by kind (``Journal.read``); ``ExchangeCore.load`` applies
    them."""

    users: list[tuple[int, str, bytes]] = field(default_factory=list)
    balances: list[tuple[int, int, list[int]]] = field(default_factory=list)
    tonces: list[tuple[int, int]] = field(default_factory=list)
    orders: list[tuple[int, list[Any]]] = field(default_factory=list)
    fees: dict[int, int] = field(default_factory=dict)
    lasts: dict[Pair, int | None] = field(default_factory=dict)
    tickers: list[tuple[int, int, int, list[int]]] = field(default_factory=list)
    volumes: list[tuple[int, int, list[list[int]]]] = field(default_factory=list)
    legacy: list[tuple[int, list[int]]] = field(default_factory=list)  # older per-trade rows
    obsolete: list[tuple[str, str, None]] = field(default_factory=list)  # rows to delete
    next_order_id: int | None = None
    clock_us: int | None = None


class Journal:
    """What changed since the last ``take_changes``, and its rendering as rows.

    The engine's hot path adds to ``balances``, ``orders``, ``tonces``, ``fees`` and ``traded``
    directly (it keeps references to them: they are cleared in place, never replaced)."""

    __slots__ = (
        "_asset_texts",
        "_balance_keys",
        "_fees",
        "_users",
        "_volumes",
        "balances",
        "dead",
        "fees",
        "meta",
        "orders",
        "tonces",
        "traded",
        "users",
    )

    def __init__(
        self, users: dict[int, User], fees: dict[int, int], volumes: VolumeWindow, assets: set[int]
    ) -> None:
        self._users = users
        self._fees = fees
        self._volumes = volumes
        self._asset_texts = {a: str(a) for a in assets}
        self._balance_keys: dict[tuple[int, int], str] = {}  # (user, asset) -> its row key
        self.users: set[int] = set()
        self.balances: set[tuple[int, int]] = set()
        self.tonces: set[int] = set()
        self.orders: dict[int, Order] = {}
        self.fees: set[int] = set()
        self.traded: set[Market] = set()  # their last price and ticker buckets changed
        self.dead: list[Row] = []  # buckets that left their window
        self.meta = False  # next_order_id or the clock changed

    def take_changes(
        self, next_order_id: int, clock_us: int, time_us: int, time_text: str
    ) -> list[Row]:
        """Rows changed since the last call: (kind, key, JSON value), value None = delete.

        ``user`` id -> {cookie, public_key (base64)}; ``balance`` "user:asset" ->
        [available, reserved]; ``tonce`` user -> last tonce; ``order`` id -> [user, base,
        counter, signed remaining, price, tonce, persist, time, reservation]; ``fees`` asset ->
        collected; ``last`` "base:counter" -> last trade price; ``ticker``
        "base:counter:start" -> [low, high, volume] of one ticker bucket; ``volume``
        "start:user" -> [[asset, volume], ...] of one trade-volume bucket; ``meta``
        next_order_id / clock (microseconds). ``time_us``/``time_text``: the outbox's last
        rendered time (an order placed then renders it once).
        """
        rows: list[Row] = []
        append = rows.append
        users = self._users
        if self.users:
            for uid in self.users:
                user = users[uid]
                value = {"cookie": user.cookie, "public_key": b64(user.public_key)}
                append(("user", str(uid), dumps(value)))
            self.users.clear()
        balance_keys = self._balance_keys
        for key in self.balances:
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
        self.balances.clear()
        if self.tonces:
            for uid in self.tonces:
                append(("tonce", str(uid), str(users[uid].tonce)))
            self.tonces.clear()
        if self.orders:
            self._order_rows(append, time_us, time_text)
        if self.fees:
            for asset in self.fees:
                append(("fees", str(asset), str(self._fees[asset])))
            self.fees.clear()
        if self.traded:
            for market in self.traded:
                pair = market.pair
                name = f"{pair.base}:{pair.counter}"
                window = market.window
                append(("last", name, null(window.last)))
                for start, (_, low, high, volume) in window.dirty.items():
                    append(("ticker", f"{name}:{start}", f"[{low},{high},{volume}]"))
                window.dirty.clear()
            self.traded.clear()
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
        if self.dead:
            rows.extend(self.dead)
            self.dead.clear()
        if self.meta:
            append(("meta", "next_order_id", str(next_order_id)))
            append(("meta", "clock", str(clock_us)))
            self.meta = False
        return rows

    def _order_rows(self, append: Any, time_us: int, time_text: str) -> None:
        for oid, order in self.orders.items():
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
        self.orders.clear()

    @staticmethod
    def read(rows: Iterable[Row]) -> Stored:
        """Decode a store's rows by kind (deletions skipped)."""
        stored = Stored()
        for kind, key, text in rows:
            if text is None:
                continue
            value = json.loads(text)
            if kind == "user":
                stored.users.append((int(key), value["cookie"], b64decode(value["public_key"])))
            elif kind == "balance":
                uid, asset = (int(x) for x in key.split(":"))
                stored.balances.append((uid, asset, value))
            elif kind == "tonce":
                stored.tonces.append((int(key), int(value)))
            elif kind == "order":
                stored.orders.append((int(key), value))
            elif kind == "fees":
                stored.fees[int(key)] = int(value)
            elif kind == "last":
                base, counter = (int(x) for x in key.split(":"))
                stored.lasts[Pair(base, counter)] = value
            elif kind == "ticker":
                base, counter, start = (int(x) for x in key.split(":"))
                stored.tickers.append((start, base, counter, value))
            elif kind == "volume":
                start, uid = (int(x) for x in key.split(":"))
                stored.volumes.append((start, uid, value))
            elif kind == "trade":  # an older store's per-trade row
                stored.legacy.append((int(key), value))
            elif kind == "meta":
                if key == "next_order_id":
                    stored.next_order_id = int(value)
                elif key == "clock":
                    stored.clock_us = max(stored.clock_us or 0, int(value))
                elif key == "next_trade_seq":
                    stored.obsolete.append(("meta", key, None))
        return stored
