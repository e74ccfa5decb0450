"""Shared test settings."""

import pytest
from hypothesis import settings

pytest_plugins = ["tests.support.fixtures"]

settings.register_profile("ci", deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_real_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The dashboard remembers its market and theme under ``$XDG_STATE_HOME``: never in the
    real home from a test (nor from the programs tests start)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
