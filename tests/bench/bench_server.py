"""End-to-end exchange throughput over loopback (prints, never asserts).

One client pipelines N PlaceOrder / CancelOrder pairs (at most ``--window`` commands
unanswered) to an exchange running in another process with durability on (SQLite WAL, a
commit before every batch of replies), reading every frame and checking every reply. The server
process is this file with ``--serve``: ``cfdash serve`` with the order rate limits lifted.

Two clients, because on a small box a Python client can be the bottleneck:

- ``raw``: a minimal RFC 6455 client on a plain socket (frames built before the clock starts,
  masked with a random key; replies parsed straight from the byte stream). It costs the client
  about a microsecond per frame, so the figure is the server's.
- ``websockets``: the ``websockets`` asyncio client, one ``recv()`` per frame (what a Python
  application would see; bounded by the client's own per-frame cost).

Both figures are printed, as place+cancel pairs per second (= PlaceOrder commands per second)
and as order commands (PlaceOrder + CancelOrder) per second, with the server's and the client's
CPU time. ``--repeat R`` runs R fresh servers per client and reports the medians.

Run: ``python tests/bench/bench_server.py [N] [--window W] [--repeat R]
[--client raw|websockets|both] [--synchronous FULL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.client import connect
from websockets.utils import apply_mask

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
    cpu = time.process_time()
    print(f"listening on {server.url}", flush=True)
    await stop.wait()
    print(f"cpu {time.process_time() - cpu:.3f}", flush=True)
    await server.stop()


def command(i: int) -> str:
    """The i-th command: PlaceOrder for even i, CancelOrder (by tonce) of it for odd i."""
    tonce = i // 2 + 1
    if i % 2 == 0:
        return (
            f'{{"method":"PlaceOrder","tag":{i + 1},"tonce":{tonce},"base":{XBT},'
            f'"counter":{GBP},"quantity":100000,"price":{PRICE - (i % 100)}}}'
        )
    return f'{{"method":"CancelOrder","tag":{i + 1},"tonce":{tonce}}}'


def _auth_text(welcome: str) -> str:
    key = derive_private_key(DEMO_USER_ID, DEMO_PASSPHRASE)
    nonce = base64.b64decode(json.loads(welcome)["nonce"])
    return json.dumps(authenticate_command(DEMO_USER_ID, DEMO_COOKIE, key, nonce))


# ------------------------------------------------------------------ the websockets client


async def _client_websockets(url: str, n: int, window: int) -> tuple[float, int]:
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(_auth_text(str(await ws.recv())))
        while "error_code" not in (reply := json.loads(await ws.recv())):
            pass
        assert reply["error_code"] == 0, reply

        total = 2 * n
        room = asyncio.Semaphore(window)
        errors = 0

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


# ------------------------------------------------------------------ the raw client


def _frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455 5.2)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)


class _RawSocket:
    """A WebSocket connection on a blocking socket: just enough for the bench."""

    def __init__(self, url: str) -> None:
        match = re.match(r"ws://([^:/]+):(\d+)/", url)
        assert match is not None, url
        self.sock = socket.create_connection((match.group(1), int(match.group(2))))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: {match.group(1)}:{match.group(2)}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buf = b""
        self.pending: list[bytes] = []
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def frames(self) -> list[bytes]:
        """The complete text payloads buffered, else block for data and parse again."""
        out = self._parse()
        while not out:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.buf += data
            out = self._parse()
        return out

    def _parse(self) -> list[bytes]:
        buf = self.buf
        out: list[bytes] = []
        pos, end = 0, len(buf)
        while end - pos >= 2:
            n = buf[pos + 1] & 0x7F
            hdr = 2
            if n == 126:
                if end - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                hdr = 4
            elif n == 127:
                if end - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                hdr = 10
            if end - pos < hdr + n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:
                out.append(buf[pos + hdr : pos + hdr + n])
            elif opcode == 8:
                raise ConnectionError(f"closed by the server: {buf[pos + hdr : pos + hdr + n]!r}")
            pos += hdr + n
        self.buf = buf[pos:]
        return out

    def recv_one(self) -> bytes:
        """The next text payload (before pipelining starts)."""
        while not self.pending:
            self.pending.extend(self.frames())
        return self.pending.pop(0)

    def close(self) -> None:
        self.sock.close()


def _client_raw(url: str, n: int, window: int) -> tuple[float, int]:
    ws = _RawSocket(url)
    try:
        welcome = ws.recv_one()
        ws.sock.sendall(_frame(_auth_text(welcome.decode())))
        while b'"error_code"' not in (reply := ws.recv_one()):
            pass
        assert b'"error_code":0' in reply, reply
        total = 2 * n
        frames = [_frame(command(i)) for i in range(total)]
        sent = answered = errors = 0
        start = time.perf_counter()
        while answered < total:
            room = window - (sent - answered)
            if room > 0 and sent < total:
                k = min(room, total - sent)
                ws.sock.sendall(b"".join(frames[sent : sent + k]))
                sent += k
            for payload in ws.frames():
                if payload.startswith(b'{"notice"'):
                    continue
                answered += 1
                if b'"error_code":0' not in payload:
                    errors += 1
        return time.perf_counter() - start, errors
    finally:
        ws.close()


# ------------------------------------------------------------------ the in-process ceiling


def core_rate(n: int, window: int = 256) -> tuple[float, int]:
    """The same 2n commands fed to an ``ExchangeCore`` in this process, ``window`` at a time,
    each batch followed by ``take_changes``/``take_output`` as the server's flush does (no
    sockets, no store): (order commands per second, error replies). The server's ceiling."""
    from cfdash.core.engine.exchange import ExchangeCore
    from cfdash.server.users import bootstrap

    core = ExchangeCore(EngineConfig(order_limit=(10**9, 1.0), max_open_orders=10**9))
    bootstrap(core)
    sid = core.connect(0.0)
    core.login(sid, DEMO_USER_ID, rate_limited=False)
    core.take_changes()
    core.take_output()
    texts = [command(i) for i in range(2 * n)]
    errors = 0
    now = 1000.0
    start = time.perf_counter()
    for first in range(0, len(texts), window):
        for text in texts[first : first + window]:
            core.receive(sid, text, now)
        core.take_changes()
        for _, out in core.take_output():
            if out.startswith('{"tag"') and '"error_code":0' not in out:
                errors += 1
        now += 0.001
    return len(texts) / (time.perf_counter() - start), errors


