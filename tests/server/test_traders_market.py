"""The simulated market looks real: checked statistically over a fixed seed.

The traders run against a bare ``ExchangeCore`` on a simulated clock (0.1 s steps, as the
server's loop drives them) for ten minutes; a watcher session sees every spot book through the
client's own book view, as a dashboard would. The demo user rests a bid and an ask 3 % off the
market and a small bid at the touch. One test runs a real ``cfdash serve`` process.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest

from cfdash.core.assets import SPOT_PAIRS, Pair
from cfdash.core.engine.exchange import ExchangeCore
from cfdash.core.views.book import OrderBook
from cfdash.server.traders import START_MID, Traders, anchor, trader_ids
from cfdash.server.users import DEMO_USER_ID, bootstrap
from tests.support.processes import ServeProcess
from tests.support.servers import XBT_GBP, Client

T0 = 1_700_000_000.0
STEP = 0.1
SEED = 2026
MINUTES = 10
FAR = 0.03  # the demo user's far orders sit this far from the starting mid
DEMO_ORDERS = ("far_bid", "far_ask", "near_bid", "near_ask")  # near: at the touch, 0.01 each


@dataclass
class Run:
    """What one simulated run produced."""

    core: ExchangeCore
    traders: Traders
    trades: list[dict[str, Any]] = field(default_factory=list)  # the watcher's OrdersMatched
    samples: dict[Pair, list[tuple[int, int]]] = field(default_factory=dict)  # levels a side
    mids: dict[Pair, list[float]] = field(default_factory=dict)  # once a second
    sizes: list[int] = field(default_factory=list)  # XBT:GBP top-20 level sizes, every 10 s
    gaps: Counter[int] = field(default_factory=Counter)  # XBT:GBP ticks between levels
    trader_frames: list[dict[str, Any]] = field(default_factory=list)
    demo: dict[str, int] = field(default_factory=dict)  # order ids by name
    demo_prices: dict[str, int] = field(default_factory=dict)


def _send(core: ExchangeCore, sid: int, now: float, **command: Any) -> None:
    core.receive(sid, json.dumps(command), now)


def _place(core: ExchangeCore, sid: int, now: float, quantity: int, price: int, **kw: Any) -> None:
    """A limit order on XBT:GBP."""
    base, counter = XBT_GBP.base, XBT_GBP.counter
    _send(
        core,
        sid,
        now,
        method="PlaceOrder",
        base=base,
        counter=counter,
        quantity=quantity,
        price=price,
        **kw,
    )


def simulate(seed: int, minutes: float, *, demo_orders: bool = False) -> Run:
    core = ExchangeCore(seed=seed)
    bootstrap(core)
    traders = Traders(core, seed)
    run = Run(core, traders)
    sessions = set(traders.start(T0))
    watcher = core.connect(T0)
    books = {pair: OrderBook(pair.base, pair.counter) for pair in SPOT_PAIRS}
    for pair in SPOT_PAIRS:
        _send(
            core,
            watcher,
            T0,
            method="WatchOrders",
            base=pair.base,
            counter=pair.counter,
            watch=True,
            tag=1,
        )
    demo = core.connect(T0)
    core.login(demo, DEMO_USER_ID)
    tick = traders.makers[0].tick
    for i in range(int(minutes * 60 / STEP)):
        now = T0 + i * STEP
        traders.step(now)
        if demo_orders and i == 1:
            best_bid, best_ask = books[XBT_GBP].best_bid(), books[XBT_GBP].best_ask()
            assert best_bid is not None and best_ask is not None
            far_bid = int(START_MID[XBT_GBP] * (1 - FAR)) // tick * tick
            far_ask = int(START_MID[XBT_GBP] * (1 + FAR)) // tick * tick
            for tonce, (quantity, price) in enumerate(
                [(10**8, far_bid), (-(10**8), far_ask), (10**6, best_bid), (-(10**6), best_ask)],
                1,
            ):
                _place(core, demo, now, quantity, price, tonce=tonce)
        for sid, text in core.take_output():
            if sid in sessions:
                traders.on_frame(sid, text)
                run.trader_frames.append(json.loads(text))
            elif sid == watcher:
                _watch(run, books, json.loads(text))
            elif sid == demo and demo_orders:
                msg = json.loads(text)
                if msg.get("notice") == "OrderOpened":
                    name = DEMO_ORDERS[msg["tonce"] - 1]
                    run.demo[name], run.demo_prices[name] = msg["id"], msg["price"]
        core.take_changes()
        if i % 10 == 0:
            _sample(run, books, tick, every_10s=i % 100 == 0)
    return run


def _watch(run: Run, books: dict[Pair, OrderBook], msg: dict[str, Any]) -> None:
    if "orders" in msg:  # a WatchOrders snapshot, in the order they were asked for
        book = next(b for b in books.values() if not b.synced)
        book.load_snapshot(msg["orders"])
        return
    if "base" not in msg:  # Welcome
        return
    if msg.get("notice") == "OrdersMatched":
        run.trades.append(msg)
    books[Pair(msg["base"], msg["counter"])].apply(msg)


def _sample(run: Run, books: dict[Pair, OrderBook], tick: int, *, every_10s: bool) -> None:
    for pair, book in books.items():
        run.samples.setdefault(pair, []).append((book.level_count("bid"), book.level_count("ask")))
        bid, ask = book.best_bid(), book.best_ask()
        if bid is not None and ask is not None:
            run.mids.setdefault(pair, []).append((bid + ask) / 2)
    if every_10s:
        book = books[XBT_GBP]
        for side in ("bid", "ask"):
            levels = book.levels(side)  # type: ignore[arg-type]
            run.sizes.extend(size for _, size, _ in levels[:20])
            prices = [price for price, _, _ in levels[:20]]  # the market maker's ladder
            run.gaps.update(abs(a - b) // tick for a, b in pairwise(prices))


@pytest.fixture(scope="module")
def run() -> Run:
    return simulate(SEED, MINUTES, demo_orders=True)


def _trades_of(run: Run, pair: Pair) -> list[dict[str, Any]]:
    return [t for t in run.trades if (t["base"], t["counter"]) == (pair.base, pair.counter)]


def _taker_orders(trades: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Matches grouped into the market orders that made them (same pair and time, one side
    without an id)."""
    orders: list[list[dict[str, Any]]] = []
    last: tuple[Any, ...] = ()
    for t in trades:
        key = (t["base"], t["counter"], t["time"], "bid" in t)
        if orders and key == last:
            orders[-1].append(t)
        else:
            orders.append([t])
        last = key
    return orders


