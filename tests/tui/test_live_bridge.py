"""The bridge: many change notices in, few coalesced batches out, the latest state shown.

The unit tests drive ``Bridge`` with a synthetic producer; the last test sends a firehose of
real notices over a loopback WebSocket to a real ``WSClient`` behind the dashboard.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet

import pytest
from websockets.asyncio.server import ServerConnection, serve

from cfdash.client import WSClient
from cfdash.core.assets import PAIRS
from cfdash.tui.app import DashboardApp
from cfdash.tui.bridge import Bridge
from cfdash.tui.live import ClientSource
from cfdash.tui.source import Batch, BookRows, ConnectionStatus

PAIR = PAIRS[0]


class Recorder:
    """A builder and a slow sink that record what the bridge does."""

    def __init__(self, sink_delay: float = 0.005) -> None:
        self.state = 0  # the "view": the producer bumps it before each notice
        self.dirty_seen: set[str] = set()
        self.builds = 0
        self.sink_times: list[float] = []
        self.pushed: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.sink_delay = sink_delay
        self.lock = threading.Lock()

    def build(self, dirty: AbstractSet[str]) -> Batch | None:
        self.builds += 1
        self.dirty_seen |= dirty
        if not dirty:
            return None
        value = self.state
        return Batch(book=BookRows(bids=((value, 1, 1),)))

    def sink(self, batch: Batch) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.sink_times.append(time.monotonic())
        time.sleep(self.sink_delay)  # the app applying it
        assert batch.book is not None
        self.pushed.append(batch.book.bids[0][0])
        with self.lock:
            self.in_flight -= 1


def wait_for(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, Bridge]]:
    rec = Recorder()
    bridge = Bridge(rec.build, rec.sink, interval=0.03, poll=0.05)
    bridge.start()
    yield rec, bridge
    bridge.stop()


def test_a_firehose_is_coalesced_into_few_pushes_ending_at_the_latest_state(recorder) -> None:
    rec, bridge = recorder
    notices = 50_000
    names = [f"book:{i % 7}" for i in range(notices)]

    def produce() -> None:
        for i, name in enumerate(names, 1):
            rec.state = i
            bridge.changed((name,))

    producer = threading.Thread(target=produce)
    started = time.monotonic()
    producer.start()
    producer.join()
    elapsed = time.monotonic() - started
    assert wait_for(lambda: rec.pushed and rec.pushed[-1] == notices)
    assert bridge.notices == notices
    # Far fewer pushes than notices: bounded by the producer's duration / interval (+ slack).
    assert bridge.pushes == len(rec.pushed)
    assert bridge.pushes <= elapsed / bridge.interval + 3
    assert bridge.pushes < notices / 100
    # Every changed name reached a build; pushes only ever move forward.
    assert set(names) <= rec.dirty_seen
    assert rec.pushed == sorted(rec.pushed)
    assert rec.max_in_flight == 1


def test_pushes_are_throttled_and_one_at_a_time(recorder) -> None:
    rec, bridge = recorder
    stop = time.monotonic() + 0.4
    i = 0
    while time.monotonic() < stop:
        i += 1
        rec.state = i
        bridge.changed(("orders",))
        time.sleep(0.0005)
    assert wait_for(lambda: rec.pushed and rec.pushed[-1] == i)
    gaps = [b - a for a, b in zip(rec.sink_times, rec.sink_times[1:], strict=False)]
    assert gaps, "expected several pushes in 0.4 s"
    # Each gap is at least the sink's own time plus the interval.
    assert min(gaps) >= bridge.interval + rec.sink_delay - 0.002
    assert rec.max_in_flight == 1


def test_idle_bridge_polls_the_builder_and_pushes_nothing(recorder) -> None:
    rec, bridge = recorder
    assert wait_for(lambda: rec.builds >= 3, timeout=2)  # poll = 0.05 s
    assert rec.pushed == [] and bridge.pushes == 0
    rec.state = 42
    bridge.changed(("balances",))
    assert wait_for(lambda: rec.pushed == [42])


def test_discarded_names_are_not_built() -> None:
    seen: list[frozenset[str]] = []
    bridge = Bridge(lambda d: seen.append(frozenset(d)) or None, lambda b: None, poll=10)
    bridge.changed(("book:XBT:GBP", "orders"))
    bridge.discard(("book:XBT:GBP", "ticker:XBT:GBP"))
    bridge.start()
    try:
        assert wait_for(lambda: bool(seen))
        assert seen[0] == {"orders"}
    finally:
        bridge.stop()
    assert not bridge.running


def test_changed_is_cheap_on_the_event_thread() -> None:
    bridge = Bridge(lambda d: None, lambda b: None)  # not started: nobody drains the set
    names = frozenset({"book:XBT:GBP"})
    n = 200_000
    started = time.perf_counter()
    for _ in range(n):
        bridge.changed(names)
    per_call = (time.perf_counter() - started) / n
    assert per_call < 20e-6, f"{per_call * 1e6:.2f} µs per notice"
    assert bridge.notices == n


# -- a firehose of real notices through WSClient into the dashboard --------------------------


def firehose(n: int, seed: int = 3) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """``n`` OrderOpened/OrderClosed frames for XBT:GBP and the book they leave (id ->
    (signed quantity, price))."""
    rng = random.Random(seed)
    frames: list[str] = []
    book: dict[int, tuple[int, int]] = {}
    next_id = 1
    t = 1_700_000_000_000_000
    for _ in range(n):
        t += 1
        if book and rng.random() < 0.45:
            oid = rng.choice(list(book))
            quantity, price = book.pop(oid)
            notice = {"notice": "OrderClosed", "id": oid, "quantity": 0, "price": price}
        else:
            oid, next_id = next_id, next_id + 1
            bid = rng.random() < 0.5
            price = (
                (4_000_000 - rng.randint(1, 300) * 100)
                if bid
                else 4_000_000 + rng.randint(1, 300) * 100
            )
            quantity = rng.randint(1, 10**6) * (1 if bid else -1)
            book[oid] = (quantity, price)
            notice = {
                "notice": "OrderOpened",
                "id": oid,
                "quantity": quantity,
                "price": price,
                "time": t,
            }
        notice.update(base=PAIR.base, counter=PAIR.counter)
        frames.append(json.dumps(notice))
    return frames, book


class FirehoseServer:
    """Welcome, answers both Watch commands with an empty market, then sends every frame."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = frames
        self.url = ""
        self.sent = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> FirehoseServer:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, max_size=None, compression=None) as srv:
            port = srv.sockets[0].getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/"
            self._ready.set()
            await self._stop.wait()

    async def _handle(self, ws: ServerConnection) -> None:
        await ws.send(json.dumps({"notice": "Welcome", "nonce": "AAAAAAAAAAAAAAAAAAAAAA=="}))
        answered = 0
        async for text in ws:
            command = json.loads(text)
            reply: dict[str, object] = {"tag": command["tag"], "error_code": 0}
            if command["method"] == "WatchOrders":
                reply["orders"] = []
            elif command["method"] == "WatchTicker":
                reply.update(dict.fromkeys(("last", "bid", "ask", "low", "high"), None))
                reply["volume"] = 0
            await ws.send(json.dumps(reply))
            answered += 1
            if answered == 2:
                for frame in self.frames:
                    await ws.send(frame)
                self.sent.set()


