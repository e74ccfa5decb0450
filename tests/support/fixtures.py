"""Fixtures every test directory may use (registered in ``tests/conftest.py``): embedded
exchanges, the scripted server and clients, each stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cfdash.client import WSClient
from cfdash.server.app import ServerThread

from .scripted import ScriptedServer
from .servers import start_exchange


@pytest.fixture
def make_exchange(tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    """``make(**options)``: an embedded exchange on a loopback port (no traders, its database
    ``tmp_path / "exchange.sqlite3"`` unless ``db=`` says otherwise), stopped after the test."""
    started: list[ServerThread] = []

    def make(**options: Any) -> ServerThread:
        options.setdefault("db", str(tmp_path / "exchange.sqlite3"))
        thread = start_exchange(**options)
        started.append(thread)
        return thread

    yield make
    for thread in started:
        thread.stop()


@pytest.fixture
def wsclients() -> Iterator[Callable[..., WSClient]]:
    """``make(url, *args, **kwargs)``: a ``WSClient``, stopped after the test."""
    clients: list[WSClient] = []

    def make(url: str, *args: Any, **kwargs: Any) -> WSClient:
        client = WSClient(url, *args, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A :class:`~tests.support.scripted.ScriptedServer` on a loopback port."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def make_scripted_client(
    scripted_server: ScriptedServer, wsclients: Callable[..., WSClient]
) -> Callable[..., WSClient]:
    """``make(*args, **kwargs)``: a ``WSClient`` on ``scripted_server``, stopped after the test."""

    def make(*args: Any, **kwargs: Any) -> WSClient:
        kwargs.setdefault("socket_timeout", 1.5)
        return wsclients(scripted_server.url, *args, **kwargs)

    return make
