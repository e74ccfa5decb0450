"""Memory: the server's RSS with many resting orders, the client's with a deep book, and both
under a firehose (prints, never asserts).

Every figure reads ``VmRSS`` from ``/proc/<pid>/status`` (MiB) and carries a baseline read from
the same process in the same run:

- server RSS with N resting orders (1,000,000; 200,000 quick): the exchange (``ServerThread``,
  durability on: a SQLite file in a temporary directory, order limits lifted, a well-funded
  user) in a spawned process; this process is a raw pipelining client placing N non-crossing
  limit orders over 10,000 price levels (5,000 a side) and reading every reply. Baseline: the
  same server process with the empty book, once the client is logged in. The count of resting
  orders and levels is read from the server's core afterwards;
- client RSS with a 2,000-level book: a spawned process holding only cfdash's ``WSClient`` (as a
  library user would) watches XBT:GBP on a server whose book has 1,000 levels a side, 3 orders
  each (the server's snapshot depth is raised to hold all 6,000). Baseline: the same process
  once imported and connected (one EstimateMarketOrder answered), before watching. The level
  count is read from the client's own book view;
- growth during a firehose: ``bench_tui``'s exchange process and firehose (~20,000 commands/s,
  about 200 orders standing; every command makes one notice to each XBT:GBP watcher) for 60 s
  (12 s quick), with a spawned ``WSClient`` process watching XBT:GBP's orders and ticker and
  sampling its own RSS every second; the server's RSS is sampled from here at the same pace.
  Each reports its RSS at the end of the firehose against its RSS after a warm-up (the 10th
  second; the 3rd quick), with the slope of a least-squares line over the second half.

Run: ``python tests/bench/bench_memory.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from bench_tui import (
    FIREHOSE_USER,
    GBP,
    MID,
    XBT,
    _exchange_main,
    _firehose_main,
    login_firehose_user,
)
from common import Figure, figure_line

MIB = 1024 * 1024
LEVELS_PER_SIDE = 5_000
"""Price levels a side the resting orders of the first figure spread over."""
CLIENT_LEVELS = 2_000
CLIENT_ORDERS_PER_LEVEL = 3
FIREHOSE_RATE = 20_000


def rss_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A process's resident set size (``field``: VmRSS, or VmHWM for the peak) in MiB; nan
    when it cannot be read (not Linux, process gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return math.nan


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    """The least-squares slope of ``(seconds, MiB)`` samples, in MiB per minute."""
    if len(samples) < 2:
        return math.nan
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_v = sum(v for _, v in samples) / len(samples)
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return math.nan
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 60


def _spawn(target: Callable[..., None], *args: Any) -> tuple[Any, Connection]:
    """Start ``target(*args, conn)`` in a spawned daemon process; (process, our end)."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    theirs, ours = ctx.Pipe()
    proc = ctx.Process(target=target, args=(*args, theirs), daemon=True)
    proc.start()
    theirs.close()
    return proc, ours


def _recv(conn: Connection, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"{what}: no answer within {timeout:.0f} s")
    return conn.recv()


def _stop(*procs: Any) -> None:
    """Wait a little for each process to exit, then terminate it."""
    for proc in procs:
        if proc is None:
            continue
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


# ------------------------------------------------------------------ the durable exchange


def _durable_exchange_main(db: str, snapshot_depth: int, conn: Connection) -> None:
    """The exchange with its state in the SQLite file ``db``, order limits lifted and the
    firehose user funded. Answers "count" with (resting orders of that user, bid levels,
    ask levels of XBT:GBP); exits on "quit" or when the pipe closes."""
    from cfdash.core.assets import PAIRS
    from cfdash.core.engine.exchange import EngineConfig
    from cfdash.server.app import ServerThread
    from cfdash.server.users import add_funded_user

    config = EngineConfig(
        order_limit=(10**9, 1.0), max_open_orders=10**9, snapshot_depth=snapshot_depth
    )
    server = ServerThread(db, traders=False, config=config)
    url = server.start()

    def setup(s: Any) -> None:
        add_funded_user(s.core, *FIREHOSE_USER)
        s.core.credit(FIREHOSE_USER[0], XBT, 10**12)
        s.core.credit(FIREHOSE_USER[0], GBP, 10**12)

    def count(s: Any) -> tuple[int, int, int]:
        book = s.core.book(PAIRS[0])
        orders = len(s.core.open_orders(FIREHOSE_USER[0]))
        return orders, len(book.bids.levels), len(book.asks.levels)

    server.call(setup)
    conn.send(url)
    try:
        while (message := conn.recv()) != "quit":
            if message == "count":
                conn.send(server.call(count, timeout=60))
    except EOFError:
        pass
    finally:
        server.stop()


