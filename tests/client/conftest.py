"""Fixtures: a scripted loopback server and a factory of clients stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cfdash.client import WSClient

from .scripted_server import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def make_client(server: ScriptedServer) -> Iterator[Callable[..., WSClient]]:
    clients: list[WSClient] = []

    def make(*args: Any, **kwargs: Any) -> WSClient:
        kwargs.setdefault("socket_timeout", 1.5)
        client = WSClient(server.url, *args, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()
