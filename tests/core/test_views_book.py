"""OrderBook against a brute-force model, fed by random valid notice streams.

The stream is what an engine would emit for one book: opens with fresh ids, matches of live
orders (a bid's remaining may shrink by more than the traded quantity: its fee comes out of the
reservation), fills closing at once, cancels, and noise for another pair. The view subscribes at
engine step S (from then on the session receives the notices of the user's *own* orders: it is
their owner), the server takes the snapshot atomically at step T >= S (every notice from then on
goes to the watcher), and the reply arrives at step R >= T. So the view buffers the own notices of
[S, T) -- which the snapshot already reflects -- and all notices of [T, R), then loads the
snapshot (top ``cap`` orders per side, in price-time priority) and replays the buffer.

Which orders must be visible at engine step i >= R: those live at i (remaining > 0) that were in
the snapshot, opened at or after T, or are own orders opened in [S, T) (their OrderOpened was
buffered, so the view knows them even when the snapshot's cap left them out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.views import OrderBook, Views

BASE, COUNTER = 63488, 64032
OTHER = (63488, 64000)


@dataclass
class Live:
    quantity: int  # signed remaining
    price: int
    time: int
    own: bool


@dataclass
class Step:
    """One atomic engine step: its notices and the true book just after each of them."""

    notices: list[dict] = field(default_factory=list)
    books: list[dict[int, Live]] = field(default_factory=list)
    opened: int | None = None  # the id this step opened, if any
    own_opened: bool = False


def _copy(book: dict[int, Live]) -> dict[int, Live]:
    return {k: Live(v.quantity, v.price, v.time, v.own) for k, v in book.items()}


@st.composite
def histories(draw, max_steps: int = 40) -> list[Step]:
    book: dict[int, Live] = {}
    steps: list[Step] = []
    next_id = 100
    n = draw(st.integers(0, max_steps))
    for t in range(n):
        step = Step()

        def emit(notice: dict, step: Step = step) -> None:
            step.notices.append(notice)
            step.books.append(_copy(book))

        bids = sorted(k for k, v in book.items() if v.quantity > 0)
        asks = sorted(k for k, v in book.items() if v.quantity < 0)
        kinds = ["open", "open", "noise"]
        if bids or asks:
            kinds += ["match", "match", "close"]
        kind = draw(st.sampled_from(kinds))
        if kind == "open":
            oid = next_id
            next_id += draw(st.integers(1, 3))
            quantity = draw(st.integers(1, 40)) * draw(st.sampled_from([1, -1]))
            price = draw(st.integers(95, 105))
            own = draw(st.booleans())
            book[oid] = Live(quantity, price, t, own)
            notice = {
                "notice": "OrderOpened",
                "id": oid,
                "base": BASE,
                "counter": COUNTER,
                "quantity": quantity,
                "price": price,
                "time": t,
            }
            if own:
                notice["tonce"] = draw(st.none() | st.integers(1, 10**6))
            emit(notice)
            step.opened = oid
            step.own_opened = own
        elif kind == "noise":
            emit(
                {
                    "notice": draw(st.sampled_from(["OrderOpened", "OrderClosed"])),
                    "id": draw(st.integers(1, 10**6)),
                    "base": OTHER[0],
                    "counter": OTHER[1],
                    "quantity": draw(st.integers(1, 9)),
                    "price": 100,
                    "time": t,
                }
            )
        elif kind == "close":
            oid = draw(st.sampled_from(bids + asks))
            live = book.pop(oid)
            notice = {
                "notice": "OrderClosed",
                "id": oid,
                "base": BASE,
                "counter": COUNTER,
                "quantity": live.quantity,
                "price": live.price,
            }
            if live.own:
                notice["tonce"] = None
            emit(notice)
        else:  # match: at least one resting side; the other may be a market order
            bid = (
                draw(st.sampled_from(bids)) if (bids and draw(st.booleans())) or not asks else None
            )
            ask = (
                draw(st.sampled_from(asks))
                if asks and (bid is None or draw(st.booleans()))
                else None
            )
            limit = min(abs(book[i].quantity) for i in (bid, ask) if i is not None)
            traded = draw(st.integers(1, limit))
            price = book[ask if ask is not None else bid].price
            notice = {
                "notice": "OrdersMatched",
                "base": BASE,
                "counter": COUNTER,
                "quantity": traded,
                "price": price,
                "total": traded * price,
                "time": t,
            }
            filled = []
            if bid is not None:
                left = book[bid].quantity - traded
                rem = left - draw(st.integers(0, left))  # the fee may eat into the remainder
                book[bid].quantity = rem
                notice |= {"bid": bid, "bid_rem": rem}
                if book[bid].own:
                    notice["bid_tonce"] = None
                if rem == 0:
                    filled.append(bid)
            if ask is not None:
                rem = -book[ask].quantity - traded
                book[ask].quantity = -rem
                notice |= {"ask": ask, "ask_rem": rem}
                if book[ask].own:
                    notice["ask_tonce"] = 7
                if rem == 0:
                    filled.append(ask)
            emit(notice)
            for oid in filled:  # the engine closes a filled order in the same step
                live = book.pop(oid)
                closed = {
                    "notice": "OrderClosed",
                    "id": oid,
                    "base": BASE,
                    "counter": COUNTER,
                    "quantity": 0,
                    "price": live.price,
                }
                if live.own:
                    closed["tonce"] = None
                emit(closed)
        steps.append(step)
    return steps


def truth_after(steps: list[Step], i: int) -> dict[int, Live]:
    """The true book once the first ``i`` steps have run (every step emits a notice)."""
    return steps[i - 1].books[-1] if i > 0 else {}


def _is_own(notice: dict) -> bool:
    return any(k in notice for k in ("tonce", "bid_tonce", "ask_tonce"))


def snapshot_of(book: dict[int, Live], cap: int | None) -> list[dict]:
    """The server's WatchOrders reply: the top ``cap`` orders per side in price-time order."""
    bids = sorted(
        (k for k, v in book.items() if v.quantity > 0),
        key=lambda k: (-book[k].price, book[k].time, k),
    )
    asks = sorted(
        (k for k, v in book.items() if v.quantity < 0),
        key=lambda k: (book[k].price, book[k].time, k),
    )
    if cap is not None:
        bids, asks = bids[:cap], asks[:cap]
    return [
        {"id": k, "quantity": book[k].quantity, "price": book[k].price, "time": book[k].time}
        for k in bids + asks
    ]


