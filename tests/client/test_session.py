"""The client's sans-I/O ``Session``: tags and reply futures, the watch registry, dispatch of
replies and notices, the restore plan and what a lost connection leaves. No socket, no thread:
frames are handed in as decoded dicts and the callbacks record what comes out."""

from __future__ import annotations

import base64
import contextlib
from concurrent.futures import Future
from typing import Any

import pytest

from cfdash.client.inflight import OrderOutcomeUnknown
from cfdash.client.session import Link, Session, definitive
from cfdash.core.assets import V2, Assets
from cfdash.core.errors import (
    AuthenticationError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ValidationError,
)
from cfdash.core.views import Views

XBT, GBP = Assets["XBT"], Assets["GBP"]
NONCE = base64.b64encode(bytes(range(16))).decode()


class Recorder:
    def __init__(self, views: bool = True) -> None:
        self.reports: list[Any] = []
        self.changes: list[set[str]] = []
        self.welcomed: list[Link] = []
        self.session = Session(
            "ws://test/",
            Views(V2) if views else None,
            contextlib.nullcontext(),
            contextlib.nullcontext(),
            report=self.reports.append,
            on_change=lambda changed: self.changes.append(set(changed)),
            on_welcome=self.welcomed.append,
        )


def send(session: Session, link: Link, command: dict[str, Any]) -> tuple[Future[Any], int]:
    """What ``WSClient`` does around the write: prepare, register, queue the views' side."""
    prepared, tag, follow = session.prepare(link, command)
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()
    session.register(link, prepared, future, now=1.0)
    if follow:
        session.expect(prepared)
    return future, tag


def test_tags_skip_pending_ones_and_a_callers_tag_must_be_free() -> None:
    session = Recorder().session
    link = Link(restore=False)
    _, first = send(session, link, {"method": "GetBalances"})
    link.pending[first + 1] = link.pending[first]  # a caller's explicit tag, say
    _, second = send(session, link, {"method": "GetBalances"})
    assert second == first + 2
    with pytest.raises(ValidationError, match="already in use"):
        session.prepare(link, {"method": "GetBalances", "tag": first})
    assert list(link.sent_at) == [first, second]  # oldest first


def test_views_follow_tagged_commands_and_only_tag_0_unsubscriptions() -> None:
    session = Recorder().session
    link = Link(restore=False)
    watch = {"method": "WatchOrders", "base": XBT, "counter": GBP}
    assert session.prepare(link, {**watch, "watch": True})[2] is True
    assert session.prepare(link, {**watch, "watch": True, "tag": 0})[2] is False
    assert session.prepare(link, {**watch, "watch": False, "tag": 0})[2] is True
    assert session.prepare(link, {"method": "EstimateMarketOrder"})[2] is False
    assert Recorder(views=False).session.prepare(link, {**watch})[2] is False


def test_a_reply_settles_its_future_and_loads_the_views() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    future, tag = send(session, link, {"method": "GetBalances"})
    reply = {"tag": tag, "error_code": 0, "balances": [{"asset": XBT, "balance": 5}]}
    session.receive(link, reply)
    assert future.done() and future.exception() is None
    assert link.pending == {} and link.sent_at == {}
    assert session.views is not None and session.views.balances.available(XBT) == 5
    assert rec.changes == [{"balances"}] and rec.reports == []


def test_an_error_reply_fails_the_future_with_its_typed_error() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    future, tag = send(session, link, {"method": "GetTradeVolume", "asset": XBT})
    session.receive(link, {"tag": tag, "error_code": 6, "error_msg": "Rate limit exceeded."})
    assert isinstance(future.exception(), RateLimitedError)
    assert rec.reports == []  # an error reply is not an error of the client


def test_frames_nobody_can_use_are_reported() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    session.receive(link, {"tag": 99, "error_code": 0})
    session.receive(link, {"something": 1})
    session.receive(link, {"notice": 5})
    session.receive(link, {"notice": "OrderOpened", "id": "x"})
    opened = {"base": XBT, "counter": GBP, "quantity": 1, "price": 5, "time": 1}
    session.receive(link, {"notice": "OrderOpened", "id": -7, **opened})  # believed before
    assert [type(r) for r in rec.reports] == [ProtocolError] * 5
    assert "unexpected tag 99" in str(rec.reports[0])
    assert "'id' out of range (-7" in str(rec.reports[4])
    session.receive(link, {"notice": "SomethingNew"})  # a newer server's: skipped, not reported
    session.receive(link, {"error_code": 0})  # an untagged reply (tag 0): msg_handler only
    assert len(rec.reports) == 5 and rec.changes == []


