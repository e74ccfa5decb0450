"""``python -m cfdash serve`` as a real process: kill -9 durability, SIGTERM, traders, users."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from cfdash.core.assets import V2
from cfdash.core.errors import Msg
from tests.support.processes import run_cfdash

from .helpers import GBP, XBT, XBT_GBP, Client, ServeProcess

PRICE = 30_000_00


def _state(client: Client) -> tuple[list[dict], dict[int, int]]:
    orders = client.call("GetOrders")["orders"]
    return sorted(orders, key=lambda o: o["id"]), client.balances()


def test_acknowledged_state_survives_sigkill(tmp_path: Path) -> None:
    db = str(tmp_path / "x.sqlite3")
    with ServeProcess("--db", db, "--no-traders") as server:
        client = Client(server.url)
        assert client.authenticate()["error_code"] == 0
        for tonce in range(1, 6):
            reply = client.place(1_000_000 * tonce, PRICE - 1000 * tonce, tonce=tonce)
            assert reply["error_code"] == 0
        assert client.place(-2_000_000, PRICE + 500, tonce=6)["error_code"] == 0
        assert client.call("CancelOrder", tonce=2)["error_code"] == 0
        # a trade: the demo user's own bid at PRICE - 1000 is hit by a market sell
        sold = client.place(-500_000)
        assert sold["error_code"] == 0 and sold["remaining"] == 0
        volatile = client.place(1_000_000, PRICE - 9000, tonce=7, persist=False)
        assert volatile["error_code"] == 0
        orders, balances = _state(client)  # every reply read: all acknowledged
        volume = client.call("GetTradeVolume", asset=XBT)["volume"]
        assert volume == 500_000  # a self-trade counts once
        server.kill()  # SIGKILL: no shutdown code runs
        client.close()
    assert server.proc.returncode == -signal.SIGKILL

    with ServeProcess("--db", db, "--no-traders") as server:
        client = Client(server.url)
        client.authenticate()
        after_orders, after_balances = _state(client)
        # the persist=false order died with its connection; everything else is back
        assert [o["id"] for o in orders if o["tonce"] != 7] == [o["id"] for o in after_orders]
        assert after_orders == [o for o in orders if o["tonce"] != 7]
        released = V2.bid_reservation(XBT_GBP, 1_000_000, PRICE - 9000)
        assert after_balances == {**balances, GBP: balances[GBP] + released}
        assert client.call("GetTradeVolume", asset=XBT)["volume"] == volume
        stale = client.place(1_000_000, PRICE - 100, tonce=7)
        assert (stale["error_code"], stale["error_msg"]) == (3, Msg.TONCE_OUT_OF_SEQUENCE)
        assert client.place(1_000_000, PRICE - 100, tonce=8)["error_code"] == 0
        ticker = client.call("WatchTicker", base=XBT, counter=GBP, watch=True)
        assert ticker["last"] == PRICE - 1000 and ticker["volume"] == 500_000
        client.close()


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_acknowledged_order(tmp_path: Path) -> None:
    """Pipelined orders, SIGKILL while they are still being answered: after a restart every
    acknowledged order is there, what is stored is a prefix of what was sent (tonces 1..k,
    nothing half-applied) and each order's reservation is exactly what left the balance."""
    db = str(tmp_path / "x.sqlite3")
    n, qty, price = 600, 100_000, PRICE - 5000
    with ServeProcess("--db", db, "--no-traders") as server:
        client = Client(server.url)
        assert client.authenticate()["error_code"] == 0
        start = client.balances()
        for tonce in range(1, n + 1):
            client.send(
                {
                    "method": "PlaceOrder",
                    "tag": 1000 + tonce,
                    "tonce": tonce,
                    "base": XBT,
                    "counter": GBP,
                    "quantity": qty,
                    "price": price,
                }
            )
        acked = []
        while len(acked) < 20:  # some answered, most still in flight
            reply = client.recv()
            if "tag" in reply:
                assert reply["error_code"] == 0, reply
                acked.append(reply["tag"] - 1000)
        server.kill()
        client.close()
    assert server.proc.returncode == -signal.SIGKILL

    with ServeProcess("--db", db, "--no-traders") as server:
        client = Client(server.url)
        client.authenticate()
        orders, balances = _state(client)
        tonces = sorted(o["tonce"] for o in orders)
        assert set(acked) <= set(tonces)
        assert tonces == list(range(1, len(tonces) + 1))  # a prefix of the stream, no gaps
        each = V2.bid_reservation(XBT_GBP, qty, price)
        assert balances == {**start, GBP: start[GBP] - each * len(tonces)}
        # the tonce counter came back with them: the next tonce must be above the last stored
        stale = client.place(qty, price, tonce=tonces[-1])
        assert (stale["error_code"], stale["error_msg"]) == (3, Msg.TONCE_OUT_OF_SEQUENCE)
        assert client.place(qty, price, tonce=tonces[-1] + 1)["error_code"] == 0
        client.close()


