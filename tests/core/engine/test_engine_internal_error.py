"""A bug in a command handler (sans-I/O): answered "Internal error.", logged with its
traceback (never the command: it may hold a cookie) and counted."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from cfdash.core.engine.commands import INTERNAL_ERROR

from .helpers import Harness, funded, make_core


def test_an_internal_error_is_answered_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    core = make_core()
    funded(core, 1)
    harness = Harness(core)
    sid = harness.session(1)

    def broken(*args: Any) -> Any:
        raise KeyError("a bug")

    core.commands.handlers["GetBalances"] = broken
    assert core.internal_errors == 0
    with caplog.at_level(logging.ERROR, logger="cfdash.core.engine.commands"):
        core.receive(sid, json.dumps({"method": "GetBalances", "tag": 5}), harness.now)
    (reply,) = [json.loads(text) for s, text in core.take_output() if s == sid]
    assert reply == {"tag": 5, "error_code": 8, "error_msg": INTERNAL_ERROR}
    assert core.internal_errors == 1
    assert isinstance(core.commands.last_internal_error, KeyError)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "GetBalances" in record.getMessage() and f"session {sid}" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    assert "cookie1" not in caplog.text