# ------------------------------------------------------------------ the raw placing client


def resting_orders(n: int, levels: int) -> Iterator[str]:
    """``n`` PlaceOrder commands (tonces 1..n) that never cross: bids and asks alternate, each
    side cycling over ``levels`` prices from 0.01 off the mid outwards."""
    for i in range(n):
        level = (i // 2) % levels + 1
        if i % 2 == 0:
            qty, price = 100_000, MID - level
        else:
            qty, price = -100_000, MID + level
        yield (
            f'{{"method":"PlaceOrder","tonce":{i + 1},"base":{XBT},"counter":{GBP},'
            f'"quantity":{qty},"price":{price}}}'
        )


def place_all(ws: Any, commands: Iterator[str], window: int = 4096) -> tuple[int, int, float]:
    """Pipeline ``commands`` (at most ``window`` unanswered; frames built as room opens) and
    read every reply: (commands, error replies, seconds)."""
    from bench_server import _frame

    sent = answered = errors = 0
    done = False
    start = time.perf_counter()
    while not done or answered < sent:
        room = window - (sent - answered)
        if not done and room >= window // 4:
            batch = [_frame(text) for _, text in zip(range(room), commands, strict=False)]
            done = len(batch) < room
            if batch:
                ws.sock.sendall(b"".join(batch))
                sent += len(batch)
        if answered == sent:
            continue
        for payload in ws.frames():
            if payload.startswith(b'{"notice"'):
                continue
            answered += 1
            if b'"error_code":0' not in payload:
                errors += 1
    return sent, errors, time.perf_counter() - start


# ------------------------------------------------------------------ 1. server, resting orders


def server_resting(n: int) -> dict[str, Any]:
    """RSS of a durable exchange before and after ``n`` resting orders, with the server's own
    count of them."""
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "exchange.sqlite3")
        proc, conn = _spawn(_durable_exchange_main, db, 1000)
        try:
            url = _recv(conn, 60, "the exchange")
            ws = login_firehose_user(url)
            try:
                time.sleep(0.5)
                before = rss_mib(proc.pid)
                placed, errors, elapsed = place_all(ws, resting_orders(n, LEVELS_PER_SIDE))
                time.sleep(1.0)  # the last commit, the writers' queues drained
                after = rss_mib(proc.pid)
                peak = rss_mib(proc.pid, "VmHWM")
                conn.send("count")
                resting, bid_levels, ask_levels = _recv(conn, 120, "the order count")
                db_bytes = sum(
                    os.path.getsize(os.path.join(tmp, name))
                    for name in os.listdir(tmp)
                    if name.startswith("exchange.sqlite3")
                )
            finally:
                ws.close()
            conn.send("quit")
        finally:
            _stop(proc)
    return {
        "before": before,
        "after": after,
        "peak": peak,
        "placed": placed,
        "errors": errors,
        "elapsed": elapsed,
        "resting": resting,
        "bid_levels": bid_levels,
        "ask_levels": ask_levels,
        "db_mib": db_bytes / MIB,
    }


# ------------------------------------------------------------------ 2. client, deep book


def _book_client_main(url: str, conn: Connection) -> None:
    """A library user's process: ``WSClient`` only. Sends its RSS once connected, then on
    "watch" watches XBT:GBP's orders and sends its RSS with what its book view holds."""
    from cfdash.client import WSClient

    client = WSClient(url, socket_timeout=30)
    try:
        client.send(
            {"method": "EstimateMarketOrder", "base": XBT, "counter": GBP, "quantity": 100_000}
        ).result(30)
        time.sleep(0.5)
        conn.send(("connected", rss_mib()))
        if conn.recv() != "watch":
            return
        client.WatchOrders(base=XBT, counter=GBP, watch=True).result(60)
        book = client.book((XBT, GBP))
        deadline = time.monotonic() + 60
        while (book is None or not book.synced) and time.monotonic() < deadline:
            time.sleep(0.01)
            book = client.book((XBT, GBP))
        time.sleep(0.5)
        rss = rss_mib()
        assert book is not None
        with client.lock:
            held = (book.synced, book.level_count("bid"), book.level_count("ask"), len(book))
        conn.send(("watching", rss, *held))
        with contextlib.suppress(EOFError):
            conn.recv()
    finally:
        client.stop()


