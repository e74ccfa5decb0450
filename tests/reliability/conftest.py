"""Fixtures: an in-process exchange with fault injection, WSClients stopped after each test;
the scripted ``server`` of the client's own reliability tests (``test_client_*``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cfdash.client import WSClient
from cfdash.server.app import ServerThread
from cfdash.server.faults import Faults
from tests.support.scripted import ScriptedServer

from .helpers import SECOND_USER, add_user


@pytest.fixture
def server(scripted_server: ScriptedServer) -> ScriptedServer:
    return scripted_server


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def exchange(make_exchange: Callable[..., ServerThread], faults: Faults) -> ServerThread:
    thread = make_exchange(faults=faults, close_timeout=0.5)
    add_user(thread, *SECOND_USER)
    return thread


@pytest.fixture
def make_client(wsclients: Callable[..., WSClient]) -> Callable[..., WSClient]:
    """``make(url, **kwargs)``: a ``WSClient`` that reconnects quickly, stopped after the test."""

    def make(url: str, **kwargs: Any) -> WSClient:
        kwargs.setdefault("socket_timeout", 2.0)
        kwargs.setdefault("backoff_base", 0.05)
        kwargs.setdefault("backoff_cap", 0.5)
        return wsclients(url, **kwargs)

    return make
