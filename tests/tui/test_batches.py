"""``BatchBuilder``: core views in, display rows and batches out (no socket, no thread)."""

from __future__ import annotations

from cfdash.core.assets import PAIRS, V2, Assets
from cfdash.core.views import OwnOrders, Views
from cfdash.tui.batches import ALL, BatchBuilder
from cfdash.tui.source import (
    BalanceRow,
    BookRows,
    ConnectionStatus,
    OpenOrder,
    OrderRequest,
    TickerRow,
    TradeRow,
)

PAIR, EUR_PAIR = PAIRS[0], PAIRS[1]
XBT, GBP = Assets["XBT"], Assets["GBP"]
COIN = 10**8
LIVE = ConnectionStatus("connected")
BOOK, TRADES, TICKER = (f"{kind}:{PAIR.name}" for kind in ("book", "trades", "ticker"))


def watched(views: Views | None = None, **options: int) -> tuple[Views, BatchBuilder]:
    """Views with XBT:GBP's book and ticker open (as after WatchOrders/WatchTicker)."""
    views = views or Views()
    views.open_book(PAIR).load_snapshot(
        [
            {"id": 1, "quantity": 2 * COIN, "price": 40_000_00, "time": 1},
            {"id": 2, "quantity": -COIN, "price": 41_000_00, "time": 1},
            {"id": 3, "quantity": -COIN, "price": 41_000_00, "time": 2},
        ]
    )
    views.open_ticker(PAIR).load({"last": 40_500_00, "bid": 40_000_00, "ask": 41_000_00})
    rows = BatchBuilder(views, **options)
    rows.watch(PAIR)
    return views, rows


def match(**fields: int | None) -> dict[str, object]:
    notice: dict[str, object] = {"notice": "OrdersMatched", "base": XBT, "counter": GBP}
    notice |= {"quantity": COIN // 2, "price": 41_000_00, "total": 20_500_00, "time": 5}
    notice |= {"bid": 9, "bid_rem": 0, "ask": 2, "ask_rem": COIN // 2}
    return notice | fields


def test_a_snapshot_shows_the_market_and_the_account_once_private() -> None:
    views, rows = watched()
    views.balances.load([{"asset": GBP, "balance": 1_000_00}, {"asset": XBT, "balance": COIN}])
    public = rows.snapshot(PAIR, V2, LIVE, private=False)
    assert public.book == BookRows(
        bids=((40_000_00, 2 * COIN, 1),), asks=((41_000_00, 2 * COIN, 2),)
    )
    assert public.ticker == TickerRow(40_500_00, 40_000_00, 41_000_00, reference=40_500_00)
    assert (public.balances, public.orders, public.status) == (None, (), LIVE)
    private = rows.snapshot(PAIR, V2, LIVE, private=True)
    assert private.balances == (BalanceRow(XBT, COIN), BalanceRow(GBP, 1_000_00))


def test_a_batch_holds_only_the_views_named_dirty() -> None:
    views, rows = watched(depth=1)
    assert rows.build(set(), LIVE, status_changed=False, private=False) is None
    names = views.route(match())
    assert names == {BOOK, TRADES}
    batch = rows.build(names, LIVE, status_changed=False, private=False)
    assert batch is not None and batch.pair == PAIR
    assert batch.book == BookRows(((40_000_00, 2 * COIN, 1),), ((41_000_00, COIN + COIN // 2, 2),))
    assert batch.trades == (TradeRow(5, 41_000_00, COIN // 2, "buy"),)
    assert (batch.ticker, batch.balances, batch.orders, batch.status) == (None,) * 4
    # Another market's views are not shown; a new status (or ALL) rebuilds every view.
    assert rows.build({f"book:{EUR_PAIR.name}"}, LIVE, status_changed=False, private=False) is None
    full = rows.build(set(), LIVE, status_changed=True, private=False)
    assert full is not None and full.status == LIVE and full.ticker is not None
    assert full.orders == () and full.balances is None  # not logged in
    assert rows.build({ALL}, LIVE, status_changed=False, private=False) == full


def test_the_ticker_reference_is_the_last_price_when_watching_began() -> None:
    views, rows = watched()
    assert rows.ticker(PAIR).reference == 40_500_00  # the first shown
    views.route({"notice": "TickerChanged", "base": XBT, "counter": GBP, "last": 42_000_00})
    assert rows.ticker(PAIR).reference == 40_500_00
    rows.watch(EUR_PAIR)
    rows.watch(PAIR)  # watching again: a new reference
    assert rows.ticker(PAIR) == TickerRow(42_000_00, 40_000_00, 41_000_00, reference=42_000_00)


def test_fills_of_an_order_being_placed_are_held_for_its_outcome() -> None:
    views, rows = watched()
    order = OrderRequest(PAIR, "buy", quantity=COIN // 2, price=41_000_00)
    views.own.expect(7, XBT, GBP, COIN // 2, 41_000_00)
    rows.placing(7, "sending", order)
    batch = rows.build({OwnOrders.name}, LIVE, status_changed=False, private=True)
    assert batch is not None and batch.orders == (
        OpenOrder(None, PAIR, 41_000_00, COIN // 2, COIN // 2, 0, 7, "sending"),
    )
    rows.placing(7, "pending", order)
    assert rows.orders()[0].state == "pending"
    names = views.route(match(bid_tonce=7, bid_counter_fee=5_00))
    assert OwnOrders.fills_name in names
    held = rows.build(names, LIVE, status_changed=False, private=True)
    assert held is not None and held.fills == ()  # not pushed: the outcome reports it
    (fill,) = rows.settled(7)
    assert (fill.side, fill.quantity, fill.fee, fill.fee_asset, fill.tonce) == (
        "buy",
        COIN // 2,
        5_00,
        GBP,
        7,
    )
    assert rows.settled(7) == ()


def test_fills_of_other_orders_and_of_a_failed_order_are_pushed_once() -> None:
    views, rows = watched()
    names = views.route(match(bid_tonce=3))  # an order placed elsewhere (no placing())
    batch = rows.build(names, LIVE, status_changed=False, private=True)
    assert batch is not None and [f.tonce for f in batch.fills] == [3]
    order = OrderRequest(PAIR, "buy", quantity=COIN // 4)
    rows.placing(8, "sending", order)
    rows.take_fills()
    views.route(match(bid_tonce=8, quantity=COIN // 4))
    rows.take_fills()
    rows.release(8)  # refused, or outcome unknown: its fills are news
    again = rows.build(set(), LIVE, status_changed=False, private=True)
    assert again is not None and [f.tonce for f in again.fills] == [8]
    assert rows.build(set(), LIVE, status_changed=False, private=True) is None
