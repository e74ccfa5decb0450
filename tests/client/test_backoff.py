"""Reconnection delays: immediate first retry, full jitter, a cap, reset."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.client.backoff import Backoff


@settings(max_examples=50)
@given(
    st.floats(min_value=0.01, max_value=5),
    st.floats(min_value=0.1, max_value=60),
    st.integers(min_value=0, max_value=2**32),
)
def test_delays_are_jittered_within_a_growing_capped_window(
    base: float, cap: float, seed: int
) -> None:
    backoff = Backoff(base, cap, random.Random(seed))
    delays = [backoff.next_delay() for _ in range(40)]
    assert delays[0] == 0.0
    for n, delay in enumerate(delays[1:], start=1):
        assert 0.0 <= delay <= min(cap, base * 2**n)
    backoff.reset()
    assert backoff.next_delay() == 0.0


def test_jitter_spreads_the_delays() -> None:
    backoff = Backoff(1.0, 30.0, random.Random(1))
    samples = []
    for _ in range(200):
        backoff.reset()
        backoff.next_delay()
        for _ in range(5):
            delay = backoff.next_delay()
        samples.append(delay)
    # The sixth attempt's window is [0, 30): full jitter uses all of it, not just the top.
    assert min(samples) < 5 and max(samples) > 25
