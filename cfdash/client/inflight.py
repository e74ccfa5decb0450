"""Orders in flight when a connection dies, and the types their settled outcome takes.

Every order placed through ``WSClient.place_order`` carries a tonce. When the connection dies
before the PlaceOrder reply, the order may or may not have been placed. With ``reconnect=True``
the client settles it on the next connection, by that tonce (the spec's tonce exists exactly
for this: "the same order can be safely resubmitted"):

1. notices already seen for the tonce, or the open orders (GetOrders) show the order was
   placed: the future resolves with ``PlacedOrder`` (still open, id known) or ``ClosedOrder``
   (seen in notices, no longer open);
2. otherwise the *same* PlaceOrder (same tonce, new tag) is re-sent: its reply settles the
   future. "Tonce is out of sequence" (error 3) means that this tonce *or a higher one* was
   placed since the last CancelAllOrders. When no higher tonce can have been placed (none is
   known placed, from PlaceOrder replies, own-order notices or GetOrders, and every higher
   order re-sent alongside was accepted by its re-send), the order was placed before and,
   not being open, has executed fully (or was cancelled): ``ClosedOrder(resent=True)``.
   Otherwise error 3 proves nothing about it (a refused order followed by a placed one looks
   the same): ``OrderOutcomeUnknown``. Either way one more GetOrders check comes first, and
   finds the order if it is open after all (``PlacedOrder``).

Settling needs the account: if re-authentication fails, the new connection is dropped and the
next one tries again (with backoff, up to ``max_attempts``).

The order is never placed twice and the future always resolves, or fails with
``OrderOutcomeUnknown`` when the client will not reconnect (``reconnect=False``, ``stop()``, or
``max_attempts`` exhausted), when the credentials are refused on the new connection, or when
error 3 is ambiguous (above). Re-sending means the order may execute at a later market than the
one it was placed in; a caller who cannot accept that places orders with ``reconnect=False``
(or cancels by tonce on ``OrderOutcomeUnknown``).

Limits:

* error 3 is read as "already placed" only when this client knows of no higher tonce placed;
  another client (or process) placing a higher tonce for the same account is not seen and can
  still make a never-placed order look placed (``ClosedOrder`` for an order that was refused);
* the highest tonce known placed is forgotten at each CancelAllOrders reply (the server resets
  its counter); a CancelAllOrders whose reply was lost with the connection, or one sent by
  another client, in the window between the drop and the re-send can let the re-sent order
  through a second time;
* an order whose re-send was itself lost with a second connection settles as
  ``OrderOutcomeUnknown`` if its first re-send was refused with error 3 (the replies of that
  batch are not all known).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

from cfdash.core.messages import PlacedOrder

__all__ = [
    "ClosedOrder",
    "InFlightOrders",
    "OrderOutcomeUnknown",
    "Verdict",
    "field",
    "open_by_tonce",
    "placed_from_row",
    "refused_resend",
    "settle_orphan",
    "tonce_at_risk",
]


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
    """The connection died before a PlaceOrder's reply and the client will not (or cannot)
    settle it.

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

    __slots__ = ("_highest", "_lock", "_orphans", "_seen", "_tracked")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tracked: set[int] = set()
        self._seen: dict[int, int | None] = {}
        self._orphans: dict[int, tuple[Future[Any], dict[str, Any]]] = {}
        self._highest = 0

    def placed(self, tonce: object) -> None:
        """A tonce known to be placed successfully (a reply, a notice, an open order)."""
        if type(tonce) is int and tonce > self._highest:
            with self._lock:
                self._highest = max(self._highest, tonce)

    def note_reply(self, method: str, command: Mapping[str, Any], result: Any) -> None:
        """Follow the highest tonce known placed from a successful reply: a PlaceOrder's own,
        every open order's (GetOrders); CancelAllOrders resets it."""
        if method == "PlaceOrder":
            tonce = command.get("tonce")
            if tonce:
                self.placed(tonce)
        elif method == "GetOrders":
            for order in result or ():
                tonce = field(order, "tonce")
                if tonce:
                    self.placed(tonce)
        elif method == "CancelAllOrders":
            self.reset_placed()

    def reset_placed(self) -> None:
        """CancelAllOrders succeeded: the server's tonce counter is back to zero."""
        with self._lock:
            self._highest = 0

    @property
    def highest_placed(self) -> int:
        """The highest tonce known placed since the last CancelAllOrders (0: none)."""
        return self._highest

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
        """Remember the order id of a tracked tonce from an own-order notice (and that its
        tonce was placed)."""
        pairs: tuple[tuple[Any, Any], ...]
        if notice.get("notice") == "OrdersMatched":
            pairs = (
                (notice.get("bid_tonce"), notice.get("bid")),
                (notice.get("ask_tonce"), notice.get("ask")),
            )
        else:
            pairs = ((notice.get("tonce"), notice.get("id")),)
        for tonce, _ in pairs:
            if tonce is not None:
                self.placed(tonce)
        if not self._tracked:
            return
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


# -- the settlement decisions (pure) -----------------------------------------------------------

Verdict = Literal["open", "closed", "resend", "unknown"]
"""An order in flight's settlement: found open (``PlacedOrder``), placed and closed
(``ClosedOrder``), to be re-sent (never placed, as far as is known), outcome unknown
(``OrderOutcomeUnknown``)."""


def field(item: Any, name: str) -> Any:
    """``item[name]`` for a mapping (a plain reply row), else ``item.name`` (a typed one)."""
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def open_by_tonce(rows: Iterable[Any]) -> dict[Any, Any]:
    """GetOrders' rows (open orders) by tonce."""
    return {field(row, "tonce"): row for row in rows}


def placed_from_row(row: Any) -> PlacedOrder:
    """The ``PlacedOrder`` an order in flight resolves to when GetOrders finds it open."""
    return PlacedOrder(field(row, "id"), field(row, "time"), {})


def tonce_at_risk(command: Mapping[str, Any]) -> int | None:
    """The tonce of a PlaceOrder whose reply a lost connection took with it (the order may or
    may not be placed), or None: any other command simply failed."""
    tonce = command.get("tonce") if command["method"] == "PlaceOrder" else None
    return tonce or None


def settle_orphan(tonce: int, open_tonces: Mapping[Any, Any], seen: bool) -> Verdict:
    """Step 1 of the policy, once the new connection's open orders are known: open (GetOrders
    has it), closed (a notice showed it placed, and it is no longer open), else re-send it."""
    if tonce in open_tonces:
        return "open"
    if seen:
        return "closed"
    return "resend"


def refused_resend(
    tonce: int,
    *,
    found_open: bool,
    direct: bool,
    highest_placed: int,
    batch: Iterable[tuple[int, bool]],
) -> Verdict:
    """A re-sent PlaceOrder refused as out of sequence (error 3): its settlement.

    Error 3 means this tonce *or a higher one* was placed since the last CancelAllOrders. It
    proves this order was placed only when no higher tonce could have been: none known placed
    (``highest_placed``, as known before the re-sends), and every higher order re-sent alongside
    (``batch``: (tonce, accepted by its re-send)) was accepted, so was not placed before; and
    every reply came on the connection the re-sends went on (``direct``). Otherwise the outcome
    is unknown, unless the last GetOrders check found the order open (``found_open``).
    """
    if found_open:
        return "open"
    ambiguous = (
        not direct
        or highest_placed > tonce
        or any(t > tonce and not accepted for t, accepted in batch)
    )
    return "unknown" if ambiguous else "closed"
