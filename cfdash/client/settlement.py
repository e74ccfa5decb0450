"""Settling the orders in flight on a restored connection (the policy: ``inflight``).

Once the new connection's open orders are known (its GetOrders reply), each order whose
PlaceOrder reply was lost is found open, known closed, or re-sent; the replies to the re-sends
settle the rest, with one more GetOrders for those refused as out of sequence. The decisions
are ``inflight``'s pure functions; this drives them with the futures of the commands it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from cfdash.core.errors import TonceOutOfSequenceError

from .futures import gather, settle
from .inflight import ClosedOrder, open_by_tonce, placed_from_row, refused_resend, settle_orphan
from .session import Link, Session, definitive

__all__ = ["Settlement"]

log = logging.getLogger("cfdash.client")

Resend = tuple[int, Future[Any], Future[Any]]
"""(tonce, the caller's future, the re-sent PlaceOrder's future)."""


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
        resends: list[Resend] = []
        for tonce, future, command in in_flight.take_orphans():
            if future.done():
                continue
            seen, order_id = in_flight.seen(tonce)
            verdict = settle_orphan(tonce, open_orders, seen)
            if verdict == "open":
                log.info("order with tonce %d was placed: it is open", tonce)
                settle(future, placed_from_row(open_orders[tonce]))
            elif verdict == "closed":
                log.info("order with tonce %d was placed and has closed", tonce)
                in_flight.placed(tonce)
                session.forget_in_flight(tonce)
                settle(future, ClosedOrder(tonce, order_id))
            else:
                log.info("re-sending the order with tonce %d", tonce)
                resends.append((tonce, future, self.send(command)))
        if resends:
            # What was known placed before the re-sends reached the server.
            higher = in_flight.highest_placed
            answered = gather(inner for _, _, inner in resends)  # done once all are, errors too
            answered.add_done_callback(lambda _: self.resent(resends, higher))
        self.ready()

    def resent(self, resends: list[Resend], higher: int) -> None:
        """Every re-sent PlaceOrder is answered: their replies settle the callers' futures;
        one refused as out of sequence is settled by ``inflight.refused_resend`` after one
        more GetOrders (``higher``: the highest tonce known placed before the re-sends)."""
        direct = not self.link.closed  # every reply came on this connection
        refused: list[tuple[int, Future[Any]]] = []
        for tonce, outer, inner in resends:
            exc = inner.exception()
            if isinstance(exc, TonceOutOfSequenceError):
                refused.append((tonce, outer))
            else:
                settle(outer, None if exc else inner.result(), exc)
        if not refused:
            return
        batch = [
            (t, inner.exception() is None and not isinstance(inner.result(), ClosedOrder))
            for t, _, inner in resends
        ]
        session = self.session

        def checked(f: Future[Any]) -> None:
            found = open_by_tonce(f.result() if f.exception() is None else ())
            for tonce, outer in refused:
                verdict = refused_resend(
                    tonce,
                    found_open=tonce in found,
                    direct=direct,
                    highest_placed=higher,
                    batch=batch,
                )
                if verdict == "open":
                    settle(outer, placed_from_row(found[tonce]))
                elif verdict == "unknown":
                    log.info("re-sent order with tonce %d: outcome unknown", tonce)
                    session.outcome_unknown(
                        tonce,
                        outer,
                        "the re-sent order was refused as out of sequence, but an order with a "
                        "higher tonce was (or may have been) placed",
                    )
                else:
                    seen_id = session.orders.seen(tonce)[1]
                    settle(outer, ClosedOrder(tonce, seen_id, resent=True))

        # Already placed (its tonce is used) and, as GetOrders said, not open? Check once more
        # in case it was placed on the old connection after that GetOrders.
        self.send({"method": "GetOrders"}).add_done_callback(checked)
