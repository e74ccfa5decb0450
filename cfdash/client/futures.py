"""Small helpers for the ``concurrent.futures.Future`` every command returns."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from concurrent.futures import Future, InvalidStateError
from typing import Any

__all__ = ["failed", "gather", "settle"]


def failed(exc: BaseException) -> Future[Any]:
    """A future already failed with ``exc``."""
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()
    future.set_exception(exc)
    return future


def settle(future: Future[Any], result: Any = None, exc: BaseException | None = None) -> None:
    """Resolve ``future`` (or fail it with ``exc``) unless it is done already."""
    if future.done():
        return
    with contextlib.suppress(InvalidStateError):  # settled by another thread meanwhile
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)


def gather(futures: Iterable[Future[Any]]) -> Future[tuple[Any, ...]]:
    """A future of every result as a tuple, or the first exception (in the given order)."""
    items = list(futures)
    combined: Future[tuple[Any, ...]] = Future()
    combined.set_running_or_notify_cancel()
    remaining = [len(items)]
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        for f in items:
            if f.exception() is not None:
                settle(combined, exc=f.exception())
                return
        settle(combined, tuple(f.result() for f in items))

    if not items:
        combined.set_result(())
    for f in items:
        f.add_done_callback(one_done)
    return combined
