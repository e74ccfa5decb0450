"""OwnOrders and Balances: own fills recognised by tonce, reservations against brute force."""

from __future__ import annotations

from fractions import Fraction
from math import ceil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.assets import V1, V2, Assets, Pair
from cfdash.core.views import Balances, OwnOrders, TradeVolumes

XBT, GBP, EUR = Assets["XBT"], Assets["GBP"], Assets["EUR"]
PAIRS = [(XBT, GBP), (XBT, EUR)]


def opened(oid, tonce, quantity, price, pair=(XBT, GBP), time=1) -> dict:
    return {
        "notice": "OrderOpened",
        "id": oid,
        "tonce": tonce,
        "base": pair[0],
        "counter": pair[1],
        "quantity": quantity,
        "price": price,
        "time": time,
    }


def matched(side, oid, tonce, traded, rem, price, pair=(XBT, GBP), fee=0, **other) -> dict:
    notice = {
        "notice": "OrdersMatched",
        "base": pair[0],
        "counter": pair[1],
        "quantity": traded,
        "price": price,
        "total": traded * price // 100,
        "time": 9,
        f"{side}_tonce": tonce,
        f"{side}_counter_fee": fee,
        f"{side}_base_fee": 0,
    } | other
    if oid is not None:
        notice |= {side: oid, f"{side}_rem": rem}
    return notice


def closed(oid, tonce, quantity, price, pair=(XBT, GBP)) -> dict:
    return {
        "notice": "OrderClosed",
        "id": oid,
        "tonce": tonce,
        "base": pair[0],
        "counter": pair[1],
        "quantity": quantity,
        "price": price,
    }


def test_impl_guide_reservation_example_under_v1_scales():
    """IMPL-GUIDE: buy 12345 @ 1234500 reserves 1523991; after trading 1234 with the fee taken
    from the reservation, 11110 remain, needing 1371530."""
    own = OwnOrders(V1)
    balances = Balances(own)
    own.expect(1, XBT, GBP, 12345, 1234500)
    assert balances.reserved(GBP) == 0  # only sent: not yet known to be on the book
    own.placed(1, 42, 1000)
    assert balances.reserved(GBP) == 1523991
    assert own.apply(matched("bid", 42, 1, 1234, 11110, 1234500, fee=46))
    assert balances.reserved(GBP) == 1371530
    assert own.get(42).quantity == 11110 and own.get(42).filled == 1234
    assert balances.reserved(XBT) == 0


def test_fills_before_the_place_order_reply_are_recognised_by_tonce():
    own = OwnOrders(V2)
    version = own.version
    own.expect(5, XBT, GBP, -300, 2000000)
    assert own.by_tonce(5).status == "pending" and own.version > version
    # The order traded as it arrived, before its reply: the notice teaches the view its id.
    assert own.apply(matched("ask", 77, 5, 100, 200, 2000000, fee=3, bid=12, bid_rem=0))
    order = own.get(77)
    assert order is own.by_tonce(5) and order.status == "open"
    assert order.quantity == -200 and own.reserved(XBT) == 200
    (fill,) = own.fills
    assert (fill.side, fill.quantity, fill.fee, fill.id, fill.tonce) == ("sell", 100, 3, 77, 5)
    assert own.apply(opened(77, 5, -200, 2000000, time=55))
    assert own.placed(5, 77, 55)
    assert len(own) == 1 and own.get(77).time == 55 and own.in_flight() == []


def test_an_order_closed_before_its_reply_is_not_resurrected():
    own = OwnOrders()
    own.expect(3, XBT, GBP, 10, 500)
    own.apply(matched("bid", 8, 3, 10, 0, 500))
    assert own.reserved(GBP) == 0 and own.get(8).quantity == 0
    assert own.apply(closed(8, 3, 0, 500))
    assert own.get(8) is None and own.by_tonce(3) is None and own.was_closed(8)
    assert not own.placed(3, 8, 1)
    assert not own.apply(opened(8, 3, 10, 500))  # a straggler
    assert len(own) == 0 and own.reserved(GBP) == 0


def test_a_market_order_records_fills_and_leaves_no_open_order():
    own = OwnOrders()
    own.expect(4, XBT, GBP, 50)
    own.apply(matched("bid", None, 4, 20, None, 700, ask=3, ask_rem=1))
    own.apply(matched("bid", None, 4, 30, None, 710, ask=6, ask_rem=0))
    assert [f.quantity for f in own.fills] == [20, 30] and own.by_tonce(4).filled == 50
    assert own.reserved(GBP) == 0 and len(own) == 0
    assert own.placed(4)  # the market reply {remaining}: no id
    assert own.by_tonce(4) is None and list(own) == []