def expected_book(orders: dict[int, tuple[int, int]]) -> BookRows:
    levels: dict[bool, dict[int, list[int]]] = {True: {}, False: {}}
    for quantity, price in orders.values():
        level = levels[quantity > 0].setdefault(price, [0, 0])
        level[0] += abs(quantity)
        level[1] += 1
    bids = tuple((p, s, c) for p, (s, c) in sorted(levels[True].items(), reverse=True))
    asks = tuple((p, s, c) for p, (s, c) in sorted(levels[False].items()))
    return BookRows(bids, asks)


async def test_firehose_through_the_client_shows_the_final_book_after_few_pushes() -> None:
    notices = 20_000
    frames, final = firehose(notices)
    want = expected_book(final)
    with FirehoseServer(frames) as server:
        client = WSClient(server.url, socket_timeout=3)
        source = ClientSource(client, depth=10_000, interval=0.03)
        app = DashboardApp(source, pair=PAIR)
        applied_at_start = 0
        try:
            async with app.run_test(size=(100, 30)) as pilot:
                applied_at_start = app.applied
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and app.book != want:
                    await pilot.pause(0.02)
                clients_book = source.snapshot(PAIR).book
                assert server.sent.is_set()
                assert clients_book == want  # the client's views followed every notice
                assert app.book == want  # and the screen converged to them
                assert app.status == ConnectionStatus("connected", user_id=None)
                pushes = source.bridge.pushes
                batches = app.applied - applied_at_start
        finally:
            source.close()
    assert source.bridge.notices >= notices  # every frame changed the book
    assert pushes <= batches + 1  # the app applied what was pushed (the last may be in flight)
    assert 0 < pushes < notices / 50, f"{pushes} pushes for {notices} notices"