def test_every_spot_pair_has_a_deep_book(run: Run) -> None:
    for pair in SPOT_PAIRS:
        samples = run.samples[pair]
        deep = sum(1 for bids, asks in samples if min(bids, asks) >= 12)
        assert deep >= 0.97 * len(samples), (pair, Counter(min(s) for s in samples))
    gbp = run.samples[XBT_GBP]
    in_range = sum(1 for bids, asks in gbp if 20 <= bids <= 40 and 20 <= asks <= 40)
    assert in_range >= 0.95 * len(gbp)
    assert max(max(s) for s in gbp) <= 40


def test_levels_have_gaps_and_sizes_a_heavy_tail(run: Run) -> None:
    gaps = run.gaps
    assert gaps[1] > sum(gaps.values()) / 3  # mostly one tick apart...
    assert sum(n for g, n in gaps.items() if g >= 2) > sum(gaps.values()) / 10  # ...not all
    assert max(gaps) >= 4
    sizes = run.sizes
    median, mean = statistics.median(sizes), statistics.mean(sizes)
    assert median < mean / 1.5  # many small levels, a few large ones
    assert max(sizes) > 10 * median
    assert sum(1 for s in sizes if s < mean) > 0.6 * len(sizes)
    assert len(set(sizes)) > 50  # not a handful of sizes repeated
    traded = [t["quantity"] for t in run.trades]
    assert max(traded) > 10 * statistics.median(traded)


