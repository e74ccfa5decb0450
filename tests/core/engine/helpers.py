"""Helpers for the engine tests: a pinned rounding RNG and a frame-level harness."""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cfdash.core.assets import V1, Assets, Pair
from cfdash.core.engine.exchange import EngineConfig, ExchangeCore

XBT, GBP, EUR = Assets["XBT"], Assets["GBP"], Assets["EUR"]
PAIR = Pair(XBT, GBP)


class PinnedRandom(random.Random):
    """Stochastic rounding always up (``up``) or always down."""

    def __init__(self, up: bool) -> None:
        super().__init__(0)
        self.up = up
        self.draws = 0

    def randrange(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        self.draws += 1
        stop = args[-1] if len(args) > 1 else args[0]
        return 0 if self.up else stop - 1


@dataclass
class Harness:
    """Drives an ExchangeCore with JSON frames and sorts its output per session."""

    core: ExchangeCore
    now: float = 1000.0
    inbox: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    nonces: dict[int, bytes] = field(default_factory=dict)

    def connect(self) -> int:
        """A new session; its Welcome nonce goes to ``nonces`` (not to the inbox)."""
        sid = self.core.connect(self.now)
        self.pump()
        (welcome,) = self.inbox.pop(sid)
        assert welcome["notice"] == "Welcome"
        self.nonces[sid] = base64.b64decode(welcome["nonce"])
        return sid

    def session(self, user_id: int) -> int:
        sid = self.connect()
        self.core.login(sid, user_id)
        return sid

    def pump(self) -> list[tuple[int, dict[str, Any]]]:
        frames = [(s, json.loads(t)) for s, t in self.core.take_output()]
        for s, msg in frames:
            self.inbox.setdefault(s, []).append(msg)
        return frames

    def send(self, sid: int, **cmd: Any) -> dict[str, Any]:
        """Send one command; return its reply (the session's one frame with error_code)."""
        return self.send_text(sid, json.dumps(cmd))

    def send_text(self, sid: int, text: str) -> dict[str, Any]:
        before = len(self.inbox.get(sid, []))
        self.core.receive(sid, text, self.now)
        self.pump()
        replies = [m for m in self.inbox.get(sid, [])[before:] if "error_code" in m]
        assert len(replies) == 1, replies
        return replies[0]

    def notices(self, sid: int, kind: str | None = None) -> list[dict[str, Any]]:
        """Take (and forget) the session's notices so far, optionally of one kind."""
        msgs = self.inbox.pop(sid, [])
        found = [m for m in msgs if "notice" in m]
        return [m for m in found if kind is None or m["notice"] == kind]

    def place(self, sid: int, quantity: int, price: int | None = None, **kw: Any) -> dict:
        cmd: dict[str, Any] = {"base": PAIR.base, "counter": PAIR.counter, "quantity": quantity}
        if price is not None:
            cmd["price"] = price
        cmd.update(kw)
        return self.send(sid, method="PlaceOrder", **cmd)


def make_core(*, up: bool | None = None, seed: int = 7, **config: Any) -> ExchangeCore:
    config.setdefault("scales", V1)
    config.setdefault("maker_fee", Fraction(0))
    config.setdefault("taker_fee", Fraction(0))
    rng = None if up is None else PinnedRandom(up)
    return ExchangeCore(EngineConfig(**config), seed=seed, rng=rng)


def funded(core: ExchangeCore, *users: int, base: int = 10**8, counter: int = 10**10) -> None:
    for uid in users:
        core.add_user(uid, f"cookie{uid}", b"\x00" * 56)
        core.credit(uid, PAIR.base, base)
        core.credit(uid, PAIR.counter, counter)
