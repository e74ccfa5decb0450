"""Fixtures for the engine tests."""

from __future__ import annotations

import pytest

from .helpers import Harness, funded, make_core


@pytest.fixture
def harness() -> Harness:
    core = make_core(up=True)
    funded(core, 1, 2, 3)
    return Harness(core)
