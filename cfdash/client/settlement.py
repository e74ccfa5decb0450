"""Settling the orders in flight on a restored connection (the policy: ``inflight``).

Once the new connection's open orders are known (its GetOrders reply), each order whose
PlaceOrder reply was lost is found open, known closed, of unknown outcome, or (only if it
never left the client) sent now, its reply settling it. The decisions are ``inflight``'s pure
functions; this drives them with the futures of the commands it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from .futures import settle
from .inflight import ClosedOrder, open_by_tonce, placed_from_row, settle_orphan
from .session import Link, Session, definitive

__all__ = ["Settlement"]

log = logging.getLogger("cfdash.client")

UNKNOWN = (
    "it is neither open nor seen in a notice (if placed, it may have traded or been cancelled "
    "by another session since), and it was not re-sent, so that it cannot be placed twice"
)
"""Why an order's outcome is unknown (``inflight.settle_orphan``)."""


class Settlement:
    """Settle the session's orders in flight on ``link``, a restored connection.

    ``send`` sends a command on that connection (a future of its reply), ``abort`` drops it
    (a new connection tries again), ``ready`` hands it out to other threads' commands.
    """

    __slots__ = ("abort", "link", "ready", "send", "session")

    def __init__(
        self,
        session: Session,
        link: Link,
        send: Callable[[Mapping[str, Any]], Future[Any]],
        abort: Callable[[str], None],
        ready: Callable[[], None],
    ) -> None:
        self.session = session
        self.link = link
        self.send = send
        self.abort = abort
        self.ready = ready

    def orders_known(self, orders: Future[Any]) -> None:
        """The open orders are known (GetOrders answered): settle each order in flight."""
        session = self.session
        in_flight = session.orders
        exc = orders.exception()
        if exc is not None:
            if self.link.closed or isinstance(exc, ConnectionError):
                return  # the orders stay in flight for the next connection
            auth = self.link.auth_future
            refused = auth.exception() if auth is not None and auth.done() else None
            if refused is not None and definitive(refused):
                # The credentials are refused: another connection would be refused as well.
                session.fail_orphans(f"re-authentication refused: {refused}")
                self.ready()
                return
            # Most likely the re-authentication did not pass: try again on a new connection.
            self.abort(f"cannot settle the orders in flight: {exc}")
            return
        open_orders = open_by_tonce(orders.result())
        for orphan in in_flight.take_orphans():
            tonce, future = orphan.tonce, orphan.future
            if future.done():
                continue
            seen, order_id = in_flight.seen(tonce)
            verdict = settle_orphan(
                tonce, open_orders, seen, sent=orphan.sent, command=orphan.command
            )
            if verdict == "open":
                log.info("order with tonce %d was placed: it is open", tonce)
                settle(future, placed_from_row(open_orders[tonce]))
            elif verdict == "closed":
                log.info("order with tonce %d was placed and has closed", tonce)
                session.forget_in_flight(tonce)
                settle(future, ClosedOrder(tonce, order_id))
            elif verdict == "unknown":
                log.info("order with tonce %d: outcome unknown", tonce)
                session.outcome_unknown(tonce, future, UNKNOWN)
            else:
                log.info("sending the order with tonce %d (it never left the client)", tonce)
                self.send(orphan.command).add_done_callback(relay(future))
        self.ready()


def relay(outer: Future[Any]) -> Callable[[Future[Any]], None]:
    """A callback settling ``outer`` as the future it is given was: the caller's future takes
    the outcome of the order's (first) sending."""

    def done(inner: Future[Any]) -> None:
        exc = inner.exception()
        settle(outer, None if exc else inner.result(), exc)

    return done
