"""Simulated traders against a bare ExchangeCore (no sockets): determinism, market, funding."""

from __future__ import annotations

import json

from cfdash.core.assets import SPOT_PAIRS
from cfdash.core.engine.exchange import ExchangeCore
from cfdash.server.traders import FIRST_TRADER_ID, SLACK, START_MID, Traders, trader_ids
from cfdash.server.users import DEMO_USER_ID, bootstrap

T0 = 1_700_000_000.0


def _run(seed: int, steps: int = 60) -> tuple[ExchangeCore, Traders, list[tuple[int, str]]]:
    core = ExchangeCore(seed=seed)
    bootstrap(core)
    traders = Traders(core, seed)
    sessions = set(traders.start(T0))
    frames: list[tuple[int, str]] = []
    for i in range(steps):
        traders.step(T0 + i * 0.1)
        for sid, text in core.take_output():
            assert sid in sessions  # nobody else is connected
            frames.append((sid, text))
            traders.on_frame(sid, text)
        core.take_changes()
    return core, traders, frames


def test_same_seed_same_trading() -> None:
    _, _, a = _run(11)
    _, _, b = _run(11)
    _, _, c = _run(12)
    assert a == b
    assert a != c


def test_traders_quote_every_spot_pair_and_trade() -> None:
    core, traders, frames = _run(5, steps=80)
    assert core.user_ids() == [DEMO_USER_ID, *trader_ids()]
    assert min(trader_ids()) == FIRST_TRADER_ID
    notices = [json.loads(text) for _, text in frames]
    for pair in SPOT_PAIRS:
        book = core.book(pair)
        bid, ask = book.bids.best_price(), book.asks.best_price()
        assert bid is not None and ask is not None and bid < ask
        mid = START_MID[pair]
        assert mid * 9 // 10 < bid < ask < mid * 11 // 10
        maker = traders.makers[SPOT_PAIRS.index(pair)]
        quotes = core.open_orders(maker.user_id)
        levels = {(o.is_bid, o.price) for o in quotes}
        assert len(levels) <= 2 * (maker.depth[1] + SLACK) and len(quotes) <= 2 * len(levels)
    assert any(n.get("notice") == "OrdersMatched" for n in notices)
    assert not [n for n in notices if n.get("error_code") not in (None, 0, 1)]  # 1: filled
    assert core.open_orders(DEMO_USER_ID) == []


def test_traders_are_topped_up_when_low() -> None:
    core = ExchangeCore(seed=1)
    traders = Traders(core, 1)
    traders.start(T0)
    maker = traders.makers[0]
    base = maker.pair.base
    target = maker.targets[base]
    core.credit(maker.user_id, base, -(target - 10))  # nearly empty
    for sid, text in core.take_output():
        traders.on_frame(sid, text)
    assert maker.available[base] == 10
    traders.step(T0 + 1)
    available = core.balances(maker.user_id)[base][0]
    reserved = core.balances(maker.user_id)[base][1]
    assert available + reserved > target * 9 // 10  # refilled (the taker may have traded)


def test_stop_cancels_the_traders_orders() -> None:
    core, traders, _ = _run(3, steps=20)
    assert any(core.open_orders(uid) for uid in trader_ids())
    traders.stop(T0 + 10)
    assert all(core.open_orders(uid) == [] for uid in trader_ids())
