"""Simulated traders that keep a fresh embedded exchange moving like a real market.

Per spot pair a market maker keeps a ladder of a dozen to a few dozen levels a side around the
pair's fair price (``market.Market``: a random walk with changing volatility), with gaps of one
to several ticks and heavy-tailed sizes, and tends it as the price moves: it cancels the quotes
the move left too close, fills the inside again and keeps the ladder's length, and now and then
resizes a level. A taker per pair trades in bursts (a self-exciting arrival rate scaled by the
volatility regime): mostly small market orders at the touch, now and then a large one that
sweeps several levels; the maker refills soon after. Takers only trade near the fair price
(never further than ``TAKE_BAND``, or ``SWEEP_BAND`` for a sweep), so a user's order resting far
from the market fills only if the fair price itself wanders there: then the maker's quotes,
placed around the fair price, cross it and it trades at its own price, as on a real exchange.

They are ordinary users (ids from 1001, never the demo user) acting through in-process sessions:
commands go in through ``ExchangeCore.receive`` and their own frames come back through
``on_frame``. Every decision comes from one ``random.Random(seed)``, and the makers read their
own orders from the core, so the same seed and clock steps give the same commands.

Their orders are ``persist: false``, so a restart cancels whatever they left on the book.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
from collections.abc import Sequence
from typing import Any, Final

from cfdash.core.assets import SPOT_PAIRS, Assets, Pair
from cfdash.core.auth import derive_private_key
from cfdash.core.engine.book import Order
from cfdash.core.engine.exchange import ExchangeCore

from .market import GAPS, REGIMES, Market, gap, lognormal, nice_tick, round_size

FIRST_TRADER_ID: Final = 1001

# Starting mid prices in the pair's price units (price scale 100 on every listed pair),
# consistent with each other (GBP 1 = EUR 1.17 = USD 1.27 = PLN 5).
START_MID: dict[Pair, int] = {
    Pair(Assets["XBT"], Assets["GBP"]): 30_000_00,
    Pair(Assets["XBT"], Assets["EUR"]): 35_000_00,
    Pair(Assets["XBT"], Assets["USD"]): 38_000_00,
    Pair(Assets["XBT"], Assets["PLN"]): 150_000_00,
    Pair(Assets["BCH"], Assets["GBP"]): 300_00,
}
DEFAULT_MID: Final = 100_00

# Levels a side a market maker keeps (its target wanders in this range; it trims beyond
# target + SLACK): XBT:GBP is the deep book.
DEPTHS: dict[Pair, tuple[int, int]] = {Pair(Assets["XBT"], Assets["GBP"]): (24, 35)}
DEFAULT_DEPTH: Final = (16, 22)
SLACK: Final = 3

# Typical sizes in whole units of the base asset: a quoted level's median, a taker's median.
QUOTE_MEDIAN: dict[int, float] = {Assets["XBT"]: 0.12, Assets["BCH"]: 4.0}
TAKE_MEDIAN: dict[int, float] = {Assets["XBT"]: 0.03, Assets["BCH"]: 1.0}
WALL_CHANCE: Final = 0.04  # a quoted level is a "wall" 5 to 15 times the usual size
MAX_QUOTE: Final = 40  # no level is quoted larger than this many medians
SHARED_LEVEL_CHANCE: Final = 0.2  # a new level holds a second, smaller order

# Seconds between a market maker's turns: the deep book is tended more often.
MAKER_INTERVAL: dict[Pair, tuple[float, float]] = {Pair(Assets["XBT"], Assets["GBP"]): (0.5, 1.2)}
DEFAULT_MAKER_INTERVAL: Final = (0.8, 2.0)
MAKER_REACTION: Final = 0.2  # seconds: a market maker refills soon after a trade
SPREAD_SLACK: Final = 2  # ticks the touch may drift out before the maker quotes inside it
RESIZE_CHANCE: Final = 0.15  # per turn: replace one level with a fresh size

# Taker orders per second in the normal regime, before self-excitation.
TAKER_RATE: dict[Pair, float] = {
    Pair(Assets["XBT"], Assets["GBP"]): 0.25,
    Pair(Assets["XBT"], Assets["EUR"]): 0.08,
    Pair(Assets["XBT"], Assets["USD"]): 0.1,
    Pair(Assets["XBT"], Assets["PLN"]): 0.05,
    Pair(Assets["BCH"], Assets["GBP"]): 0.06,
}
DEFAULT_TAKER_RATE: Final = 0.05
EXCITE_JUMP: Final = 0.06  # per second added by each taker order (burst)
EXCITE_DECAY: Final = 6.0  # seconds (jump * decay < 1: bursts die out)
EXCITE_MAX: Final = 3.0
MAX_WAIT: Final = 20.0
SWEEP_CHANCE: Final = 0.015  # per taker order in the normal regime
TAKE_BAND: Final = 0.001  # a taker trades no further than 0.1 % from the fair price
SWEEP_BAND: Final = 0.005  # a sweep no further than 0.5 %
IMPACT: Final = 0.3  # share of the way the fair price moves towards a taker's last price
FLOW_BIAS: Final = 0.15  # takers lean towards the side the price is moving

# Whole units of the base asset a trader holds (and is topped up to when it runs low), and
# counter funds worth twice that at the start mid.
FUNDS_BASE: Final = 1_000
FUNDS_QUOTES: Final = 2_000  # ...or this many typical quotes, whichever is more
LOW_WATER: Final = 5  # top up when available falls below 1/LOW_WATER of the target


def trader_ids(pairs: Sequence[Pair] = SPOT_PAIRS) -> list[int]:
    """Market makers first (one per pair), then takers."""
    return list(range(FIRST_TRADER_ID, FIRST_TRADER_ID + 2 * len(pairs)))


def anchor(core: ExchangeCore, pair: Pair) -> int:
    """Where a pair's fair price starts: its last trade if plausible (a restart), else its
    starting mid."""
    start = START_MID.get(pair, DEFAULT_MID)
    last = core.ticker(pair).get("last")
    return last if isinstance(last, int) and start // 2 < last < start * 2 else start


class _Agent:
    """One trader: a user with its own in-process session."""

    def __init__(self, core: ExchangeCore, user_id: int, pair: Pair, rng: random.Random) -> None:
        self.core = core
        self.user_id = user_id
        self.pair = pair
        self.rng = rng
        self.session = 0
        self.next_at = 0.0
        self.available: dict[int, int] = {}
        self.targets: dict[int, int] = {}
        scales = core.config.scales
        self.unit = scales.asset(pair.base)
        self.lot = max(1, self.unit // 10_000)  # 0.0001 base unit
        mid = START_MID.get(pair, DEFAULT_MID)
        units = max(FUNDS_BASE, int(FUNDS_QUOTES * QUOTE_MEDIAN.get(pair.base, 1.0)))
        self.targets[pair.base] = units * self.unit
        self.targets[pair.counter] = scales.bid_reservation(pair, 2 * units * self.unit, mid)

    def ensure_user(self) -> None:
        """Create and fund the user if missing (a key from a random secret: nobody logs in)."""
        if self.user_id in self.core.user_ids():
            return
        key = derive_private_key(self.user_id, os.urandom(32)).public_key()
        self.core.add_user(self.user_id, secrets.token_urlsafe(15), key)
        for asset, target in self.targets.items():
            self.core.credit(self.user_id, asset, target)

    def connect(self, now: float) -> int:
        self.session = self.core.connect(now)
        self.core.login(self.session, self.user_id, rate_limited=False)
        self.available = {a: b[0] for a, b in self.core.balances(self.user_id).items()}
        return self.session

    def send(self, now: float, **command: Any) -> None:
        self.core.receive(self.session, json.dumps(command, separators=(",", ":")), now)

    def top_up(self) -> None:
        for asset, target in self.targets.items():
            have = self.available.get(asset, 0)
            if have < target // LOW_WATER:
                self.core.credit(self.user_id, asset, target - have)
                self.available[asset] = target

    def on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("notice") == "BalanceChanged":
            self.available[msg["asset"]] = msg["balance"]

    def act(self, now: float) -> None:
        raise NotImplementedError


class MarketMaker(_Agent):
    """Keeps a ladder of bids and asks around its pair's fair price.

    ``levels`` fixes the ladder's length; by default it wanders in the pair's ``DEPTHS``."""

    def __init__(
        self,
        core: ExchangeCore,
        user_id: int,
        pair: Pair,
        rng: random.Random,
        levels: int | None = None,
        market: Market | None = None,
    ):
        super().__init__(core, user_id, pair, rng)
        self.market = market if market is not None else Market(rng, {pair: anchor(core, pair)})
        self.start_mid = START_MID.get(pair, DEFAULT_MID)
        self.tick = nice_tick(self.start_mid)
        self.depth = DEPTHS.get(pair, DEFAULT_DEPTH) if levels is None else (levels, levels)
        self.target = rng.randint(*self.depth)
        self.interval = MAKER_INTERVAL.get(pair, DEFAULT_MAKER_INTERVAL)
        self.median = QUOTE_MEDIAN.get(pair.base, 1.0) * self.unit
        self.mid = self._mid()
        self.tonce = 0

    def connect(self, now: float) -> int:
        sid = super().connect(now)
        self.tonce = self.core.tonce(self.user_id)
        return sid

    def _mid(self) -> int:
        """The fair price on the tick grid (never so low that a bid would be <= 0)."""
        ticks = round(self.market.fair(self.pair) / self.tick)
        return max(ticks, max(GAPS) * (self.depth[1] + SLACK + 2)) * self.tick

    def act(self, now: float) -> None:
        rng = self.rng
        self.next_at = now + rng.uniform(*self.interval)
        self.top_up()
        self.mid = self._mid()
        if rng.random() < 0.03:
            self.target = rng.randint(*self.depth)
        wild = self.market.regime(self.pair) is REGIMES[-1]
        inner = 2 if wild else 1  # the touch is at least this many ticks from the mid
        ladders: dict[bool, dict[int, list[Order]]] = {True: {}, False: {}}
        for order in self.core.open_orders(self.user_id):
            if order.pair == self.pair:
                ladders[order.is_bid].setdefault(order.price, []).append(order)
        # both sides' stale quotes go first: a new bid must not meet the maker's own old ask
        dists = {
            side: self._clear_inside(now, side, ladder, inner) for side, ladder in ladders.items()
        }
        for is_bid, ladder in ladders.items():
            self._tend(now, is_bid, ladder, dists[is_bid], inner)
        if rng.random() < RESIZE_CHANCE:
            self._resize(now, ladders)

    def _clear_inside(
        self, now: float, is_bid: bool, ladder: dict[int, list[Order]], inner: int
    ) -> dict[int, int]:
        """Cancel the quotes the move left closer than ``inner`` ticks to the mid (or across
        it); returns the others as ticks from the mid -> price."""
        sign = -1 if is_bid else 1
        dists: dict[int, int] = {}
        for price, orders in ladder.items():
            d = (price - self.mid) * sign // self.tick
            if d < inner:
                for order in orders:
                    self.send(now, method="CancelOrder", id=order.id)
            else:
                dists[d] = price
        return dists

    def _tend(
        self,
        now: float,
        is_bid: bool,
        ladder: dict[int, list[Order]],
        dists: dict[int, int],
        inner: int,
    ) -> None:
        """Fill the inside from ``inner`` ticks out, then keep the ladder's length.

        Works in ticks from the mid (``d``): a bid's price is ``mid - d * tick``."""
        sign = -1 if is_bid else 1
        tick, mid = self.tick, self.mid
        nearest = min(dists, default=None)
        stop = math.inf if nearest is None else nearest
        if nearest is not None and nearest <= inner + SPREAD_SLACK:
            stop = inner  # the touch is close enough: let the spread breathe
        d, k = inner + int(self.rng.random() < 0.25), 0
        while d < stop and (nearest is not None or len(dists) < self.target):
            dists[d] = self._quote(now, is_bid, mid + sign * d * tick, k)
            d, k = d + gap(self.rng), k + 1
        while len(dists) < self.target:
            d = max(dists) + gap(self.rng)
            dists[d] = self._quote(now, is_bid, mid + sign * d * tick, len(dists))
        while len(dists) > self.target + SLACK:
            for order in ladder.get(dists.pop(max(dists)), []):
                self.send(now, method="CancelOrder", id=order.id)

    def _resize(self, now: float, ladders: dict[bool, dict[int, list[Order]]]) -> None:
        """Replace one surviving level with a fresh size (books flicker)."""
        is_bid = self.rng.random() < 0.5
        side = self.core.book(self.pair).bids if is_bid else self.core.book(self.pair).asks
        mine = [p for p, orders in sorted(ladders[is_bid].items()) if orders[0].live]
        if not mine:
            return
        price = self.rng.choice(mine)
        for order in ladders[is_bid][price]:
            if order.live:
                self.send(now, method="CancelOrder", id=order.id)
        if price in side.levels and side.levels[price].live:
            return  # someone else's order sits there too: leave the level to them
        depth = sum(1 for p in mine if (p > price if is_bid else p < price))
        self._quote(now, is_bid, price, depth)

    def _quote(self, now: float, is_bid: bool, price: int, depth: int) -> int:
        """Place one level ``depth`` levels from the touch (now and then as two orders, as
        when several traders quote one price); returns its price."""
        rng = self.rng
        size = lognormal(rng, self.median * (1 + depth / 25), 0.8)
        if rng.random() < WALL_CHANCE * (1 + depth / 10):
            size *= rng.uniform(5, 15)
        sizes = [size]
        if rng.random() < SHARED_LEVEL_CHANCE:
            sizes.append(lognormal(rng, self.median / 2, 0.8))
        for part in sizes:
            quantity = round_size(min(part, MAX_QUOTE * self.median), self.lot)
            self.tonce += 1
            self.send(
                now,
                method="PlaceOrder",
                tonce=self.tonce,
                base=self.pair.base,
                counter=self.pair.counter,
                quantity=quantity if is_bid else -quantity,
                price=price,
                persist=False,
            )
        return price


