"""Protocol messages: command validation, frame decoding, command builders, notices, replies.

One module per idea, everything public re-exported here: ``validate`` (``validate_command``
and the method tables), ``decode`` (``decode_frame``), ``build`` (the command builders),
``notices`` (notice classes, ``parse_notice``) and ``replies`` (reply classes, ``parse_reply``).

``STRICT_FIELDS`` is read by ``validate`` itself: patch ``messages.validate.STRICT_FIELDS`` to
relax the unknown-field rule.
"""

from __future__ import annotations

from .build import (
    PairLike,
    cancel_all_orders,
    cancel_order,
    estimate_market_order,
    get_balances,
    get_orders,
    get_trade_volume,
    place_order,
    watch_orders,
    watch_ticker,
)
from .decode import MAX_DEPTH, decode_frame
from .notices import (
    NOTICE_FIELDS,
    NOTICES,
    TICKER_FIELDS,
    BalanceChanged,
    Notice,
    OrderClosed,
    OrderOpened,
    OrdersMatched,
    TickerChanged,
    TradeVolumeChanged,
    Welcome,
    WireField,
    parse_notice,
)
from .replies import (
    BalanceReply,
    Balances,
    BookOrder,
    BookSnapshot,
    EstimateReply,
    MarketResult,
    OrderReply,
    PlacedOrder,
    TickerReply,
    TradeVolume,
    parse_reply,
)
from .validate import (
    INFO_METHODS,
    INVALID_ASSET,
    METHODS,
    ORDER_METHODS,
    PUBLIC_METHODS,
    STRICT_FIELDS,
    validate_command,
)

__all__ = [
    "INFO_METHODS",
    "INVALID_ASSET",
    "MAX_DEPTH",
    "METHODS",
    "NOTICES",
    "NOTICE_FIELDS",
    "ORDER_METHODS",
    "PUBLIC_METHODS",
    "STRICT_FIELDS",
    "TICKER_FIELDS",
    "BalanceChanged",
    "BalanceReply",
    "Balances",
    "BookOrder",
    "BookSnapshot",
    "EstimateReply",
    "MarketResult",
    "Notice",
    "OrderClosed",
    "OrderOpened",
    "OrderReply",
    "OrdersMatched",
    "PairLike",
    "PlacedOrder",
    "TickerChanged",
    "TickerReply",
    "TradeVolume",
    "TradeVolumeChanged",
    "Welcome",
    "WireField",
    "cancel_all_orders",
    "cancel_order",
    "decode_frame",
    "estimate_market_order",
    "get_balances",
    "get_orders",
    "get_trade_volume",
    "parse_notice",
    "parse_reply",
    "place_order",
    "validate_command",
    "watch_orders",
    "watch_ticker",
]
