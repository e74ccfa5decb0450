"""Fixtures: an exchange on a loopback port in a background thread, with a temporary db."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cfdash.server.app import ServerThread

from .helpers import Client


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "exchange.sqlite3"


@pytest.fixture
def make_exchange(db_path: Path) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def make(**options: Any) -> ServerThread:
        options.setdefault("traders", False)
        options.setdefault("db", str(db_path))
        thread = ServerThread(**options)
        thread.start()
        started.append(thread)
        return thread

    yield make
    for thread in started:
        thread.stop()


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
