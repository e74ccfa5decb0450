"""``Rollback``: a batch whose commit failed is undone, sans I/O (a dict is the store).

After ``undo`` the engine's stored state is the store's (memory and disk agree), the
connections keep their authentication, watches and ``persist: false`` orders, the batch's
orders and cancels are refused, its reads are answered on the restored state, and none of
its notices are sent (only a new connection's Welcome)."""

from __future__ import annotations

import json
from typing import Any

from cfdash.core.engine.exchange import ExchangeCore
from cfdash.core.engine.journal import Row
from cfdash.core.engine.rollback import Rollback

from .helpers import PAIR, funded, make_core

REFUSED = "cannot store (test)"
PAIR_FIELDS = {"base": PAIR.base, "counter": PAIR.counter}
NOW = 1000.0


class Batch:
    """An engine, a dict as its store and the frames of the batch since the last commit."""

    def __init__(self) -> None:
        self.core = make_core(up=True)
        funded(self.core, 1, 2)
        self.rollback = Rollback(self.core)
        self.store: dict[tuple[str, str], str] = {}
        self.frames: list[tuple[int, str | None]] = []
        self.commit()

    def commit(self) -> None:
        for kind, key, value in self.rollback.take_changes():
            if value is None:
                self.store.pop((kind, key), None)
            else:
                self.store[(kind, key)] = value
        self.core.take_output()
        self.frames.clear()

    def rows(self) -> list[Row]:
        return [(kind, key, value) for (kind, key), value in sorted(self.store.items())]

    def session(self, user: int | None = None) -> int:
        sid = self.core.connect(NOW)
        if user is not None:
            self.core.login(sid, user)
        return sid

    def send(self, sid: int, **cmd: Any) -> None:
        text = json.dumps(cmd)
        self.frames.append((sid, text))
        self.core.receive(sid, text, NOW)

    def place(self, sid: int, tag: int, quantity: int, price: int, **kw: Any) -> None:
        self.send(
            sid, method="PlaceOrder", tag=tag, base=PAIR.base, counter=PAIR.counter,
            quantity=quantity, price=price, **kw,
        )  # fmt: skip

    def fail(self) -> list[tuple[int, dict[str, Any]]]:
        """The commit of the batch failed: undo it; the output to send, decoded."""
        self.rollback.take_changes()  # rendered, never stored
        output = self.core.take_output()
        self.rollback.refuse_writes(REFUSED)
        out = self.rollback.undo(self.rows(), self.frames, output, NOW)
        self.frames.clear()
        return [(sid, json.loads(text)) for sid, text in out]


def state(core: ExchangeCore) -> dict[str, Any]:
    """Everything the store holds, as the engine reports it."""
    return {
        "balances": {uid: core.balances(uid) for uid in core.user_ids()},
        "orders": {
            uid: sorted((o.id, o.remaining, o.price, o.tonce) for o in core.open_orders(uid))
            for uid in core.user_ids()
        },
        "tonces": {uid: core.tonce(uid) for uid in core.user_ids()},
        "book": (
            [(o.id, o.remaining) for o in core.book(PAIR).bids.iter_orders()],
            [(o.id, o.remaining) for o in core.book(PAIR).asks.iter_orders()],
        ),
        "fees": core.fees_collected(),
        "ticker": core.ticker(PAIR),
    }


def stored_state(rows: list[Row], like: ExchangeCore) -> dict[str, Any]:
    fresh = ExchangeCore(like.config)
    fresh.load(rows)
    fresh._pending_volatile.clear()  # loaded persist=false orders stay for the comparison
    return state(fresh)


def replies(out: list[tuple[int, dict[str, Any]]], sid: int) -> dict[int, dict[str, Any]]:
    return {m["tag"]: m for s, m in out if s == sid and "tag" in m}


