"""cfdash: a Coinfloor WebSocket API client, an embedded exchange and a trading dashboard."""

__version__ = "0.1.0"
