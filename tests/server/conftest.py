"""Fixtures: an exchange on a loopback port in a background thread, with a temporary db
(``make_exchange`` is :mod:`tests.support.fixtures`'), and raw clients closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cfdash.server.app import ServerThread

from .helpers import Client


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The database ``make_exchange`` uses by default."""
    return tmp_path / "exchange.sqlite3"


@pytest.fixture
def exchange(make_exchange: Callable[..., ServerThread]) -> ServerThread:
    return make_exchange()


@pytest.fixture
def make_client(exchange: ServerThread) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(**kwargs: Any) -> Client:
        client = Client(exchange.url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
