"""Rendering of replies and notices as JSON text.

The hot frames (PlaceOrder/CancelOrder replies, order and balance notices) hold only integers
and nulls, so they are rendered with f-strings; anything else goes through ``json``.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import CoinfloorError
from .book import Order

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
        return head + result + "}"  # type: ignore[operator]
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