def test_failed_placement_is_forgotten_and_others_notices_are_ignored():
    own = OwnOrders()
    own.expect(6, XBT, GBP, 5, 100)
    assert own.failed(6) and own.by_tonce(6) is None and not own.failed(6)
    foreign = opened(1, None, 5, 100)
    del foreign["tonce"]
    assert not own.apply(foreign)
    assert not own.apply({"notice": "OrdersMatched", "bid": 1, "bid_rem": 2, "quantity": 3})
    assert not own.apply({"notice": "OrderClosed", "id": 1, "quantity": 0})
    assert len(own) == 0 and not own.fills


def test_orders_without_tonce_are_tracked_by_id():
    own = OwnOrders()
    assert own.apply(opened(10, None, -7, 300))
    assert own.apply(matched("ask", 10, None, 2, 5, 300))
    assert own.get(10).quantity == -5 and own.reserved(XBT) == 5
    assert own.apply(closed(10, None, -5, 300))
    assert own.reserved(XBT) == 0 and len(own) == 0


def test_load_replaces_open_orders_keeps_in_flight_and_skips_closed():
    own = OwnOrders()
    own.apply(opened(1, 1, 5, 100))
    own.apply(closed(2, 2, 3, 100))
    own.expect(9, XBT, EUR, -4, 100)
    rows = [
        (2, 2, GBP, 3, 100, 1),  # closed already: its OrderClosed overtook the reply
        (3, None, EUR, -6, 90, 2),
        (4, 4, GBP, 8, 10**6, 0),
    ]
    own.load(
        {"id": i, "tonce": t, "base": XBT, "counter": c, "quantity": q, "price": p, "time": tm}
        for i, t, c, q, p, tm in rows
    )
    assert [o.id for o in own.open_orders()] == [4, 3]  # by time
    assert [o.tonce for o in own.in_flight()] == [9]
    assert [o.id for o in own] == [4, 3, None]
    assert own.reserved(XBT) == 6 and own.reserved(GBP) == V2.bid_reservation(
        Pair(XBT, GBP), 8, 10**6
    )
    assert 1 not in own and 4 in own


def test_fills_are_capped():
    own = OwnOrders(max_fills=3)
    own.expect(1, XBT, GBP, 100, 100)
    for rem in range(99, 94, -1):
        own.apply(matched("bid", 1, 1, 1, rem, 100))
    assert [f.time for f in own.fills] == [9, 9, 9] and len(own.fills) == 3
    assert own.get(1).quantity == 95 and own.get(1).filled == 5


def test_balances_available_reserved_total():
    own = OwnOrders()
    balances = Balances(own)
    balances.load([{"asset": XBT, "balance": 10}, {"asset": GBP, "balance": 500}])
    version = balances.version
    assert balances.apply({"notice": "BalanceChanged", "asset": XBT, "balance": 4})
    assert not balances.apply({"notice": "BalanceChanged", "asset": XBT, "balance": 4})
    assert balances.version == version + 1
    own.apply(opened(1, 1, -6, 100))
    assert balances.version == version + 2  # a new reservation moves it too
    assert (balances.available(XBT), balances.reserved(XBT), balances.total(XBT)) == (4, 6, 10)
    assert balances.total(EUR) == 0 and balances.assets() == [XBT, GBP]
    assert Balances().reserved(XBT) == 0


def test_trade_volumes():
    volumes = TradeVolumes()
    volumes.set(XBT, 5)
    assert volumes.apply({"notice": "TradeVolumeChanged", "asset": XBT, "volume": 7})
    assert not volumes.apply({"notice": "TradeVolumeChanged", "asset": XBT, "volume": 7})
    assert volumes.get(XBT) == 7 and volumes.get(GBP) is None and volumes.version == 2


def reservation(scales, pair, quantity: int, price: int) -> int:
    """Brute force, independent of Scales.bid_reservation: exact rational, then ceil."""
    if quantity < 0:
        return -quantity
    base, counter = pair
    units = Fraction(quantity, scales.assets[base]) * Fraction(price, 100)
    return ceil(units * scales.assets[counter])


