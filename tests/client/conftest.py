"""Fixtures: a scripted loopback server and a factory of clients stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cfdash.client import WSClient
from tests.support.scripted import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def make_client(
    server: ScriptedServer, wsclients: Callable[..., WSClient]
) -> Callable[..., WSClient]:
    """``make(*args, **kwargs)``: a ``WSClient`` on ``server`` (stopped after the test)."""

    def make(*args: Any, **kwargs: Any) -> WSClient:
        kwargs.setdefault("socket_timeout", 1.5)
        return wsclients(server.url, *args, **kwargs)

    return make
