"""Automatic tonces reach the wire in the order they were taken, whatever the threads do."""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

from cfdash.client import TonceClock
from cfdash.core.messages import PlacedOrder

from .helpers import WAIT, XBT_GBP, login, server_truth


class SlowFirstClock(TonceClock):
    """Hands out tonces, and lingers after the first one as a preempted thread would."""

    def __init__(self) -> None:
        super().__init__()
        self.first_taken = threading.Event()

    def next(self) -> int:
        tonce = super().next()
        if not self.first_taken.is_set():
            self.first_taken.set()
            time.sleep(0.3)
        return tonce


def test_a_thread_preempted_after_taking_its_tonce_does_not_lose_its_order(
    exchange, make_client
) -> None:
    clock = SlowFirstClock()
    client = login(make_client(exchange.url, tonce_clock=clock))
    futures: dict[str, Future[Any]] = {}

    def place(name: str, price: str) -> None:
        futures[name] = client.place_order(XBT_GBP, Decimal("0.01"), Decimal(price))

    first = threading.Thread(target=place, args=("first", "500"))
    first.start()
    assert clock.first_taken.wait(WAIT)
    second = threading.Thread(target=place, args=("second", "501"))
    second.start()
    first.join(WAIT)
    second.join(WAIT)
    one, two = futures["first"].result(WAIT), futures["second"].result(WAIT)
    assert isinstance(one, PlacedOrder) and isinstance(two, PlacedOrder)
    orders = server_truth(exchange.url)["orders"]
    assert orders[one.id][0] < orders[two.id][0]  # tonces in the order they were taken


def test_many_threads_placing_orders_never_go_out_of_sequence(exchange, make_client) -> None:
    client = login(make_client(exchange.url, tonce_clock=TonceClock()))
    futures: list[Future[Any]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for _ in range(25):
            future = client.place_order(XBT_GBP, Decimal("0.0001"), Decimal(100 + i))
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    outcomes = collections.Counter(
        type(f.exception(WAIT)).__name__ if f.exception(WAIT) else "placed" for f in futures
    )
    assert outcomes == {"placed": 200}, outcomes
    assert len(server_truth(exchange.url)["orders"]) == 200
