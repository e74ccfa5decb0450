"""Orders in flight when a connection dies, and the types their settled outcome takes.

Every order placed through ``WSClient.place_order`` carries a tonce. When the connection dies
before the PlaceOrder reply, the order may or may not have been placed. With ``reconnect=True``
the client settles it on the next connection, by that tonce, once the open orders (GetOrders)
are known (``settle_orphan``):

1. the open orders hold an order with its tonce (and its pair, price and side): it was placed
   and is open: ``PlacedOrder`` with its id;
2. an own-order notice for its tonce came before the connection died: it was placed, and is no
   longer open: ``ClosedOrder`` (with its id);
3. its frame never left this client (the connection was known closed before it was written):
   the server never had it, so the *same* PlaceOrder (same tonce, new tag) is sent now, and its
   reply settles the future like any reply (placed, or refused: error 3 included, which then
   means another session placed a higher tonce: the order was not placed);
4. otherwise the outcome is unknown: ``OrderOutcomeUnknown``. The order is never re-sent.

Why not re-send in case 4, as the spec's tonce invites? Another session of the same account
makes a re-send's answer meaningless: a CancelAllOrders (which cancels the order and resets the
tonce counter) lets the re-send through a second time, and a higher tonce placed meanwhile
makes the re-send of an order the server never had fail with "Tonce is out of sequence", which
looks exactly like "already placed". The client cannot see either from here: a closed order is
invisible to GetOrders, and error 3 only says that *some* tonce at least as high was used.

So: never placed twice by this client, and never reported placed unless the server showed it
(a reply, an open order, a notice). Settling needs the account: if re-authentication fails, the
new connection is dropped and the next one tries again (with backoff, up to ``max_attempts``).
The future always resolves, or fails with ``OrderOutcomeUnknown`` in case 4, when the client
will not reconnect (``reconnect=False``, ``stop()``, or ``max_attempts`` exhausted), or when the
credentials are refused on the new connection. On ``OrderOutcomeUnknown`` the caller decides:
check its balances and trades, cancel by tonce (a no-op if it is not open), or place it again
(with a new tonce).

Limits: an order with the same tonce placed by another session of the account (tonces collide
only if two clients use the same values) is taken for this one if its pair, price and side
match; a notice for the tonce is taken as this order's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from cfdash.core.messages import PlacedOrder

__all__ = [
    "ClosedOrder",
    "InFlightOrders",
    "OrderOutcomeUnknown",
    "Orphan",
    "Verdict",
    "field",
    "open_by_tonce",
    "placed_from_row",
    "same_order",
    "settle_orphan",
    "tonce_at_risk",
]


@dataclass(frozen=True, slots=True)
class ClosedOrder:
    """A PlaceOrder settled after its reply was lost: it was placed and is no longer open.

    Only a notice for its tonce can show that (``id``: the one the notice named, None for a
    market order). ``resent`` is always False (kept for callers that read it: an order is
    re-sent only when it never left the client, and then its reply settles it). ``closed`` is
    always True, to tell this result from ``PlacedOrder``/``MarketResult`` without an isinstance.
    """

    tonce: int
    id: int | None = None
    resent: bool = False
    closed: bool = True


class OrderOutcomeUnknown(ConnectionError):
    """The connection died before a PlaceOrder's reply, and the client cannot tell (or will not
    reconnect to learn) whether the server placed the order.

    The order (``tonce``) may have been placed (and even have traded or been cancelled since),
    or not: it was not re-sent. Check ``GetOrders`` and the balances, or cancel it by tonce.
    """

    def __init__(self, message: str, tonce: int) -> None:
        super().__init__(message)
        self.tonce = tonce


class Orphan(NamedTuple):
    """A PlaceOrder whose reply a lost connection took with it."""

    tonce: int
    future: Future[Any]
    """The caller's, awaiting the outcome."""
    command: dict[str, Any]
    """The PlaceOrder command without its tag."""
    sent: bool
    """Whether its frame may have reached the server (False: it never left this client)."""


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
        self._orphans: dict[int, Orphan] = {}

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
        pairs: tuple[tuple[Any, Any], ...]
        if notice.get("notice") == "OrdersMatched":
            pairs = (
                (notice.get("bid_tonce"), notice.get("bid")),
                (notice.get("ask_tonce"), notice.get("ask")),
            )
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

    def orphan(
        self, tonce: int, future: Future[Any], command: Mapping[str, Any], *, sent: bool = True
    ) -> None:
        """The connection died before the reply to this PlaceOrder: settle it later. ``sent``
        False: its frame was never written (the connection was known closed before)."""
        clean = {k: v for k, v in command.items() if k != "tag"}
        with self._lock:
            self._orphans[tonce] = Orphan(tonce, future, clean, sent)

    def __bool__(self) -> bool:
        return bool(self._orphans)

    @property
    def orphans(self) -> int:
        return len(self._orphans)

    def take_orphans(self) -> list[Orphan]:
        """Every orphan, in tonce order (the order they were placed in); forgets them."""
        with self._lock:
            orphans, self._orphans = self._orphans, {}
        return [orphans[t] for t in sorted(orphans)]


# -- the settlement decisions (pure) -----------------------------------------------------------

Verdict = Literal["open", "closed", "resend", "unknown"]
"""An order in flight's settlement: found open (``PlacedOrder``), placed and closed
(``ClosedOrder``), to be re-sent (it never left the client), outcome unknown
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


def same_order(row: Any, command: Mapping[str, Any]) -> bool:
    """Whether an open order (a GetOrders row) can be the one ``command`` placed: same pair
    and price, same side, no more left than was asked for (partly traded, perhaps)."""
    quantity, left = command.get("quantity"), field(row, "quantity")
    if type(quantity) is not int or type(left) is not int or command.get("price") is None:
        return False  # a market order never rests
    return (
        field(row, "base") == command.get("base")
        and field(row, "counter") == command.get("counter")
        and field(row, "price") == command.get("price")
        and (left > 0) == (quantity > 0)
        and abs(left) <= abs(quantity)
    )


def settle_orphan(
    tonce: int,
    open_tonces: Mapping[Any, Any],
    seen: bool,
    *,
    sent: bool = True,
    command: Mapping[str, Any] | None = None,
) -> Verdict:
    """An order in flight's settlement, once the new connection's open orders are known.

    Never sent (``sent`` False): the server never had it, re-send it. Else open (GetOrders has
    its tonce, and the row matches ``command`` when given), closed (a notice showed it placed,
    and it is no longer open), or unknown: it may have been placed and closed since (filled,
    or cancelled by another session's CancelAllOrders), or never have reached the server, and
    a re-send could not tell one from the other (see the module's docstring).
    """
    if not sent:
        return "resend"
    row = open_tonces.get(tonce)
    if row is not None and (command is None or same_order(row, command)):
        return "open"
    if seen:
        return "closed"
    return "unknown"
