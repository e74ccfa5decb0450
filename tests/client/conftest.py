"""Fixtures: a scripted loopback server and a factory of clients on it, stopped after each test
(:mod:`tests.support.fixtures`' ``scripted_server`` and ``make_scripted_client``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cfdash.client import WSClient
from tests.support.scripted import ScriptedServer


@pytest.fixture
def server(scripted_server: ScriptedServer) -> ScriptedServer:
    return scripted_server


@pytest.fixture
def make_client(make_scripted_client: Callable[..., WSClient]) -> Callable[..., WSClient]:
    """``make(*args, **kwargs)``: a ``WSClient`` on ``server`` (stopped after the test)."""
    return make_scripted_client
