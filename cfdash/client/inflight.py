"""Orders in flight when a connection dies, and the types their settled outcome takes.

Every order placed through ``WSClient.place_order`` carries a tonce. When the connection dies
before the PlaceOrder reply, the order may or may not have been placed. With ``reconnect=True``
the client settles it on the next connection, by that tonce (the spec's tonce exists exactly
for this: "the same order can be safely resubmitted"):

1. notices already seen for the tonce, or the open orders (GetOrders) show the order was
   placed: the future resolves with ``PlacedOrder`` (still open, id known) or ``ClosedOrder``
   (seen in notices, no longer open);
2. otherwise the *same* PlaceOrder (same tonce, new tag) is re-sent: its reply settles the
   future; "Tonce is out of sequence" (error 3) means the tonce was already used, i.e. the order
   was placed before, and since it is not open it has executed fully (or was cancelled): the
   future resolves with ``ClosedOrder(resent=True)`` (after one more GetOrders check).

Settling needs the account: if re-authentication fails, the new connection is dropped and the
next one tries again (with backoff, up to ``max_attempts``).

The order is never placed twice and the future always resolves, or fails with
``OrderOutcomeUnknown`` when the client will not reconnect (``reconnect=False``, ``stop()``, or
``max_attempts`` exhausted). Re-sending means the order may execute at a later market than the
one it was placed in; a caller who cannot accept that places orders with ``reconnect=False``
(or cancels by tonce on ``OrderOutcomeUnknown``).

Limits: error 3 is read as "already placed", which is only sound while this process alone
places orders for the account with increasing tonces; another client placing a higher tonce,
or a CancelAllOrders (which resets the tonce counter), in the window between the drop and the
re-send can make a never-placed order look placed, or let the re-sent one through twice.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

__all__ = ["ClosedOrder", "InFlightOrders", "OrderOutcomeUnknown"]


@dataclass(frozen=True, slots=True)
class ClosedOrder:
    """A PlaceOrder settled after its reply was lost: it was placed and is no longer open.

    ``id`` is known when a notice showed it (None for a market order or a re-send refused with
    error 3); ``resent`` tells that the outcome came from re-sending. ``closed`` is always
    True, to tell this result from ``PlacedOrder``/``MarketResult`` without an isinstance.
    """

    tonce: int
    id: int | None = None
    resent: bool = False
    closed: bool = True


class OrderOutcomeUnknown(ConnectionError):
    """The connection died before a PlaceOrder's reply and the client will not settle it.

    The order (``tonce``) may or may not be on the book: check ``GetOrders``, or cancel it by
    tonce.
    """

    def __init__(self, message: str, tonce: int) -> None:
        super().__init__(message)
        self.tonce = tonce


Entry = tuple[int, Future[Any], dict[str, Any]]
"""(tonce, future awaiting the outcome, the PlaceOrder command without its tag)."""


class InFlightOrders:
    """The tonces of PlaceOrders awaiting their outcome, notices seen for them, and orphans.

    Thread-safe. ``track`` is called when a PlaceOrder with a tonce is sent; ``note`` with
    every own-order notice; ``orphan`` when the connection dies before the reply.
    """

    __slots__ = ("_lock", "_orphans", "_seen", "_tracked")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tracked: set[int] = set()
        self._seen: dict[int, int | None] = {}
        self._orphans: dict[int, tuple[Future[Any], dict[str, Any]]] = {}

    def track(self, tonce: int, future: Future[Any]) -> None:
        """Follow ``tonce`` until ``future`` (the caller's) is done."""
        with self._lock:
            if tonce in self._tracked:
                return
            self._tracked.add(tonce)
        future.add_done_callback(lambda _: self._forget(tonce))

    def _forget(self, tonce: int) -> None:
        with self._lock:
            self._tracked.discard(tonce)
            self._seen.pop(tonce, None)

    def note(self, notice: Mapping[str, Any]) -> None:
        """Remember the order id of a tracked tonce from an own-order notice."""
        if not self._tracked:
            return
        if notice.get("notice") == "OrdersMatched":
            pairs = ((notice.get("bid_tonce"), notice.get("bid")),)
            pairs += ((notice.get("ask_tonce"), notice.get("ask")),)
        else:
            pairs = ((notice.get("tonce"), notice.get("id")),)
        with self._lock:
            for tonce, order_id in pairs:
                if tonce in self._tracked and self._seen.get(tonce) is None:
                    self._seen[tonce] = order_id

    def seen(self, tonce: int) -> tuple[bool, int | None]:
        """Whether a notice showed the order placed, and its id if one did."""
        with self._lock:
            return (tonce in self._seen, self._seen.get(tonce))

    def orphan(self, tonce: int, future: Future[Any], command: Mapping[str, Any]) -> None:
        """The connection died before the reply to this PlaceOrder: settle it later."""
        clean = {k: v for k, v in command.items() if k != "tag"}
        with self._lock:
            self._orphans[tonce] = (future, clean)

    def __bool__(self) -> bool:
        return bool(self._orphans)

    @property
    def orphans(self) -> int:
        return len(self._orphans)

    def take_orphans(self) -> list[Entry]:
        """Every orphan, in tonce order (the order they were placed in); forgets them."""
        with self._lock:
            orphans, self._orphans = self._orphans, {}
        return [(t, f, c) for t, (f, c) in sorted(orphans.items())]

    def fail_orphans(self, reason: Callable[[int], BaseException]) -> int:
        """Fail every orphan's future with ``reason(tonce)``; how many there were."""
        entries = self.take_orphans()
        for tonce, future, _ in entries:
            with contextlib.suppress(InvalidStateError):  # settled meanwhile
                future.set_exception(reason(tonce))
        return len(entries)