def run_once(
    client: str, n: int, window: int = 256, synchronous: str = "NORMAL"
) -> dict[str, float]:
    """One run against a fresh server process: order commands/s (PlaceOrder + CancelOrder),
    place+cancel pairs/s, error replies, server and client CPU seconds."""
    elapsed, errors, server_cpu, client_cpu = _run_once(client, n, window, synchronous)
    return {
        "orders_per_s": 2 * n / elapsed,
        "pairs_per_s": n / elapsed,
        "errors": errors,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "elapsed": elapsed,
    }


# ------------------------------------------------------------------ driver


def _run_once(
    client: str, n: int, window: int, synchronous: str
) -> tuple[float, int, float, float]:
    """(elapsed, error replies, server CPU s, client CPU s) against a fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite3")
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", db, "--synchronous", synchronous],
            stdout=subprocess.PIPE,
            text=True,
        )
        server_cpu = float("nan")
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.match(r"listening on (ws://\S+)", line)
            if match is None:
                raise SystemExit(f"server did not start: {line!r}")
            cpu = time.process_time()
            if client == "raw":
                elapsed, errors = _client_raw(match.group(1), n, window)
            else:
                elapsed, errors = asyncio.run(_client_websockets(match.group(1), n, window))
            client_cpu = time.process_time() - cpu
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
            found = re.search(r"cpu ([0-9.]+)", out or "")
            if found:
                server_cpu = float(found.group(1))
    return elapsed, errors, server_cpu, client_cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000, help="orders (each cancelled)")
    parser.add_argument("--window", type=int, default=256, help="max unanswered commands")
    parser.add_argument("--repeat", type=int, default=1, help="runs per client (median)")
    parser.add_argument("--client", choices=("raw", "websockets", "both"), default="both")
    parser.add_argument("--synchronous", default="NORMAL", help="SQLite synchronous mode")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.serve, args.synchronous))
        return

    clients = ("raw", "websockets") if args.client == "both" else (args.client,)
    for client in clients:
        runs = [
            _run_once(client, args.n, args.window, args.synchronous) for _ in range(args.repeat)
        ]
        elapsed = statistics.median(r[0] for r in runs)
        errors = sum(r[1] for r in runs)
        server_cpu = statistics.median(r[2] for r in runs)
        client_cpu = statistics.median(r[3] for r in runs)
        print(
            f"{client:>10} client: {args.n} PlaceOrder + {args.n} CancelOrder, window "
            f"{args.window}, synchronous={args.synchronous}, median of {args.repeat}: "
            f"{elapsed:.2f} s = {args.n / elapsed:,.0f} place+cancel pairs/s "
            f"({2 * args.n / elapsed:,.0f} order commands/s); CPU server {server_cpu:.2f} s, "
            f"client {client_cpu:.2f} s; {errors} error replies"
        )


if __name__ == "__main__":
    main()
