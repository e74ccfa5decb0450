"""cfdash: a Coinfloor WebSocket API client, an embedded exchange and a trading dashboard.

``from cfdash import WSClient, Assets`` gives the seed-compatible client; they are imported on
first use so that ``cfdash --help`` does not pay for the websocket and ecdsa imports.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Assets", "WSClient", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "WSClient":
        from cfdash.client import WSClient

        return WSClient
    if name == "Assets":
        from cfdash.core.assets import Assets

        return Assets
    raise AttributeError(f"module 'cfdash' has no attribute {name!r}")
