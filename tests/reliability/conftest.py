"""Fixtures: an in-process exchange with fault injection, WSClients stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cfdash.client import WSClient
from cfdash.server.app import ServerThread
from cfdash.server.faults import Faults

from .helpers import SECOND_USER, add_user


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def exchange(tmp_path: Path, faults: Faults) -> Iterator[ServerThread]:
    thread = ServerThread(
        str(tmp_path / "exchange.sqlite3"), traders=False, faults=faults, close_timeout=0.5
    )
    thread.start()
    add_user(thread, *SECOND_USER)
    yield thread
    thread.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., WSClient]]:
    clients: list[WSClient] = []

    def make(url: str, **kwargs: Any) -> WSClient:
        kwargs.setdefault("socket_timeout", 2.0)
        kwargs.setdefault("backoff_base", 0.05)
        kwargs.setdefault("backoff_cap", 0.5)
        client = WSClient(url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()
