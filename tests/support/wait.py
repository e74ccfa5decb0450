"""Waiting for a condition, the one way the tests wait: poll until it holds or time runs out.

Timeouts are generous (the CI box is a loaded two-core machine); a healthy run takes a
fraction of them, and a condition that holds returns at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # Textual only for the annotation: tests.support itself never loads it
    from textual.pilot import Pilot

T = TypeVar("T")

WAIT = 20.0
"""Generous: the machine may be loaded; a healthy run takes a fraction of it."""


def wait_until(
    predicate: Callable[[], T], timeout: float = WAIT, what: str = "", interval: float = 0.02
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something true; that
    value. Checked at least once after the deadline; then ``AssertionError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


async def until(
    pilot: Pilot[Any],
    condition: Callable[[], Any],
    timeout: float = WAIT,
    interval: float = 0.02,
) -> Any:
    """Let the app run (``pilot.pause``) until ``condition()`` is true; its value.

    As generous as ``wait_until`` (it was 5 s: too short for a login and a snapshot on a
    loaded two-core machine; a condition that holds returns at once)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for the dashboard: {condition}")
        await pilot.pause(interval)