def client_book(levels: int = CLIENT_LEVELS, per_level: int = CLIENT_ORDERS_PER_LEVEL) -> dict:
    """RSS of a ``WSClient`` process connected, then watching a ``levels``-level book."""
    n = levels * per_level
    with tempfile.TemporaryDirectory() as tmp:
        server, conn = _spawn(_durable_exchange_main, os.path.join(tmp, "exchange.sqlite3"), n)
        client = None
        try:
            url = _recv(conn, 60, "the exchange")
            ws = login_firehose_user(url)
            try:
                placed, errors, _ = place_all(ws, resting_orders(n, levels // 2))
            finally:
                ws.close()
            client, here = _spawn(_book_client_main, url)
            _, connected = _recv(here, 60, "the client")
            here.send("watch")
            _, watching, synced, bids, asks, orders = _recv(here, 120, "the client's book")
            here.send("quit")
            conn.send("quit")
        finally:
            _stop(client, server)
    return {
        "connected": connected,
        "watching": watching,
        "synced": synced,
        "bid_levels": bids,
        "ask_levels": asks,
        "orders": orders,
        "placed": placed,
        "errors": errors,
    }


# ------------------------------------------------------------------ 3. growth under a firehose


def _firehose_client_main(url: str, conn: Connection) -> None:
    """``WSClient`` watching XBT:GBP (orders and ticker). Once synced it says "ready" and
    samples its own RSS every second until "stop", then sends the samples
    ``(monotonic time, MiB, frames so far)``, its close events and its book's size."""
    from cfdash.client import WSClient

    frames = [0]
    closes: list[str] = []

    def on_message(client: Any, text: str) -> None:
        frames[0] += 1

    def on_close(client: Any, code: int | None, reason: str | None) -> None:
        closes.append(f"{code} {reason}")

    client = WSClient(url, msg_handler=on_message, close_handler=on_close, socket_timeout=30)
    try:
        client.watch((XBT, GBP)).result(60)
        book = client.book((XBT, GBP))
        while book is None or not book.synced:
            time.sleep(0.01)
            book = client.book((XBT, GBP))
        conn.send("ready")
        samples: list[tuple[float, float, int]] = []
        tick = time.monotonic()
        while True:
            samples.append((time.monotonic(), rss_mib(), frames[0]))
            tick += 1.0
            if conn.poll(max(0.0, tick - time.monotonic())):
                break
        conn.recv()
        with client.lock:
            size = (book.synced, len(book))
        conn.send({"samples": samples, "closes": closes, "book": size})
        with contextlib.suppress(EOFError):
            conn.recv()
    finally:
        client.stop()


def firehose_growth(duration: float, warm: float, rate: float = FIREHOSE_RATE) -> dict:
    """Server and client RSS sampled each second during ``duration`` s of firehose."""
    server, here = _spawn(_exchange_main)
    hose = client = None
    try:
        url = _recv(here, 60, "the exchange")
        hose, hose_conn = _spawn(_firehose_main, url)
        client, client_conn = _spawn(_firehose_client_main, url)
        if _recv(client_conn, 60, "the client") != "ready":
            raise RuntimeError("the client did not watch the book")
        server_samples: list[tuple[float, float]] = []
        hose_conn.send(("go", rate, duration, 0))
        tick = time.monotonic()
        deadline = tick + duration + 300
        while True:  # the firehose answers once its last command is answered
            server_samples.append((time.monotonic(), rss_mib(server.pid)))
            tick += 1.0
            if hose_conn.poll(max(0.0, tick - time.monotonic())):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the firehose did not finish")
        stats = hose_conn.recv()
        server_samples.append((time.monotonic(), rss_mib(server.pid)))
        client_conn.send("stop")
        report = _recv(client_conn, 30, "the client's samples")
        client_conn.send("quit")
        hose_conn.send(("quit",))
        here.send(("quit",))
        server_peak = rss_mib(server.pid, "VmHWM")
    finally:
        _stop(client, hose, server)
    start, end = stats["start"], stats["end"]
    client_samples = report["samples"]

    def profile(samples: list[tuple[float, float]]) -> dict[str, float]:
        """RSS after the warm-up and at the end of the firehose, slope over its second half."""
        within = [(t - start, v) for t, v in samples if start <= t <= end + 0.5]
        if not within:
            return {"warm": math.nan, "end": math.nan, "slope": math.nan, "samples": 0}
        warm_v = next((v for t, v in within if t >= warm), within[-1][1])
        half = [(t, v) for t, v in within if t >= (end - start) / 2]
        return {
            "warm": warm_v,
            "end": within[-1][1],
            "max": max(v for _, v in within),
            "slope": slope_per_min(half),
            "samples": len(within),
        }

    frames_in = [f for t, _, f in client_samples if start <= t <= end + 0.5]
    span = end - start
    return {
        "server": profile(server_samples) | {"peak": server_peak},
        "client": profile([(t, v) for t, v, _ in client_samples]),
        "rate": stats["rate"],
        "commands": stats["commands"],
        "errors": stats["errors"],
        "span": span,
        "frames": client_samples[-1][2] - client_samples[0][2],
        "frames_rate": (frames_in[-1] - frames_in[0]) / span if len(frames_in) > 1 else math.nan,
        "closes": report["closes"],
        "book": report["book"],
        "series": {
            "server": [(round(t - start, 1), v) for t, v in server_samples],
            "client": [(round(t - start, 1), v) for t, v, _ in client_samples],
        },
    }


# ------------------------------------------------------------------ the figures


def figures(quick: bool, emit: Callable[[Figure], None]) -> None:
    """Measure all three and ``emit`` each figure as it is known."""
    n = 200_000 if quick else 1_000_000
    duration, warm = (12.0, 3.0) if quick else (60.0, 10.0)
    tag = " (quick)" if quick else ""

    s = server_resting(n)
    verified = s["resting"] == n and s["bid_levels"] + s["ask_levels"] == 2 * min(
        LEVELS_PER_SIDE, (n + 1) // 2
    )
    emit(
        Figure(
            f"memory: server RSS, {n:,} resting orders{tag}",
            s["after"],
            "MiB",
            baseline=s["before"],
            baseline_what="empty book",
            note=(
                f"{(s['after'] - s['before']) * MIB / n:,.0f} bytes/order; server counts "
                f"{s['resting']:,} resting over {s['bid_levels']:,}+{s['ask_levels']:,} levels"
                f"{'' if verified else ' (NOT the count placed)'}; {s['errors']} error replies;"
                f" placed at {s['placed'] / s['elapsed']:,.0f}/s; peak {s['peak']:,.0f} MiB; "
                f"SQLite files {s['db_mib']:,.0f} MiB"
            ),
        )
    )

    c = client_book()
    levels = c["bid_levels"] + c["ask_levels"]
    emit(
        Figure(
            f"memory: client RSS, {levels:,}-level book",
            c["watching"],
            "MiB",
            baseline=c["connected"],
            baseline_what="imported + connected",
            note=(
                f"{c['watching'] - c['connected']:.1f} MiB for the book; client's view: "
                f"{c['bid_levels']:,}+{c['ask_levels']:,} levels, {c['orders']:,} orders"
                f"{'' if c['synced'] else ', NOT synced'}; {c['errors']} error replies placing"
            ),
        )
    )

    g = firehose_growth(duration, warm)
    hose = f"firehose {g['rate']:,.0f} cmd/s for {g['span']:.0f} s, {g['errors']} error replies"
    for who in ("server", "client"):
        p = g[who]
        if who == "server":
            extra = f"peak {p['peak']:,.1f} MiB; {hose}"
        else:
            closes = f", closed: {'; '.join(g['closes'])}" if g["closes"] else ""
            extra = (
                f"{g['frames']:,} frames received ({g['frames_rate']:,.0f}/s during the "
                f"firehose){closes}; book {g['book'][1]} orders"
            )
        emit(
            Figure(
                f"memory: {who} RSS after {duration:.0f} s firehose{tag}",
                p["end"],
                "MiB",
                baseline=p["warm"],
                baseline_what=f"at {warm:.0f} s",
                note=(
                    f"slope {p['slope']:+.2f} MiB/min over the second half, max "
                    f"{p['max']:,.1f} MiB, {p['samples']} samples; {extra}"
                ),
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 orders, 12 s firehose")
    args = parser.parse_args(argv)
    figures(args.quick, lambda fig: print(figure_line(fig), flush=True))
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
