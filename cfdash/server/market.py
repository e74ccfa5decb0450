"""The random processes behind the simulated market (no engine, no I/O).

A pair's fair price is ``anchor * exp(factor + own)``: ``factor`` is shared by the pairs of one
base asset (every XBT pair moves with bitcoin; BCH follows it loosely), ``own`` is the pair's
small drift (exchange rate, local flow, the impact of its trades). Both are Gaussian random
walks pulled gently back to zero, so the price wanders for minutes but stays plausible for
days. Each factor's volatility comes from a regime (calm, normal, wild) that changes every minute
or two, and the regime also scales how often takers trade.

Sizes are heavy-tailed (lognormal, now and then a much larger "wall") and rounded to two
significant digits, as people type them; gaps between quoted levels are mostly one tick, now
and then several. Every draw comes from the ``random.Random`` passed in, in a fixed order, so
the same seed and the same clock steps give the same market.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from cfdash.core.assets import Assets, Pair

XBT: Final = Assets["XBT"]
BCH: Final = Assets["BCH"]


@dataclass(frozen=True, slots=True)
class Regime:
    """A volatility regime: log-price volatility per sqrt(second), the takers' activity
    multiplier and the mean time it lasts (seconds)."""

    name: str
    vol: float
    activity: float
    stay: float


REGIMES: Final = (
    Regime("calm", 0.4e-4, 0.35, 150.0),
    Regime("normal", 1.2e-4, 1.0, 120.0),
    Regime("wild", 3.5e-4, 2.6, 45.0),
)
NORMAL: Final = 1

REVERT: Final = 1800.0  # seconds: how slowly a factor is pulled back to its anchor
OWN_VOL: Final = 0.25e-4  # a pair's own drift around its base asset's factor
OWN_REVERT: Final = 240.0
BCH_BETA: Final = 0.7  # how much of bitcoin's move BCH follows
MAX_DT: Final = 5.0  # a longer pause (a suspended laptop) counts as this long

# Gaps between neighbouring quoted levels, in ticks, and their weights.
GAPS: Final = (1, 2, 3, 4, 5, 7)
GAP_WEIGHTS: Final = (60, 20, 9, 5, 4, 2)


def nice_tick(mid: int, fraction: int = 15_000) -> int:
    """The price grid of a pair: about ``mid / fraction``, rounded down to 1, 2 or 5 x 10^k."""
    raw = max(1, mid // fraction)
    power = int(10 ** (len(str(raw)) - 1))
    for step in (5, 2, 1):
        if step * power <= raw:
            return step * power
    return power  # unreachable: raw >= power


def round_size(size: float, lot: int) -> int:
    """``size`` (base units) to two significant digits and a whole number of lots (>= 1 lot)."""
    value = max(int(size), lot)
    step = max(lot, int(10 ** max(len(str(value)) - 2, 0)))
    return max(lot, value - value % step)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def gap(rng: random.Random) -> int:
    """Ticks between two neighbouring levels of a market maker's ladder."""
    return rng.choices(GAPS, GAP_WEIGHTS)[0]


class Factor:
    """A log-price offset that wanders with a regime-dependent volatility."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.x = 0.0
        self.regime = NORMAL

    @property
    def state(self) -> Regime:
        return REGIMES[self.regime]

    def advance(self, dt: float) -> float:
        """Move by ``dt`` seconds; returns the random step (before the pull back)."""
        rng = self.rng
        if rng.random() < dt / self.state.stay:
            self.regime = rng.choice([i for i in range(len(REGIMES)) if i != self.regime])
        step = self.state.vol * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        self.x += step - self.x * dt / REVERT
        return step


class Market:
    """Fair prices of a set of pairs, advanced by the traders' clock."""

    def __init__(self, rng: random.Random, anchors: dict[Pair, int]) -> None:
        self.rng = rng
        self.anchors = dict(anchors)
        self.factors: dict[int, Factor] = {}
        for pair in anchors:
            if pair.base not in self.factors:
                self.factors[pair.base] = Factor(rng)
        self.own: dict[Pair, float] = dict.fromkeys(anchors, 0.0)
        self.now: float | None = None

    def advance(self, now: float) -> None:
        """Bring every fair price to ``now`` (the first call only sets the clock)."""
        if self.now is None:
            self.now = now
        if now <= self.now:
            return
        dt = min(now - self.now, MAX_DT)
        self.now = now
        steps = {base: factor.advance(dt) for base, factor in self.factors.items()}
        if BCH in self.factors and XBT in steps:  # BCH follows bitcoin loosely
            self.factors[BCH].x += BCH_BETA * steps[XBT]
        scale = OWN_VOL * math.sqrt(dt)
        for pair, x in self.own.items():
            self.own[pair] = x + scale * self.rng.gauss(0.0, 1.0) - x * dt / OWN_REVERT

    def fair(self, pair: Pair) -> float:
        return self.anchors[pair] * math.exp(self.factors[pair.base].x + self.own[pair])

    def regime(self, pair: Pair) -> Regime:
        return self.factors[pair.base].state

    def impact(self, pair: Pair, price: int, share: float) -> None:
        """Move the pair's fair price ``share`` of the way (in log terms) towards ``price``."""
        fair = self.fair(pair)
        if price > 0 and fair > 0:
            self.own[pair] += share * math.log(price / fair)
