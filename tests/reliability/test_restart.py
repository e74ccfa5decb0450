"""SIGKILL the exchange process under a connected client; restart it on the same port and db."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from cfdash.core.messages import PlacedOrder
from tests.support.processes import ServeProcess
from tests.support.servers import Client

from .helpers import SECOND_USER, WAIT, XBT_GBP, login, recovered, wait_until


def add_second_user(db: Path) -> None:
    user_id, cookie, passphrase = SECOND_USER
    args = ("--db", str(db), "--no-traders", "--add-user", str(user_id), "--cookie", cookie)
    with ServeProcess(*args, stdin_text=passphrase + "\n") as serve:
        serve.kill()


def test_client_recovers_after_the_server_is_killed_and_restarted(
    tmp_path: Path, make_client
) -> None:
    db = tmp_path / "exchange.sqlite3"
    add_second_user(db)
    args = ("--db", str(db), "--no-traders")
    opened: list[object] = []
    closed: list[object] = []
    with ServeProcess(*args) as first:
        client = login(
            make_client(
                first.url,
                reconnect=True,
                open_handler=opened.append,
                close_handler=lambda c, s, r: closed.append(s),
                err_handler=lambda c, e: None,
            )
        )
        client.watch(XBT_GBP).result(WAIT)
        placed = [
            client.place_order(XBT_GBP, Decimal(q), Decimal(p)).result(WAIT)
            for q, p in (("0.1", "900"), ("0.2", "950"), ("-0.3", "1100"))
        ]
        assert all(isinstance(p, PlacedOrder) for p in placed)
        user_id, cookie, passphrase = SECOND_USER
        with Client(first.url) as other:
            assert other.authenticate(user_id, passphrase, cookie)["error_code"] == 0
            assert other.place(50_000_000, 98_000)["error_code"] == 0
            assert other.place(-40_000_000, 105_000)["error_code"] == 0
        before = recovered(client, first.url)
        assert len(before["book"]) == 5 and len(before["orders"]) == 3

        first.kill()  # SIGKILL: no close frame, no goodbye
        wait_until(lambda: client.state == "reconnecting")
        with client.lock:  # the stale book is dropped at once, never patched later
            book = client.book(XBT_GBP)
            assert book is not None and not book.synced and len(book) == 0
        wait_until(lambda: closed)  # the close handler runs after the state is published
        assert closed == [None]

    with ServeProcess("--port", str(first.port), *args) as second:
        assert second.url == first.url
        after = recovered(client, second.url)  # no user action: same book, orders, balances
        assert after == before
        assert len(opened) == 2
        assert {p.id for p in placed} == set(after["orders"])
