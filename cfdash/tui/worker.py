"""``RequestWorker``: the one thread that runs whatever may block on the network.

Connecting, authenticating and sending run here, in submission order, so the UI thread never
waits: each request returns a ``concurrent.futures.Future`` the app awaits, which fails only
with a ``CoinfloorError`` (the app shows its ``message``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from cfdash.client.futures import settle
from cfdash.core.errors import BadRequestError, CoinfloorError

_T = TypeVar("_T")


class ConnectionFailed(CoinfloorError):
    """A request that never got an answer: not connected, connection lost, timed out."""

    code = -1


def as_coinfloor(exc: BaseException) -> CoinfloorError:
    """The app shows ``CoinfloorError.message``: turn every other failure into one."""
    if isinstance(exc, CoinfloorError):
        return exc
    if isinstance(exc, FutureTimeout | TimeoutError):
        return ConnectionFailed("No answer from the exchange (timed out).")
    if isinstance(exc, ValueError):  # e.g. an amount the scales cannot represent
        return BadRequestError(str(exc))
    return ConnectionFailed(str(exc) or type(exc).__name__)


class RequestWorker:
    """Runs requests one at a time on a thread of its own; ``timeout`` bounds ``wait``."""

    def __init__(self, timeout: float, name: str = "cfdash-source") -> None:
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name)

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """Run ``fn(*args)`` on the worker; its result (or a ``CoinfloorError``) in a future."""
        outer: Future[_T] = Future()

        def run() -> None:
            if not outer.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args)
            except BaseException as exc:
                settle(outer, exc=as_coinfloor(exc))
            else:
                settle(outer, result)

        try:
            self._pool.submit(run)
        except RuntimeError:  # closed
            outer.set_exception(ConnectionFailed("The dashboard is closing."))
        return outer

    def wait(self, future: Future[_T]) -> _T:
        """``future``'s result within ``timeout``, or its failure as a ``CoinfloorError``."""
        try:
            return future.result(self.timeout)
        except BaseException as exc:
            raise as_coinfloor(exc) from exc

    def shutdown(self) -> None:
        """Run nothing more (requests queued are cancelled); does not wait."""
        self._pool.shutdown(wait=False, cancel_futures=True)
