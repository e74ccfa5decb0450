"""``ClientSource`` against the embedded exchange over loopback: conversions, login, orders."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cfdash.client import WSClient
from cfdash.core.assets import PAIRS, V2, Assets
from cfdash.core.errors import AuthenticationError, CoinfloorError, Msg
from cfdash.server.app import ServerThread
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID, add_funded_user
from cfdash.tui.live import RETRY_CAP, ClientSource, ConnectionFailed, Credentials
from cfdash.tui.source import (
    Batch,
    BookRows,
    DataSource,
    EstimateRow,
    OrderRequest,
    OrderResult,
    TradeRow,
)
from tests.support.wait import wait_until

GBP_PAIR, EUR_PAIR = PAIRS[0], PAIRS[1]
XBT, GBP = Assets["XBT"], Assets["GBP"]
OTHER = (2, "b3RoZXIgdXNlcidzIGNvb2tpZQ==", "another passphrase")
DEMO = Credentials(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)


def q(text: str) -> int:
    return V2.quantity_to_wire(GBP_PAIR, text)


def p(text: str) -> int:
    return V2.price_to_wire(GBP_PAIR, text)


class Collector:
    """A sink that merges every batch, as a UI coalescing pushes would."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.merged = Batch()
        self.lock = threading.Lock()

    def __call__(self, batch: Batch) -> None:
        with self.lock:
            self.batches.append(batch)
            self.merged = self.merged.merge(batch)


@pytest.fixture
def exchange() -> Iterator[ServerThread]:
    server = ServerThread(traders=False, seed=1)
    server.start()
    server.call(lambda s: add_funded_user(s.core, *OTHER))
    yield server
    server.stop()


@pytest.fixture
def other(exchange: ServerThread) -> Iterator[WSClient]:
    """Another trader: a plain client as user 2."""
    client = WSClient(exchange.url, socket_timeout=3)
    client.set_auth_data(*OTHER)
    yield client
    client.stop()


@pytest.fixture
def make_source(exchange: ServerThread) -> Iterator[Callable[..., ClientSource]]:
    made: list[ClientSource] = []

    def make(url: str | None = None, **options: Any) -> ClientSource:
        client = WSClient(url or exchange.url, socket_timeout=3, reconnect=True)
        source = ClientSource(client, interval=0.01, **options)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def watched(source: ClientSource, pair=GBP_PAIR) -> Collector:  # type: ignore[no-untyped-def]
    sink = Collector()
    source.subscribe(sink)
    source.watch(pair)
    wait_until(lambda: sink.merged.status is not None and sink.merged.status.connected)
    return sink


def test_is_a_data_source(make_source) -> None:
    assert isinstance(make_source(), DataSource)


def test_public_market_without_credentials(make_source, other: WSClient) -> None:
    source = make_source()
    sink = watched(source)
    other.place_order(GBP_PAIR, "-0.5", "41000").result(3)
    other.place_order(GBP_PAIR, "0.2", "40000").result(3)
    want = BookRows(bids=((p("40000"), q("0.2"), 1),), asks=((p("41000"), q("0.5"), 1),))
    wait_until(lambda: sink.merged.book == want)
    snap = source.snapshot(GBP_PAIR)
    assert snap.book == want
    assert (snap.ticker.bid, snap.ticker.ask) == (p("40000"), p("41000"))
    assert snap.balances is None and snap.orders == ()
    assert snap.status.connected and snap.status.user_id is None
    assert not source.client.auth_complete  # nothing private was asked
    # A trade: user 2 sells into its own bid's level from a market order.
    other.place_order(GBP_PAIR, "-0.05").result(3)
    wait_until(lambda: sink.merged.trades)
    trade = sink.merged.trades[0]
    assert trade == TradeRow(trade.time, p("40000"), q("0.05"), "sell")
    wait_until(lambda: source.snapshot(GBP_PAIR).ticker.last == p("40000"))
    assert source.snapshot(GBP_PAIR).book.bids == ((p("40000"), q("0.15"), 1),)


