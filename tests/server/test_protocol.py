"""The exchange over a real loopback socket: the protocol as a plain WebSocket client sees it."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.uri import parse_uri

from cfdash.core.assets import V2, Assets
from cfdash.core.errors import Msg
from cfdash.server.app import BINARY_FRAME_MSG, ServerThread
from cfdash.server.users import STARTING_FUNDS
from tests.support.wait import wait_until

from .helpers import GBP, XBT, XBT_GBP, Client

MakeClient = Callable[..., Client]
PRICE = 30_000_00  # 30000.00 GBP
QTY = 10_000_000  # 0.1 XBT


def test_welcome_nonce_is_fresh_per_connection(make_client: MakeClient) -> None:
    a, b = make_client(), make_client()
    for client in (a, b):
        assert client.welcome["notice"] == "Welcome"
        assert len(client.nonce) == 16
    assert a.nonce != b.nonce


def test_authenticate_demo_user_and_failures(make_client: MakeClient) -> None:
    client = make_client()
    wrong = client.authenticate(passphrase="open sesame")
    assert (wrong["error_code"], wrong["error_msg"]) == (7, Msg.BAD_SIGNATURE)
    cookie = client.authenticate(cookie="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert (cookie["error_code"], cookie["error_msg"]) == (7, Msg.BAD_COOKIE)
    nobody = client.authenticate(user_id=987654)
    assert (nobody["error_code"], nobody["error_msg"]) == (1, Msg.NO_SUCH_USER)
    assert client.call("GetBalances")["error_msg"] == Msg.NOT_AUTHENTICATED
    ok = client.authenticate()
    assert ok["error_code"] == 0 and set(ok) == {"tag", "error_code"}


def test_demo_user_is_funded(make_client: MakeClient) -> None:
    client = make_client()
    client.authenticate()
    balances = client.balances()
    for name, units in STARTING_FUNDS.items():
        code = Assets[name]
        assert balances[code] == units * V2.asset(code), name
    assert balances[XBT] == 10 * 10**8
    assert balances[GBP] == 1_000_000 * 100


def test_place_watch_and_cancel(make_client: MakeClient) -> None:
    trader, watcher = make_client(), make_client()
    trader.authenticate()
    start = trader.balances()[GBP]
    snapshot = watcher.call("WatchOrders", base=XBT, counter=GBP, watch=True)
    assert snapshot == {"tag": 1, "error_code": 0, "orders": []}

    placed = trader.place(QTY, PRICE, tonce=5)
    assert placed["error_code"] == 0 and set(placed) == {"tag", "error_code", "id", "time"}
    oid = placed["id"]
    reserve = V2.bid_reservation(XBT_GBP, QTY, PRICE)
    changed = trader.wait_notice(lambda n: n["notice"] == "BalanceChanged")
    assert changed == {"notice": "BalanceChanged", "asset": GBP, "balance": start - reserve}
    opened = trader.wait_notice(lambda n: n["notice"] == "OrderOpened")
    assert opened["id"] == oid and opened["tonce"] == 5 and opened["quantity"] == QTY
    public = watcher.wait_notice(lambda n: n["notice"] == "OrderOpened")
    assert "tonce" not in public and public["id"] == oid and public["price"] == PRICE

    again = make_client().call("WatchOrders", base=XBT, counter=GBP, watch=True)
    assert again["orders"] == [{"id": oid, "quantity": QTY, "price": PRICE, "time": placed["time"]}]

    cancelled = trader.call("CancelOrder", tonce=5)
    assert cancelled["error_code"] == 0
    assert (cancelled["id"], cancelled["quantity"], cancelled["tonce"]) == (oid, QTY, 5)
    closed = watcher.wait_notice(lambda n: n["notice"] == "OrderClosed")
    assert closed["id"] == oid and closed["quantity"] == QTY
    assert trader.balances()[GBP] == start
    assert trader.call("GetOrders")["orders"] == []


def test_error_replies_have_exact_codes_and_messages(make_client: MakeClient) -> None:
    client = make_client()
    anon = client.place(QTY, PRICE)
    assert (anon["error_code"], anon["error_msg"]) == (7, Msg.NOT_AUTHENTICATED)
    client.authenticate()
    cases = [
        (dict(base=XBT, counter=Assets["BCH"], quantity=1), 1, Msg.INVALID_PAIR),
        (dict(base=XBT, counter=GBP, quantity=QTY, price=0), 8, Msg.PRICE_ZERO),
        (dict(base=XBT, counter=GBP, quantity=0, price=PRICE), 8, Msg.QUANTITY_ZERO),
        (dict(base=XBT, counter=GBP, quantity=QTY, price=PRICE, tonce=0), 8, Msg.TONCE_ZERO),
        (dict(base=XBT, counter=GBP, quantity=10**12, price=PRICE), 4, Msg.INSUFFICIENT_FUNDS),
    ]
    for fields, code, message in cases:
        reply = client.call("PlaceOrder", **fields)
        assert (reply["error_code"], reply["error_msg"]) == (code, message), fields
    assert client.place(QTY, PRICE, tonce=10)["error_code"] == 0
    stale = client.place(QTY, PRICE, tonce=10)
    assert (stale["error_code"], stale["error_msg"]) == (3, Msg.TONCE_OUT_OF_SEQUENCE)
    missing = client.call("CancelOrder", id=999_999)
    assert (missing["error_code"], missing["error_msg"]) == (1, Msg.ORDER_NOT_FOUND)
    neither = client.call("CancelOrder")
    assert (neither["error_code"], neither["error_msg"]) == (8, Msg.CANCEL_NEEDS_ID_OR_TONCE)
    twice = client.call("WatchTicker", base=XBT, counter=GBP, watch=True)
    assert twice["error_code"] == 0
    twice = client.call("WatchTicker", base=XBT, counter=GBP, watch=True)
    assert (twice["error_code"], twice["error_msg"]) == (2, Msg.ALREADY_WATCHING_TICKER)


def test_malformed_frames_answer_error_8_and_keep_the_session(make_client: MakeClient) -> None:
    client = make_client()
    client.send("{not json")
    assert client.untagged()["error_code"] == 8
    client.send("[1, 2]")
    assert client.untagged()["error_code"] == 8
    client.ws.send(b'{"method":"GetBalances","tag":77}')
    assert client.untagged() == {"error_code": 8, "error_msg": BINARY_FRAME_MSG}
    client.ws.send(b"\xff\xfe\x00")
    assert client.untagged()["error_code"] == 8
    assert client.call("Frobnicate")["error_code"] == 8
    assert client.authenticate()["error_code"] == 0  # the session still works


def test_binary_error_keeps_its_place_in_the_reply_order(make_client: MakeClient) -> None:
    client = make_client()
    client.authenticate()
    client.send({"method": "GetOrders", "tag": 50})
    client.ws.send(b"\x00")
    client.send({"method": "GetOrders", "tag": 51})
    frames = [client.recv() for _ in range(3)]
    assert [f.get("tag") for f in frames] == [50, None, 51]


def test_huge_frame_closes_only_that_connection(
    exchange: ServerThread, make_client: MakeClient
) -> None:
    bystander = make_client()
    bystander.authenticate()
    big = make_client()
    big.send(json.dumps({"method": "GetBalances", "pad": "x" * 70_000}))
    with pytest.raises(ConnectionClosed) as info:
        big.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    assert bystander.balances()[XBT] == 10 * 10**8
    assert make_client().welcome["notice"] == "Welcome"


def test_persist_false_order_is_cancelled_when_its_connection_closes(
    make_client: MakeClient,
) -> None:
    owner, watcher = make_client(), make_client()
    owner.authenticate()
    watcher.call("WatchOrders", base=XBT, counter=GBP, watch=True)
    kept = owner.place(QTY, PRICE, tonce=1)["id"]
    volatile = owner.place(QTY, PRICE - 100, tonce=2, persist=False)["id"]
    owner.close()
    closed = watcher.wait_notice(lambda n: n["notice"] == "OrderClosed")
    assert closed["id"] == volatile
    again = make_client()
    again.authenticate()
    assert [o["id"] for o in again.call("GetOrders")["orders"]] == [kept]


def test_replies_are_sent_only_after_the_commit(db_path: Path, make_client: MakeClient) -> None:
    client = make_client()
    client.authenticate()
    placed = client.place(QTY, PRICE, tonce=3)
    with sqlite3.connect(db_path) as raw:
        stored = raw.execute(
            "SELECT value FROM state WHERE kind = 'order' AND key = ?", (str(placed["id"]),)
        ).fetchone()
    assert stored is not None and json.loads(stored[0])[3] == QTY


def test_pipelined_commands_are_answered_in_order(make_client: MakeClient) -> None:
    client = make_client()
    client.authenticate()
    n = 200
    for i in range(n):
        price = PRICE - 100 * (i % 50) - 100
        client.send(
            {
                "method": "PlaceOrder",
                "tag": 1000 + i,
                "tonce": i + 1,
                "base": XBT,
                "counter": GBP,
                "quantity": 100_000,
                "price": price,
            }
        )
    tags = []
    while len(tags) < n:
        msg = client.recv()
        if "notice" not in msg:
            assert msg["error_code"] == 0, msg
            tags.append(msg["tag"])
    assert tags == list(range(1000, 1000 + n))
    assert len(client.call("GetOrders")["orders"]) == n


def test_slow_reader_is_disconnected(make_exchange: Callable[..., ServerThread]) -> None:
    # the server stops reading it once it is 64 KiB behind (pause_at), and closes it when it
    # stays so for stall_timeout seconds or falls send_limit behind
    exchange = make_exchange(send_limit=64 * 1024, close_timeout=10.0, stall_timeout=2.0)
    with SlowClient(exchange.url) as slow:
        n = 20_000  # ~1.2 MB of error replies against a 64 KiB limit
        slow.send_many(f'{{"method":"Nope","tag":{i}}}' for i in range(1, n + 1))
        wait_until(lambda: exchange.call(lambda s: s.connections) == 0, 10, interval=0.05)
        frames, close_code = slow.read_all()
    assert 0 < frames < n  # the backlog was dropped, not sent
    assert close_code == 1008
    with Client(exchange.url) as other:
        assert other.welcome["notice"] == "Welcome"


def test_idle_connection_is_closed_but_pinging_client_stays(
    make_exchange: Callable[..., ServerThread],
) -> None:
    exchange = make_exchange(idle_timeout=1.0, tick_interval=0.1)
    pinging = Client(exchange.url, ping_interval=0.3, ping_timeout=5)
    assert pinging.call("WatchTicker", base=XBT, counter=GBP, watch=True)["error_code"] == 0
    # Connected after the pinging client's last command: when the idle check closes it, the
    # same check has seen the pinging client's commands idle for longer.
    idle = Client(exchange.url, ping_interval=None)
    with pytest.raises(ConnectionClosed) as info:
        idle.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    assert pinging.call("GetBalances")["error_code"] == 7  # alive: its pings were traffic
    pinging.close()


class SlowClient:
    """A raw-socket WebSocket client with a tiny receive buffer that reads only when told."""

    def __init__(self, url: str) -> None:
        uri = parse_uri(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((uri.host, uri.port))
        self.proto = ClientProtocol(uri)
        self.proto.send_request(self.proto.connect())
        self._flush()
        while self.proto.handshake_exc is None and not self.proto.events_received():
            self.proto.receive_data(self.sock.recv(4096))
        self.frames = 1  # the Welcome (or its start) came with the handshake or just after

    def _flush(self) -> None:
        for data in self.proto.data_to_send():
            if data:
                self.sock.sendall(data)

    def send_many(self, texts: object) -> None:
        for text in texts:  # type: ignore[attr-defined]
            self.proto.send_text(text.encode())
        self._flush()

    def read_all(self) -> tuple[int, int | None]:
        """Read until the connection ends: (data frames received, close code)."""
        self.sock.settimeout(10)
        frames = 0
        while True:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                data = b""
            if data:
                self.proto.receive_data(data)
            else:
                self.proto.receive_eof()
            for event in self.proto.events_received():
                if event.opcode.name == "TEXT":
                    frames += 1
            self._flush()
            if not data or self.proto.close_rcvd is not None:
                rcvd = self.proto.close_rcvd
                return frames, None if rcvd is None else rcvd.code

    def __enter__(self) -> SlowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def place_with_a_broken_commit(exchange: ServerThread, client: Client, error: Exception) -> None:
    """Authenticate, make every commit raise ``error``, send a PlaceOrder tagged 9."""
    client.authenticate()

    def broken(rows: object) -> None:
        raise error

    exchange.call(lambda s: setattr(s.store, "commit", broken))
    client.send(
        {"method": "PlaceOrder", "tag": 9, "base": XBT, "counter": GBP, "quantity": QTY,
         "price": PRICE}
    )  # fmt: skip


def test_a_failed_commit_acknowledges_nothing(
    exchange: ServerThread, make_client: MakeClient
) -> None:
    """SQLite refuses the commit: the order is refused (error 8), nothing of it is sent or kept,
    and the server stays up, read-only (issue 13, break 5: it used to close everyone, 1011)."""
    client = make_client()
    place_with_a_broken_commit(exchange, client, sqlite3.OperationalError("disk I/O error"))
    while True:
        msg = client.recv()
        assert msg.get("notice") != "OrderOpened", "a notice of an uncommitted order"
        if msg.get("tag") == 9:
            break
    assert msg["error_code"] == 8 and "cannot store" in msg["error_msg"], msg
    assert client.call("GetOrders")["orders"] == []
    assert exchange.server is not None and exchange.server.failure is None
    assert isinstance(exchange.server.storage_error, sqlite3.OperationalError)


def test_a_commit_that_fails_otherwise_stops_the_server(
    exchange: ServerThread, make_client: MakeClient
) -> None:
    """Not SQLite refusing rows but a bug (here a TypeError): nothing is acknowledged, everyone
    is closed (1011) and the server stops."""
    client = make_client()
    place_with_a_broken_commit(exchange, client, TypeError("a bug"))
    with pytest.raises(ConnectionClosed) as info:
        while True:
            msg = client.recv()
            assert msg.get("tag") != 9, "a reply for an uncommitted order"
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
    exchange.stop()
    assert isinstance(exchange.server.failure, TypeError)