def test_a_watch_is_registered_its_snapshot_loaded_and_a_refusal_unregisters_it() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    future, tag = send(session, link, {"method": "WatchOrders", "base": XBT, "counter": GBP})
    assert session.watches == {
        ("WatchOrders", XBT, GBP): {"method": "WatchOrders", "base": XBT, "counter": GBP}
    }
    session.receive(link, {"tag": tag, "error_code": 0, "orders": []})
    assert future.exception() is None
    assert session.views is not None and session.views.book((XBT, GBP)) is not None
    # Re-subscribing after a drop, refused: the registry forgets it, the book closes.
    future, tag = send(session, link, {"method": "WatchOrders", "base": XBT, "counter": GBP})
    session.receive(link, {"tag": tag, "error_code": 1, "error_msg": "No such pair."})
    assert isinstance(future.exception(), NotFoundError)
    assert session.watches == {} and session.views.book((XBT, GBP)) is None
    # Unwatching removes it at once.
    send(session, link, {"method": "WatchTicker", "base": XBT, "counter": GBP, "watch": True})
    send(session, link, {"method": "WatchTicker", "base": XBT, "counter": GBP, "watch": False})
    assert session.watches == {}


def test_notices_reach_the_views_after_the_commands_sent_before_them() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    _, tag = send(session, link, {"method": "WatchOrders", "base": XBT, "counter": GBP})
    session.receive(link, {"tag": tag, "error_code": 0, "orders": []})
    opened = {"notice": "OrderOpened", "id": 7, "base": XBT, "counter": GBP}
    session.receive(link, {**opened, "quantity": 10_000, "price": 500_000})
    assert session.views is not None
    book = session.views.book((XBT, GBP))
    assert book is not None and len(book) == 1
    assert rec.changes[-1] and rec.reports == []


def test_welcome_gives_the_nonce_once() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=True)
    session.receive(link, {"notice": "Welcome", "nonce": NONCE})
    assert link.nonce == bytes(range(16)) and rec.welcomed == [link]
    session.receive(link, {"notice": "Welcome", "nonce": NONCE})
    other = Link(restore=False)
    session.receive(other, {"notice": "Welcome", "nonce": "not base64!"})
    assert rec.reports == [
        "Server nonce received more than once",
        "Server nonce received is invalid",
    ]
    assert rec.welcomed == [link] and other.nonce is None


def test_the_restore_plan_follows_what_the_session_had() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    send(session, link, {"method": "WatchTicker", "base": XBT, "counter": GBP, "watch": True})
    plan = session.restore_plan(has_credentials=True)
    assert (plan.authenticate, plan.balances, plan.orders) == (False, False, False)
    assert plan.watches == [{"method": "WatchTicker", "base": XBT, "counter": GBP, "watch": True}]
    session.authenticated(link)
    assert link.authenticated
    plan = session.restore_plan(has_credentials=True)
    assert (plan.authenticate, plan.balances, plan.orders) == (True, True, True)
    assert not session.restore_plan(has_credentials=False).authenticate
    # Without views, only the orders in flight need GetOrders.
    bare = Recorder(views=False).session
    bare.authenticated(Link(restore=False))
    plan = bare.restore_plan(has_credentials=True)
    assert (plan.authenticate, plan.balances, plan.orders) == (True, False, False)


def place(session: Session, link: Link, tonce: int) -> Future[Any]:
    command = {"method": "PlaceOrder", "base": XBT, "counter": GBP, "quantity": 1, "price": 2}
    return send(session, link, {**command, "tonce": tonce})[0]


def test_a_lost_connection_fails_its_commands_and_keeps_its_orders_in_flight() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    balances, _ = send(session, link, {"method": "GetBalances"})
    order = place(session, link, tonce=5)
    ticker, _ = send(session, link, {"method": "WatchTicker", "base": XBT, "counter": GBP})
    failed, unknown = session.lost(link, keep_watches=True, keep_orphans=True)
    assert failed == [balances, ticker] and unknown == []
    assert link.closed and link.pending == {} and link.sent_at == {}
    assert session.orders.orphans == 1 and len(session.watches) == 1
    [(tonce, future, command, sent)] = session.orders.take_orphans()
    assert (tonce, future) == (5, order) and "tag" not in command
    assert sent  # written: it may have reached the server


def test_without_reconnection_the_orders_in_flight_have_an_unknown_outcome() -> None:
    rec = Recorder()
    session, link = rec.session, Link(restore=False)
    order = place(session, link, tonce=6)
    ticker, _ = send(session, link, {"method": "WatchTicker", "base": XBT, "counter": GBP})
    failed, unknown = session.lost(link, keep_watches=False, keep_orphans=False)
    assert failed == [ticker] and unknown == [(6, order)] and session.watches == {}
    session.outcome_unknown(6, order, "gone")
    exc = order.exception()
    assert isinstance(exc, OrderOutcomeUnknown) and exc.tonce == 6 and "gone" in str(exc)
    assert session.views is not None and session.views.own.by_tonce(6) is None
    # Orphans kept earlier, once no reconnection will come.
    link2 = Link(restore=False)
    kept = place(session, link2, tonce=7)
    session.lost(link2, keep_watches=True, keep_orphans=True)
    session.fail_orphans("stopped")
    assert isinstance(kept.exception(), OrderOutcomeUnknown) and not session.orders


def test_definitive_authentication_failures() -> None:
    assert definitive(AuthenticationError("bad signature"))
    assert definitive(NotFoundError("no such user"))
    assert not definitive(RateLimitedError("slow down"))
    assert not definitive(ConnectionError("lost"))