def test_an_undone_batch_is_refused_and_memory_is_the_store_again() -> None:
    b = Batch()
    owner, watcher = b.session(1), b.session()
    b.send(watcher, method="WatchOrders", tag=1, **PAIR_FIELDS, watch=True)
    b.place(owner, 1, 10_000, 30_000, tonce=1)
    b.place(owner, 2, 10_000, 29_000, tonce=2, persist=False)
    b.commit()
    stored = state(b.core)
    limiter = b.core._users[1].order_limiter

    # the batch that will not be stored: a trade, a cancel of the volatile order, a read
    other = b.session(2)
    b.place(other, 3, -20_000, 29_000, tonce=5)  # crosses both bids
    b.send(owner, method="CancelOrder", tag=4, tonce=2)
    b.send(owner, method="CancelAllOrders", tag=5)
    b.send(owner, method="GetOrders", tag=6)
    b.send(owner, method="GetBalances", tag=7)
    out = b.fail()

    assert state(b.core) == stored == stored_state(b.rows(), b.core)
    refusals = {**replies(out, other), **replies(out, owner)}
    for tag in (3, 4, 5):
        assert refusals[tag] == {"tag": tag, "error_code": 8, "error_msg": REFUSED}
    # the reads are answered on the restored state
    assert [o["tonce"] for o in refusals[6]["orders"]] == [1, 2]
    assert refusals[7]["error_code"] == 0
    # no notice of what was undone; the Welcome of the connection opened in the batch
    assert [(s, m["notice"]) for s, m in out if "notice" in m] == [(other, "Welcome")]
    assert b.core._users[1].order_limiter is limiter  # rate limits are not reset

    # the volatile order still belongs to its connection: a tick keeps it, a disconnect ends it
    b.core.tick(NOW + 1)
    assert len(b.core.open_orders(1)) == 2
    b.core.disconnect(owner, NOW + 2)
    assert [o.tonce for o in b.core.open_orders(1)] == [1]

    # the watcher still watches, and writes are accepted again once allowed
    b.rollback.allow_writes()
    b.core.take_output()
    b.place(other, 8, -5_000, 31_000, tonce=6)
    out = [(s, json.loads(t)) for s, t in b.core.take_output()]
    assert replies(out, other)[8]["error_code"] == 0
    assert any(s == watcher and m.get("notice") == "OrderOpened" for s, m in out)


def test_watches_and_reads_in_the_batch_do_not_show_what_was_undone() -> None:
    b = Batch()
    owner, ticker_watcher = b.session(1), b.session()
    b.place(owner, 1, 10_000, 30_000, tonce=1)
    b.commit()
    fresh = b.session()  # connected in the batch: its Welcome is sent
    b.place(owner, 2, 10_000, 30_500, tonce=2)
    b.send(fresh, method="WatchOrders", tag=3, **PAIR_FIELDS, watch=True)
    b.send(fresh, method="EstimateMarketOrder", tag=4, **PAIR_FIELDS, quantity=-20_000)
    b.send(ticker_watcher, method="WatchTicker", tag=5, **PAIR_FIELDS, watch=True)
    # already watching: that error stands
    b.send(ticker_watcher, method="WatchTicker", tag=6, **PAIR_FIELDS, watch=True)
    out = b.fail()

    got = replies(out, fresh)
    assert [o["price"] for o in got[3]["orders"]] == [30_000]  # not the undone 30_500
    assert got[4]["quantity"] == 10_000  # only the stored bid
    assert [m["notice"] for s, m in out if s == fresh and "notice" in m] == ["Welcome"]
    ticker = replies(out, ticker_watcher)
    assert ticker[5]["error_code"] == 0 and ticker[5]["bid"] == 30_000
    assert ticker[6]["error_code"] == 2
    # both watches hold after the undo
    b.rollback.allow_writes()
    b.place(owner, 7, 10_000, 30_200, tonce=3)
    sent = {(s, json.loads(t).get("notice")) for s, t in b.core.take_output()}
    assert (fresh, "OrderOpened") in sent and (ticker_watcher, "TickerChanged") in sent


def test_volatile_orders_of_a_connection_gone_in_the_batch_are_cancelled() -> None:
    b = Batch()
    owner = b.session(1)
    b.place(owner, 1, 10_000, 30_000, tonce=1, persist=False)
    b.commit()
    b.core.disconnect(owner, NOW)  # in the batch: its cancel is undone with the batch
    b.fail()
    assert [o.tonce for o in b.core.open_orders(1)] == [1]  # stored, waiting for the tick
    b.core.tick(NOW + 1)
    assert b.core.open_orders(1) == []
    assert ("order", "1", None) in b.rollback.take_changes()  # stored once the disk allows
