"""The in-memory source behaves like the exchange at the seam: reservations, matching, errors,
pushed batches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import PAIRS, V2
from cfdash.core.errors import AuthenticationError, InsufficientFundsError, Msg, NotFoundError
from cfdash.tui.fake import FakeSource
from cfdash.tui.source import Batch, DataSource, Estimate, OrderRequest

from .conftest import COOKIE, GBP, PAIR, SECRET, USER, XBT, clock, p, q, seeded_source


def balances(source: FakeSource) -> dict[int, tuple[int, int]]:
    rows = source.snapshot(PAIR).balances or ()
    return {b.asset: (b.available, b.reserved) for b in rows}


def test_is_a_data_source() -> None:
    assert isinstance(FakeSource(), DataSource)


def test_bid_reserves_and_cancel_returns() -> None:
    source = FakeSource(clock=clock, user_id=USER)
    source.credit(GBP, 1_000_000)
    result = source.place_order(OrderRequest(PAIR, "buy", quantity=12345, price=1234500)).result()
    need = V2.bid_reservation(PAIR, 12345, 1234500)
    assert balances(source)[GBP] == (1_000_000 - need, need)
    cancelled = source.cancel_order(result.id or 0).result()
    assert cancelled.remaining == 12345 and cancelled.side == "buy"
    assert balances(source)[GBP] == (1_000_000, 0)
    with pytest.raises(NotFoundError, match=re.escape(Msg.ORDER_NOT_FOUND)):
        source.cancel_order(result.id or 0).result()


def test_errors_are_the_exchange_errors() -> None:
    anonymous = FakeSource(clock=clock)
    with pytest.raises(AuthenticationError, match=Msg.NOT_AUTHENTICATED):
        anonymous.place_order(OrderRequest(PAIR, "buy", quantity=1, price=1)).result()
    source = FakeSource(clock=clock, user_id=USER)
    source.credit(XBT, q("1"))
    with pytest.raises(InsufficientFundsError, match=Msg.INSUFFICIENT_FUNDS):
        source.place_order(OrderRequest(PAIR, "sell", quantity=q("1.1"), price=1)).result()


def test_login_checks_user_cookie_and_passphrase() -> None:
    source = FakeSource(clock=clock, users={USER: (COOKIE, SECRET)})
    with pytest.raises(NotFoundError, match=Msg.NO_SUCH_USER):
        source.login(USER + 1, COOKIE, SECRET).result()
    with pytest.raises(AuthenticationError, match=Msg.BAD_COOKIE):
        source.login(USER, "x" + COOKIE, SECRET).result()
    with pytest.raises(AuthenticationError, match="incorrect signature"):
        source.login(USER, COOKIE, SECRET + "!").result()
    assert source.snapshot(PAIR).balances is None
    source.login(USER, COOKIE, SECRET).result()
    assert source.snapshot(PAIR).status.user_id == USER
    assert source.snapshot(PAIR).balances == ()
    assert SECRET not in repr(vars(source))


def test_limit_order_trades_then_rests() -> None:
    source = seeded_source()
    before = balances(source)
    # Buy 0.7 up to 41,025.50: takes 0.5 @ 41,010 and 0.2 @ 41,025.50, nothing rests.
    source.place_order(OrderRequest(PAIR, "buy", quantity=q("0.7"), price=p("41025.50"))).result()
    snap = source.snapshot(PAIR)
    assert snap.book.asks[0] == (p("41025.50"), q("1.0"), 1)
    assert [(t.price, t.quantity, t.aggressor) for t in snap.trades[:2]] == [
        (p("41025.50"), q("0.2"), "buy"),
        (p("41010"), q("0.5"), "buy"),
    ]
    spent = 41010 * 50 + 4102550 * 2 // 10  # 0.5 * 41,010.00 + 0.2 * 41,025.50, in pence
    after = balances(source)
    assert after[XBT][0] == before[XBT][0] + q("0.7")
    assert after[GBP] == (before[GBP][0] - spent, before[GBP][1])
    assert snap.ticker.last == p("41025.50") and snap.ticker.ask == p("41025.50")


def test_market_order_and_estimate_agree() -> None:
    source = seeded_source()
    estimate = source.estimate(PAIR, "sell", quantity=q("1")).result()
    # 0.7 @ 40,990 then 0.3 of the 40,950 level (which holds our own 0.2 after 0.3 of others).
    assert estimate == Estimate(q("1"), 4099000 * 7 // 10 + 4095000 * 3 // 10)
    result = source.place_order(OrderRequest(PAIR, "sell", quantity=q("1"))).result()
    assert result.remaining == 0
    assert source.estimate(PAIR, "buy", total=0).exception() is not None


def test_market_order_is_limited_by_balance() -> None:
    source = seeded_source()
    source.cancel_all().result()  # no own bids to trade with
    xbt = balances(source)[XBT][0]
    assert xbt == q("2")
    result = source.place_order(OrderRequest(PAIR, "sell", quantity=xbt + q("1"))).result()
    assert result.remaining == q("1")
    assert balances(source)[XBT][0] == 0


def test_pushes_batches_for_the_watched_market_only() -> None:
    source = seeded_source()
    seen: list[Batch] = []
    source.subscribe(seen.append)
    source.add_order(PAIRS[1], "buy", q("1"), p("100"))
    assert seen[-1].book is None and seen[-1].pair is None
    source.add_order(PAIR, "buy", q("1"), p("100"))
    assert seen[-1].pair == PAIR and seen[-1].book is not None
    assert seen[-1].book.bids[-1] == (p("100"), q("1"), 1)
    source.unsubscribe(seen.append)
    count = len(seen)
    source.add_order(PAIR, "buy", q("1"), p("100"))
    assert len(seen) == count


def test_batch_merge_keeps_the_newest_of_each_part() -> None:
    source = seeded_source()
    snap = source.snapshot(PAIR)
    a = Batch(pair=PAIR, book=snap.book, balances=snap.balances)
    b = Batch(pair=PAIR, trades=snap.trades)
    merged = a.merge(b)
    assert (merged.book, merged.trades, merged.balances) == (snap.book, snap.trades, snap.balances)
    other = Batch(pair=PAIRS[1], ticker=snap.ticker)
    switched = a.merge(other)
    assert switched.pair == PAIRS[1] and switched.book is None
    assert switched.balances == snap.balances


orders = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.integers(1, 5 * 10**7),  # up to 0.5 XBT
        st.integers(4_090_000, 4_110_000),  # 40,900.00 .. 41,100.00
        st.booleans(),  # market order?
        st.booleans(),  # cancel it afterwards (if it rests)
    ),
    max_size=8,
)


@given(orders)
@settings(max_examples=40)
def test_own_money_is_conserved_and_reservations_match_open_orders(plan) -> None:  # type: ignore[no-untyped-def]
    """Whatever the user places, fills or cancels, what is reserved equals what the open orders
    need (IMPL-GUIDE), and balances stay non-negative (the counter side may be one unit short:
    the fake rounds a fill's total half up against a reservation rounded up as a whole)."""
    source = seeded_source()
    for side, quantity, price, is_market, cancel in plan:
        request = (
            OrderRequest(PAIR, side, quantity=quantity)
            if is_market
            else OrderRequest(PAIR, side, quantity=quantity, price=price)
        )
        try:
            result = source.place_order(request).result()
        except InsufficientFundsError:
            continue
        if cancel and result.id is not None:
            source.cancel_order(result.id).exception()
        snap = source.snapshot(PAIR)
        rows = {b.asset: b for b in snap.balances or ()}
        held_xbt = sum(-o.remaining for o in snap.orders if o.remaining < 0)
        held_gbp = sum(
            V2.bid_reservation(PAIR, o.remaining, o.price) for o in snap.orders if o.remaining > 0
        )
        assert rows[XBT].reserved == held_xbt
        assert rows[GBP].reserved == held_gbp
        assert rows[XBT].available >= 0 and rows[GBP].available >= -1