def test_login_loads_balances_and_orders_then_orders_round_trip(make_source, exchange) -> None:
    source = make_source()
    sink = watched(source)
    source.login(DEMO.user_id, DEMO.cookie, DEMO.passphrase).result(5)
    assert source.user_id == DEMO_USER_ID
    wait_until(lambda: sink.merged.balances is not None)
    balances = {b.asset: b for b in sink.merged.balances or ()}
    assert balances[XBT].available == 10 * 10**8 and balances[XBT].reserved == 0
    assert sink.merged.status is not None and sink.merged.status.user_id == DEMO_USER_ID

    order = OrderRequest(GBP_PAIR, "buy", quantity=q("0.25"), price=p("40000.50"))
    result = source.place_order(order).result(5)
    assert isinstance(result, OrderResult) and result.id is not None and result.time
    wait_until(lambda: any(o.id == result.id for o in sink.merged.orders or ()))
    mine = next(o for o in sink.merged.orders or () if o.id == result.id)
    assert (mine.pair, mine.price, mine.quantity, mine.remaining) == (
        GBP_PAIR,
        p("40000.50"),
        q("0.25"),
        q("0.25"),
    )
    assert mine.tonce is not None and mine.side == "buy"
    reserved = V2.bid_reservation(GBP_PAIR, q("0.25"), p("40000.50"))
    wait_until(lambda: {b.asset: b.reserved for b in sink.merged.balances or ()}[GBP] == reserved)
    assert sink.merged.book is not None and sink.merged.book.bids[0][:2] == (
        p("40000.50"),
        q("0.25"),
    )

    # Estimate (public), then cancel it and cancel all of two more.
    other_ask = OrderRequest(GBP_PAIR, "sell", quantity=q("0.1"), price=p("41000"))
    source.place_order(other_ask).result(5)
    estimate = source.estimate(GBP_PAIR, "buy", quantity=q("0.05")).result(5)
    assert estimate == EstimateRow(q("0.05"), V2.total_to_wire(GBP_PAIR, "2050"))
    cancelled = source.cancel_order(result.id).result(5)
    assert (cancelled.id, cancelled.quantity, cancelled.remaining) == (
        result.id,
        q("0.25"),
        q("0.25"),
    )
    source.place_order(order).result(5)
    everything = source.cancel_all().result(5)
    assert len(everything) == 2 and {o.side for o in everything} == {"buy", "sell"}
    wait_until(lambda: sink.merged.orders == ())
    wait_until(lambda: sink.merged.book == BookRows())
    gbp = {b.asset: b for b in sink.merged.balances or ()}[GBP]
    assert gbp.reserved == 0


def test_market_order_reports_what_was_left(make_source, other: WSClient) -> None:
    other.place_order(GBP_PAIR, "-0.1", "41000").result(3)
    source = make_source(credentials=DEMO)
    result = source.place_order(OrderRequest(GBP_PAIR, "buy", quantity=q("0.3"))).result(5)
    assert (result.id, result.time, result.remaining) == (None, None, q("0.2"))
    # what it traded comes with it: one fill, of the market order (its tonce, no id)
    assert [(f.side, f.quantity, f.price, f.order_id) for f in result.fills] == [
        ("buy", q("0.1"), p("41000"), None)
    ]
    assert result.fills[0].tonce == result.tonce is not None


def test_wrong_passphrase_shows_the_server_message_and_a_retry_works(make_source) -> None:
    source = make_source()
    with pytest.raises(AuthenticationError) as refused:
        source.login(DEMO_USER_ID, DEMO_COOKIE, "not the passphrase").result(5)
    assert refused.value.message == Msg.BAD_SIGNATURE
    assert source.user_id is None
    with pytest.raises(AuthenticationError) as refused:
        source.login(DEMO_USER_ID, "d3JvbmcgY29va2ll", DEMO_PASSPHRASE).result(5)
    assert refused.value.message == Msg.BAD_COOKIE
    source.login(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE).result(5)
    assert source.user_id == DEMO_USER_ID and source.client.auth_okay