def model_levels(visible: dict[int, tuple[int, int]], side: str) -> list[tuple[int, int, int]]:
    """Brute force: (price, size, count) per price, best first."""
    levels: dict[int, list[int]] = {}
    for quantity, price in visible.values():
        if (quantity > 0) == (side == "bid"):
            level = levels.setdefault(price, [0, 0])
            level[0] += abs(quantity)
            level[1] += 1
    prices = sorted(levels, reverse=side == "bid")
    return [(p, levels[p][0], levels[p][1]) for p in prices]


def assert_matches(view: OrderBook, visible: dict[int, tuple[int, int]]) -> None:
    assert view.as_orders() == visible
    bids, asks = model_levels(visible, "bid"), model_levels(visible, "ask")
    assert view.levels("bid") == bids
    assert view.levels("ask") == asks
    assert view.levels("bid", 3) == bids[:3] and view.levels("ask", 2) == asks[:2]
    assert view.best_bid() == (bids[0][0] if bids else None)
    assert view.best_ask() == (asks[0][0] if asks else None)
    spread = asks[0][0] - bids[0][0] if bids and asks else None
    assert view.spread() == spread
    assert view.bid_depth == sum(q for q, _ in visible.values() if q > 0)
    assert view.ask_depth == -sum(q for q, _ in visible.values() if q < 0)
    assert view.level_count("bid") == len(bids) and view.level_count("ask") == len(asks)
    for price, size, count in bids:
        assert view.level("bid", price) == (size, count)


