"""Rendering of replies and notices as JSON text.

The hot frames (PlaceOrder/CancelOrder replies, order and balance notices) hold only integers
and nulls, so they are rendered with f-strings; anything else goes through ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..errors import CoinfloorError
from .book import Level, MarketTaker, Order
from .sessions import Market, User
from .ticker import FIELDS as TICKER_FIELDS

dumps = json.JSONEncoder(separators=(",", ":")).encode


def null(value: int | None) -> str:
    return "null" if value is None else str(value)


def error_text(tag: int | None, code: int, message: str) -> str:
    reply: dict[str, Any] = {} if tag is None else {"tag": tag}
    reply["error_code"] = code
    reply["error_msg"] = message
    return dumps(reply)


def render_reply(tag: int | None, result: str | dict[str, Any] | None) -> str:
    """A success reply. ``result`` is None (no fields), a pre-rendered ``,"k":v...`` tail, or a
    dict of fields (flat all-int dicts are rendered without ``json``)."""
    head = '{"error_code":0' if tag is None else f'{{"tag":{tag},"error_code":0'
    if not result:
        return head + "}"
    if result.__class__ is str:
        return head + result + "}"
    assert isinstance(result, dict)
    parts = [head]
    for key, value in result.items():
        if type(value) is not int:
            reply: dict[str, Any] = {} if tag is None else {"tag": tag}
            reply["error_code"] = 0
            reply.update(result)
            return dumps(reply)
        parts.append(f'"{key}":{value}')
    return ",".join(parts) + "}"


def order_info(order: Order) -> dict[str, Any]:
    """An order as ``GetOrders``/``CancelAllOrders`` list it."""
    return {
        "id": order.id,
        "tonce": order.tonce,
        "base": order.pair.base,
        "counter": order.pair.counter,
        "quantity": order.quantity,
        "price": order.price,
        "time": order.time,
    }


def order_info_fields(order: Order) -> str:
    """``order_info`` as a reply tail (``CancelOrder``'s reply)."""
    pair = order.pair
    quantity = order.remaining if order.is_bid else -order.remaining
    return (
        f',"id":{order.id},"tonce":{null(order.tonce)},"base":{pair.base},'
        f'"counter":{pair.counter},"quantity":{quantity},"price":{order.price},'
        f'"time":{order.time}'
    )


def message_of(exc: BaseException) -> str:
    if isinstance(exc, CoinfloorError):
        return exc.message
    text = str(exc.args[0]) if exc.args else ""
    return text or "Malformed command."


class Outbox:
    """The frames to send, ``(session, text)`` in order, and the rendering of the notices.

    Notices are rendered by hand, once, for the sessions that receive them, from the market's
    pre-rendered pieces, the levels' price texts and the last time's text (``time_us``/
    ``time_text``, shared with the journal's order rows). The engine's hot path appends its
    OrderOpened, OrderClosed and BalanceChanged of an order to ``out`` itself (inlined: they
    come with nearly every command); the outbox renders the rest."""

    __slots__ = ("out", "time_text", "time_us")

    def __init__(self) -> None:
        self.out: list[tuple[int, str]] = []
        self.time_us = -1  # the last time rendered in a notice, and its text
        self.time_text = ""

    def take(self) -> list[tuple[int, str]]:
        out, self.out = self.out, []
        return out

    def send(self, sessions: Iterable[int], text: str) -> None:
        out = self.out
        for s in sessions:
            out.append((s, text))

    def public(self, watchers: set[int], owned: list[int], text: str) -> None:
        """A book notice to the watchers that did not get the owner's version."""
        out = self.out
        for s in watchers:
            if s not in owned:
                out.append((s, text))

    def balance(self, user: User, asset: int) -> None:
        if user.sessions:
            self.send(
                user.sessions,
                f'{{"notice":"BalanceChanged","asset":{asset},'
                f'"balance":{user.account.available.get(asset, 0)}}}',
            )

    def volume(self, user: User, asset: int) -> None:
        if user.sessions:
            self.send(
                user.sessions,
                f'{{"notice":"TradeVolumeChanged","asset":{asset},'
                f'"volume":{user.account.volume.get(asset, 0)}}}',
            )

    def traded(
        self,
        market: Market,
        buyer: User,
        seller: User,
        total: int,
        ask_fee: int,
        ask_is_order: bool,
        counter_changed_buyer: bool,
    ) -> None:
        """A trade's BalanceChanged and TradeVolumeChanged notices (after its OrdersMatched)."""
        out = self.out
        bid_sessions, ask_sessions = buyer.sessions, seller.sessions
        pair = market.pair
        base, counter = pair.base, pair.counter
        if bid_sessions:
            bavail = buyer.account.available
            text = f"{market.balance_base}{bavail[base]}}}"
            for s in bid_sessions:
                out.append((s, text))
            if counter_changed_buyer:
                text = f"{market.balance_counter}{bavail[counter]}}}"
                for s in bid_sessions:
                    out.append((s, text))
        if ask_sessions:
            savail = seller.account.available
            if ask_fee != total:
                text = f"{market.balance_counter}{savail[counter]}}}"
                for s in ask_sessions:
                    out.append((s, text))
            if not ask_is_order:
                text = f"{market.balance_base}{savail[base]}}}"
                for s in ask_sessions:
                    out.append((s, text))
        if bid_sessions:
            volume = buyer.account.volume
            text = f"{market.volume_base}{volume[base]}}}"
            for s in bid_sessions:
                out.append((s, text))
            if total:
                text = f"{market.volume_counter}{volume[counter]}}}"
                for s in bid_sessions:
                    out.append((s, text))
        if ask_sessions and seller is not buyer:
            volume = seller.account.volume
            text = f"{market.volume_base}{volume[base]}}}"
            for s in ask_sessions:
                out.append((s, text))
            if total:
                text = f"{market.volume_counter}{volume[counter]}}}"
                for s in ask_sessions:
                    out.append((s, text))

    def matched(
        self,
        market: Market,
        level: Level,
        bid: Order | MarketTaker,
        ask: Order | MarketTaker,
        buyer: User,
        seller: User,
        q: int,
        total: int,
        bid_rem: int | None,
        ask_rem: int | None,
        now_us: int,
        bid_fee: int,
        ask_fee: int,
    ) -> None:
        """OrdersMatched: with its tonce and fee to each party, without to the book's other
        watchers (the hottest notice)."""
        out = self.out
        bid_sessions, ask_sessions = buyer.sessions, seller.sessions
        watchers = market.book_watchers
        if now_us != self.time_us:
            self.time_us, self.time_text = now_us, str(now_us)
        if bid_rem is None:
            rems = f',"ask_rem":{ask_rem}'
        elif ask_rem is None:
            rems = f',"bid_rem":{bid_rem}'
        else:
            rems = f',"bid_rem":{bid_rem},"ask_rem":{ask_rem}'
        body = (
            f'{market.fields},"quantity":{q},"price":{level.text},"total":{total}{rems}'
            f',"time":{self.time_text}'
        )
        bid_part = f',"bid":{bid.id}' if type(bid) is Order else ""
        ask_part = f',"ask":{ask.id}' if type(ask) is Order else ""
        bt = "null" if bid.tonce is None else bid.tonce
        at = "null" if ask.tonce is None else ask.tonce
        bf = bid_fee or "0"  # a zero fee renders as the constant
        af = ask_fee or "0"
        if buyer is seller:
            owned: list[int] = bid_sessions
            if owned:
                text = (
                    f'{{"notice":"OrdersMatched"{bid_part},"bid_tonce":{bt}{ask_part}'
                    f',"ask_tonce":{at}{body},"bid_base_fee":0,"bid_counter_fee":{bf}'
                    f',"ask_base_fee":0,"ask_counter_fee":{af}}}'
                )
                for s in owned:
                    out.append((s, text))
        else:
            if bid_sessions:
                text = (
                    f'{{"notice":"OrdersMatched"{bid_part},"bid_tonce":{bt}{ask_part}'
                    f'{body},"bid_base_fee":0,"bid_counter_fee":{bf}}}'
                )
                for s in bid_sessions:
                    out.append((s, text))
            if ask_sessions:
                text = (
                    f'{{"notice":"OrdersMatched"{bid_part}{ask_part},"ask_tonce":{at}'
                    f'{body},"ask_base_fee":0,"ask_counter_fee":{af}}}'
                )
                for s in ask_sessions:
                    out.append((s, text))
            owned = bid_sessions + ask_sessions if ask_sessions else bid_sessions
        if watchers:
            text = f'{{"notice":"OrdersMatched"{bid_part}{ask_part}{body}}}'
            self.public(watchers, owned, text)

    def tickers(self, touched: Iterable[Market]) -> None:
        """TickerChanged (the fields that changed) to each touched market's ticker watchers."""
        for market in touched:
            watchers = market.ticker_watchers
            if not watchers:
                continue  # nobody to tell: WatchTicker catches ticker_pub up on subscribing
            values = market.ticker_values()
            old = market.ticker_pub
            if old == values:
                continue
            market.ticker_pub = values
            pair = market.pair
            d: dict[str, int | None] = {"base": pair.base, "counter": pair.counter}
            for i, name in enumerate(TICKER_FIELDS):
                if old[i] != values[i]:
                    d[name] = values[i]
            self.send(watchers, '{"notice":"TickerChanged",' + dumps(d)[1:])
