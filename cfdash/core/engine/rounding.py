"""Stochastic rounding of exact rationals (IMPL-GUIDE): round up with probability equal to the
fractional part. Exact integer arithmetic only; the randomness comes from an injected
``random.Random`` so a seeded engine is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def stochastic_round(num: int, den: int, rng: random.Random) -> int:
    """``num / den`` (both >= 0, den > 0) rounded up with probability equal to its fraction.

    An exact integer consumes no randomness; otherwise one ``rng.randrange(den)`` draw decides:
    up iff the draw is below the remainder, which happens with probability ``rem / den``.
    """
    whole, rem = divmod(num, den)
    if rem and rng.randrange(den) < rem:
        return whole + 1
    return whole


def uniform_below(rng: random.Random) -> Callable[[int], int]:
    """A function ``n -> rng.randrange(n)`` (n > 0) drawing exactly the same numbers.

    For a plain ``random.Random`` it skips ``randrange``'s argument handling (half its cost)
    and draws as CPython's ``randrange`` does: ``getrandbits(n.bit_length())`` until below
    ``n``. Any other generator (a subclass, a test double) is used through ``randrange``.
    """
    if type(rng) is not random.Random:
        return rng.randrange
    getrandbits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    return below


def ceil_div(num: int, den: int) -> int:
    """ceil(num / den) for den > 0."""
    return -(-num // den)