def test_sigterm_is_graceful(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    with ServeProcess("--db", str(db), "--no-traders") as server:
        client = Client(server.url, ping_interval=None)
        client.authenticate()
        placed = client.place(1_000_000, PRICE, tonce=1)
        server.proc.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as info:
            while True:
                client.recv(timeout=10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert server.wait() == 0
    with sqlite3.connect(db) as raw:
        keys = [k for (k,) in raw.execute("SELECT key FROM state WHERE kind = 'order'")]
    assert keys == [str(placed["id"])]


def test_traders_make_a_market_within_seconds() -> None:
    with ServeProcess("--db", ":memory:", "--seed", "7") as server:
        watcher = Client(server.url)
        reply = watcher.call("WatchOrders", base=XBT, counter=GBP, watch=True)
        assert reply["error_code"] == 0
        start = time.monotonic()
        opened = watcher.wait_notice(lambda n: n["notice"] == "OrderOpened", timeout=5)
        assert opened["base"] == XBT and opened["counter"] == GBP
        matched = watcher.wait_notice(lambda n: n["notice"] == "OrdersMatched", timeout=8)
        assert matched["quantity"] > 0 and 20_000_00 < matched["price"] < 40_000_00
        assert time.monotonic() - start < 8
        # traders are users 1001+: the demo user's account is untouched
        demo = Client(server.url)
        demo.authenticate()
        assert demo.call("GetOrders")["orders"] == []
        assert demo.balances()[XBT] == 10 * 10**8
        watcher.close()
        demo.close()


def test_add_user_reads_the_passphrase_from_stdin(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    secret = "correct horse battery staple"
    args = ("--db", str(db), "--no-traders", "--add-user", "42", "--cookie", "c00kie")
    with ServeProcess(*args, stdin_text=secret + "\n") as server:
        client = Client(server.url)
        assert client.authenticate(42, secret, "c00kie")["error_code"] == 0
        assert client.balances()[XBT] == 10 * 10**8
        client.close()
        server.proc.send_signal(signal.SIGINT)
        assert server.wait() == 0
        assert server.proc.stderr is not None
        assert secret not in server.proc.stderr.read()
    for path in db.parent.iterdir():
        assert secret.encode() not in path.read_bytes()


def test_fee_rates_from_the_command_line() -> None:
    with ServeProcess(
        "--db", ":memory:", "--no-traders", "--maker-fee", "0.5", "--taker-fee", "1%"
    ) as server:
        client = Client(server.url)
        client.authenticate()
        assert client.place(10_000_000, PRICE)["error_code"] == 0  # 0.1 XBT bid rests (maker)
        assert client.place(-5_000_000)["remaining"] == 0  # a market sell hits it (taker)
        matched = client.wait_notice(lambda n: n["notice"] == "OrdersMatched")
        assert matched["total"] == 150_000  # 1500.00 GBP
        assert (matched["bid_counter_fee"], matched["ask_counter_fee"]) == (750, 1_500)
        client.close()


@pytest.mark.parametrize("bad", ["abc", "-1", "100", "nan"])
def test_bad_fee_rate_is_refused(bad: str) -> None:
    done = run_cfdash("serve", "--taker-fee", bad, timeout=20)
    assert done.returncode == 2 and "--taker-fee" in done.stderr and done.stdout == ""
