"""Keeping ``core.views.Views`` in step with the commands the client sends and their replies.

Notices go straight to ``Views.route``; this module handles the other half: opening a pair's
views before its Watch command goes out (so early notices are buffered), registering an order
in flight by tonce before PlaceOrder goes out, and loading each reply into the views.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cfdash.core.views import Balances, Changed, OwnOrders, Views

_NONE: frozenset[str] = frozenset()


def _pair(command: Mapping[str, Any]) -> tuple[int, int]:
    return (command["base"], command["counter"])


def before_send(views: Views, command: Mapping[str, Any]) -> None:
    """Prepare the views for ``command`` (already validated), just before it is sent."""
    method = command["method"]
    if method == "WatchOrders":
        if not command.get("watch", True):
            views.close_book(_pair(command))
        elif views.book(_pair(command)) is None:
            views.open_book(_pair(command))
        # An existing book stays: either it was reset by a reconnection and awaits this
        # snapshot, or it is live and the server will answer "already watching".
    elif method == "WatchTicker":
        if command.get("watch", True):
            views.open_ticker(_pair(command))
        else:
            views.close_ticker(_pair(command))
    elif method == "PlaceOrder":
        tonce = command.get("tonce")
        if tonce and views.own.by_tonce(tonce) is None:
            quantity = command.get("quantity")
            if quantity is None:  # a market order by total: its sign is the side
                quantity = command.get("total", 0)
            views.own.expect(tonce, *_pair(command), quantity, command.get("price"))


def apply_reply(views: Views, command: Mapping[str, Any], reply: Mapping[str, Any]) -> Changed:
    """Load a reply to ``command`` into the views; return the names of the views changed."""
    method = command["method"]
    ok = reply.get("error_code", 0) == 0
    if method == "PlaceOrder":
        tonce = command.get("tonce")
        if ok:
            changed = views.own.placed(tonce, reply.get("id"), reply.get("time"))
        else:
            changed = tonce is not None and views.own.failed(tonce)
        return {OwnOrders.name, Balances.name} if changed else _NONE
    if not ok:
        # A refused subscription drops its views; "already watching" (2) keeps the live ones.
        refused = command.get("watch", True) and reply.get("error_code") != 2
        if method == "WatchOrders" and refused:
            views.close_book(_pair(command))
        elif method == "WatchTicker" and refused:
            views.close_ticker(_pair(command))
        return _NONE
    if method == "WatchOrders":
        if command.get("watch", True):
            book = views.book(_pair(command))
            if book is not None:
                book.load_snapshot(reply.get("orders") or ())
                return {book.name}
    elif method == "WatchTicker":
        if command.get("watch", True):
            ticker = views.ticker(_pair(command))
            if ticker is not None:
                ticker.load(reply)
                return {ticker.name}
    elif method == "GetBalances":
        views.balances.load(reply.get("balances") or ())
        return {Balances.name}
    elif method == "GetOrders":
        views.own.load(reply.get("orders") or ())
        return {OwnOrders.name, Balances.name}
    elif method == "CancelAllOrders":
        # Every open order is gone (their OrderClosed notices follow or came first).
        views.own.load(())
        return {OwnOrders.name, Balances.name}
    elif method == "GetTradeVolume" and "volume" in reply and "asset" in command:
        views.volumes.set(command["asset"], reply["volume"])
        return {"volume"}
    return _NONE
