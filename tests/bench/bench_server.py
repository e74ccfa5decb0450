"""End-to-end exchange throughput over loopback (prints, never asserts).

One client pipelines N PlaceOrder / CancelOrder pairs (at most ``--window`` commands
unanswered) to an exchange running in another process with durability on (SQLite WAL, a
commit before every batch of replies), reading every reply. The server process is this file
with ``--serve``: ``cfdash serve`` with the order rate limits lifted.

Run: ``python tests/bench/bench_server.py [N] [--window W] [--synchronous FULL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.client import connect

from cfdash.core.assets import Assets
from cfdash.core.auth import authenticate_command, derive_private_key
from cfdash.core.engine.exchange import EngineConfig
from cfdash.server.app import ExchangeServer
from cfdash.server.store import Store
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID

XBT, GBP = Assets["XBT"], Assets["GBP"]
PRICE = 30_000_00


async def _serve(db: str, synchronous: str) -> None:
    import signal

    config = EngineConfig(order_limit=(10**9, 1.0), max_open_orders=10**9)
    server = ExchangeServer(Store(db, synchronous=synchronous), config=config, traders=False)
    await server.start("127.0.0.1", 0)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"listening on {server.url}", flush=True)
    await stop.wait()
    await server.stop()


async def _client(url: str, n: int, window: int) -> tuple[float, int]:
    async with connect(url, max_size=None, compression=None) as ws:
        welcome = json.loads(await ws.recv())
        key = derive_private_key(DEMO_USER_ID, DEMO_PASSPHRASE)
        nonce = base64.b64decode(welcome["nonce"])
        await ws.send(json.dumps(authenticate_command(DEMO_USER_ID, DEMO_COOKIE, key, nonce)))
        while "error_code" not in (reply := json.loads(await ws.recv())):
            pass
        assert reply["error_code"] == 0, reply

        total = 2 * n
        room = asyncio.Semaphore(window)
        errors = 0

        def command(i: int) -> str:
            tonce = i // 2 + 1
            if i % 2 == 0:
                return (
                    f'{{"method":"PlaceOrder","tag":{i + 1},"tonce":{tonce},"base":{XBT},'
                    f'"counter":{GBP},"quantity":100000,"price":{PRICE - (i % 100)}}}'
                )
            return f'{{"method":"CancelOrder","tag":{i + 1},"tonce":{tonce}}}'

        async def send_all() -> None:
            for i in range(total):
                await room.acquire()
                await ws.send(command(i))

        start = time.perf_counter()
        sender = asyncio.create_task(send_all())
        answered = 0
        while answered < total:
            msg = await ws.recv()
            if '"notice"' in msg[:12]:
                continue
            answered += 1
            room.release()
            if '"error_code":0' not in msg:
                errors += 1
        elapsed = time.perf_counter() - start
        await sender
        return elapsed, errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000, help="orders (each cancelled)")
    parser.add_argument("--window", type=int, default=256, help="max unanswered commands")
    parser.add_argument("--synchronous", default="NORMAL", help="SQLite synchronous mode")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.serve, args.synchronous))
        return

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite3")
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", db, "--synchronous", args.synchronous],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.match(r"listening on (ws://\S+)", line)
            if match is None:
                raise SystemExit(f"server did not start: {line!r}")
            elapsed, errors = asyncio.run(_client(match.group(1), args.n, args.window))
        finally:
            proc.terminate()
            proc.wait(30)
    commands = 2 * args.n
    print(
        f"{args.n} PlaceOrder + {args.n} CancelOrder over loopback, window {args.window}, "
        f"synchronous={args.synchronous}: {elapsed:.2f} s, "
        f"{args.n / elapsed:,.0f} orders/s ({commands / elapsed:,.0f} commands/s), "
        f"{errors} error replies"
    )


if __name__ == "__main__":
    main()