@settings(max_examples=200)
@given(
    data=st.data(),
    steps=histories(),
    cap=st.none() | st.integers(0, 5),
    via_router=st.booleans(),
)
@pytest.mark.slow
def test_book_view_equals_model_after_every_notice(data, steps, cap, via_router):
    n = len(steps)
    s = data.draw(st.integers(0, n), label="subscribe at")
    t = data.draw(st.integers(s, n), label="snapshot at")
    r = data.draw(st.integers(t, n), label="reply at")

    views = Views()
    book = views.open_book((BASE, COUNTER))

    def feed(notice: dict) -> bool:
        if via_router:
            return book.name in views.route(notice)
        return book.apply(notice)

    # Before the reply: own notices of [S, T), every notice of [T, R); all buffered.
    for i in range(s, r):
        for notice in steps[i].notices:
            if i >= t or _is_own(notice):
                assert feed(notice) is False
    assert not book.synced and book.best_bid() is None and len(book) == 0

    truth_at_t = truth_after(steps, t)
    snapshot = snapshot_of(truth_at_t, cap)
    known = {o["id"] for o in snapshot}
    known |= {steps[i].opened for i in range(s, t) if steps[i].own_opened}

    def visible(truth: dict[int, Live]) -> dict[int, tuple[int, int]]:
        return {k: (v.quantity, v.price) for k, v in truth.items() if k in known and v.quantity}

    for i in range(t, r):
        if steps[i].opened is not None:
            known.add(steps[i].opened)
    version = book.version
    book.load_snapshot(snapshot)
    assert book.synced and book.pending == 0 and book.version > version
    truth_at_r = truth_after(steps, r)
    assert_matches(book, visible(truth_at_r))

    shown = visible(truth_at_r)
    for i in range(r, n):
        if steps[i].opened is not None:
            known.add(steps[i].opened)
        for notice, truth in zip(steps[i].notices, steps[i].books, strict=True):
            version = book.version
            changed = feed(notice)
            now = visible(truth)
            assert changed == (now != shown)
            assert (book.version != version) == changed
            assert_matches(book, now)
            shown = now
    if cap is None:  # with the whole book in the snapshot, the view is the book
        assert book.same_as(snapshot_of(truth_after(steps, n), None))


def test_own_notices_from_before_the_snapshot_do_not_roll_it_back():
    """The documented failure of naive replay: an own match also names the other side."""
    mine = _opened(1, 10, 100, tonce=None)
    first = _matched(bid=1, bid_rem=7, ask=2, ask_rem=7, own="bid")
    # The session, as owner, gets `mine` and `first`; then the server takes the snapshot after
    # another user's buy (not sent to us) took 3 more of order 2.
    book = OrderBook(BASE, COUNTER)
    for notice in (mine, first):
        assert not book.apply(notice)
    book.load_snapshot(
        [
            {"id": 1, "quantity": 7, "price": 100, "time": 1},
            {"id": 2, "quantity": -4, "price": 100, "time": 2},
        ]
    )
    assert book.as_orders() == {1: (7, 100), 2: (-4, 100)}
    assert book.levels("ask") == [(100, 4, 1)]


def test_an_own_order_left_out_of_a_capped_snapshot_is_kept_by_its_early_notices():
    book = OrderBook(BASE, COUNTER)
    book.apply(_opened(9, 5, 90, tonce=3))
    book.apply(_matched(bid=9, bid_rem=2, own="bid"))
    book.load_snapshot([{"id": 1, "quantity": 1, "price": 100, "time": 0}])  # cap 1
    assert book.as_orders() == {1: (1, 100), 9: (2, 90)}
    assert book.levels("bid") == [(100, 1, 1), (90, 2, 1)]


def _opened(oid: int, quantity: int, price: int, **extra) -> dict:
    base = {"notice": "OrderOpened", "id": oid, "base": BASE, "counter": COUNTER}
    return base | {"quantity": quantity, "price": price, "time": oid} | extra


def _matched(own: str | None = None, **sides) -> dict:
    notice = {"notice": "OrdersMatched", "base": BASE, "counter": COUNTER}
    notice |= {"quantity": 1, "price": 100, "total": 100, "time": 5} | sides
    if own:
        notice[f"{own}_tonce"] = None
    return notice