class Taker(_Agent):
    """Trades at the market in bursts, only near its pair's fair price."""

    def __init__(
        self, core: ExchangeCore, user_id: int, pair: Pair, rng: random.Random, maker: MarketMaker
    ):
        super().__init__(core, user_id, pair, rng)
        self.maker = maker
        self.market = maker.market
        self.rate = TAKER_RATE.get(pair, DEFAULT_TAKER_RATE)
        self.median = TAKE_MEDIAN.get(pair.base, 1.0) * self.unit
        self.excite = 0.0
        self.last_at: float | None = None
        self.last_x = 0.0

    def act(self, now: float) -> None:
        rng = self.rng
        if self.last_at is not None:
            self.excite *= math.exp(-(now - self.last_at) / EXCITE_DECAY)
        self.last_at = now
        self.top_up()
        regime = self.market.regime(self.pair)
        if self._trade(now, rng.random() < SWEEP_CHANCE * regime.activity):
            self.excite = min(EXCITE_MAX, self.excite + EXCITE_JUMP)
            self.maker.next_at = min(self.maker.next_at, now + MAKER_REACTION)
        rate = self.rate * regime.activity + self.excite
        self.next_at = now + min(rng.expovariate(rate), MAX_WAIT)

    def _trade(self, now: float, sweep: bool) -> bool:
        """Send one market order sized to what rests within the band; False if none does."""
        rng = self.rng
        pair = self.pair
        x = self.market.factors[pair.base].x
        bias = FLOW_BIAS if x > self.last_x else -FLOW_BIAS if x < self.last_x else 0.0
        self.last_x = x
        buy = rng.random() < 0.5 + bias
        fair = self.market.fair(pair)
        book = self.core.book(pair)
        if sweep:
            levels = rng.randint(3, 7)
            limit = fair * (1 + SWEEP_BAND if buy else 1 - SWEEP_BAND)
            wanted = math.inf
        else:
            levels = 0
            limit = fair * (1 + TAKE_BAND if buy else 1 - TAKE_BAND)
            wanted = round_size(lognormal(rng, self.median, 1.1), self.lot)
        quantity, last = 0, 0
        for count, level in enumerate((book.asks if buy else book.bids).iter_levels(), 1):
            if (level.price > limit) if buy else (level.price < limit):
                break
            last = level.price
            if sweep and count > levels:  # part of the level after the swept ones
                quantity += max(self.lot, round_size(level.quantity * rng.random(), self.lot))
                break
            quantity += level.quantity
            if quantity >= wanted:
                quantity = int(wanted)
                break
        if quantity <= 0:
            return False
        self.send(
            now,
            method="PlaceOrder",
            base=pair.base,
            counter=pair.counter,
            quantity=quantity if buy else -quantity,
        )
        self.market.impact(pair, last, 2 * IMPACT if sweep else IMPACT)
        return True


