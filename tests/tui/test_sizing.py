"""Ladder trading's arithmetic (``cfdash.tui.sizing``) and the ladder's selection moves: pure,
no sockets, no app."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import V2
from cfdash.tui import sizing
from cfdash.tui.widgets.ladder import moved, nearest

from .conftest import FEE, GBP, PAIR, XBT, gbp, p, q


def test_a_tick_is_the_smallest_price_step() -> None:
    assert sizing.step_price(p("41025.50"), 1) == p("41025.51")
    assert sizing.step_price(p("41025.50"), -2) == p("41025.48")
    assert sizing.step_price(1, -1) == 1  # never down to nothing


def test_fees_round_up() -> None:
    assert sizing.fee_of(gbp("4100"), FEE) == gbp("10.25")
    assert sizing.fee_of(1, FEE) == 1  # 0.0025 of a penny: a penny
    assert sizing.fee_of(gbp("4100"), None) == 0


def test_a_limit_order_costs_its_total_plus_the_fee_and_a_sell_gets_it_less_the_fee() -> None:
    buy = sizing.limit_cost(V2, PAIR, "buy", q("0.1"), p("41000"), FEE)
    assert buy == sizing.Cost(gbp("4100"), gbp("10.25"), gbp("4110.25"))
    sell = sizing.limit_cost(V2, PAIR, "sell", q("0.1"), p("41000"), FEE)
    assert sell == sizing.Cost(gbp("4100"), gbp("10.25"), gbp("4089.75"))
    # a total between two pennies: a buy reserves the next, a sell is sure of the last
    assert sizing.limit_total(V2, PAIR, "buy", 1, p("41000")) == 1
    assert sizing.limit_total(V2, PAIR, "sell", 1, p("41000")) == 0


def test_shares_of_the_available_balance() -> None:
    available = {XBT: q("1.9"), GBP: gbp("41810")}
    sell = sizing.fill(V2, PAIR, "sell", 50, available, FEE, None)
    assert sell == sizing.Filled("quantity", q("0.95"))
    buy = sizing.fill(V2, PAIR, "buy", 100, available, FEE, p("40000"))
    assert buy.field == "quantity"
    cost = sizing.limit_cost(V2, PAIR, "buy", buy.amount, p("40000"), FEE)
    assert cost.net <= gbp("41810")
    more = sizing.limit_cost(V2, PAIR, "buy", buy.amount + 1, p("40000"), FEE)
    assert more.net > gbp("41810")
    market = sizing.fill(V2, PAIR, "buy", 25, available, FEE, None, market=True)
    assert market.field == "total"
    assert market.amount + sizing.fee_of(market.amount, FEE) <= gbp("10452.50")
    assert market.amount + 1 + sizing.fee_of(market.amount + 1, FEE) > gbp("10452.50")
    assert sizing.fill(V2, PAIR, "sell", 25, {}, FEE, None).amount == 0


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(1, 10**9),
    budget=st.integers(0, 10**12),
    rate=st.sampled_from([None, Decimal(0), FEE, Decimal("0.01")]),
)
def test_the_buy_quantity_is_the_largest_whose_cost_fits(price, budget, rate) -> None:
    quantity = sizing.buy_quantity(V2, PAIR, price, budget, rate)
    assert sizing.limit_cost(V2, PAIR, "buy", quantity, price, rate).net <= budget
    assert sizing.limit_cost(V2, PAIR, "buy", quantity + 1, price, rate).net > budget


def test_the_selection_moves_through_the_ladder_in_its_order() -> None:
    levels = [("ask", 30), ("ask", 20), ("ask", 10), ("bid", 9), ("bid", 8)]
    assert moved(levels, None, -1) == ("ask", 10)  # Up: the best ask
    assert moved(levels, None, 1) == ("bid", 9)  # Down: the best bid
    assert moved(levels, ("ask", 10), 1) == ("bid", 9)  # across the spread
    assert moved(levels, ("ask", 30), -1) == ("ask", 30)  # kept in range
    assert moved(levels, ("bid", 8), 5) == ("bid", 8)
    assert moved([], None, 1) is None
    assert moved([("bid", 9)], None, -1) == ("bid", 9)  # no asks: Up starts at the bid


def test_a_selected_level_that_went_is_followed_by_its_nearest() -> None:
    levels = [("ask", 30), ("ask", 20), ("bid", 9), ("bid", 5)]
    assert nearest(levels, ("ask", 20)) == ("ask", 20)
    assert nearest(levels, ("ask", 24)) == ("ask", 20)  # its side first
    assert nearest(levels, ("bid", 8)) == ("bid", 9)
    assert nearest([("ask", 30)], ("bid", 8)) == ("ask", 30)  # its side emptied
    assert nearest(levels, None) is None and nearest([], ("ask", 1)) is None
