"""The engine's trade rounding is ``rounding.stochastic_round``, inlined in the hot path
(``Engine._trade``): pinned here by running one trade through the real engine and the
function side by side on the same inputs and the same random draws.

The seam is the engine's injected rounding generator (``ExchangeCore(rng=...)``): a trade
draws from it, in order, for its total, the taker fee and the maker fee, so a second generator
with the same seed replays the draws for ``stochastic_round``. Nothing is added to the hot
path."""

from __future__ import annotations

import json
import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import V1, V2, Scales
from cfdash.core.engine.exchange import EngineConfig, ExchangeCore
from cfdash.core.engine.rounding import stochastic_round

from .helpers import PAIR

SELLER, BUYER = 1, 2
fees = st.builds(
    Fraction, st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=10_000)
)


def _one_trade(
    scales: Scales, maker_fee: Fraction, taker_fee: Fraction, q: int, p: int, seed: int
) -> dict[str, int]:
    """A resting ask of ``q`` at ``p`` taken by a market buy of ``q``: its OrdersMatched, the
    buyer's and the seller's versions merged (each has its own side's fee)."""
    config = EngineConfig(scales=scales, maker_fee=maker_fee, taker_fee=taker_fee)
    core = ExchangeCore(config, rng=random.Random(seed))
    for uid in (SELLER, BUYER):
        core.add_user(uid, f"cookie{uid}", bytes(56))
        core.credit(uid, PAIR.base, 10**15)
        core.credit(uid, PAIR.counter, 10**18)
        core.login(core.connect(0.0), uid)
    core.place_limit(SELLER, PAIR, -q, p)
    assert core.place_market(BUYER, PAIR, quantity=q) == 0
    matched = [
        json.loads(text) for _, text in core.take_output() if '"notice":"OrdersMatched"' in text
    ]
    assert len(matched) == 2 and all(m["quantity"] == q for m in matched)
    return matched[0] | matched[1]


@settings(max_examples=300, deadline=None)
@given(
    scales=st.sampled_from([V1, V2]),
    maker_fee=fees,
    taker_fee=fees,
    q=st.integers(min_value=1, max_value=10**9),
    p=st.integers(min_value=1, max_value=10**8),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_trade_rounding_is_stochastic_round(
    scales: Scales, maker_fee: Fraction, taker_fee: Fraction, q: int, p: int, seed: int
) -> None:
    matched = _one_trade(scales, maker_fee, taker_fee, q, p, seed)
    # the same rounding by the function, on the same draws: total, then taker and maker fee
    rng = random.Random(seed)
    ratio = Fraction(scales.asset(PAIR.counter), scales.asset(PAIR.base) * scales.price_scale(PAIR))
    total = stochastic_round(q * p * ratio.numerator, ratio.denominator, rng)
    taker = taker_fee.numerator and stochastic_round(
        total * taker_fee.numerator, taker_fee.denominator, rng
    )
    maker = maker_fee.numerator and stochastic_round(
        total * maker_fee.numerator, maker_fee.denominator, rng
    )
    assert (matched["total"], matched["bid_counter_fee"], matched["ask_counter_fee"]) == (
        total,
        taker,
        maker,
    )