def test_credentials_log_in_lazily_on_the_first_private_action(make_source) -> None:
    source = make_source(credentials=DEMO)
    source.worker.submit(lambda: None).result(5)  # whatever was queued at the start has run
    assert source.client.state == "disconnected"  # nothing watched or asked yet
    assert source.user_id is None and not source.client.auth_complete
    done = source.cancel_all().result(5)
    assert done == () and source.user_id == DEMO_USER_ID


def test_credentials_log_in_in_the_background_once_watching(make_source) -> None:
    source = make_source(credentials=DEMO)
    sink = watched(source)
    wait_until(lambda: sink.merged.status is not None and sink.merged.status.user_id == 1)
    wait_until(lambda: sink.merged.balances)


def test_a_refused_automatic_login_is_not_retried(make_source) -> None:
    bad = Credentials(DEMO_USER_ID, DEMO_COOKIE, "wrong")
    source = make_source(credentials=bad)
    for _ in range(2):
        with pytest.raises(AuthenticationError) as refused:
            source.cancel_all().result(5)
        assert refused.value.message == Msg.BAD_SIGNATURE
    # Still refused locally without another attempt; a login with the right passphrase works.
    source.login(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE).result(5)
    assert source.cancel_all().result(5) == ()


def test_no_credentials_private_actions_fail_with_the_spec_message(make_source) -> None:
    source = make_source()
    with pytest.raises(AuthenticationError, match="You are not authenticated"):
        source.place_order(OrderRequest(GBP_PAIR, "buy", quantity=q("1"))).result(5)


def test_read_only_never_authenticates(make_source) -> None:
    source = make_source(credentials=DEMO, read_only=True)
    sink = watched(source)
    with pytest.raises(AuthenticationError):
        source.login(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE).result(5)
    with pytest.raises(AuthenticationError):
        source.cancel_all().result(5)
    source.worker.submit(lambda: None).result(5)  # nothing queued behind them is left
    assert source.client.user_id is None  # the credentials never reached the client
    assert not source.client.auth_complete
    assert sink.merged.balances is None and source.user_id is None


def orders(watch: dict[str, Any]) -> bool:
    """A WatchOrders registration (every spot market's ticker is watched, for the watchlist)."""
    return bool(watch["method"] == "WatchOrders")


def test_switching_market_watches_only_the_new_one(make_source, other: WSClient) -> None:
    source = make_source()
    sink = watched(source, GBP_PAIR)
    source.watch(EUR_PAIR)
    wait_until(
        lambda: (
            {(w["base"], w["counter"]) for w in source.client.watches if orders(w)}
            == {(XBT, EUR_PAIR.counter)}
        )
    )
    start = len(sink.batches)
    other.place_order(GBP_PAIR, "-0.5", "41000").result(3)
    other.place_order(EUR_PAIR, "-0.7", "45000").result(3)
    eur_book = BookRows(asks=((V2.price_to_wire(EUR_PAIR, "45000"), q("0.7"), 1),))
    wait_until(lambda: sink.merged.book == eur_book)
    later = sink.batches[start:]
    assert all(b.pair == EUR_PAIR for b in later)
    assert source.snapshot(GBP_PAIR).book == BookRows()  # no longer kept


def test_switch_back_and_forth_quickly_ends_on_the_last(make_source) -> None:
    source = make_source()
    watched(source, GBP_PAIR)
    for pair in (EUR_PAIR, PAIRS[2], GBP_PAIR, PAIRS[3]):
        source.watch(pair)
    wait_until(
        lambda: (
            [(w["base"], w["counter"]) for w in source.client.watches if orders(w)]
            == [(PAIRS[3].base, PAIRS[3].counter)]
        )
    )


