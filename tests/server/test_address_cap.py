"""The per-address connection cap: over it a handshake is refused (HTTP 429); a connection
that ends frees its place."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from websockets.exceptions import InvalidStatus

from cfdash.server.app import ServerThread
from tests.support.wait import wait_until

from .helpers import Client


def test_connections_over_the_cap_are_refused_until_one_ends(
    make_exchange: Callable[..., ServerThread],
) -> None:
    exchange = make_exchange(max_per_ip=2)
    first, second = Client(exchange.url), Client(exchange.url)
    try:
        with pytest.raises(InvalidStatus) as refused:
            Client(exchange.url)
        assert refused.value.response.status_code == 429
        assert second.call("Nope")["error_code"] == 8  # those admitted are served
        first.close()

        def admitted() -> Client | None:
            try:
                return Client(exchange.url)
            except InvalidStatus:
                return None

        third = wait_until(admitted, what="a place freed by the closed connection")
        assert third.welcome["notice"] == "Welcome"
        third.close()
    finally:
        second.close()
