"""Matching, reservations, fees and market orders, computed by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cfdash.core.errors import InsufficientFundsError

from .helpers import PAIR, Harness, funded, make_core

BASE, COUNTER = PAIR.base, PAIR.counter


@pytest.mark.parametrize(
    ("up", "total", "fee", "returned"), [(True, 152338, 46, 77), (False, 152337, 45, 79)]
)
def test_impl_guide_partial_fill_example(up: bool, total: int, fee: int, returned: int) -> None:
    core = make_core(up=up, maker_fee=Fraction(3, 10000))
    funded(core, 1, 2, counter=2_000_000)
    h = Harness(core)
    buyer, seller = h.session(1), h.session(2)
    bid = h.place(buyer, 12345, 1234500)
    assert core.balances(1)[COUNTER] == (2_000_000 - 1523991, 1523991)
    h.notices(buyer)
    h.place(seller, -1234, 1234500)
    (matched,) = h.notices(buyer, "OrdersMatched")
    assert matched["total"] == total and matched["bid_counter_fee"] == fee
    assert matched["bid_rem"] == 11110 and matched["bid"] == bid["id"]
    (order,) = core.open_orders(1)
    assert order.remaining == 11110 and order.reserved == 1371530
    assert 1523991 - total - fee - returned == 1371530
    assert core.balances(1)[COUNTER] == (2_000_000 - 1523991 + returned, 1371530)
    assert core.balances(1)[BASE][0] == 10**8 + 1234
    assert core.balances(2)[COUNTER][0] == 2_000_000 + total  # taker fee 0
    assert core.fees_collected() == {COUNTER: fee}


def test_trade_at_resting_price_and_excess_reservation_returned() -> None:
    core = make_core(up=True)
    funded(core, 1, 2)
    core.place_limit(2, PAIR, -100, 10000)  # ask 100 @ 100.00 (V1: 1 counter unit/unit)
    order = core.place_limit(1, PAIR, 100, 11000)  # bid crosses at the ask's price
    assert order.remaining == 0 and order.reserved == 0
    assert core.balances(1)[COUNTER] == (10**10 - 100, 0)
    assert core.balances(2)[COUNTER] == (10**10 + 100, 0)
    assert not core.book(PAIR).asks and not core.book(PAIR).bids
    assert core.ticker(PAIR)["last"] == 10000


def test_price_then_time_priority_and_partial_fills() -> None:
    core = make_core(up=True)
    funded(core, 1, 2, 3)
    a1 = core.place_limit(2, PAIR, -5, 10100)
    a2 = core.place_limit(3, PAIR, -5, 10000)
    a3 = core.place_limit(2, PAIR, -5, 10000)
    core.place_limit(1, PAIR, 7, 10100)  # takes a2 (best price), then 2 of a3 (FIFO)
    assert (a2.live, a3.remaining, a1.remaining) == (False, 3, 5)
    core.place_limit(1, PAIR, 4, 10100)  # the rest of a3, then 1 of a1
    assert (a3.live, a1.remaining) == (False, 4)
    assert core.balances(3)[BASE] == (10**8 - 5, 0)
    assert core.balances(2)[BASE] == (10**8 - 10, 4)


def test_market_by_quantity_limited_by_liquidity() -> None:
    core = make_core(up=True)
    funded(core, 1, 2)
    core.place_limit(2, PAIR, -3, 10000)
    core.place_limit(2, PAIR, -4, 20000)
    assert core.place_market(1, PAIR, quantity=10) == 3
    assert core.balances(1)[COUNTER][0] == 10**10 - 3 - 8
    assert core.estimate(PAIR, quantity=5) == {"quantity": 0, "total": 0}


def test_market_sell_limited_by_base_balance() -> None:
    core = make_core(up=True)
    funded(core, 1)
    funded(core, 2, base=6)
    core.place_limit(1, PAIR, 10, 10000)
    assert core.place_market(2, PAIR, quantity=-10) == 4
    assert core.balances(2)[BASE] == (0, 0)
    assert core.balances(2)[COUNTER][0] == 10**10 + 6


def test_market_buy_limited_by_counter_balance_including_fee() -> None:
    core = make_core(up=True, taker_fee=Fraction(1, 10))
    funded(core, 1, counter=25)
    funded(core, 2)
    core.place_limit(2, PAIR, -100, 10000)  # 1 counter unit per base unit
    # each unit costs 1 + ceil(0.1) in the worst case; 25 pays for 22 units (22 + 3 fee)
    remaining = core.place_market(1, PAIR, quantity=50)
    assert remaining == 50 - 22
    assert core.balances(1)[COUNTER][0] == 0
    assert core.fees_collected() == {COUNTER: 3}


def test_market_by_total_buy_and_sell() -> None:
    core = make_core(up=True)
    funded(core, 1, 2)
    core.place_limit(2, PAIR, -10, 10000)  # 1 counter per unit
    core.place_limit(2, PAIR, -10, 30000)  # 3 counter per unit
    # 25 counter: 10 units for 10, then 5 units for 15 -> all spent
    assert core.place_market(1, PAIR, total=25) == 0
    assert core.balances(1)[BASE][0] == 10**8 + 15
    # 8 more: 2 units for 6, 2 left that cannot buy a unit at 3
    assert core.place_market(1, PAIR, total=8) == 2
    core.place_limit(1, PAIR, 10, 20000)  # bid: 2 counter per unit
    assert core.place_market(2, PAIR, total=-7) == 1  # 3 units for 6
    assert core.balances(2)[BASE][0] == 10**8 - 20 - 3


def test_fees_maker_and_taker_in_counter_only() -> None:
    core = make_core(up=False, maker_fee=Fraction(1, 100), taker_fee=Fraction(2, 100))
    funded(core, 1, 2)
    h = Harness(core)
    buyer, seller = h.session(1), h.session(2)
    h.place(buyer, 1000, 12345)  # maker bid: 1.2345 counter per unit, reserves 1235
    h.notices(buyer)
    h.place(seller, -1000, 12000)  # taker ask, trades at the bid's price
    bought = h.notices(buyer)
    sold = h.notices(seller, "OrdersMatched")
    # worst-case cost T + ceil(T/100) <= 1235 allows T = 1222, i.e. 989 units;
    # 989 * 1.2345 = 1220.92 -> 1220 (down), fee 12.2 -> 12; 3 left covers 2 units
    # then 1 unit: total 1.2345 -> 1, fee 0; 2 left covers 1 unit, but one unit may cost
    # 2 + ceil(0.02) = 3 > 2, so the bid closes with 1 remaining and releases 2
    assert [
        (n["notice"], n.get("quantity"), n.get("total"), n.get("bid_counter_fee"))
        for n in bought
        if n["notice"] != "TradeVolumeChanged"
    ] == [
        ("OrdersMatched", 989, 1220, 12),
        ("BalanceChanged", None, None, None),
        ("OrdersMatched", 1, 1, 0),
        ("BalanceChanged", None, None, None),
        ("OrderClosed", 1, None, None),
        ("BalanceChanged", None, None, None),
    ]
    assert [m["bid_rem"] for m in bought if m["notice"] == "OrdersMatched"] == [2, 1]
    assert all(m["bid_base_fee"] == 0 for m in bought if m["notice"] == "OrdersMatched")
    assert [(m["ask_counter_fee"], m["ask_base_fee"]) for m in sold] == [(24, 0), (0, 0)]
    assert all("bid_counter_fee" not in m and "bid_tonce" not in m for m in sold)
    assert core.balances(1)[COUNTER] == (10**10 - 1233, 0)
    assert core.balances(1)[BASE] == (10**8 + 990, 0)
    assert core.balances(2)[COUNTER] == (10**10 + 1196 + 1, 0)
    assert core.fees_collected() == {COUNTER: 36}
    (ask,) = core.open_orders(2)
    assert ask.quantity == -10 and ask.price == 12000


def test_bid_that_cannot_pay_for_one_unit_closes() -> None:
    core = make_core(up=True, maker_fee=Fraction(1, 100))
    funded(core, 1)
    h = Harness(core)
    s = h.session(1)
    reply = h.place(s, 1, 10000)  # reserves 1; one unit costs 1 + ceil(0.01) = 2
    assert reply["error_code"] == 0
    kinds = [(n["notice"], n.get("quantity"), n.get("balance")) for n in h.notices(s)]
    assert kinds == [
        ("BalanceChanged", None, 10**10 - 1),
        ("OrderClosed", 1, None),
        ("BalanceChanged", None, 10**10),
    ]
    assert core.open_orders(1) == [] and core.balances(1)[COUNTER] == (10**10, 0)


def test_insufficient_funds_for_a_limit_order() -> None:
    core = make_core()
    funded(core, 1, base=5, counter=100)
    with pytest.raises(InsufficientFundsError):
        core.place_limit(1, PAIR, -6, 10000)
    with pytest.raises(InsufficientFundsError):
        core.place_limit(1, PAIR, 101, 10000)
    core.place_limit(1, PAIR, 100, 10000)
    assert core.balances(1)[COUNTER] == (0, 100)


def test_estimate_walks_the_book_without_fees() -> None:
    core = make_core(taker_fee=Fraction(1, 100))
    funded(core, 1, 2)
    assert core.estimate(PAIR, quantity=5) == {"quantity": 0, "total": 0}
    core.place_limit(2, PAIR, -3, 10050)
    core.place_limit(2, PAIR, -3, 20000)
    core.place_limit(1, PAIR, 4, 9000)
    assert core.estimate(PAIR, quantity=4) == {"quantity": 4, "total": 5}  # 3.015 + 2
    assert core.estimate(PAIR, quantity=100) == {"quantity": 6, "total": 9}  # 9.015
    assert core.estimate(PAIR, total=6) == {"quantity": 4, "total": 5}
    assert core.estimate(PAIR, quantity=-10) == {"quantity": 4, "total": 4}  # 3.6
    assert core.estimate(PAIR, total=-2) == {"quantity": 2, "total": 2}  # 1.8