@st.composite
def lifecycles(draw):
    """Per order: the PlaceOrder (expect), then engine notices in order, plus the reply placed
    anywhere after the expect; orders interleaved at random."""
    n = draw(st.integers(1, 6))
    sequences = []
    for k in range(n):
        tonce, oid = k + 1, 100 + k
        pair = draw(st.sampled_from(PAIRS))
        quantity = draw(st.integers(1, 10**6)) * draw(st.sampled_from([1, -1]))
        price = draw(st.integers(1, 10**7))
        side = "bid" if quantity > 0 else "ask"
        events: list[tuple] = [("expect", tonce, pair, quantity, price)]
        # A resting order's OrderOpened precedes its fills; an aggressor may trade first and
        # only then rest (OrderOpened with what is left) or be done.
        aggressor = draw(st.booleans())
        notices = [] if aggressor else [opened(oid, tonce, quantity, price, pair, time=k)]
        rem = abs(quantity)
        for _ in range(draw(st.integers(0, 3))):
            if rem == 0:
                break
            traded = draw(st.integers(1, rem))
            shrink = draw(st.integers(0, rem - traded)) if side == "bid" else 0
            rem = rem - traded - shrink
            notices.append(matched(side, oid, tonce, traded, rem, price, pair, fee=shrink))
        signed = rem if side == "bid" else -rem
        if aggressor and rem:
            notices.append(opened(oid, tonce, signed, price, pair, time=k))
        if rem == 0 or draw(st.booleans()):
            notices.append(closed(oid, tonce, signed, price, pair))
        reply_at = draw(st.integers(0, len(notices)))
        notices.insert(reply_at, ("placed", tonce, oid, k))
        events += [e if isinstance(e, tuple) else ("notice", e) for e in notices]
        sequences.append(events)
    merged = []
    while any(sequences):
        k = draw(st.sampled_from([i for i, s in enumerate(sequences) if s]))
        merged.append(sequences[k].pop(0))
    return merged


@settings(max_examples=150)
@given(events=lifecycles(), scales=st.sampled_from([V1, V2]), balances=st.data())
@pytest.mark.slow
def test_reserved_equals_the_brute_force_sum(events, scales, balances):
    own = OwnOrders(scales)
    view = Balances(own)
    # The model: what the delivered messages say about each order.
    known: dict[int, dict] = {}  # tonce -> {pair, quantity(signed remaining), price, seen, closed}
    fills = 0
    available: dict[int, int] = {}
    for event in events:
        kind = event[0]
        if kind == "expect":
            _, tonce, pair, quantity, price = event
            own.expect(tonce, pair[0], pair[1], quantity, price)
            known[tonce] = {"pair": pair, "q": quantity, "price": price, "seen": False, "closed": 0}
        elif kind == "placed":
            _, tonce, oid, time = event
            own.placed(tonce, oid, time)
            known[tonce]["seen"] = True
        else:
            notice = event[1]
            own.apply(notice)
            name = notice["notice"]
            tonce = notice.get("tonce", notice.get("bid_tonce", notice.get("ask_tonce")))
            model = known[tonce]
            model["seen"] = True
            if name == "OrdersMatched":
                fills += 1
                rem = notice.get("bid_rem", notice.get("ask_rem"))
                model["q"] = rem if model["q"] > 0 else -rem
            elif name == "OrderClosed":
                model["closed"] = True
            else:
                model["q"] = notice["quantity"]
        asset = balances.draw(st.sampled_from([XBT, GBP, EUR]), label="asset")
        amount = balances.draw(st.integers(0, 10**9), label="balance")
        view.apply({"notice": "BalanceChanged", "asset": asset, "balance": amount})
        available[asset] = amount

        expected: dict[int, int] = {}
        for model in known.values():
            if model["seen"] and not model["closed"] and model["q"]:
                pair = model["pair"]
                asset = pair[1] if model["q"] > 0 else pair[0]
                amount = reservation(scales, pair, model["q"], model["price"])
                expected[asset] = expected.get(asset, 0) + amount
        for asset in (XBT, GBP, EUR):
            assert view.reserved(asset) == expected.get(asset, 0)
            assert view.total(asset) == available.get(asset, 0) + expected.get(asset, 0)
        assert len(own.fills) == fills
        open_tonces = {t for t, m in known.items() if m["seen"] and not m["closed"]}
        assert {o.tonce for o in own.open_orders()} == open_tonces