def test_unreachable_exchange_fails_requests_at_once_and_retries(make_source) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = make_source(f"ws://127.0.0.1:{port}/", credentials=DEMO)
    sink = Collector()
    source.subscribe(sink)
    source.watch(GBP_PAIR)
    status = wait_until(
        lambda: (
            sink.merged.status if sink.merged.status and sink.merged.status.reconnect_at else None
        )
    )
    assert status.state == "reconnecting" and status.reconnect_at > time.time() - 1
    started = time.monotonic()
    for future in (
        source.estimate(GBP_PAIR, "buy", quantity=q("1")),
        source.place_order(OrderRequest(GBP_PAIR, "buy", quantity=q("1"))),
        source.login(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE),
    ):
        with pytest.raises(CoinfloorError) as failed:
            future.result(5)
        assert isinstance(failed.value, ConnectionFailed)
        assert failed.value.message.startswith("Not connected to the exchange: reconnecting")
    assert time.monotonic() - started < 1  # refused at once, not queued behind the retries


def test_first_connection_retries_stay_short_and_reconnect_skips_the_wait() -> None:
    """A client that does not reconnect by itself: the source retries the first connection,
    never waiting more than ``RETRY_CAP`` (2.5 s), and ``reconnect()`` (the r key) tries at
    once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = ClientSource(WSClient(f"ws://127.0.0.1:{port}/", socket_timeout=1), interval=0.01)
    try:
        sink = Collector()
        source.subscribe(sink)
        source.watch(GBP_PAIR)
        waits: list[float] = []
        for attempt in range(1, 5):
            status = wait_until(
                lambda n=attempt: (
                    (st := source._status()).attempt == n and st.reconnect_at is not None and st
                )
            )
            waits.append(status.reconnect_at - time.time())
        assert all(wait <= RETRY_CAP for wait in waits), waits
        due = status.reconnect_at  # at least 1.25 s away (jitter: half to all of the cap)
        assert source.reconnect() == "reconnecting now"
        wait_until(lambda: source._status().attempt == 5)  # tried again, and failed again
        assert time.time() < due  # at once, not when due
    finally:
        source.close()


def test_credentials_from_env() -> None:
    env = {
        "COINFLOOR_USER_ID": "1",
        "COINFLOOR_COOKIE": DEMO_COOKIE,
        "COINFLOOR_PASSPHRASE": DEMO_PASSPHRASE,
    }
    creds = Credentials.from_env(env)
    assert creds == DEMO
    assert DEMO_PASSPHRASE not in repr(creds)
    assert Credentials.from_env({k: v for k, v in env.items() if "PASS" not in k}) is None
    with pytest.raises(ValueError, match="positive integer"):
        Credentials.from_env({**env, "COINFLOOR_USER_ID": "one"})


def test_reconnection_marks_the_data_stale_then_restores_it(tmp_path) -> None:
    db = str(tmp_path / "exchange.sqlite3")
    first = ServerThread(db, traders=False)
    first.start()
    port = int(first.url.rstrip("/").rsplit(":", 1)[1])
    client = WSClient(
        first.url, socket_timeout=2, reconnect=True, backoff_base=0.1, backoff_cap=0.2
    )
    source = ClientSource(client, credentials=DEMO, interval=0.01, poll=0.05)
    second: ServerThread | None = None
    try:
        sink = watched(source)
        order = OrderRequest(GBP_PAIR, "sell", quantity=q("0.5"), price=p("42000"))
        placed = source.place_order(order).result(5)
        wait_until(lambda: [o.id for o in sink.merged.orders or ()] == [placed.id])
        first.stop()
        wait_until(lambda: sink.merged.status and sink.merged.status.state == "reconnecting")
        assert not sink.merged.status.connected
        assert sink.merged.book == BookRows()  # never show a book that is no longer patched
        second = ServerThread(db, traders=False, port=port)
        second.start()
        wait_until(lambda: sink.merged.status and sink.merged.status.connected, timeout=8)
        want = BookRows(asks=((p("42000"), q("0.5"), 1),))
        wait_until(lambda: sink.merged.book == want)  # re-subscribed
        assert sink.merged.status.user_id == DEMO_USER_ID  # re-authenticated
        assert [o.id for o in sink.merged.orders or ()] == [placed.id]
        assert source.cancel_order(placed.id).result(5).id == placed.id
    finally:
        source.close()
        first.stop()
        if second is not None:
            second.stop()


def test_switching_market_while_disconnected_is_repaired_on_reconnection(tmp_path) -> None:
    db = str(tmp_path / "exchange.sqlite3")
    first = ServerThread(db, traders=False)
    first.start()
    port = int(first.url.rstrip("/").rsplit(":", 1)[1])
    client = WSClient(
        first.url, socket_timeout=1, reconnect=True, backoff_base=0.1, backoff_cap=0.2
    )
    source = ClientSource(client, interval=0.01, poll=0.05)
    second = ServerThread(db, traders=False, port=port)
    try:
        sink = watched(source, GBP_PAIR)
        first.stop()
        wait_until(lambda: sink.merged.status and sink.merged.status.state == "reconnecting")
        source.watch(EUR_PAIR)
        second.start()
        eur = (EUR_PAIR.base, EUR_PAIR.counter)
        wait_until(
            lambda: [(w["base"], w["counter"]) for w in client.watches if orders(w)] == [eur], 8
        )
        wait_until(lambda: sink.merged.status and sink.merged.status.connected)
        with WSClient(second.url, socket_timeout=2) as demo:
            demo.set_auth_data(DEMO.user_id, DEMO.cookie, DEMO.passphrase)
            demo.place_order(GBP_PAIR, "0.1", "40000").result(3)
            demo.place_order(EUR_PAIR, "0.2", "39000").result(3)
            want = BookRows(bids=((V2.price_to_wire(EUR_PAIR, "39000"), q("0.2"), 1),))
            wait_until(lambda: sink.merged.pair == EUR_PAIR and sink.merged.book == want)
    finally:
        source.close()
        first.stop()
        second.stop()


def test_a_reopened_connection_is_not_live_until_the_book_is_rebuilt(tmp_path) -> None:
    from cfdash.server.faults import Faults

    faults = Faults()
    server = ServerThread(str(tmp_path / "x.sqlite3"), traders=False, faults=faults)
    server.start()
    client = WSClient(
        server.url, socket_timeout=3, reconnect=True, backoff_base=0.05, backoff_cap=0.1
    )
    source = ClientSource(client, interval=0.01, poll=0.02)
    try:
        sink = watched(source)
        # the next snapshot takes a second to come: the connection reopens well before it
        faults.arm("WatchOrders", "delay", delay=1.0)
        states: list[str] = []
        source.subscribe(lambda b: b.status is not None and states.append(b.status.state))
        faults.drop()
        wait_until(
            lambda: client.state in ("connected", "authenticated") and "connecting" in states
        )
        assert client.state in ("connected", "authenticated")  # open, yet shown as not live
        assert not sink.merged.status.connected
        wait_until(lambda: sink.merged.status.connected, timeout=5)
        assert source.views.book(GBP_PAIR).synced
    finally:
        source.close()
        server.stop()


def test_an_order_without_a_timely_reply_is_pending_not_refused(tmp_path) -> None:
    from cfdash.server.faults import Faults
    from cfdash.tui.source import OrderPending

    faults = Faults()
    server = ServerThread(str(tmp_path / "x.sqlite3"), traders=False, faults=faults)
    server.start()
    client = WSClient(server.url, socket_timeout=3, reconnect=True)
    source = ClientSource(client, credentials=DEMO, interval=0.01, timeout=0.3)
    try:
        sink = watched(source)
        faults.arm("PlaceOrder", "delay", delay=1.0)
        order = OrderRequest(GBP_PAIR, "buy", quantity=q("0.1"), price=p("20000"))
        pending = source.place_order(order).result(5)
        assert isinstance(pending, OrderPending)  # a value: the order did not fail
        assert "will not be placed twice" in pending.message
        placed = pending.outcome.result(5)  # the real outcome, once the reply comes
        assert placed.id is not None
        wait_until(lambda: [o.id for o in sink.merged.orders or ()] == [placed.id])
    finally:
        source.close()
        server.stop()
