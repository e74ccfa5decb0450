"""Building blocks: stochastic rounding, the order book, rate limiters, ticker windows."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from cfdash.core.assets import PAIRS, V1, V2
from cfdash.core.engine.book import Book, Order
from cfdash.core.engine.exchange import ExchangeCore, _max_total
from cfdash.core.engine.limits import RateLimiter
from cfdash.core.engine.rounding import ceil_div, stochastic_round, uniform_below
from cfdash.core.engine.ticker import TickerWindow

from .helpers import PAIR, PinnedRandom


@given(st.integers(0, 10**30), st.integers(1, 10**12), st.integers(0, 2**32))
def test_stochastic_round_is_floor_or_ceil(num: int, den: int, seed: int) -> None:
    result = stochastic_round(num, den, random.Random(seed))
    assert num // den <= result <= ceil_div(num, den)
    if num % den == 0:
        assert result == num // den


def test_stochastic_round_exact_needs_no_randomness() -> None:
    rng = PinnedRandom(up=True)
    assert stochastic_round(300, 3, rng) == 100
    assert rng.draws == 0


def test_stochastic_round_pinned_directions() -> None:
    assert stochastic_round(4321, 100, PinnedRandom(up=True)) == 44
    assert stochastic_round(4321, 100, PinnedRandom(up=False)) == 43

    # the boundary: a draw equal to the remainder rounds down, one below rounds up
    class Draw(random.Random):
        def __init__(self, value: int) -> None:
            super().__init__(0)
            self.value = value

        def randrange(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
            return self.value

    assert stochastic_round(4321, 100, Draw(20)) == 44
    assert stochastic_round(4321, 100, Draw(21)) == 43


def test_stochastic_round_probability_equals_fraction() -> None:
    rng = random.Random(12345)
    n = 20000
    ups = sum(stochastic_round(4321, 100, rng) - 43 for _ in range(n))
    # 21 % expected; 5 standard deviations is about 1.4 %
    assert abs(ups / n - 0.21) < 0.015


@given(st.integers(0, 2**32), st.lists(st.integers(1, 10**20), min_size=1, max_size=30))
def test_uniform_below_draws_what_randrange_draws(seed: int, bounds: list[int]) -> None:
    # the engine's fast draw keeps a seeded engine's rounding exactly as randrange made it
    below = uniform_below(random.Random(seed))
    reference = random.Random(seed)
    assert [below(n) for n in bounds] == [reference.randrange(n) for n in bounds]


def test_uniform_below_uses_a_test_doubles_randrange() -> None:
    rng = PinnedRandom(up=True)
    below = uniform_below(rng)
    assert below(100) == 0 and rng.draws == 1  # PinnedRandom's own randrange, counted


@given(st.integers(0, 10**15), st.fractions(0, 1))
def test_max_total_is_the_largest_affordable(budget: int, fee: Fraction) -> None:
    fn, fd = fee.numerator, fee.denominator
    t = _max_total(budget, fn, fd)
    assert t >= 0
    if t:
        assert t + ceil_div(t * fn, fd) <= budget
    assert (t + 1) + ceil_div((t + 1) * fn, fd) > budget


@given(st.sampled_from(PAIRS), st.integers(1, 10**12), st.integers(1, 10**9))
def test_bid_reservation_matches_scales(pair, quantity: int, price: int) -> None:
    for scales in (V1, V2):
        from cfdash.core.engine.exchange import EngineConfig

        core = ExchangeCore(EngineConfig(scales=scales), seed=1)
        assert core.bid_reservation(pair, quantity, price) == scales.bid_reservation(
            pair, quantity, price
        )


def test_impl_guide_reservation() -> None:
    from cfdash.core.engine.exchange import EngineConfig

    core = ExchangeCore(EngineConfig(scales=V1), seed=1)
    assert core.bid_reservation(PAIR, 12345, 1234500) == 1523991


def _order(oid: int, is_bid: bool, price: int, qty: int = 10) -> Order:
    return Order(oid, 1, PAIR, is_bid, price, qty, qty, None, True, oid)


def test_book_best_prices_and_fifo() -> None:
    book = Book(PAIR)
    assert book.bids.best_price() is None and book.asks.best_price() is None
    for oid, price in enumerate([100, 105, 103, 105, 99], start=1):
        book.add(_order(oid, True, price))
    for oid, price in enumerate([110, 108, 120, 108], start=10):
        book.add(_order(oid, False, price))
    assert book.bids.best_price() == 105
    assert book.asks.best_price() == 108
    assert [o.id for o in book.bids.iter_orders()] == [2, 4, 3, 1, 5]
    assert [o.id for o in book.asks.iter_orders()] == [11, 13, 10, 12]
    level = book.bids.best_level()
    assert level is not None and level.quantity == 20 and level.head().id == 2


def test_book_cancel_is_lazy_and_drops_empty_levels() -> None:
    book = Book(PAIR)
    orders = [_order(i, True, 100 + (i % 3)) for i in range(1, 10)]
    for o in orders:
        book.add(o)
    book.remove(orders[1])  # id 2, price 102 (head of its level)
    level = book.bids.best_level()
    assert level is not None and level.head().id == 5
    for o in orders:
        if o.price == 102 and o.live:
            book.remove(o)
    assert book.bids.best_price() == 101
    assert 102 not in book.bids.levels
    assert book.bids.top(2) == [orders[0], orders[3]]
    assert book.bids.top(0) == []


def test_book_level_compaction_keeps_fifo() -> None:
    book = Book(PAIR)
    orders = [_order(i, False, 50) for i in range(1, 200)]
    for o in orders:
        book.add(o)
    for o in orders[1:-1]:
        book.remove(o)
    level = book.asks.levels[50]
    assert len(level.orders) < 50  # compacted
    assert [o.id for o in level] == [1, 199]
    assert level.quantity == 20


def test_rate_limiter_sliding_window() -> None:
    limiter = RateLimiter(3, 10.0)
    assert all(limiter.allow(t) for t in (0.0, 1.0, 2.0))
    assert not limiter.allow(5.0)
    assert not limiter.allow(9.99)
    assert limiter.allow(10.0)  # the event at 0.0 has left the window
    assert not limiter.allow(10.5)
    assert limiter.allow(11.0)


def test_rate_limiter_keeps_only_the_window_under_a_lifted_limit() -> None:
    limiter = RateLimiter(10**9, 1.0)
    for i in range(10_000):
        assert limiter.allow(i * 0.01)  # 100 events a second for 100 s
    assert len(limiter._events) == 100  # the last second's, not all 10,000


def test_ticker_window_low_high_volume_expire() -> None:
    w = TickerWindow(window_us=100, bucket_us=10)
    assert w.add(0, 50, 1)
    assert w.add(10, 40, 2)  # one bucket each: they expire exactly 100 after the trade
    assert w.add(20, 60, 3)
    assert w.add(30, 45, 4)
    assert (w.low, w.high, w.volume, w.last) == (40, 60, 10, 45)
    assert w.expire(99) == []
    assert w.expire(100) == [0]
    assert (w.low, w.high, w.volume) == (40, 60, 9)
    assert w.expire(110) == [10]  # the low
    assert (w.low, w.high, w.volume) == (45, 60, 7)
    assert w.expire(130) == [20, 30]
    assert (w.low, w.high, w.volume, w.last) == (None, None, 0, 45)


def test_ticker_window_compacts_trades_into_buckets() -> None:
    w = TickerWindow(window_us=100, bucket_us=10)
    assert w.add(0, 50, 1)
    assert not w.add(3, 70, 2)  # same bucket: low, high and volume merge
    assert not w.add(9, 30, 3)
    assert w.add(10, 55, 4)  # the next bucket starts at the first trade that does not fit
    assert [list(b) for b in w.buckets] == [[0, 30, 70, 6], [10, 55, 55, 4]]
    assert (w.low, w.high, w.volume, w.last) == (30, 70, 10, 55)
    # a bucket leaves with its start: the trades at 3 and 9 count for a little under 100
    assert w.expire(100) == [0]
    assert (w.low, w.high, w.volume) == (55, 55, 4)
