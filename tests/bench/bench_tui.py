"""The dashboard under a firehose: key latency and convergence (prints, never asserts).

Three processes, so that the dashboard's process holds only what a user's would:

- the exchange: the real embedded exchange (``ServerThread``, no simulated traders, order rate
  limits lifted) in a process of its own, standing in for a remote exchange. A second kind,
  ``synthetic``: a minimal server speaking just enough of the protocol (Welcome, WatchOrders
  and WatchTicker replies) that streams OrderOpened/OrderClosed notices itself, for when the
  real exchange cannot emit the target rate on this machine;
- the firehose (``exchange`` kind only): a raw WebSocket client (user 2) pipelining PlaceOrder
  and CancelOrder by tonce, paced to the target rate. Each command makes the exchange send one
  notice (OrderOpened or OrderClosed) to every watcher of XBT:GBP; about 200 orders stand;
- this process: ``DashboardApp(ClientSource(WSClient(url, reconnect=True)))`` under
  ``App.run_test(size=(120, 36))`` (or ``--size``: at 200x60 every panel is on screen),
  logged in as the demo user where the server supports it.

Key latency: ``g`` cycles the ladder's grouping, which its border title shows. The time runs
from posting the key event (the ``events.Key`` that ``Pilot.press`` posts; the pilot's own
wait-for-idle is skipped: under a firehose the process is never idle and it waits a full
second) to the first screen update, taken at ``App._display`` where a terminal driver would
write it, whose rendered text shows the new title. Convergence: once the firehose's last
command is answered (or the synthetic server's last notice written), the time until a screen
update shows a ladder whose levels (the ``Book`` the widget draws from, 500 levels a side) equal
those built from a fresh ``WatchOrders`` snapshot taken on a separate connection. Both are
also measured with no firehose (the baseline, in the same run).

Run: ``python tests/bench/bench_tui.py [--quick] [--server exchange|synthetic|both]
[--rate 20000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import re
import select
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import websocket
from common import median, percentile, proc_cpu

from cfdash.core.assets import PAIRS, Assets

PAIR = PAIRS[0]  # XBT:GBP, the dashboard's default market
XBT, GBP = Assets["XBT"], Assets["GBP"]
MID = 30_000_00
STANDING = 200
"""Orders the firehose keeps on the book (each new one cancels the oldest)."""
FIREHOSE_USER = (2, "ZmlyZWhvc2UgY29va2ll", "firehose passphrase")
SIZE = (120, 36)
TICK = 0.005
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def now() -> float:
    """CLOCK_MONOTONIC: comparable across the processes of one machine."""
    return time.monotonic()


# ------------------------------------------------------------------ the firehose's commands


class OrderFlow:
    """The firehose's order stream: place a resting order, cancel the oldest beyond
    ``STANDING``. Prices within 60.00 of the mid on both sides, never crossing."""

    def __init__(self, seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.next_id = 1  # tonce (exchange) or order id (synthetic)
        self.open: deque[tuple[int, int, int]] = deque()  # (id, quantity signed, price)

    def step(self) -> tuple[str, int, int, int]:
        """("open" | "close", id, signed quantity, price)."""
        if len(self.open) > STANDING:
            oid, qty, price = self.open.popleft()
            return "close", oid, qty, price
        rng = self.rng
        bid = rng.random() < 0.5
        price = MID - rng.randint(1, 60) * 100 if bid else MID + rng.randint(1, 60) * 100
        qty = rng.randint(1, 20) * 100_000 * (1 if bid else -1)
        oid, self.next_id = self.next_id, self.next_id + 1
        self.open.append((oid, qty, price))
        return "open", oid, qty, price


def _command_text(step: tuple[str, int, int, int]) -> str:
    kind, tonce, qty, price = step
    if kind == "close":
        return f'{{"method":"CancelOrder","tonce":{tonce}}}'
    return (
        f'{{"method":"PlaceOrder","tonce":{tonce},"base":{XBT},"counter":{GBP},'
        f'"quantity":{qty},"price":{price}}}'
    )


# ------------------------------------------------------------------ the exchange process


def _exchange_main(conn: Connection) -> None:
    from cfdash.core.engine.exchange import EngineConfig
    from cfdash.server.app import ServerThread
    from cfdash.server.users import add_funded_user

    config = EngineConfig(order_limit=(10**9, 1.0), max_open_orders=10**9)
    server = ServerThread(":memory:", traders=False, config=config)
    url = server.start()

    def setup(s: Any) -> None:
        add_funded_user(s.core, *FIREHOSE_USER)
        s.core.credit(FIREHOSE_USER[0], XBT, 10**12)
        s.core.credit(FIREHOSE_USER[0], GBP, 10**12)

    server.call(setup)
    conn.send(url)
    with contextlib.suppress(EOFError):
        conn.recv()
    server.stop()


def login_firehose_user(url: str) -> Any:
    """A raw WebSocket connection (``bench_server._RawSocket``) logged in as the firehose
    user."""
    import base64

    from bench_server import _frame, _RawSocket

    from cfdash.core.auth import authenticate_command, derive_private_key

    ws = _RawSocket(url)
    nonce = base64.b64decode(json.loads(ws.recv_one())["nonce"])
    key = derive_private_key(FIREHOSE_USER[0], FIREHOSE_USER[2])
    ws.sock.sendall(
        _frame(json.dumps(authenticate_command(FIREHOSE_USER[0], FIREHOSE_USER[1], key, nonce)))
    )
    while b'"error_code"' not in (reply := ws.recv_one()):
        pass
    assert b'"error_code":0' in reply, reply
    ws.pending.clear()
    return ws


def _firehose_main(url: str, conn: Connection) -> None:
    """The exchange firehose: on ("go", rate, duration, count) stream commands and answer
    with their statistics; on ("quit",) exit."""
    from bench_server import _frame

    ws = login_firehose_user(url)
    flow = OrderFlow()
    window = 4000
    while True:
        message = conn.recv()
        if message[0] != "go":
            break
        _, rate, duration, count = message
        total = count or int(rate * duration)
        frames = [_frame(_command_text(flow.step())) for _ in range(total)]
        sent = answered = errors = notices = 0
        start = now()
        last = start
        while answered < total:
            due = total if not rate else min(total, int((now() - start) * rate) + 1)
            k = min(due - sent, window - (sent - answered))
            if k > 0:
                ws.sock.sendall(b"".join(frames[sent : sent + k]))
                sent += k
            wait = TICK if sent < total else 1.0
            readable, _, _ = select.select([ws.sock], [], [], wait)
            if not readable:
                continue
            for payload in ws.frames():
                if payload.startswith(b'{"notice"'):
                    notices += 1
                    continue
                answered += 1
                if b'"error_code":0' not in payload:
                    errors += 1
            last = now()
        conn.send(
            {
                "commands": total,
                "errors": errors,
                "start": start,
                "end": last,
                "rate": total / (last - start) if last > start else float("nan"),
                "own_notices": notices,
            }
        )
    ws.close()


# ------------------------------------------------------------------ the synthetic server


def _synthetic_main(conn: Connection) -> None:
    asyncio.run(_synthetic(conn))


async def _synthetic(conn: Connection) -> None:
    from bench_ingest import encode_frame
    from websockets.asyncio.server import serve

    book: dict[int, tuple[int, int]] = {}  # id -> (signed quantity, price)
    watchers: set[Any] = set()
    flow = OrderFlow()
    loop = asyncio.get_running_loop()
    stamp = [1_700_000_000_000_000]

    def notice(step: tuple[str, int, int, int]) -> bytes:
        kind, oid, qty, price = step
        stamp[0] += 37
        if kind == "open":
            book[oid] = (qty, price)
            text = (
                f'{{"notice":"OrderOpened","id":{oid},"base":{XBT},"counter":{GBP},'
                f'"quantity":{qty},"price":{price},"time":{stamp[0]}}}'
            )
        else:
            del book[oid]
            text = (
                f'{{"notice":"OrderClosed","id":{oid},"base":{XBT},"counter":{GBP},'
                f'"quantity":{qty},"price":{price}}}'
            )
        return encode_frame(text)

    async def handler(ws: Any) -> None:
        await ws.send(json.dumps({"notice": "Welcome", "nonce": "AAAAAAAAAAAAAAAAAAAAAA=="}))
        try:
            async for text in ws:
                command = json.loads(text)
                method, tag = command.get("method"), command.get("tag", 0)
                reply: dict[str, Any] = {"error_code": 0}
                if method == "WatchOrders":
                    if command.get("watch", True):
                        watchers.add(ws)
                        reply["orders"] = [
                            {"id": i, "quantity": q, "price": p, "time": 1}
                            for i, (q, p) in book.items()
                        ]
                    else:
                        watchers.discard(ws)
                elif method == "WatchTicker":
                    bids = [p for q, p in book.values() if q > 0]
                    asks = [p for q, p in book.values() if q < 0]
                    reply.update(
                        last=None,
                        bid=max(bids, default=None),
                        ask=min(asks, default=None),
                        low=None,
                        high=None,
                        volume=0,
                    )
                else:
                    reply = {"error_code": 8, "error_msg": f"{method}: not in this test server"}
                if tag:
                    reply = {"tag": tag, **reply}
                await ws.send(json.dumps(reply))
        finally:
            watchers.discard(ws)

    async def stream(rate: float, duration: float, count: int) -> dict[str, Any]:
        total = count or int(rate * duration)
        sent = 0
        backlog = 0
        start = now()
        while sent < total:
            due = total if not rate else min(total, int((now() - start) * rate) + 1)
            if due > sent:
                blob = b"".join(notice(flow.step()) for _ in range(due - sent))
                sent = due
                for ws in list(watchers):
                    ws.transport.write(blob)
                    backlog = max(backlog, ws.transport.get_write_buffer_size())
            if sent < total:
                await asyncio.sleep(TICK)
        end = now()
        return {
            "commands": total,
            "errors": 0,
            "start": start,
            "end": end,
            "rate": total / (end - start) if end > start else float("nan"),
            "max_backlog": backlog,
        }

    def control() -> None:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                message = ("quit",)
            if message[0] != "go":
                loop.call_soon_threadsafe(stop.set)
                return
            result = asyncio.run_coroutine_threadsafe(stream(*message[1:]), loop).result()
            conn.send(result)

    stop = asyncio.Event()
    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        conn.send(f"ws://127.0.0.1:{port}/")
        threading.Thread(target=control, daemon=True).start()
        await stop.wait()


# ------------------------------------------------------------------ the reference book


def server_book(url: str, depth: int = 500) -> Any:
    """The server's XBT:GBP book as the ladder's ``BookRows``, from a fresh WatchOrders snapshot on
    a connection of its own."""
    from cfdash.tui.source import BookRows

    ws = websocket.create_connection(url, timeout=30, skip_utf8_validation=True)
    try:
        ws.recv()  # Welcome
        ws.send(
            json.dumps(
                {"method": "WatchOrders", "tag": 9, "base": XBT, "counter": GBP, "watch": True}
            )
        )
        while True:
            reply = json.loads(ws.recv())
            if reply.get("tag") == 9:
                break
    finally:
        ws.close()
    assert reply["error_code"] == 0, reply
    levels: dict[int, list[int]] = {}
    for order in reply["orders"]:
        key = order["price"] if order["quantity"] > 0 else -order["price"]
        level = levels.setdefault(key, [0, 0])
        level[0] += abs(order["quantity"])
        level[1] += 1
    bids = sorted(((k, s, c) for k, (s, c) in levels.items() if k > 0), reverse=True)
    asks = sorted((-k, s, c) for k, (s, c) in levels.items() if k < 0)
    return BookRows(tuple(bids[:depth]), tuple(asks[:depth]))


# ------------------------------------------------------------------ the dashboard side


@dataclass
class Results:
    """What one server kind gave: latencies in seconds, rates in per second."""

    server: str
    idle_keys: list[float] = field(default_factory=list)
    idle_converge: list[float] = field(default_factory=list)
    keys: list[float] = field(default_factory=list)
    converge: list[float] = field(default_factory=list)
    offered: list[float] = field(default_factory=list)
    """Commands (or notices) per second the firehose achieved."""
    received: list[float] = field(default_factory=list)
    """Frames per second the dashboard's client received during the firehose."""
    screen_updates: list[float] = field(default_factory=list)
    errors: int = 0
    reconnects: int = 0
    missed_keys: int = 0
    cpu: list[list[float]] = field(default_factory=list)
    """Per round: CPU seconds per second of firehose of the server, the firehose client (if
    any) and the dashboard's process."""
    notes: list[str] = field(default_factory=list)


