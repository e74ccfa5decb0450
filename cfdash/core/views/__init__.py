"""Local views fed by raw notices: order books, own orders and balances, tickers, trade tapes.

The client's event thread applies every incoming frame through ``Views.route``; the dashboard
reads the views. No locks inside: the client serialises access.
"""

from .balances import Balances, TradeVolumes
from .book import BookOrder, Level, OrderBook, Side
from .market import TICKER_FIELDS, TickerView, TradePrint, Trades, aggressor_of
from .orders import OPEN, PENDING, ClosedOrder, Fill, OwnOrder, OwnOrders
from .router import Changed, PairViews, Views

__all__ = [
    "OPEN",
    "PENDING",
    "TICKER_FIELDS",
    "Balances",
    "BookOrder",
    "Changed",
    "ClosedOrder",
    "Fill",
    "Level",
    "OrderBook",
    "OwnOrder",
    "OwnOrders",
    "PairViews",
    "Side",
    "TickerView",
    "TradePrint",
    "TradeVolumes",
    "Trades",
    "Views",
    "aggressor_of",
]
