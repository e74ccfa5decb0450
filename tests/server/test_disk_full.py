"""A full disk under load (issue 13, break 5), in process: the simulated traders trade while
the disk fills up and frees again, cycle after cycle. Each time the store refuses a batch,
memory is the store again (nothing of the batch survives in memory), the server serves reads,
refuses orders, and resumes when there is space; a restart shows the state the server had."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfdash.core.assets import PAIRS
from cfdash.core.engine.book import Order
from cfdash.core.engine.exchange import ExchangeCore
from cfdash.server.app import ExchangeServer, ServerThread
from cfdash.server.faults import Faults
from tests.support.wait import WAIT, wait_until

from .helpers import GBP, XBT, Client

REFUSED = "The exchange cannot store this now (disk full); nothing was changed."
_tags = iter(range(10_000, 10**9))


def ask(client: Client, method: str, **fields: Any) -> dict[str, Any]:
    """``client.call`` with a generous timeout (a loaded machine)."""
    tag = next(_tags)
    client.send({"method": method, "tag": tag, **fields})
    return client.reply(tag, timeout=WAIT)


def state(core: ExchangeCore) -> dict[str, Any]:
    """What the store holds, as the engine reports it."""
    users = core.user_ids()
    books = {}
    for pair in PAIRS:
        book = core.book(pair)
        books[pair] = [(o.id, o.remaining) for s in (book.bids, book.asks) for o in s.iter_orders()]
    return {
        "balances": {uid: core.balances(uid) for uid in users},
        "orders": {uid: sorted(map(_order, core.open_orders(uid))) for uid in users},
        "tonces": {uid: core.tonce(uid) for uid in users},
        "fees": core.fees_collected(),
        "tickers": {pair: core.ticker(pair) for pair in PAIRS},
        "books": books,
    }


def _order(o: Order) -> tuple[int, int, int, int | None, bool]:
    return (o.id, o.remaining, o.price, o.tonce, o.persist)


def stored_state(server: ExchangeServer) -> dict[str, Any]:
    """The store's rows, with those waiting for it (read-only), loaded into a fresh engine."""
    rows = {(kind, key): value for kind, key, value in server.store.load()}
    assert server.durability is not None
    rows.update(server.durability.unsaved)
    fresh = ExchangeCore(server.config)
    fresh.load([(k, key, v) for (k, key), v in rows.items()])
    fresh._pending_volatile.clear()  # the traders' persist=false orders stay, as in memory
    return state(fresh)


def test_disk_full_cycles_under_trading_keep_memory_and_store_equal(
    make_exchange: Callable[..., ServerThread], tmp_path: Path
) -> None:
    faults = Faults()
    exchange = make_exchange(
        faults=faults, traders=True, seed=13, trader_interval=0.01, retry_interval=0.05
    )
    server = exchange.server
    assert server is not None
    with Client(exchange.url) as client:
        assert client.authenticate()["error_code"] == 0
        tonce = 0
        for cycle in range(4):
            faults.fill_disk()
            # pipelined orders until the store refuses some (the traders' commands may share
            # the batch that fails)
            refused: list[dict[str, Any]] = []
            while not refused:
                tags = []
                for _ in range(50):
                    tonce += 1
                    tags.append(tonce)
                    client.send(
                        {"method": "PlaceOrder", "tag": tonce, "tonce": tonce, "base": XBT,
                         "counter": GBP, "quantity": 10_000, "price": 1_00 + cycle}
                    )  # fmt: skip
                replies = [client.reply(tag, timeout=WAIT) for tag in tags]
                refused = [r for r in replies if r["error_code"]]
            assert all(r["error_msg"] == REFUSED for r in refused), refused
            memory, stored = exchange.call(lambda s: (state(s.core), stored_state(s)))
            assert memory == stored, f"cycle {cycle}"
            assert exchange.call(lambda s: s.storage_error is not None)
            assert ask(client, "GetOrders")["error_code"] == 0
            estimate = ask(client, "EstimateMarketOrder", base=XBT, counter=GBP, quantity=10_000)
            assert estimate["error_code"] == 0
            faults.free_disk()
            wait_until(lambda: exchange.call(lambda s: s.storage_error is None), WAIT, "resumed")
            # the traders trade again: their orders are stored
            start = exchange.call(lambda s: s.core._next_order_id)
            wait_until(
                lambda start=start: exchange.call(lambda s: s.core._next_order_id) > start + 20,
                WAIT,
                "the traders place orders again",
            )
        orders = ask(client, "GetOrders")["orders"]
    assert server.failure is None
    exchange.stop()  # a clean stop commits everything (the traders' orders are cancelled)
    final = state(server.core)  # type: ignore[arg-type]
    again = make_exchange()
    assert again.call(lambda s: state(s.core)) == final
    with Client(again.url) as client:
        assert client.authenticate()["error_code"] == 0
        assert json.dumps(ask(client, "GetOrders")["orders"]) == json.dumps(orders)
