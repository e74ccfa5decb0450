"""The seed-compatible Coinfloor client: ``WSClient`` and the seed's ``Assets`` mapping."""

from cfdash.core.assets import Assets

from .inflight import ClosedOrder, OrderOutcomeUnknown
from .tonce import TonceClock
from .wsclient import ClientState, WSClient, gather

__all__ = [
    "Assets",
    "ClientState",
    "ClosedOrder",
    "OrderOutcomeUnknown",
    "TonceClock",
    "WSClient",
    "gather",
]