class _Probe:
    """Waits for the first screen update whose text matches ``pattern``."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.seen: float | None = None
        self.event = asyncio.Event()


class Harness:
    """The dashboard app plus the hooks that time what reaches the screen."""

    def __init__(self, url: str, login: bool) -> None:
        from cfdash.client import WSClient
        from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
        from cfdash.tui.app import DashboardApp
        from cfdash.tui.live import ClientSource, Credentials

        self.frames = 0
        self.opens = 0

        def on_message(client: Any, text: str) -> None:
            self.frames += 1

        def on_open(client: Any) -> None:
            self.opens += 1

        self.client = WSClient(
            url, msg_handler=on_message, open_handler=on_open, reconnect=True, ping_interval=15.0
        )
        credentials = Credentials(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE) if login else None
        self.source = ClientSource(self.client, credentials=credentials)
        self.app = DashboardApp(self.source, pair=PAIR)
        self.displays = 0
        self.probe: _Probe | None = None
        self.shown: list[tuple[float, Any]] = []  # (time, book) at screen updates
        self.record = False

    def hook(self) -> None:
        """Wrap ``App._display``, the point where a terminal driver writes an update."""
        app = self.app
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            t = now()
            self.displays += 1
            probe = self.probe
            if probe is not None and probe.seen is None:
                text = ANSI.sub("", renderable.render_segments(app.console))
                if probe.pattern.search(text):
                    probe.seen = t
                    probe.event.set()
            if self.record:
                book = self.ladder.book
                if not self.shown or self.shown[-1][1] is not book:
                    self.shown.append((t, book))

        app._display = display  # type: ignore[method-assign]

    @property
    def ladder(self) -> Any:
        from cfdash.tui.widgets.ladder import OrderBookLadder

        return self.app.query_one(OrderBookLadder)

    async def ready(self, timeout: float = 30.0) -> None:
        deadline = now() + timeout
        while True:
            book = self.client.book((XBT, GBP))
            if self.app.status.connected and book is not None and book.synced:
                return
            if now() > deadline:
                raise TimeoutError("the dashboard did not connect and watch the book")
            await asyncio.sleep(0.05)

    async def press_group(self, timeout: float = 10.0) -> float | None:
        """Press ``g``; seconds until the screen shows the new grouping (None: never)."""
        from textual import events

        from cfdash.tui import fmt
        from cfdash.tui.screens.dashboard import GROUPS

        ladder = self.ladder
        group = GROUPS[(GROUPS.index(ladder.group) + 1) % len(GROUPS)]
        title = f"Book {PAIR.name}"
        if group > 1:
            step = fmt.price(ladder.scales, PAIR, group)
            pattern = re.compile(re.escape(f"{title} · {step}") + r"(?![0-9.])")
        else:
            pattern = re.compile(re.escape(title) + r"(?! ·)")
        probe = self.probe = _Probe(pattern)
        event = events.Key("g", "g")
        event.set_sender(self.app)
        driver = self.app._driver
        assert driver is not None
        start = now()
        driver.send_message(event)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(probe.event.wait(), timeout)
        self.probe = None
        if probe.seen is None:
            # keep the widget's state in step with the screen for the next press
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._group_is(group), timeout)
            return None
        return probe.seen - start

    async def _group_is(self, group: int) -> None:
        while self.ladder.group != group:
            await asyncio.sleep(0.01)

    async def converge(self, url: str, stop: float, timeout: float = 60.0) -> float | None:
        """Seconds from ``stop`` (the server's last output) until a screen update showed the
        server's book (None: not within ``timeout``)."""
        reference = await asyncio.to_thread(server_book, url)
        deadline = now() + timeout
        try:
            while now() < deadline:
                shown = list(self.shown)
                if shown and shown[-1][1] == reference:
                    # the first update from which the screen stayed equal to the server
                    first = len(shown) - 1
                    while first > 0 and shown[first - 1][1] == reference:
                        first -= 1
                    # the last notice can reach the screen before the firehose hears back
                    return max(0.0, shown[first][0] - stop)
                await asyncio.sleep(0.005)
            return None
        finally:
            self.record = False


async def _drive(
    kind: str,
    url: str,
    control: Connection,
    results: Results,
    *,
    rate: float,
    rounds: int,
    duration: float,
    presses: int,
    idle_presses: int,
    pids: list[int],
    size: tuple[int, int] = SIZE,
) -> None:
    harness = Harness(url, login=kind == "exchange")

    async def go(rate: float, duration: float, count: int) -> dict[str, Any]:
        control.send(("go", rate, duration, count))
        return await asyncio.to_thread(control.recv)

    try:
        async with harness.app.run_test(size=size) as pilot:
            harness.hook()
            await harness.ready()
            await pilot.pause(0.5)  # login, balances: let the start-up traffic settle
            for _ in range(idle_presses):
                latency = await harness.press_group()
                if latency is None:
                    results.missed_keys += 1
                else:
                    results.idle_keys.append(latency)
                await asyncio.sleep(random.uniform(0.02, 0.06))
            for _ in range(3):  # one order, no firehose: the baseline for convergence
                harness.shown.clear()
                harness.record = True
                stats = await go(0, 0, 1)
                took = await harness.converge(url, stats["end"])
                if took is not None:
                    results.idle_converge.append(took)
            for _ in range(rounds):
                harness.shown.clear()
                cpu0 = [proc_cpu(pid) for pid in pids]
                cpu_here = time.process_time()
                frames0, displays0 = harness.frames, harness.displays
                control.send(("go", rate, duration, 0))
                started = now()
                # presses spread over the firehose, after a short ramp, while it runs
                spacing = max(0.0, duration - 0.8) / presses
                done = 0
                while done < presses and not control.poll():
                    await asyncio.sleep(max(0.0, started + 0.5 + done * spacing - now()))
                    latency = await harness.press_group()
                    if latency is None:
                        results.missed_keys += 1
                    else:
                        results.keys.append(latency)
                    done += 1
                displays1, t1 = harness.displays, now()
                harness.record = True
                stats = await asyncio.to_thread(control.recv)
                took = await harness.converge(url, stats["end"])
                if took is None:
                    results.notes.append("did not converge within 60 s")
                else:
                    results.converge.append(took)
                span = stats["end"] - stats["start"]
                results.offered.append(stats["commands"] / span)
                results.errors += stats["errors"]
                # every frame the firehose caused has arrived once the screen converged
                results.received.append((harness.frames - frames0) / span)
                results.screen_updates.append((displays1 - displays0) / (t1 - started))
                results.cpu.append(
                    [(proc_cpu(pid) - c) / span for pid, c in zip(pids, cpu0, strict=True)]
                    + [(time.process_time() - cpu_here) / span]
                )
                if done < presses:
                    results.notes.append(f"only {done} of {presses} presses fitted in a round")
                if stats.get("max_backlog", 0) > 1 << 20:
                    results.notes.append(f"max server write backlog {stats['max_backlog']:,} B")
                await pilot.pause(0.3)
            results.reconnects = max(0, harness.opens - 1)
    finally:
        harness.source.close()


def measure(
    kind: str,
    *,
    rate: float = 20_000,
    rounds: int = 1,
    duration: float = 6.0,
    presses: int = 50,
    idle_presses: int = 10,
    size: tuple[int, int] = SIZE,
) -> Results:
    """Start the server (and firehose) processes for ``kind`` ("exchange" or "synthetic"),
    drive the dashboard, stop everything; the measurements."""
    results = Results(kind)
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    server_end, here = ctx.Pipe()
    target = _exchange_main if kind == "exchange" else _synthetic_main
    server = ctx.Process(target=target, args=(server_end,), daemon=True)
    server.start()
    firehose = None
    try:
        if not here.poll(60):
            raise TimeoutError(f"the {kind} server did not start")
        url = here.recv()
        control = here
        if kind == "exchange":
            hose_end, control = ctx.Pipe()
            firehose = ctx.Process(target=_firehose_main, args=(url, hose_end), daemon=True)
            firehose.start()
        asyncio.run(
            _drive(
                kind,
                url,
                control,
                results,
                rate=rate,
                rounds=rounds,
                duration=duration,
                presses=presses,
                idle_presses=idle_presses,
                pids=[p.pid for p in (server, firehose) if p is not None and p.pid is not None],
                size=size,
            )
        )
        if firehose is not None:
            control.send(("quit",))
    finally:
        with contextlib.suppress(OSError, BrokenPipeError):
            here.send(("quit",))
        for proc in (firehose, server):
            if proc is not None:
                proc.join(10)
                if proc.is_alive():
                    proc.terminate()
                    proc.join(5)
    return results


def _summary(r: Results) -> str:
    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.0f}" if values else "n/a"

    return (
        f"[{r.server}] firehose {median(r.offered):,.0f}/s, dashboard client received "
        f"{median(r.received):,.0f} frames/s, {median(r.screen_updates):.0f} screen updates/s; "
        f"keys p50/p99 {ms(r.keys, 0.5)}/{ms(r.keys, 0.99)} ms over {len(r.keys)} presses "
        f"(idle {ms(r.idle_keys, 0.5)}/{ms(r.idle_keys, 0.99)} ms); converge "
        f"{median(r.converge):.2f} s (idle {median(r.idle_converge):.3f} s); "
        f"{r.errors} errors, {r.reconnects} reconnects, {r.missed_keys} missed keys; "
        f"CPU s/s {cpu_summary(r)}" + (f"; {'; '.join(dict.fromkeys(r.notes))}" if r.notes else "")
    )


def cpu_summary(r: Results) -> str:
    """Median CPU seconds per second of firehose, per process."""
    if not r.cpu:
        return "n/a"
    names = ["server", "firehose", "dashboard"] if len(r.cpu[0]) == 3 else ["server", "dashboard"]
    return ", ".join(
        f"{name} {median(row[i] for row in r.cpu):.2f}" for i, name in enumerate(names)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--server", choices=("exchange", "synthetic", "both"), default="both")
    parser.add_argument("--rate", type=float, default=20_000, help="notices per second")
    parser.add_argument("--size", default="120x36", help="terminal size, e.g. 200x60")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))
    kinds = ("exchange", "synthetic") if args.server == "both" else (args.server,)
    for kind in kinds:
        if args.quick:
            r = measure(
                kind, rate=args.rate, rounds=1, duration=6.0, presses=50, idle_presses=10,
                size=(width, height),
            )  # fmt: skip
        else:
            r = measure(
                kind, rate=args.rate, rounds=3, duration=12.0, presses=70, idle_presses=30,
                size=(width, height),
            )  # fmt: skip
        print(_summary(r), flush=True)
    return 0


if __name__ == "__main__":
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