def test_unknown_ids_are_ignored():
    book = OrderBook(BASE, COUNTER)
    book.load_snapshot([{"id": 1, "quantity": 5, "price": 100, "time": 0}])
    version = book.version
    closed = {"notice": "OrderClosed", "id": 2, "base": BASE, "counter": COUNTER, "quantity": 3}
    matched = _matched(bid=9, bid_rem=1, ask=8, ask_rem=0)
    assert not book.apply(closed) and not book.apply(matched)
    assert book.version == version and book.as_orders() == {1: (5, 100)}


def test_a_match_naming_the_wrong_side_or_a_larger_remaining_is_ignored():
    book = OrderBook(BASE, COUNTER)
    book.load_snapshot([{"id": 1, "quantity": 5, "price": 100, "time": 0}])
    assert not book.apply(_matched(ask=1, ask_rem=2))  # order 1 is a bid
    assert not book.apply(_matched(bid=1, bid_rem=6))
    assert book.apply(_matched(bid=1, bid_rem=4))
    assert book.as_orders() == {1: (4, 100)} and book.bid_depth == 4


def test_fill_to_zero_drops_the_order_and_its_close_is_a_no_op():
    book = OrderBook(BASE, COUNTER)
    book.load_snapshot([])
    assert book.apply(_opened(1, -5, 101)) and book.apply(_opened(2, -4, 101))
    assert book.apply(_matched(ask=1, ask_rem=0))
    assert 1 not in book.orders and book.levels("ask") == [(101, 4, 1)]
    closed = {"notice": "OrderClosed", "id": 1, "base": BASE, "counter": COUNTER, "quantity": 0}
    assert not book.apply(closed)
    assert book.ask_depth == 4


def test_other_pairs_and_kinds_are_ignored_even_unsynced():
    book = OrderBook(BASE, COUNTER)
    assert not book.apply(_opened(1, 5, 100) | {"counter": OTHER[1]})
    assert not book.apply({"notice": "TickerChanged", "base": BASE, "counter": COUNTER})
    assert book.pending == 0
    assert not book.apply(_opened(1, 5, 100))
    assert book.pending == 1


def test_reset_drops_the_book_and_the_buffer():
    book = OrderBook(BASE, COUNTER)
    book.apply(_opened(1, 5, 100))
    book.load_snapshot([{"id": 2, "quantity": -1, "price": 110, "time": 0}])
    assert len(book) == 2
    book.apply(_opened(3, 5, 99))
    book.reset()
    assert not book.synced and len(book) == 0 and book.best_ask() is None
    book.apply(_opened(4, 2, 98))
    book.reset()
    book.load_snapshot([])
    assert len(book) == 0 and book.pending == 0


def test_levels_rejects_a_bad_side():
    book = OrderBook(BASE, COUNTER)
    with pytest.raises(ValueError):
        book.levels("buy")  # type: ignore[arg-type]


def test_iter_orders_in_price_time_priority():
    book = OrderBook(BASE, COUNTER)
    book.load_snapshot([])
    for oid, quantity, price in [(5, 1, 100), (3, 2, 100), (4, 1, 101), (6, -1, 105), (7, -1, 104)]:
        book.apply(_opened(oid, quantity, price) | {"time": 10 - oid})
    assert [o.id for o in book.iter_orders("bid")] == [4, 5, 3]
    assert [o.id for o in book.iter_orders("ask")] == [7, 6]
    assert book.orders[6].side == "ask" and book.orders[6].as_dict()["quantity"] == -1


@settings(max_examples=50)
@given(steps=histories(max_steps=60), cap=st.integers(1, 4))
@pytest.mark.slow
def test_same_as_compares_only_the_capped_top(steps, cap):
    """A view synced from the full book agrees with any fresh capped snapshot of it."""
    truth = truth_after(steps, len(steps))
    book = OrderBook(BASE, COUNTER)
    book.load_snapshot(snapshot_of(truth, None))
    assert book.same_as(snapshot_of(truth, cap), depth=cap)
    assert book.same_as(snapshot_of(truth, None))
    sides = [v.quantity > 0 for v in truth.values()]
    if max(sides.count(True), sides.count(False), 0) > cap:  # deeper than the capped snapshot
        assert not book.same_as(snapshot_of(truth, cap))
