"""The simulated market's random processes (``cfdash.server.market``): no engine, no sockets."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from cfdash.core.assets import SPOT_PAIRS
from cfdash.server.market import REGIMES, Market, gap, nice_tick, round_size
from cfdash.server.traders import START_MID


def test_ticks_are_round_and_about_a_fifteen_thousandth_of_the_price() -> None:
    assert [nice_tick(START_MID[p]) for p in SPOT_PAIRS] == [200, 200, 200, 1000, 2]
    assert nice_tick(1) == 1 and nice_tick(100_00) == 1
    for mid in (7_654_321, 30_000_00, 999):
        tick = nice_tick(mid)
        assert int(str(tick)[0]) in (1, 2, 5) and set(str(tick)[1:]) <= {"0"}
        assert tick <= max(1, mid // 15_000) < 5 * tick


@given(st.floats(0, 1e12), st.sampled_from([1, 100, 10_000]))
def test_sizes_are_whole_lots_with_two_significant_digits(size: float, lot: int) -> None:
    rounded = round_size(size, lot)
    assert rounded >= lot and rounded % lot == 0
    assert rounded <= max(size, lot)
    assert len(str(rounded).rstrip("0")) <= 2  # lots are powers of ten


def test_gaps_are_mostly_one_tick() -> None:
    rng = random.Random(1)
    gaps = [gap(rng) for _ in range(2000)]
    assert 0.5 < gaps.count(1) / len(gaps) < 0.7 and max(gaps) > 3


def _path(seed: int, seconds: int, step: float = 1.0) -> tuple[list[float], set[str]]:
    market = Market(random.Random(seed), {p: START_MID[p] for p in SPOT_PAIRS})
    market.advance(0.0)
    fairs, regimes = [], set()
    for i in range(1, int(seconds / step) + 1):
        market.advance(i * step)
        fairs.append(market.fair(SPOT_PAIRS[0]))
        regimes.add(market.regime(SPOT_PAIRS[0]).name)
    return fairs, regimes


def test_the_fair_price_wanders_through_every_regime_but_stays_plausible_for_a_day() -> None:
    fairs, regimes = _path(3, 24 * 3600)
    start = START_MID[SPOT_PAIRS[0]]
    assert regimes == {r.name for r in REGIMES}
    assert all(0.85 * start < f < 1.15 * start for f in fairs)
    assert (max(fairs) - min(fairs)) / start > 0.005


def test_the_same_seed_and_clock_give_the_same_path() -> None:
    assert _path(5, 600, 0.1) == _path(5, 600, 0.1)
    assert _path(5, 600, 0.1) != _path(6, 600, 0.1)


def test_a_trade_moves_the_fair_price_towards_its_price() -> None:
    pair = SPOT_PAIRS[0]
    market = Market(random.Random(1), {pair: 30_000_00})
    market.impact(pair, 30_100_00, 0.5)
    assert 30_040_00 < market.fair(pair) < 30_060_00
