"""Ticker, trade tape and the Views router (book and account views have their own files)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cfdash.core.assets import Assets, Pair
from cfdash.core.views import (
    TICKER_FIELDS,
    Balances,
    OwnOrders,
    TickerView,
    Trades,
    TradeVolumes,
    Views,
    aggressor_of,
)

XBT, GBP, EUR = Assets["XBT"], Assets["GBP"], Assets["EUR"]
XBT_GBP = Pair(XBT, GBP)
COIN = 10**8  # one XBT in v2 units

prices = st.none() | st.integers(1, 10**9)


@given(
    reply=st.fixed_dictionaries({f: prices for f in TICKER_FIELDS}),
    updates=st.lists(
        st.dictionaries(st.sampled_from(TICKER_FIELDS), prices, max_size=len(TICKER_FIELDS))
    ),
)
@pytest.mark.slow
def test_ticker_takes_only_the_fields_present(reply, updates):
    ticker = TickerView(XBT, GBP)
    ticker.load(reply | {"error_code": 0, "tag": 3})
    assert ticker.loaded and ticker.as_dict() == reply
    model = dict(reply)
    for update in updates:
        version = ticker.version
        changed = ticker.apply({"notice": "TickerChanged", "base": XBT, "counter": GBP} | update)
        expected = model | update
        assert changed == (expected != model)
        assert (ticker.version > version) == changed
        model = expected
        assert ticker.as_dict() == model
    assert not ticker.apply({"notice": "TickerChanged", "base": XBT, "counter": EUR, "last": -1})
    assert ticker.last == model["last"]


def test_ticker_reply_with_nulls_and_reset():
    ticker = TickerView(XBT, GBP)
    ticker.load({"last": None, "bid": 5, "volume": 0})
    assert ticker.as_dict() == {
        "last": None,
        "bid": 5,
        "ask": None,
        "low": None,
        "high": None,
        "volume": 0,
    }
    ticker.reset()
    assert not ticker.loaded and ticker.bid is None and ticker.name == "ticker:XBT:GBP"


def _trade(i: int, bid: int | None = None, ask: int | None = None, **extra) -> dict:
    notice = {"notice": "OrdersMatched", "base": XBT, "counter": GBP, "quantity": i + 1}
    notice |= {"price": 1000 + i, "total": 7 * i, "time": i}
    if bid is not None:
        notice |= {"bid": bid, "bid_rem": 1}
    if ask is not None:
        notice |= {"ask": ask, "ask_rem": 1}
    return notice | extra


@given(n=st.integers(0, 40), maxlen=st.integers(1, 10), history=st.integers(1, 15))
def test_tape_is_bounded_and_keeps_the_newest(n, maxlen, history):
    tape = Trades(XBT, GBP, maxlen=maxlen, history=history)
    for i in range(n):
        assert tape.apply(_trade(i, bid=i, ask=100))
    kept = list(range(max(0, n - maxlen), n))
    assert [t.time for t in tape.trades] == kept and len(tape) == len(kept)
    assert list(tape.prices) == [1000 + i for i in range(max(0, n - history), n)]
    assert [t.time for t in tape.recent(3)] == kept[::-1][:3]
    assert tape.last == (tape.trades[-1] if n else None)
    assert tape.version == n
    assert not tape.apply(_trade(0) | {"counter": EUR})


def test_aggressor_is_the_market_order_or_the_newer_id():
    assert aggressor_of(_trade(0, bid=None, ask=5)) == "buy"  # a market buy hit ask 5
    assert aggressor_of(_trade(0, bid=5, ask=None)) == "sell"
    assert aggressor_of(_trade(0, bid=9, ask=5)) == "buy"
    assert aggressor_of(_trade(0, bid=5, ask=9)) == "sell"
    assert aggressor_of(_trade(0)) is None
    tape = Trades(XBT, GBP)
    tape.apply(_trade(3, bid=9, ask=5))
    trade = tape.last
    assert trade is not None
    assert (trade.aggressor, trade.price, trade.quantity, trade.total) == ("buy", 1003, 4, 21)


def test_route_dispatches_by_notice_and_pair():
    views = Views()
    book = views.open_book(XBT_GBP)
    ticker = views.open_ticker((XBT, GBP))
    book.load_snapshot([{"id": 1, "quantity": -5, "price": 200, "time": 0}])
    assert views.book(XBT_GBP) is book and views.ticker(XBT_GBP) is ticker
    tape = views.trades(XBT_GBP)
    assert tape is not None and views.book((XBT, EUR)) is None

    opened = {"notice": "OrderOpened", "id": 2, "base": XBT, "counter": GBP}
    opened |= {"quantity": 4, "price": 100, "time": 1}
    assert views.route(opened) == {book.name}
    # The user's own order: also the orders view, and the balances (a new reservation).
    mine = opened | {"id": 3, "tonce": 1, "price": 150, "quantity": 4 * COIN}
    assert views.route(mine) == {book.name, OwnOrders.name, Balances.name}
    match = {"notice": "OrdersMatched", "base": XBT, "counter": GBP, "quantity": 1, "price": 200}
    match |= {"total": 2, "time": 2, "bid": 3, "bid_rem": 3 * COIN, "ask": 1, "ask_rem": 4}
    assert views.route(match) == {book.name, tape.name}
    own_match = match | {"bid_rem": 2 * COIN, "ask_rem": 3, "bid_tonce": 1, "bid_counter_fee": 0}
    assert views.route(own_match) == {
        book.name,
        tape.name,
        OwnOrders.name,
        OwnOrders.fills_name,
        Balances.name,
    }
    assert views.own.get(3).quantity == 2 * COIN and len(tape) == 2
    assert views.balances.reserved(GBP) == 300  # 2 XBT at 1.50 GBP: 3.00 GBP, in pence
    assert views.route({"notice": "TickerChanged", "base": XBT, "counter": GBP, "last": 200}) == {
        ticker.name
    }
    assert ticker.last == 200
    assert views.route({"notice": "BalanceChanged", "asset": GBP, "balance": 9}) == {"balances"}
    assert views.route({"notice": "BalanceChanged", "asset": GBP, "balance": 9}) == set()
    assert views.route({"notice": "TradeVolumeChanged", "asset": XBT, "volume": 3}) == {
        TradeVolumes.name
    }
    closed = {"notice": "OrderClosed", "id": 3, "tonce": 1, "base": XBT, "counter": GBP}
    assert views.route(closed | {"quantity": 2 * COIN, "price": 150}) == {
        book.name,
        OwnOrders.name,
        Balances.name,
    }
    assert views.balances.reserved(GBP) == 0 and views.balances.available(GBP) == 9
    assert views.volumes.get(XBT) == 3
    # Replies, the Welcome and unknown notices change nothing.
    assert views.route({"error_code": 0, "tag": 4, "orders": []}) == set()
    assert views.route({"notice": "Welcome", "nonce": "x"}) == set()
    assert views.route({"notice": "Surprise", "base": XBT, "counter": GBP}) == set()


def test_notices_for_pairs_without_views_only_reach_the_account():
    views = Views()
    mine = {"notice": "OrderOpened", "id": 7, "tonce": None, "base": XBT, "counter": EUR}
    mine |= {"quantity": -3, "price": 100, "time": 1}
    assert views.route(mine) == {OwnOrders.name, Balances.name}
    assert views.balances.reserved(XBT) == 3
    theirs = dict(mine)
    del theirs["tonce"]
    assert views.route(theirs | {"id": 8}) == set()
    tick = {"notice": "TickerChanged", "base": XBT, "counter": EUR, "bid": 1}
    assert views.route(tick) == set()


def test_open_close_and_reset_books():
    views = Views(tape=2)
    book = views.open_book(XBT_GBP)
    book.load_snapshot([{"id": 1, "quantity": 5, "price": 100, "time": 0}])
    views.reset()
    assert not book.synced and len(book) == 0
    assert views.open_book(XBT_GBP) is book  # reopening resets the same view
    opened = {"notice": "OrderOpened", "id": 2, "base": XBT, "counter": GBP}
    opened |= {"quantity": 4, "price": 100, "time": 1}
    assert views.route(opened) == set() and book.pending == 1
    book.load_snapshot([])
    assert book.levels("bid") == [(100, 4, 1)]
    views.close_book(XBT_GBP)
    views.close_ticker(XBT_GBP)
    assert views.book(XBT_GBP) is None and views.trades(XBT_GBP) is None
    assert views.route(opened | {"id": 3}) == set()
    assert views.ticker(XBT_GBP) is None
