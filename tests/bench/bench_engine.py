"""Engine throughput on a seeded order mix (prints, never asserts).

The mix: ~60 % limit orders near the touch, ~30 % cancels of random open orders, ~10 %
crossing limit or market orders, from 20 users (one logged-in session each) on one book. Two
paths are timed, both producing every notice and reply frame and taking the durability rows
every 100 commands as the server shell would:

- ``engine API``: direct calls (``place_limit``/``place_market``/``cancel``), no JSON parsing
  or validation of commands. This is the "pure matching engine in-process" figure
  (``engine_orders_per_s``).
- ``JSON frames``: the full protocol path (text frames through ``receive``: decoding,
  validation, rate-limit bookkeeping and reply rendering included).

Each command counts as one order (a placement or a cancel). ``--repeat R`` prints the median of
R runs per path (wall clock), and the rate by process CPU time, which a busy box disturbs less.

Run: ``python tests/bench/bench_engine.py [N] [--repeat R] [--profile]``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import random
import statistics
import time
from typing import Any

from cfdash.core.assets import V2, Assets, Pair
from cfdash.core.engine.exchange import EngineConfig, ExchangeCore
from cfdash.core.errors import CoinfloorError

PAIR = Pair(Assets["XBT"], Assets["GBP"])
USERS = 20
MID = 3_000_000  # 30000.00 GBP per XBT (price scale 100)


def _core() -> tuple[ExchangeCore, dict[int, int]]:
    core = ExchangeCore(EngineConfig(scales=V2, max_open_orders=10**9), seed=42)
    sessions = {}
    for uid in range(1, USERS + 1):
        core.add_user(uid, f"c{uid}", bytes(56))
        core.credit(uid, PAIR.base, 10**15)
        core.credit(uid, PAIR.counter, 10**15)
        sid = core.connect(0.0)
        core.login(sid, uid, rate_limited=False)
        sessions[uid] = sid
    core.take_output()
    core.take_changes()
    return core, sessions


def _mix(n: int, seed: int = 1) -> list[tuple[Any, ...]]:
    """(kind, user, quantity, price) for limits/markets; ("cancel", user) for cancels."""
    rng = random.Random(seed)
    ops: list[tuple[Any, ...]] = []
    for _ in range(n):
        uid = rng.randint(1, USERS)
        roll = rng.random()
        qty = rng.randint(1, 100) * 100_000
        if roll < 0.6:
            is_bid = rng.random() < 0.5
            offset = rng.randint(1, 50) * 100
            price = MID - offset if is_bid else MID + offset
            ops.append(("limit", uid, qty if is_bid else -qty, price))
        elif roll < 0.9:
            ops.append(("cancel", uid))
        elif roll < 0.95:
            is_bid = rng.random() < 0.5
            price = MID + 3000 if is_bid else MID - 3000
            ops.append(("limit", uid, qty if is_bid else -qty, price))
        else:
            ops.append(("market", uid, qty if rng.random() < 0.5 else -qty, 0))
    return ops


def run_frames(ops: list[tuple[Any, ...]]) -> tuple[float, float]:
    core, sessions = _core()
    open_ids: dict[int, list[int]] = {u: [] for u in sessions}
    rng = random.Random(7)
    base, counter = PAIR.base, PAIR.counter
    now = 1000.0
    start, cpu = time.perf_counter(), time.process_time()
    for i, op in enumerate(ops):
        kind, uid = op[0], op[1]
        sid = sessions[uid]
        if kind == "cancel":
            ids = open_ids[uid]
            if not ids:
                continue
            oid = ids.pop(rng.randrange(len(ids)))
            text = f'{{"method":"CancelOrder","id":{oid}}}'
        elif kind == "limit":
            text = (
                f'{{"method":"PlaceOrder","base":{base},"counter":{counter},'
                f'"quantity":{op[2]},"price":{op[3]}}}'
            )
        else:
            text = f'{{"method":"PlaceOrder","base":{base},"counter":{counter},"quantity":{op[2]}}}'
        core.receive(sid, text, now)
        if kind == "limit":
            reply = core.take_output()[-1][1]  # '{"error_code":0,"id":N,"time":T}'
            if '"id":' in reply:
                open_ids[uid].append(int(reply.split('"id":', 1)[1].split(",", 1)[0]))
        if i % 100 == 99:
            core.take_changes()
            core.take_output()
            now += 0.001
    core.take_changes()
    core.take_output()
    return len(ops) / (time.perf_counter() - start), len(ops) / (time.process_time() - cpu)


def run_api(ops: list[tuple[Any, ...]]) -> tuple[float, float]:
    core, _ = _core()
    open_ids: dict[int, list[int]] = {u: [] for u in range(1, USERS + 1)}
    rng = random.Random(7)
    start, cpu = time.perf_counter(), time.process_time()
    for i, op in enumerate(ops):
        kind, uid = op[0], op[1]
        if kind == "cancel":
            ids = open_ids[uid]
            if ids:
                with contextlib.suppress(CoinfloorError):
                    core.cancel(uid, ids.pop(rng.randrange(len(ids))))
        elif kind == "limit":
            order = core.place_limit(uid, PAIR, op[2], op[3])
            if order.live:
                open_ids[uid].append(order.id)
        else:
            core.place_market(uid, PAIR, quantity=op[2])
        if i % 100 == 99:
            core.take_changes()
            core.take_output()
    core.take_changes()
    core.take_output()
    return len(ops) / (time.perf_counter() - start), len(ops) / (time.process_time() - cpu)


def run_reference(ops: list[tuple[Any, ...]]) -> tuple[float, float]:
    """The baseline: the same ops on a deliberately naive matcher in plain Python (a dict of
    price -> FIFO list per side, sorted price lists, notices as tuples): price-time matching and
    nothing else (no accounts, reservations, fees, rate limits, JSON or durability rows).
    Returns (ops/s wall, ops/s CPU) like the engine paths."""
    import bisect

    books: dict[int, dict[int, list[list[int]]]] = {1: {}, -1: {}}  # side -> price -> orders
    prices: dict[int, list[int]] = {1: [], -1: []}  # ascending
    where: dict[int, tuple[int, int]] = {}  # id -> (side, price)
    open_ids: dict[int, list[int]] = {u: [] for u in range(1, USERS + 1)}
    rng = random.Random(7)
    notices: list[tuple[Any, ...]] = []
    next_id = 1

    def match(side: int, qty: int, limit: int | None) -> int:
        other, book = prices[-side], books[-side]
        while qty and other:
            best = other[0] if side == 1 else other[-1]
            if limit is not None and (best > limit if side == 1 else best < limit):
                break
            level = book[best]
            order = level[0]
            traded = min(qty, order[1])
            qty -= traded
            order[1] -= traded
            notices.append(("matched", order[0], best, traded, order[1]))
            if not order[1]:
                level.pop(0)
                del where[order[0]]
                notices.append(("closed", order[0], best, 0))
                if not level:
                    del book[best]
                    other.pop(0 if side == 1 else -1)
        return qty

    start, cpu = time.perf_counter(), time.process_time()
    for i, op in enumerate(ops):
        kind, uid = op[0], op[1]
        if kind == "cancel":
            ids = open_ids[uid]
            if ids:
                oid = ids.pop(rng.randrange(len(ids)))
                found = where.pop(oid, None)
                if found is not None:
                    side, price = found
                    level = books[side][price]
                    for k, order in enumerate(level):
                        if order[0] == oid:
                            del level[k]
                            break
                    if not level:
                        del books[side][price]
                        del prices[side][bisect.bisect_left(prices[side], price)]
                    notices.append(("closed", oid, price, 0))
        else:
            side = 1 if op[2] > 0 else -1
            limit = op[3] if kind == "limit" else None
            left = match(side, abs(op[2]), limit)
            if limit is not None and left:
                oid, next_id = next_id, next_id + 1
                level = books[side].get(limit)
                if level is None:
                    level = books[side][limit] = []
                    bisect.insort(prices[side], limit)
                level.append([oid, left])
                where[oid] = (side, limit)
                open_ids[uid].append(oid)
                notices.append(("opened", oid, limit, left * side))
        if i % 100 == 99:
            notices.clear()
    return len(ops) / (time.perf_counter() - start), len(ops) / (time.process_time() - cpu)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000, help="commands in the mix")
    parser.add_argument("--profile", action="store_true", help="profile the JSON path")
    parser.add_argument("--repeat", type=int, default=1, help="runs per path (median)")
    args = parser.parse_args(argv)
    n, repeat = args.n, args.repeat
    ops = _mix(n)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_frames(ops)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return
    for name, run in (("engine API ", run_api), ("JSON frames", run_frames)):
        rates = [run(ops) for _ in range(repeat)]
        wall = statistics.median(r[0] for r in rates)
        cpu = statistics.median(r[1] for r in rates)
        print(
            f"{name}: {wall:>10,.0f} orders/s wall, {cpu:>10,.0f} orders/s CPU "
            f"({n} commands, median of {repeat})"
        )


if __name__ == "__main__":
    main()
