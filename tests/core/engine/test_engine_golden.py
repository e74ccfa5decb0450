"""Golden transcripts: seeded command streams must produce byte-identical output.

Every frame from ``take_output``, every row from ``take_changes`` and the final balances, fees,
books and tickers of a few seeded scenarios are hashed; the digests were recorded from the
engine before its hot path was reworked, so any change of a notice, a reply, their order or a
durability row (not just of their meaning) fails here. The digests are stable across runs: one
market trades per scenario, so no set iteration order depends on object addresses.

``python tests/core/engine/test_engine_golden.py [DIR]`` prints the digests (and with DIR
writes the transcripts there, to diff two versions of the engine).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import sys
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from cfdash.core.assets import V1, V2, Assets, Pair
from cfdash.core.engine.exchange import EngineConfig, ExchangeCore
from cfdash.core.errors import CoinfloorError

PAIR = Pair(Assets["XBT"], Assets["GBP"])
MID = 3_000_000


def _state(core: ExchangeCore) -> Iterator[str]:
    for uid in core.user_ids():
        yield f"balances {uid} {sorted(core.balances(uid).items())} {core.tonce(uid)}"
        volumes = [core.trade_volume(uid, asset) for asset in (PAIR.base, PAIR.counter)]
        yield f"volume {uid} {volumes[0]} {volumes[1]}"
    yield f"fees {sorted(core.fees_collected().items())}"
    book = core.book(PAIR)
    for side in (book.bids, book.asks):
        yield "book " + " ".join(
            f"{o.id}:{o.user}:{o.remaining}@{o.price}/{o.reserved}" for o in side.iter_orders()
        )
    yield f"ticker {core.ticker(PAIR)}"


def _drain(core: ExchangeCore) -> Iterator[str]:
    for sid, text in core.take_output():
        yield f"out {sid} {text}"
    for row in core.take_changes():
        yield f"row {row!r}"


def _setup(
    core: ExchangeCore, users: int, sessions_per_user: int = 1, *, poor: bool = False
) -> dict[int, list[int]]:
    """Funded, logged-in users; with ``poor`` users 5 and 7 run short of XBT and GBP."""
    sessions: dict[int, list[int]] = {}
    for uid in range(1, users + 1):
        core.add_user(uid, f"c{uid}", bytes(56))
        core.credit(uid, PAIR.base, 3 * 10**7 if poor and uid == 5 else 10**15)
        core.credit(uid, PAIR.counter, 10**6 if poor and uid == 7 else 10**15)
        sessions[uid] = []
        for _ in range(sessions_per_user if uid % 3 else 1):
            sid = core.connect(0.0)
            core.login(sid, uid, rate_limited=False)
            sessions[uid].append(sid)
    return sessions


def api_mix(n: int = 6000) -> Iterator[str]:
    """The benchmark's mix (tests/bench/bench_engine.py) through the engine API."""
    core = ExchangeCore(EngineConfig(scales=V2, max_open_orders=10**9), seed=42)
    _setup(core, 20)
    yield from _drain(core)
    rng = random.Random(1)
    pick = random.Random(7)
    open_ids: dict[int, list[int]] = {u: [] for u in range(1, 21)}
    for i in range(n):
        uid = rng.randint(1, 20)
        roll = rng.random()
        qty = rng.randint(1, 100) * 100_000
        if roll < 0.6:
            is_bid = rng.random() < 0.5
            price = MID - rng.randint(1, 50) * 100 if is_bid else MID + rng.randint(1, 50) * 100
            order = core.place_limit(uid, PAIR, qty if is_bid else -qty, price)
            if order.live:
                open_ids[uid].append(order.id)
        elif roll < 0.9:
            ids = open_ids[uid]
            if ids:
                with contextlib.suppress(CoinfloorError):
                    core.cancel(uid, ids.pop(pick.randrange(len(ids))))
        elif roll < 0.95:
            is_bid = rng.random() < 0.5
            price = MID + 3000 if is_bid else MID - 3000
            core.place_limit(uid, PAIR, qty if is_bid else -qty, price)
        else:
            core.place_market(uid, PAIR, quantity=qty if rng.random() < 0.5 else -qty)
        if i % 100 == 99:
            yield from _drain(core)
    yield from _drain(core)
    yield from _state(core)