def test_trades_trickle_in_bursts(run: Run) -> None:
    seconds = MINUTES * 60
    for pair in SPOT_PAIRS:
        per_minute = len(_trades_of(run, pair)) / MINUTES
        assert 3 <= per_minute <= 300, (pair, per_minute)  # several a minute .. several a second
    gbp = _trades_of(run, XBT_GBP)
    assert len(gbp) / MINUTES >= 10
    buckets = Counter(int((t["time"] / 1e6 - T0) // 10) for t in gbp)
    counts = [buckets.get(k, 0) for k in range(seconds // 10)]
    assert statistics.pvariance(counts) > 1.5 * statistics.mean(counts)  # bursts, not a metronome
    assert min(counts) < statistics.mean(counts) / 2 < max(counts) / 5  # lulls and rushes


def test_the_mid_wanders_with_changing_volatility(run: Run) -> None:
    for pair in SPOT_PAIRS:
        mids = run.mids[pair]
        start = START_MID[pair]
        assert all(0.9 * start < m < 1.1 * start for m in mids), pair
        assert (max(mids) - min(mids)) / start > 0.001, pair  # it moves
    mids = run.mids[XBT_GBP]
    ranges = [max(mids[k : k + 60]) - min(mids[k : k + 60]) for k in range(0, len(mids) - 59, 60)]
    assert max(ranges) > 2.5 * max(min(ranges), 1)  # calm minutes and wild ones


def test_large_orders_sweep_several_levels(run: Run) -> None:
    sweeps = [o for o in _taker_orders(run.trades) if len({t["price"] for t in o}) >= 3]
    assert sweeps
    assert len(sweeps) < len(_taker_orders(run.trades)) / 5  # occasional


def test_traders_are_never_the_demo_user_and_never_trade_with_themselves(run: Run) -> None:
    assert DEMO_USER_ID not in trader_ids()
    assert run.core.user_ids() == [DEMO_USER_ID, *trader_ids()]
    for frame in run.trader_frames:  # a trader would see both tonces of a self-trade
        assert not ("bid_tonce" in frame and "ask_tonce" in frame), frame
        assert frame.get("error_code") in (None, 0), frame


def test_the_demo_users_far_orders_wait_for_the_market(run: Run) -> None:
    core = run.core
    open_orders = {o.id: o for o in core.open_orders(DEMO_USER_ID)}
    far_bid, far_ask = open_orders[run.demo["far_bid"]], open_orders[run.demo["far_ask"]]
    mids = run.mids[XBT_GBP]
    assert far_bid.price < min(mids) and far_ask.price > max(mids)  # the market never got there
    assert far_bid.remaining == 10**8 and far_ask.remaining == 10**8  # untouched
    # the orders at the touch: the market moved through one of them (and it traded), and
    # each one that traded was reached by the market
    filled = [name for name in ("near_bid", "near_ask") if run.demo[name] not in open_orders]
    assert filled
    tick = run.traders.makers[0].tick
    prices = run.demo_prices
    if "near_bid" in filled:
        assert min(mids) <= prices["near_bid"] + 10 * tick
    if "near_ask" in filled:
        assert max(mids) >= prices["near_ask"] - 10 * tick


def test_same_seed_same_market() -> None:
    a, b, c = simulate(7, 2), simulate(7, 2), simulate(8, 2)
    assert a.trades and a.trades == b.trades
    assert a.samples == b.samples
    assert a.trades != c.trades


def _deep_enough(client: Client, books: dict[Pair, OrderBook]) -> bool:
    while True:
        try:
            msg = client.recv(timeout=0.2)
        except TimeoutError:
            break
        if "notice" in msg:
            books[Pair(msg["base"], msg["counter"])].apply(msg)
    counts = {p: (b.level_count("bid"), b.level_count("ask")) for p, b in books.items()}
    return all(min(c) >= 12 for c in counts.values()) and min(counts[XBT_GBP]) >= 20


def test_a_client_of_cfdash_serve_sees_deep_books_within_seconds() -> None:
    with ServeProcess("--db", ":memory:", "--seed", "3") as server, Client(server.url) as client:
        books = {pair: OrderBook(pair.base, pair.counter) for pair in SPOT_PAIRS}
        for pair in SPOT_PAIRS:
            reply = client.call("WatchOrders", base=pair.base, counter=pair.counter, watch=True)
            assert reply["error_code"] == 0
            for notice in client.notices:
                for book in books.values():
                    book.apply(notice)
            client.notices.clear()
            books[pair].load_snapshot(reply["orders"])
        deadline = time.monotonic() + 30
        while not _deep_enough(client, books):
            assert time.monotonic() < deadline, {p.name: len(b) for p, b in books.items()}


def test_a_taker_never_reaches_a_resting_order_far_from_the_market() -> None:
    """An otherwise empty book holds the demo user's bid and ask 1 % off the fair price (past
    the sweep band): neither a small order nor a sweep reaches them; at 0.2 % a sweep does."""
    core = ExchangeCore(seed=1)
    bootstrap(core)
    traders = Traders(core, 1)
    traders.start(T0)  # the makers have not quoted yet: nothing else rests
    demo = core.connect(T0)
    core.login(demo, DEMO_USER_ID)
    taker = traders.takers[0]
    fair = traders.market.fair(XBT_GBP)
    for quantity, price in [(10**8, int(fair * 0.99)), (-(10**8), int(fair * 1.01))]:
        _place(core, demo, T0, quantity, price)
    core.take_output()
    for i in range(200):
        assert not taker._trade(T0 + i, sweep=i % 2 == 0)
    assert [o.remaining for o in core.open_orders(DEMO_USER_ID)] == [10**8, 10**8]
    _place(core, demo, T0, 10**7, int(fair * 0.998))
    while not taker._trade(T0 + 300, sweep=True):  # a sweep that sells reaches it
        pass
    assert len(core.open_orders(DEMO_USER_ID)) == 2


def test_after_a_restart_the_market_goes_on_from_its_last_price() -> None:
    fresh = ExchangeCore(seed=1)
    assert anchor(fresh, XBT_GBP) == START_MID[XBT_GBP]
    run = simulate(4, 2)
    last = run.core.ticker(XBT_GBP)["last"]
    assert isinstance(last, int) and last != START_MID[XBT_GBP]
    run.traders.stop(T0 + 200)
    again = Traders(run.core, 4)
    assert again.market.fair(XBT_GBP) == last
    maker = again.makers[0]
    assert abs(maker.mid - last) <= maker.tick  # on its tick grid
    sessions = set(again.start(T0 + 200))
    for i in range(100):
        again.step(T0 + 200 + i * STEP)
        for sid, text in run.core.take_output():
            if sid in sessions:
                assert json.loads(text).get("error_code") in (None, 0), text
    assert min(len(run.core.book(XBT_GBP).bids.keys), len(run.core.book(XBT_GBP).asks.keys)) >= 20
