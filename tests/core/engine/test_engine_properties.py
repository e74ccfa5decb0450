"""Property tests: random order streams keep the books and the money consistent, and the
durability rows rebuild the same state."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import V1, Pair
from cfdash.core.engine.exchange import INTERNAL_ERROR, EngineConfig, ExchangeCore

from .helpers import EUR, GBP, XBT

PAIR2 = (XBT, EUR)
USERS = (1, 2, 3)
START = {XBT: 5_000, GBP: 600_000, EUR: 600_000}


def random_ops(rng: random.Random, n: int) -> list[tuple]:
    """A realistic mix: mostly limit orders near 100.00, cancels, some market orders."""
    ops: list[tuple] = []
    for _ in range(n):
        uid = rng.choice(USERS)
        roll = rng.random()
        if roll < 0.5:
            tonce = rng.randrange(1, 80) if rng.random() < 0.3 else None
            qty = rng.randint(1, 60) * rng.choice((1, -1))
            ops.append(
                (
                    "limit",
                    uid,
                    qty,
                    rng.randint(9980, 10020),
                    rng.random() < 0.3,
                    tonce,
                    rng.random() < 0.8,
                )
            )
        elif roll < 0.6:
            ops.append(
                ("market", uid, rng.randint(1, 80) * rng.choice((1, -1)), rng.random() < 0.3)
            )
        elif roll < 0.65:
            ops.append(("total", uid, rng.randint(1, 900) * rng.choice((1, -1))))
        elif roll < 0.8:
            ops.append(("cancel", uid, rng.randint(1, n)))
        elif roll < 0.85:
            ops.append(("cancel_tonce", uid, rng.randrange(1, 80)))
        elif roll < 0.88:
            ops.append(("cancel_all", uid))
        elif roll < 0.93:
            ops.append(("reconnect", uid))
        else:
            ops.append(("wait", rng.choice((1.0, 3600.0, 86400.0, 40 * 86400.0))))
    return ops


class Model:
    """Drives a core with frames and checks invariants after every step.

    A watcher session subscribes to both books and tickers unless ``watch`` is false (it
    connects either way, so session ids match). ``log`` keeps every frame sent to the users'
    sessions as (user, text); ``balance`` the last ``BalanceChanged`` each user got per asset.
    """

    def __init__(self, core: ExchangeCore, *, watch: bool = True) -> None:
        self.core = core
        self.now = 1_000.0
        self.rows: dict[tuple[str, str], str] = {}
        self.sessions: dict[int, int] = {}
        self.owner: dict[int, int] = {}  # session -> user
        self.log: list[tuple[int, str]] = []
        self.balance: dict[tuple[int, int], int] = {}
        self.tonce = dict.fromkeys(USERS, 0)
        for uid in USERS:
            core.add_user(uid, f"c{uid}", bytes(56))
            for asset, amount in START.items():
                core.credit(uid, asset, amount)
            self.sessions[uid] = self._login(uid)
        self.watcher = core.connect(self.now)
        if watch:
            for base, counter in ((XBT, GBP), PAIR2):
                for method in ("WatchOrders", "WatchTicker"):
                    self.send(self.watcher, method=method, base=base, counter=counter, watch=True)
        self.commit()

    def _login(self, uid: int) -> int:
        sid = self.core.connect(self.now)
        self.core.login(sid, uid, rate_limited=False)
        self.owner[sid] = uid
        return sid

    def _record(self, out: list[tuple[int, str]]) -> None:
        for sid, text in out:
            assert INTERNAL_ERROR not in text
            uid = self.owner.get(sid)
            if uid is None:
                continue
            self.log.append((uid, text))
            if '"BalanceChanged"' in text:
                notice = json.loads(text)
                self.balance[(uid, notice["asset"])] = notice["balance"]

    def commit(self) -> None:
        for kind, key, value in self.core.take_changes():
            if value is None:
                self.rows.pop((kind, key), None)
            else:
                self.rows[(kind, key)] = value
        self._record(self.core.take_output())

    def send(self, sid: int, **cmd: Any) -> dict[str, Any]:
        self.core.receive(sid, json.dumps(cmd), self.now)
        out = self.core.take_output()
        self._record(out)
        replies = [json.loads(t) for s, t in out if s == sid and '"error_code"' in t]
        assert len(replies) == 1
        return replies[0]

    def step(self, action: tuple) -> None:
        kind, *args = action
        if kind == "wait":
            self.now += args[0]
            self.core.tick(self.now)
            self.commit()
            return
        uid = args[0]
        sid = self.sessions[uid]
        if kind == "limit":
            _, qty, price, second, tonce, persist = args
            base, counter = PAIR2 if second else (XBT, GBP)
            cmd = {
                "base": base,
                "counter": counter,
                "quantity": qty,
                "price": price,
                "persist": persist,
            }
            if tonce is not None:
                cmd["tonce"] = tonce
            reply = self.send(sid, method="PlaceOrder", **cmd)
            self._check_tonce(uid, tonce, reply)
        elif kind == "market":
            _, qty, second = args
            base, counter = PAIR2 if second else (XBT, GBP)
            reply = self.send(sid, method="PlaceOrder", base=base, counter=counter, quantity=qty)
            assert reply["error_code"] == 0 and 0 <= reply["remaining"] <= abs(qty)
        elif kind == "total":
            reply = self.send(sid, method="PlaceOrder", base=XBT, counter=GBP, total=args[1])
            assert reply["error_code"] == 0 and 0 <= reply["remaining"] <= abs(args[1])
        elif kind == "cancel":
            owned = args[1] in {o.id for o in self.core.open_orders(uid)}
            reply = self.send(sid, method="CancelOrder", id=args[1])
            assert reply["error_code"] == (0 if owned else 1)
        elif kind == "cancel_tonce":
            reply = self.send(sid, method="CancelOrder", tonce=args[1])
            if reply["error_code"] == 0:
                assert reply["tonce"] == args[1]
        elif kind == "cancel_all":
            before = {o.id for o in self.core.open_orders(uid)}
            reply = self.send(sid, method="CancelAllOrders")
            assert {o["id"] for o in reply["orders"]} == before
            assert self.core.open_orders(uid) == []
            self.tonce[uid] = 0
        elif kind == "reconnect":
            volatile = {o.id for o in self.core.open_orders(uid) if not o.persist}
            self.core.disconnect(sid, self.now)
            assert not volatile & {o.id for o in self.core.open_orders(uid)}
            self.sessions[uid] = self._login(uid)
            # what changed while nobody was connected is news to no one: GetBalances
            for asset, (avail, _) in self.core.balances(uid).items():
                self.balance[(uid, asset)] = avail
        self.commit()
        self.check()

    def _check_tonce(self, uid: int, tonce: int | None, reply: dict[str, Any]) -> None:
        if tonce is not None and tonce <= self.tonce[uid]:
            assert reply["error_code"] == 3
        elif reply["error_code"] == 0 and tonce is not None:
            self.tonce[uid] = tonce
        assert self.core.tonce(uid) == self.tonce[uid]

    def check(self) -> None:
        core = self.core
        fees = core.fees_collected()
        for asset, start in START.items():
            held = sum(sum(core.balances(u).get(asset, (0, 0))) for u in USERS)
            assert held + fees.get(asset, 0) == start * len(USERS)
        for uid in USERS:
            need: dict[int, int] = {}
            for o in core.open_orders(uid):
                asset = o.pair.counter if o.is_bid else o.pair.base
                need[asset] = need.get(asset, 0) + o.reserved
                if o.is_bid:
                    assert o.reserved == core.bid_reservation(o.pair, o.remaining, o.price)
                else:
                    assert o.reserved == o.remaining
                assert o.remaining > 0 and o.live
            for asset, (avail, reserved) in core.balances(uid).items():
                assert avail >= 0 and reserved == need.get(asset, 0)
                # BalanceChanged reports every change: the last one is the current balance
                assert self.balance.get((uid, asset), START.get(asset)) == avail
        for base, counter in ((XBT, GBP), PAIR2):
            book = core.book(Pair(base, counter))
            bid, ask = book.bids.best_price(), book.asks.best_price()
            assert bid is None or ask is None or bid < ask
            for side in (book.bids, book.asks):
                for level in side.iter_levels():
                    assert level.quantity == sum(o.remaining for o in level)


def snapshot(core: ExchangeCore) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for base, counter in ((XBT, GBP), PAIR2):
        pair = Pair(base, counter)
        book = core.book(pair)
        state[f"book{pair}"] = [
            [
                (o.id, o.user, o.quantity, o.price, o.time, o.tonce, o.persist, o.reserved)
                for o in side.iter_orders()
            ]
            for side in (book.bids, book.asks)
        ]
        state[f"ticker{pair}"] = core.ticker(pair)
    for uid in USERS:
        state[f"bal{uid}"] = core.balances(uid)
        state[f"tonce{uid}"] = core.tonce(uid)
        state[f"orders{uid}"] = [
            (o.id, o.tonce, o.quantity, o.price, o.time) for o in core.open_orders(uid)
        ]
        state[f"vol{uid}"] = [core.trade_volume(uid, a) for a in START]
    state["fees"] = core.fees_collected()
    return state


CONFIG = EngineConfig(
    scales=V1, maker_fee=Fraction(1, 100), taker_fee=Fraction(2, 100), max_open_orders=25
)
NO_MAKER_FEE = EngineConfig(scales=V1, maker_fee=Fraction(0), max_open_orders=25)


def run_stream(config: EngineConfig, seed: int, n: int) -> None:
    ops = random_ops(random.Random(seed), n)
    model = Model(ExchangeCore(config, seed=seed))
    model.check()
    for action in ops:
        model.step(action)
    # a store holding every committed row rebuilds the same observable state
    fresh = ExchangeCore(config, seed=seed + 1)
    fresh.load((k, key, v) for (k, key), v in model.rows.items())
    assert snapshot(fresh) == snapshot(model.core)
    assert fresh.take_output() == [] and fresh.take_changes() == []
    # ...and the loaded core keeps working: the first tick cancels persist=false orders
    volatile = {o.id for u in USERS for o in model.core.open_orders(u) if not o.persist}
    fresh.tick(model.now)
    left = {o.id for u in USERS for o in fresh.open_orders(u)}
    assert not volatile & left
    rows = fresh.take_changes()
    assert {("order", str(i), None) for i in volatile} <= set(rows)
    reloaded = Model.__new__(Model)
    reloaded.core = fresh
    reloaded.balance = {}
    for uid in USERS:  # the fresh core sent no BalanceChanged: compare with the model's
        for asset in START:
            reloaded.balance[(uid, asset)] = fresh.balances(uid).get(asset, (0, 0))[0]
    reloaded.check()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 80))
def test_random_streams_keep_invariants_and_reload(seed: int, n: int) -> None:
    run_stream(CONFIG, seed, n)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 80))
def test_random_streams_without_maker_fee(seed: int, n: int) -> None:
    run_stream(NO_MAKER_FEE, seed, n)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 60))
def test_owners_get_the_same_frames_whether_or_not_the_book_is_watched(seed: int, n: int) -> None:
    # the engine renders owner notices on separate paths with and without book watchers
    logs = []
    for watch in (True, False):
        model = Model(ExchangeCore(CONFIG, seed=seed), watch=watch)
        for action in random_ops(random.Random(seed), n):
            model.step(action)
        logs.append(model.log)
    assert logs[0] == logs[1]
