"""Simulated traders that keep a fresh embedded exchange moving.

Per spot pair, a market maker quotes a few levels on a tick grid around a random-walk mid
(replacing only the levels the move invalidates) and a taker now and then sends a market order
or a crossing limit order. They are ordinary users (ids from 1001, never the demo user) acting
through in-process sessions: commands go in through ``ExchangeCore.receive`` and their own
frames come back through ``on_frame``. Every decision comes from one ``random.Random(seed)``.

Their orders are ``persist: false``, so a restart cancels whatever they left on the book.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Sequence
from typing import Any, Final

from cfdash.core.assets import SPOT_PAIRS, Assets, Pair
from cfdash.core.auth import derive_private_key
from cfdash.core.engine.exchange import ExchangeCore

FIRST_TRADER_ID: Final = 1001

# Starting mid prices in the pair's price units (price scale 100 on every listed pair).
START_MID: dict[Pair, int] = {
    Pair(Assets["XBT"], Assets["GBP"]): 30_000_00,
    Pair(Assets["XBT"], Assets["EUR"]): 35_000_00,
    Pair(Assets["XBT"], Assets["USD"]): 40_000_00,
    Pair(Assets["XBT"], Assets["PLN"]): 160_000_00,
    Pair(Assets["BCH"], Assets["GBP"]): 300_00,
}

# Whole units a trader holds per asset (and is topped up to when it runs low).
FUNDS_BASE: Final = 1_000
FUNDS_COUNTER_MIDS: Final = 2_000  # counter funds worth this many base units at the start mid
LOW_WATER: Final = 5  # top up when available falls below 1/LOW_WATER of the target


def trader_ids(pairs: Sequence[Pair] = SPOT_PAIRS) -> list[int]:
    """Market makers first (one per pair), then takers."""
    return list(range(FIRST_TRADER_ID, FIRST_TRADER_ID + 2 * len(pairs)))


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
        self.lot = scales.asset(pair.base) // 100  # 0.01 base unit
        mid = START_MID.get(pair, 100_00)
        self.targets[pair.base] = FUNDS_BASE * scales.asset(pair.base)
        self.targets[pair.counter] = scales.bid_reservation(
            pair, FUNDS_COUNTER_MIDS * scales.asset(pair.base), mid
        )

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
    """Quotes ``levels`` bids and asks one tick apart around a random-walk mid."""

    def __init__(
        self, core: ExchangeCore, user_id: int, pair: Pair, rng: random.Random, levels: int = 3
    ):
        super().__init__(core, user_id, pair, rng)
        self.start_mid = START_MID.get(pair, 100_00)
        self.tick = max(1, self.start_mid // 2000)  # 0.05 %
        last = core.ticker(pair).get("last")
        mid = last if isinstance(last, int) and last > self.tick * (levels + 2) else self.start_mid
        self.mid = mid - mid % self.tick
        self.levels = levels
        self.tonce = 0
        self.quotes: dict[tuple[bool, int], int] = {}  # (is_bid, price) -> tonce

    def connect(self, now: float) -> int:
        sid = super().connect(now)
        self.tonce = self.core.tonce(self.user_id)
        return sid

    def _walk(self) -> None:
        moves = [-1, 0, 0, 1]
        if self.mid > self.start_mid * 21 // 20:
            moves.append(-1)
        elif self.mid < self.start_mid * 19 // 20:
            moves.append(1)
        self.mid += self.rng.choice(moves) * self.tick
        self.mid = max(self.mid, self.tick * (self.levels + 2))

    def act(self, now: float) -> None:
        self.next_at = now + self.rng.uniform(0.4, 1.2)
        self.top_up()
        self._walk()
        wanted = {(True, self.mid - k * self.tick) for k in range(1, self.levels + 1)}
        wanted |= {(False, self.mid + k * self.tick) for k in range(1, self.levels + 1)}
        for level in [q for q in self.quotes if q not in wanted]:
            self.send(now, method="CancelOrder", tonce=self.quotes.pop(level))
        for is_bid, price in sorted(wanted - self.quotes.keys()):
            quantity = self.rng.randint(1, 50) * self.lot
            self.tonce += 1
            self.quotes[(is_bid, price)] = self.tonce
            self.send(
                now,
                method="PlaceOrder",
                tag=self.tonce,
                tonce=self.tonce,
                base=self.pair.base,
                counter=self.pair.counter,
                quantity=quantity if is_bid else -quantity,
                price=price,
                persist=False,
            )

    def _forget(self, tonce: Any) -> None:
        for level, t in list(self.quotes.items()):
            if t == tonce:
                del self.quotes[level]

    def on_message(self, msg: dict[str, Any]) -> None:
        super().on_message(msg)
        if msg.get("notice") == "OrderClosed":
            self._forget(msg.get("tonce"))
        elif msg.get("error_code") and msg.get("tag"):  # a placement that failed
            self._forget(msg["tag"])


class Taker(_Agent):
    """Sends market orders and crossing limit orders against its pair's market maker."""

    def __init__(
        self, core: ExchangeCore, user_id: int, pair: Pair, rng: random.Random, maker: MarketMaker
    ):
        super().__init__(core, user_id, pair, rng)
        self.maker = maker
        self.open: set[int] = set()

    def act(self, now: float) -> None:
        self.next_at = now + self.rng.uniform(1.5, 4.0)
        self.top_up()
        if self.open:  # leftovers of an earlier crossing limit order
            self.send(now, method="CancelAllOrders")
            self.open.clear()
        buy = self.rng.random() < 0.5
        quantity = self.rng.randint(1, 20) * self.lot
        signed = quantity if buy else -quantity
        pair = self.pair
        if self.rng.random() < 0.6:
            self.send(
                now, method="PlaceOrder", base=pair.base, counter=pair.counter, quantity=signed
            )
        else:
            offset = 2 * self.maker.tick
            price = self.maker.mid + offset if buy else self.maker.mid - offset
            self.send(
                now,
                method="PlaceOrder",
                base=pair.base,
                counter=pair.counter,
                quantity=signed,
                price=price,
                persist=False,
            )

    def on_message(self, msg: dict[str, Any]) -> None:
        super().on_message(msg)
        notice = msg.get("notice")
        if notice == "OrderOpened":
            self.open.add(msg["id"])
        elif notice == "OrderClosed":
            self.open.discard(msg.get("id"))


class Traders:
    """All simulated traders of one exchange; driven by the server's loop."""

    def __init__(
        self,
        core: ExchangeCore,
        seed: int | None = None,
        pairs: Sequence[Pair] = SPOT_PAIRS,
        levels: int = 3,
    ) -> None:
        self.core = core
        self.rng = random.Random(seed)
        ids = trader_ids(pairs)
        self.makers = [
            MarketMaker(core, uid, pair, self.rng, levels)
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
        for agent in self.agents:
            self._by_session[agent.connect(now)] = agent
        for taker in self.takers:
            taker.next_at = now + self.rng.uniform(0.3, 1.0)
        return list(self._by_session)

    def step(self, now: float) -> None:
        """Let every agent that is due act once."""
        for agent in self.agents:
            if agent.session and now >= agent.next_at:
                agent.act(now)

    def on_frame(self, session: int, text: str) -> None:
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
