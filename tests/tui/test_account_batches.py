"""What the account panels are fed: the session's fill history, the closed orders and the
markets' quotes from ``BatchBuilder`` (no socket, no thread), and ``cfdash.tui.pnl``'s ledger
over that history."""

from __future__ import annotations

from decimal import Decimal

from cfdash.core.assets import V2, Assets
from cfdash.core.views import OwnOrders
from cfdash.tui import pnl
from cfdash.tui.source import BalanceRow, Batch, ClosedOrderRow, Fill, OrderRequest, Quote

from .test_batches import COIN, LIVE, PAIR, match, watched

XBT, GBP = Assets["XBT"], Assets["GBP"]
D = Decimal


def test_the_fill_history_has_every_fill_and_is_pushed_when_it_changes() -> None:
    views, rows = watched()
    rows.placing(7, "sending", OrderRequest(PAIR, "buy", quantity=COIN // 2, price=41_000_00))
    names = views.route(match(bid_tonce=7))  # held for its outcome: not news, but history
    batch = rows.build(names, LIVE, status_changed=False, private=True)
    assert batch is not None and batch.fills == ()
    assert batch.fill_history is not None and [f.tonce for f in batch.fill_history] == [7]
    names = views.route(match(bid_tonce=3, time=6))
    batch = rows.build(names, LIVE, status_changed=False, private=True)
    assert batch is not None and [f.tonce for f in batch.fill_history or ()] == [7, 3]
    assert rows.build(set(), LIVE, status_changed=False, private=True) is None  # no change
    snap = rows.snapshot(PAIR, V2, LIVE, private=True)
    assert [f.tonce for f in snap.fill_history] == [7, 3]
    assert rows.snapshot(PAIR, V2, LIVE, private=False).fill_history == ()


def test_closed_orders_are_news_pushed_once() -> None:
    views, rows = watched()
    opened = {"notice": "OrderOpened", "base": XBT, "counter": GBP, "time": 1}
    views.route(opened | {"id": 9, "tonce": 4, "quantity": -COIN, "price": 42_000_00})
    rows.build({OwnOrders.name}, LIVE, status_changed=False, private=True)
    closed = {"notice": "OrderClosed", "base": XBT, "counter": GBP}
    names = views.route(closed | {"id": 9, "tonce": 4, "quantity": -COIN, "price": 42_000_00})
    batch = rows.build(names, LIVE, status_changed=False, private=True)
    assert batch is not None
    assert batch.closed == (ClosedOrderRow(9, PAIR, "sell", 42_000_00, COIN, 0, COIN, 4),)
    assert batch.closed[0].result == "cancelled"
    again = rows.build({OwnOrders.name}, LIVE, status_changed=False, private=True)
    assert again is not None and again.closed == ()


def test_quotes_come_from_the_live_book_and_are_pushed_when_they_change() -> None:
    views, rows = watched()
    full = rows.build(set(), LIVE, status_changed=True, private=False)
    assert full is not None and full.quotes == (Quote(PAIR, 40_000_00, 41_000_00, 40_500_00),)
    names = views.route(match(quantity=COIN // 4, bid=None, bid_rem=None))  # the ask shrinks
    batch = rows.build(names, LIVE, status_changed=False, private=False)
    assert batch is not None and batch.quotes is None  # best bid and ask unchanged
    ticker = {"notice": "TickerChanged", "base": XBT, "counter": GBP, "last": 40_600_00}
    names = views.route(ticker)
    batch = rows.build(names, LIVE, status_changed=False, private=False)
    assert batch is not None and batch.quotes == (Quote(PAIR, 40_000_00, 41_000_00, 40_600_00),)


def test_merged_batches_keep_every_closed_order_and_the_latest_history() -> None:
    one = ClosedOrderRow(1, PAIR, "buy", 1, 1, 0, 1)
    two = ClosedOrderRow(2, PAIR, "buy", 1, 1, 1, 0)
    fill = Fill(PAIR, "buy", 1, 1, 1, 0, GBP, 1)
    merged = Batch(closed=(one,), fill_history=(), quotes=()).merge(
        Batch(closed=(two,), fill_history=(fill,))
    )
    assert merged.closed == (one, two)
    assert merged.fill_history == (fill,) and merged.quotes == ()


def fill(side: str, quantity: str, price: str, fee: str) -> Fill:
    q, p = V2.quantity_to_wire(PAIR, quantity), V2.price_to_wire(PAIR, price)
    total = V2.total_to_wire(PAIR, D(quantity) * D(price))
    return Fill(PAIR, side, q, p, total, V2.total_to_wire(PAIR, fee), GBP, 1)  # type: ignore[arg-type]


def test_the_ledger_follows_a_bounded_history_without_counting_a_fill_twice() -> None:
    ledger = pnl.Ledger()
    first = fill("buy", "1", "30000", "75")
    history = (first,)
    ledger.follow(V2, history)
    ledger.follow(V2, history)  # nothing new
    key = (PAIR.base, PAIR.counter)
    assert ledger.positions[key].quantity == 1
    second, third = fill("buy", "1", "32000", "80"), fill("sell", "1.5", "31000", "116.25")
    ledger.follow(V2, (first, second, third))
    assert ledger.positions[key].realised == D("-232.5")
    fourth = fill("sell", "0.5", "31000", "38.75")
    ledger.follow(V2, (fourth,))  # the older ones dropped out: every one left is new
    assert ledger.positions[key].quantity == 0
    assert ledger.positions[key].realised == D("-232.5") + D("15461.25") - D("15538.75")


def test_a_starting_cost_opens_what_was_held_before_the_session() -> None:
    """2 XBT in the first balances, which already include a purchase of 0.5 this session:
    1.5 were held at start, at the configured 25,000."""
    ledger = pnl.Ledger({PAIR: D("25000")})
    bought = fill("buy", "0.5", "30000", "0")
    balances = [BalanceRow(XBT, 2 * COIN), BalanceRow(GBP, 100_00)]
    ledger.start(V2, balances, [bought])
    ledger.follow(V2, [bought])
    position = ledger.positions[(PAIR.base, PAIR.counter)]
    assert position.quantity == 2
    assert position.cost == D("1.5") * D("25000") + D("15000")
    rows, valuation = pnl.summary(V2, ledger, balances, [Quote(PAIR, 30_000_00, None, None)], GBP)
    assert valuation.unpriced == (XBT,)  # no mid and no last price: not valued
    assert rows[0].price is None and rows[0].unrealised is None
    rows, valuation = pnl.summary(V2, ledger, balances, [Quote(PAIR, None, None, 30_000_00)], GBP)
    assert valuation.total == D("60100") and rows[0].unrealised == D("60000") - position.cost


def test_a_market_order_placed_here_is_closed_by_its_outcome() -> None:
    views, rows = watched()
    order = OrderRequest(PAIR, "buy", quantity=COIN // 2)
    rows.placing(5, "sending", order)
    views.route(match(bid=None, bid_rem=None, bid_tonce=5, quantity=COIN // 4))
    rows.market_done(5, COIN // 4)  # the reply: a quarter not traded (the book ran out)
    assert [f.tonce for f in rows.settled(5)] == [5]
    batch = rows.build({OwnOrders.name}, LIVE, status_changed=False, private=True)
    assert batch is not None
    assert batch.closed == (
        ClosedOrderRow(None, PAIR, "buy", None, COIN // 2, COIN // 4, COIN // 4, 5),
    )
    assert batch.closed[0].result == "partly filled"
    limit = OrderRequest(PAIR, "buy", quantity=COIN, price=1)
    rows.placing(6, "sending", limit)
    rows.market_done(6, 0)  # not a market order: its OrderClosed will list it
    rows.settled(6)
    assert rows.take_closed() == ()
