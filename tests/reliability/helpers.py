"""Helpers for the reliability tests: a second funded user, logging in, the server's view and
the client's. Waiting (``wait_until``, ``WAIT``) is :mod:`tests.support.wait`'s, re-exported."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cfdash.client import WSClient
from cfdash.core.assets import Assets, Pair
from cfdash.server.app import ExchangeServer, ServerThread
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID, add_funded_user
from tests.support.servers import Client
from tests.support.wait import WAIT, wait_until

__all__ = [
    "DEMO",
    "SECOND_USER",
    "WAIT",
    "XBT_GBP",
    "add_user",
    "client_view",
    "login",
    "recovered",
    "server_truth",
    "wait_until",
]

XBT_GBP = Pair(Assets["XBT"], Assets["GBP"])
DEMO = (DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)
SECOND_USER = (2, "c2Vjb25kIHVzZXIgY29va2ll", "a second passphrase")


def add_user(exchange: ServerThread, user_id: int, cookie: str, passphrase: str) -> None:
    def add(server: ExchangeServer) -> None:
        assert server.core is not None
        add_funded_user(server.core, user_id, cookie, passphrase)
        server._flush()

    exchange.call(add)


def login(client: WSClient, user: tuple[int, str, str] = DEMO) -> WSClient:
    client.set_auth_data(*user)
    client.authenticate()
    assert client.auth_okay
    client.GetBalances().result(WAIT)  # load the account views, as the dashboard does
    client.GetOrders().result(WAIT)
    return client


def server_truth(url: str, user: tuple[int, str, str] = DEMO, pair: Pair = XBT_GBP) -> dict:
    """What a fresh connection sees: the book snapshot, the user's open orders and balances."""
    with Client(url) as fresh:
        assert fresh.authenticate(user[0], user[2], user[1])["error_code"] == 0
        book = fresh.call("WatchOrders", base=pair.base, counter=pair.counter, watch=True)
        orders = fresh.call("GetOrders")
        assert book["error_code"] == 0 and orders["error_code"] == 0
        return {
            "book": {o["id"]: (o["quantity"], o["price"]) for o in book["orders"]},
            "orders": {o["id"]: (o["tonce"], o["quantity"], o["price"]) for o in orders["orders"]},
            "balances": fresh.balances(),
        }


def client_view(client: WSClient, assets: Iterable[int], pair: Pair = XBT_GBP) -> dict[str, Any]:
    """The same, from the client's local views (under its lock); balances of ``assets``."""
    with client.lock:
        book = client.book(pair)
        own = client.own_orders
        balances = client.balances
        assert own is not None and balances is not None
        return {
            "book": book.as_orders() if book is not None and book.synced else None,
            "orders": {o.id: (o.tonce, o.quantity, o.price) for o in own.open_orders()},
            "balances": {a: balances.available(a) for a in assets},
        }


def recovered(client: WSClient, url: str, user: tuple[int, str, str] = DEMO) -> dict[str, Any]:
    """Wait until the client's views equal a fresh connection's; return that state."""
    last: list[Any] = []

    def same() -> dict[str, Any] | None:
        if client.state != "authenticated":
            return None
        truth = server_truth(url, user)
        view = client_view(client, truth["balances"])
        last[:] = [truth, view]
        return truth if view == truth else None

    try:  # each check is a new authenticated connection: not too many
        return wait_until(same, WAIT, interval=0.2)
    except AssertionError:
        raise AssertionError(f"views differ: server {last[:1]!r}, client {last[1:]!r}") from None
