"""The trailing windows (ticker 24 h, trade volume 30 d) keep bounded state: buckets, not
trades, in memory and in the durability rows."""

from __future__ import annotations

import random
from bisect import bisect_right

from cfdash.core.engine.exchange import ExchangeCore

from .helpers import PAIR, XBT, funded, make_core

DAY = 86400.0
MINUTE_US, HOUR_US, DAY_US = 60_000_000, 3_600_000_000, 86_400_000_000


def _apply(store: dict[tuple[str, str], str], core: ExchangeCore) -> None:
    for kind, key, value in core.take_changes():
        if value is None:
            store.pop((kind, key), None)
        else:
            store[(kind, key)] = value


def test_windows_stay_bounded_over_a_long_busy_period() -> None:
    core = make_core(seed=3)
    funded(core, 1, 2, base=10**12, counter=10**14)
    rng = random.Random(5)
    store: dict[tuple[str, str], str] = {}
    _apply(store, core)
    trades: list[tuple[int, int, int]] = []  # (time, price, quantity) of every trade
    times: list[int] = []  # their times
    sums = [0]  # prefix sums of their quantities
    now = 1000.0
    most_rows = most_ticker = most_volume = 0
    end = now + 40 * DAY  # longer than both windows
    while now < end:
        now += rng.uniform(60, 900)
        core.tick(now)
        t = core._clock_us
        for _ in range(rng.randint(1, 4)):  # a burst of trades in the same instant
            q, price = rng.randint(1, 50), rng.randint(9000, 11000)
            core.place_limit(1, PAIR, -q, price, now_us=t)
            assert core.place_market(2, PAIR, quantity=q, now_us=t) == 0
            trades.append((t, price, q))
        _apply(store, core)
        most_rows = max(most_rows, len(store))
        market = core._market(PAIR)
        most_ticker = max(most_ticker, len(market.window.buckets))
        most_volume = max(most_volume, len(core._volumes.buckets))

        times.extend([t] * (len(trades) - len(times)))
        while len(sums) <= len(trades):
            sums.append(sums[-1] + trades[len(sums) - 1][2])

        def exact(since_us: int) -> int:
            """The quantity traded in (since_us, t]."""
            return sums[-1] - sums[bisect_right(times, since_us)]

        # the figures are the exact trailing sums, up to one bucket at the window's far end
        ticker = core.ticker(PAIR)
        assert exact(t - DAY_US + MINUTE_US) <= ticker["volume"] <= exact(t - DAY_US)
        if len(times) % 50 < 4:
            prices = [p for (tt, p, _) in trades if tt > t - DAY_US]
            assert min(prices) <= ticker["low"] <= ticker["high"] <= max(prices)
        volume = core.trade_volume(2, XBT)
        assert exact(t - 30 * DAY_US + HOUR_US) <= volume <= exact(t - 30 * DAY_US)
        assert core.trade_volume(1, XBT) == volume

    assert len(trades) > 5000
    # bounded by the windows, not by the number of trades
    assert most_ticker <= 24 * 60 + 1
    assert most_volume <= 30 * 24 + 1
    assert not any(kind == "trade" for kind, _ in store)
    ticker_rows = sum(1 for kind, _ in store if kind == "ticker")
    volume_rows = sum(1 for kind, _ in store if kind == "volume")
    assert ticker_rows == len(core._market(PAIR).window.buckets)
    assert volume_rows == 2 * len(core._volumes.buckets)  # one row per (bucket, user)
    assert most_rows < 2 * (24 * 60 + 1) + 2 * 2 * (30 * 24 + 1) + 50

    # the stored buckets rebuild the same figures
    fresh = make_core(seed=4)
    fresh.load((kind, key, value) for (kind, key), value in store.items())
    assert fresh.ticker(PAIR) == core.ticker(PAIR)
    for uid in (1, 2):
        for asset in (PAIR.base, PAIR.counter):
            assert fresh.trade_volume(uid, asset) == core.trade_volume(uid, asset)
    assert fresh.take_changes() == []


def test_buckets_expire_with_their_rows_while_stopped() -> None:
    core = make_core()
    funded(core, 1, 2)
    core.tick(1000.0)
    core.place_limit(1, PAIR, -5, 10000, now_us=core._clock_us)
    core.place_market(2, PAIR, quantity=5, now_us=core._clock_us)
    rows = {(k, key): v for k, key, v in core.take_changes() if v is not None}
    assert {k for k, _ in rows} >= {"ticker", "volume", "last"}
    # 31 days later the store is loaded again: the buckets are gone, and their rows too
    rows[("meta", "clock")] = str(int((1000.0 + 31 * DAY) * 1_000_000))
    fresh = make_core()
    fresh.load((k, key, v) for (k, key), v in rows.items())
    assert fresh.ticker(PAIR)["volume"] == 0 and fresh.ticker(PAIR)["last"] == 10000
    assert fresh.trade_volume(2, XBT) == 0
    deleted = {(k, key) for k, key, v in fresh.take_changes() if v is None}
    assert deleted == {(k, key) for k, key in rows if k in ("ticker", "volume")}


def test_legacy_trade_rows_are_folded_into_buckets() -> None:
    core = make_core()
    funded(core, 1, 2)
    rows = {(k, key): v for k, key, v in core.take_changes() if v is not None}
    t = 5_000_000_000
    # an older store: one row per trade [time, base, counter, price, quantity, total, buyer,
    # seller], and the trade sequence counter
    rows[("trade", "1")] = f"[{t},{PAIR.base},{PAIR.counter},10000,3,3,2,1]"
    rows[("trade", "2")] = f"[{t + 1000},{PAIR.base},{PAIR.counter},12000,2,2,1,2]"
    rows[("last", f"{PAIR.base}:{PAIR.counter}")] = "12000"
    rows[("meta", "next_trade_seq")] = "3"
    fresh = make_core()
    fresh.load((k, key, v) for (k, key), v in rows.items())
    assert fresh.ticker(PAIR) | {"bid": None, "ask": None} == {
        "last": 12000,
        "bid": None,
        "ask": None,
        "low": 10000,
        "high": 12000,
        "volume": 5,
    }
    assert fresh.trade_volume(1, XBT) == fresh.trade_volume(2, XBT) == 5
    changes = fresh.take_changes()
    deleted = {(k, key) for k, key, v in changes if v is None}
    assert deleted == {("trade", "1"), ("trade", "2"), ("meta", "next_trade_seq")}
    kinds = sorted(k for k, _, v in changes if v is not None and k != "meta")
    assert kinds == ["last", "ticker", "volume", "volume"]
