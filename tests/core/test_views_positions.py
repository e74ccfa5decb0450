"""Positions and P&L (``cfdash.core.views.positions``): average cost with fees, realised and
unrealised P&L, crossing prices to value an account; checked against hand-computed values."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cfdash.core.assets import Assets
from cfdash.core.views.positions import Position, Trade, mid, position, positions, rate, value

D = Decimal
XBT, GBP, EUR, USD, BCH, PLN = (Assets[n] for n in ("XBT", "GBP", "EUR", "USD", "BCH", "PLN"))
RATE = D("0.0025")


def trade(side: str, quantity: str, price: str, fee_rate: Decimal = RATE) -> Trade:
    total = D(quantity) * D(price)
    return Trade(side, D(quantity), total, total * fee_rate)  # type: ignore[arg-type]


def test_the_worked_example_with_fees() -> None:
    """Buy 1 @ 30,000 (fee 75), buy 1 @ 32,000 (fee 80), sell 1.5 @ 31,000 (fee 116.25):

    cost 30,075 + 32,080 = 62,155 for 2, average 31,077.50;
    the sale receives 46,500 - 116.25 = 46,383.75 for 1.5 that cost 1.5 x 31,077.50 =
    46,616.25: realised -232.50; 0.5 left at 31,077.50 (cost 15,538.75);
    at a mid of 31,500 it is worth 15,750: unrealised +211.25.
    """
    buys = [trade("buy", "1", "30000"), trade("buy", "1", "32000")]
    after_buys = position(buys)
    assert after_buys.quantity == 2
    assert after_buys.cost == D("62155")
    assert after_buys.average == D("31077.5")
    assert after_buys.realised == 0
    final = after_buys.apply(trade("sell", "1.5", "31000"))
    assert final.quantity == D("0.5")
    assert final.average == D("31077.5")
    assert final.cost == D("15538.75")
    assert final.realised == D("-232.5")
    assert final.fees == D("75") + D("80") + D("116.25")
    assert final.unrealised(D("31500")) == D("211.25")
    assert final.unrealised(None) is None


def test_selling_everything_realises_the_round_trip_less_both_fees() -> None:
    """Buy 0.5 @ 40,000 (fee 50), sell 0.5 @ 41,000 (fee 51.25): +500 - 101.25 = 398.75."""
    final = position([trade("buy", "0.5", "40000"), trade("sell", "0.5", "41000")])
    assert final.quantity == 0 and final.cost == 0 and final.average is None
    assert final.realised == D("398.75")
    assert final.unrealised(D("99999")) == 0


def test_a_sale_from_before_the_session_is_a_short_bought_back() -> None:
    """Sell 1 @ 31,000 (receives 30,922.50), then buy 1 @ 30,000 (pays 30,075):
    a short at 30,922.50 closed at 30,075 realises 847.50."""
    short = position([trade("sell", "1", "31000")])
    assert short.quantity == -1 and short.cost == D("-30922.5")
    assert short.average == D("30922.5")
    assert short.unrealised(D("30000")) == D("922.5")  # buying back now (before its fee)
    final = short.apply(trade("buy", "1", "30000"))
    assert final.quantity == 0 and final.realised == D("847.5")


def test_a_trade_through_zero_opens_the_rest_at_its_own_price() -> None:
    """Long 1 @ 30,000 (no fees); sell 3 @ 33,000: +3,000 realised, short 2 at 33,000."""
    final = position([trade("buy", "1", "30000", D(0)), trade("sell", "3", "33000", D(0))])
    assert final.realised == D("3000")
    assert final.quantity == -2 and final.average == D("33000")


def test_a_starting_cost_counts_like_a_first_purchase() -> None:
    """2 held from before at 25,000; sell 1 @ 30,000 (fee 75): realised 4,925."""
    start = Position.start(D(2), D("25000"))
    final = position([trade("sell", "1", "30000")], start)
    assert final.realised == D("4925")
    assert final.quantity == 1 and final.average == D("25000")


def test_positions_are_kept_per_pair() -> None:
    result = positions(
        [
            ((XBT, GBP), trade("buy", "1", "30000", D(0))),
            ((XBT, EUR), trade("buy", "1", "35000", D(0))),
            ((XBT, GBP), trade("sell", "1", "31000", D(0))),
        ]
    )
    assert result[(XBT, GBP)].realised == D("1000")
    assert result[(XBT, EUR)].average == D("35000")


def test_the_mid_and_when_there_is_none() -> None:
    assert mid(D("100"), D("101")) == D("100.5")
    assert mid(None, D("101"), D("99")) == D("99")
    assert mid(D("100"), None) is None


def test_rates_cross_known_markets_and_never_guess() -> None:
    mids = {(XBT, GBP): D("30000"), (XBT, EUR): D("35000"), (BCH, GBP): D("200")}
    assert rate(GBP, GBP, mids) == 1
    assert rate(XBT, GBP, mids) == D("30000")
    assert rate(GBP, XBT, mids) == 1 / D("30000")
    assert rate(BCH, GBP, mids) == D("200")
    assert rate(EUR, GBP, mids) == D("30000") / D("35000")  # EUR -> XBT -> GBP
    assert rate(BCH, EUR, mids) == D("200") / D("30000") * D("35000")
    assert rate(USD, GBP, mids) is None  # no market links USD
    assert rate(XBT, GBP, {}) is None


def test_the_account_value_lists_what_it_could_not_value() -> None:
    mids = {(XBT, GBP): D("30000")}
    result = value({XBT: D("1.5"), GBP: D("1000"), USD: D("10"), PLN: D(0)}, GBP, mids)
    assert result.values[XBT] == D("45000") and result.values[GBP] == D("1000")
    assert result.values[USD] is None and result.values[PLN] is None
    assert result.total == D("46000")
    assert result.unpriced == (USD,)  # PLN has no balance: nothing is missing


amounts = st.decimals(min_value=D("0.001"), max_value=D("100"), places=3)
prices = st.decimals(min_value=D("1"), max_value=D("100000"), places=2)
trades = st.lists(
    st.builds(
        lambda side, q, p, fee: Trade(side, q, q * p, (q * p * fee).quantize(D("0.01"))),
        st.sampled_from(["buy", "sell"]),
        amounts,
        prices,
        st.sampled_from([D(0), D("0.0025"), D("0.01")]),
    ),
    max_size=20,
)


@given(trades, prices)
def test_realised_plus_unrealised_is_every_cash_flow_plus_the_value(
    fills: list[Trade], price: Decimal
) -> None:
    final = position(fills)
    cash = sum((t.cash for t in fills), D(0))
    assert final.quantity == sum((t.signed for t in fills), D(0))
    assert final.fees == sum((t.fee for t in fills), D(0))
    unrealised = final.unrealised(price)
    assert unrealised is not None
    assert abs(final.realised + unrealised - (cash + final.quantity * price)) < D("1e-12")


@given(st.lists(st.tuples(amounts, prices), min_size=1, max_size=10))
def test_buys_alone_average_their_cost_with_fees(buys: list[tuple[Decimal, Decimal]]) -> None:
    fills = [Trade("buy", q, q * p, q * p * RATE) for q, p in buys]
    final = position(fills)
    spent = sum((t.total + t.fee for t in fills), D(0))
    assert final.realised == 0
    assert final.average is not None
    assert abs(final.average - spent / final.quantity) < D("1e-12")


@given(trades, st.sampled_from(["buy", "sell"]), amounts, prices)
def test_reducing_a_position_keeps_its_average(
    fills: list[Trade], side: str, quantity: Decimal, price: Decimal
) -> None:
    before = position(fills)
    if not before.quantity:
        return
    reducing = "sell" if before.quantity > 0 else "buy"
    q = min(quantity, abs(before.quantity))
    after = before.apply(Trade(reducing, q, q * price))  # type: ignore[arg-type]
    if after.quantity:
        assert before.average is not None and after.average is not None
        assert abs(after.average - before.average) < D("1e-9") * max(1, abs(before.average))