def api_rich(n: int = 6000) -> Iterator[str]:
    """Fees on both sides, several sessions per user, book and ticker watchers, tonces,
    volatile orders, market orders by total, disconnects, refusals and expiring windows."""
    config = EngineConfig(
        scales=V2,
        maker_fee=Fraction(1, 1000),
        taker_fee=Fraction(3, 1000),
        max_open_orders=6,
        volume_window=5.0,
        volume_bucket=1.0,
        ticker_window=3.0,
        ticker_bucket=0.5,
    )
    core = ExchangeCore(config, seed=5)
    sessions = _setup(core, 8, sessions_per_user=2, poor=True)
    now = 0.0
    watcher = core.connect(now)
    core.receive(watcher, '{"method":"WatchTicker","base":63488,"counter":64032,"watch":true}', now)
    yield from _drain(core)
    rng = random.Random(3)
    tonces = dict.fromkeys(sessions, 0)
    for i in range(n):
        uid = rng.randint(1, 8)
        roll = rng.random()
        qty = rng.randint(1, 100) * 100_000 * (1 if rng.random() < 0.5 else -1)
        tonce = None
        if rng.random() < 0.3:
            tonces[uid] += rng.randint(1, 3)
            tonce = tonces[uid]
        try:
            if roll < 0.55:
                price = MID + rng.randint(-60, 60) * 100
                sid = rng.choice(sessions[uid])
                core.place_limit(
                    uid, PAIR, qty, price, tonce=tonce, persist=rng.random() < 0.8, session=sid
                )
            elif roll < 0.63:
                core.place_market(uid, PAIR, quantity=qty, tonce=tonce)
            elif roll < 0.68:
                core.place_market(uid, PAIR, total=qty // 1000, tonce=tonce)
            elif roll < 0.85:
                orders = core.open_orders(uid)
                if orders:
                    order = rng.choice(orders)
                    if order.tonce is not None and rng.random() < 0.5:
                        core.cancel(uid, tonce=order.tonce)
                    else:
                        core.cancel(uid, order.id)
                else:
                    core.cancel(uid, 10**9)
            elif roll < 0.9:
                watch = "true" if rng.random() < 0.5 else "false"
                text = f'{{"method":"WatchOrders","base":63488,"counter":64032,"watch":{watch}}}'
                core.receive(watcher, text, now)
            elif roll < 0.94:
                now += rng.choice((0.01, 0.3, 1.2))
                core.tick(now)
            elif roll < 0.97:
                sid = sessions[uid].pop()
                core.disconnect(sid, now)
                new = core.connect(now)
                core.login(new, uid, rate_limited=False)
                sessions[uid].append(new)
            else:
                core.credit(uid, PAIR.counter if rng.random() < 0.5 else PAIR.base, 10**10)
        except CoinfloorError as exc:
            yield f"refused {type(exc).__name__} {exc.message}"
        if i % 37 == 36:
            yield from _drain(core)
    yield from _drain(core)
    yield from _state(core)


def frames_mix(n: int = 4000) -> Iterator[str]:
    """JSON frames: the protocol path with tags, tonces, refusals and a rate-limited user."""
    config = EngineConfig(scales=V1, maker_fee=Fraction(0), taker_fee=Fraction(1, 400))
    core = ExchangeCore(config, seed=9)
    sessions = _setup(core, 6, poor=True)
    core.login(sessions[6][0], 6, rate_limited=True)
    yield from _drain(core)
    rng = random.Random(11)
    now = 1000.0
    for i in range(n):
        uid = rng.randint(1, 6)
        sid = sessions[uid][0]
        roll = rng.random()
        qty = rng.randint(1, 300) * 10 * (1 if rng.random() < 0.5 else -1)
        head = f'{{"tag":{i + 1},' if rng.random() < 0.5 else "{"
        if roll < 0.55:
            price = 300_000 + rng.randint(-40, 40) * 10
            tonce = f',"tonce":{i + 1}' if rng.random() < 0.3 else ""
            text = (
                f'{head}"method":"PlaceOrder","base":63488,"counter":64032,'
                f'"quantity":{qty},"price":{price}{tonce}}}'
            )
        elif roll < 0.65:
            text = f'{head}"method":"PlaceOrder","base":63488,"counter":64032,"quantity":{qty}}}'
        elif roll < 0.88:
            text = f'{head}"method":"CancelOrder","id":{rng.randint(1, i + 1)}}}'
        elif roll < 0.91:
            text = f'{head}"method":"GetOrders"}}'
        elif roll < 0.94:
            text = (
                f'{head}"method":"EstimateMarketOrder","base":63488,"counter":64032,'
                f'"quantity":{qty}}}'
            )
        elif roll < 0.97:
            text = f'{head}"method":"GetBalances"}}'
        else:
            text = f'{head}"method":"PlaceOrder","base":63488,"counter":64032,"price":1}}'
        core.receive(sid, text, now)
        if i % 50 == 49:
            now += 0.5
            yield from _drain(core)
    yield from _drain(core)
    yield from _state(core)


SCENARIOS: dict[str, Callable[[], Iterator[str]]] = {
    "api_mix": api_mix,
    "api_rich": api_rich,
    "frames_mix": frames_mix,
}

GOLDEN = {
    "api_mix": "1fcfa8c82bc20e288d18ecd262fd68d7dca5e879bb721311cf1e5c8924b920e1",
    "api_rich": "af1d0d20cbb46efdbf2218eafba3d81cb4e3b8092a9157affccdb72983f95f08",
    "frames_mix": "1782864b65c04e406ae408d31337dceee422c51771f389b531aea47daab6408a",
}


def digest(lines: Iterator[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str) -> None:
    assert digest(SCENARIOS[name]()) == GOLDEN[name]


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    for name, scenario in SCENARIOS.items():
        lines = list(scenario())
        if out_dir is not None:
            (out_dir / f"{name}.txt").write_text("\n".join(lines) + "\n")
        print(f'    "{name}": "{digest(iter(lines))}",  # {len(lines)} lines')
