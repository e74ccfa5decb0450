"""Ingest benchmark: how many notices per second a client can take in.

A firehose server runs in another process: on each connection it sends a Welcome, answers the
first command (a WatchOrders) with an empty snapshot, then writes N pre-encoded frames of
OrderOpened/OrdersMatched notices for XBT:USD as fast as the socket takes them. Three clients
read them:

(a) a bare websocket-client loop: ``recv()`` + ``json.loads``, ``skip_utf8_validation=True``;
(b) a seed-style ``websocket.WebSocketApp`` with default options and a no-op ``on_message``;
(c) ``cfdash.client.WSClient``'s full path: recv, decode, route to the local views, handler.

Run: ``python tests/bench/bench_ingest.py [--n 200000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import struct
import threading
import time
from collections.abc import Callable

import websocket

XBT, USD = 63488, 64128


def make_frames(n: int, seed: int = 7) -> list[str]:
    """Alternating OrderOpened and the OrdersMatched that (mostly) fills it."""
    rng = random.Random(seed)
    frames: list[str] = []
    t = 1_700_000_000_000_000
    for i in range(n):
        t += rng.randint(1, 500)
        oid = 1_000_000 + i // 2
        is_bid = (i // 2) % 2 == 0
        price = 4_000_000 + (rng.randint(-200, 200) * 100) + (0 if is_bid else 30_000)
        quantity = rng.randint(1, 500) * 1_000_000
        if i % 2 == 0:
            message = {
                "notice": "OrderOpened",
                "id": oid,
                "base": XBT,
                "counter": USD,
                "quantity": quantity if is_bid else -quantity,
                "price": price,
                "time": t,
                "pad": "x" * 95,
            }
        else:
            traded = quantity if i % 8 != 1 else quantity // 2
            rem = quantity - traded
            message = {
                "notice": "OrdersMatched",
                "base": XBT,
                "counter": USD,
                "quantity": traded,
                "price": price,
                "total": traded * price // 10**8,
                "time": t,
            }
            if is_bid:
                message.update(bid=oid, bid_rem=rem)
            else:
                message.update(ask=oid, ask_rem=rem)
            message["pad"] = "y" * 70
        frames.append(json.dumps(message, separators=(",", ":")))
    return frames


def encode_frame(text: str) -> bytes:
    """A server-to-client (unmasked) text frame."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def serve_firehose(n: int, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from websockets.asyncio.server import serve

    blob = b"".join(encode_frame(f) for f in make_frames(n))

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        await ws.send(json.dumps({"notice": "Welcome", "nonce": "AAAAAAAAAAAAAAAAAAAAAA=="}))
        command = json.loads(await ws.recv())
        await ws.send(json.dumps({"tag": command.get("tag", 0), "error_code": 0, "orders": []}))
        ws.transport.write(blob)  # raw frames: the server is never the bottleneck
        with contextlib.suppress(Exception):
            await ws.recv()  # until the client goes away

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", 0, compression=None, ping_interval=None, max_size=None
        ) as server:
            ready.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


WATCH = {"method": "WatchOrders", "base": XBT, "counter": USD, "watch": True, "tag": 1}


def bench_bare(url: str, n: int) -> float:
    ws = websocket.WebSocket(skip_utf8_validation=True)
    ws.connect(url)
    ws.recv()
    ws.send(json.dumps(WATCH))
    ws.recv()
    loads, recv = json.loads, ws.recv
    start = time.perf_counter()
    for _ in range(n):
        loads(recv())
    elapsed = time.perf_counter() - start
    ws.close()
    return n / elapsed


def bench_seed_app(url: str, n: int) -> float:
    count = [0]
    marks: list[float] = []
    done = threading.Event()

    def on_open(app: websocket.WebSocketApp) -> None:
        app.send(json.dumps(WATCH))

    def on_message(app: websocket.WebSocketApp, message: str) -> None:
        count[0] += 1
        if count[0] == 2:  # Welcome, then the snapshot: the firehose starts
            marks.append(time.perf_counter())
        elif count[0] == n + 2:
            marks.append(time.perf_counter())
            done.set()
            app.keep_running = False

    app = websocket.WebSocketApp(url, on_open=on_open, on_message=on_message)
    thread = threading.Thread(target=app.run_forever, daemon=True)
    thread.start()
    done.wait(600)
    app.close()
    return n / (marks[1] - marks[0])


def bench_wsclient(url: str, n: int) -> float:
    from cfdash.client import WSClient

    count = [0]
    marks: list[float] = []
    done = threading.Event()

    def on_message(client: WSClient, message: str) -> None:
        count[0] += 1
        if count[0] == 2:
            marks.append(time.perf_counter())
        elif count[0] == n + 2:
            marks.append(time.perf_counter())
            done.set()

    client = WSClient(url, msg_handler=on_message, socket_timeout=30)
    client.WatchOrders(base=XBT, counter=USD, watch=True)
    done.wait(600)
    book = client.book((XBT, USD))
    assert book is not None and book.synced and client.trades((XBT, USD)) is not None
    client.stop()
    return n / (marks[1] - marks[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="frames per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per client (best is kept)")
    args = parser.parse_args(argv)

    frames = make_frames(2000)
    mean = sum(len(f) for f in frames) / len(frames)
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve_firehose, args=(args.n, ready), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{ready.get(timeout=120)}/"
        print(f"{args.n} frames per run, {mean:.0f} bytes on average, best of {args.repeat}")
        benches: list[tuple[str, Callable[[str, int], float]]] = [
            ("(a) bare websocket-client recv()+json.loads", bench_bare),
            ("(b) seed-style WebSocketApp, no-op handler", bench_seed_app),
            ("(c) cfdash WSClient full path (views)", bench_wsclient),
        ]
        rates: dict[str, float] = {}
        for name, bench in benches:
            rates[name] = max(bench(url, args.n) for _ in range(args.repeat))
            print(f"{name:48} {rates[name]:>10,.0f} msg/s", flush=True)
        a, b, c = rates.values()
        print(f"WSClient / bare loop:        {c / a:.2f}")
        print(f"WSClient / seed WebSocketApp: {c / b:.2f}")
        print(f"seed WebSocketApp / bare:     {b / a:.2f}")
    finally:
        server.terminate()
        server.join(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