class Traders:
    """All simulated traders of one exchange; driven by the server's loop."""

    def __init__(
        self,
        core: ExchangeCore,
        seed: int | None = None,
        pairs: Sequence[Pair] = SPOT_PAIRS,
        levels: int | None = None,
    ) -> None:
        self.core = core
        self.rng = random.Random(seed)
        self.market = Market(self.rng, {pair: anchor(core, pair) for pair in pairs})
        ids = trader_ids(pairs)
        self.makers = [
            MarketMaker(core, uid, pair, self.rng, levels, self.market)
            for uid, pair in zip(ids, pairs, strict=False)
        ]
        self.takers = [
            Taker(core, uid, mm.pair, self.rng, mm)
            for uid, mm in zip(ids[len(pairs) :], self.makers, strict=True)
        ]
        self.agents: list[_Agent] = [*self.makers, *self.takers]
        self._by_session: dict[int, _Agent] = {}

    def ensure_users(self) -> None:
        """Create the traders' funded accounts where missing (call before ``start``)."""
        for agent in self.agents:
            agent.ensure_user()

    def start(self, now: float) -> list[int]:
        """Open the traders' sessions; returns their session ids (route their frames here)."""
        self.ensure_users()
        self.market.advance(now)
        for agent in self.agents:
            self._by_session[agent.connect(now)] = agent
        for taker in self.takers:
            taker.next_at = now + self.rng.uniform(0.3, 1.0)
        return list(self._by_session)

    def step(self, now: float) -> None:
        """Move the fair prices to ``now`` and let every agent that is due act once."""
        self.market.advance(now)
        for agent in self.agents:
            if agent.session and now >= agent.next_at:
                agent.act(now)

    def on_frame(self, session: int, text: str) -> None:
        if "BalanceChanged" not in text:  # the only frames an agent reads
            return
        agent = self._by_session.get(session)
        if agent is not None:
            agent.on_message(json.loads(text))

    def stop(self, now: float) -> None:
        """Close the sessions (the engine cancels their persist=false orders)."""
        for sid in list(self._by_session):
            self.core.disconnect(sid, now)
        self._by_session.clear()
        for agent in self.agents:
            agent.session = 0
