"""Accounts the embedded exchange creates: the AUTH.md demo user and the starting funds.

The server only ever stores a user's cookie and public key; the demo passphrase below is the
published AUTH.md test vector, and any other passphrase is read, turned into a key and dropped.
"""

from __future__ import annotations

from typing import Final

from cfdash.core.assets import MONTHS, Assets
from cfdash.core.auth import derive_private_key
from cfdash.core.engine.exchange import ExchangeCore

DEMO_USER_ID: Final = 1
DEMO_PASSPHRASE: Final = "opensesame"
DEMO_COOKIE: Final = "HGREqcILTz8blHa/jsUTVTNBJlg="


# Whole units of each asset a new account starts with.
STARTING_FUNDS: dict[str, int] = {
    "XBT": 10,
    "BCH": 100,
    "GBP": 1_000_000,
    "EUR": 1_000_000,
    "USD": 1_000_000,
    "PLN": 1_000_000,
    **{f"XBT{m}18": 10 for m in MONTHS},
    **{f"USD{m}18": 100_000 for m in MONTHS},
}


def fund(core: ExchangeCore, user_id: int, units: dict[str, int] | None = None) -> None:
    """Credit whole ``units`` (default ``STARTING_FUNDS``) in the core's wire scales."""
    scales = core.config.scales
    for name, amount in (STARTING_FUNDS if units is None else units).items():
        code = Assets[name]
        core.credit(user_id, code, amount * scales.asset(code))


def add_funded_user(core: ExchangeCore, user_id: int, cookie: str, passphrase: str) -> bool:
    """Create (and fund) a user, or replace an existing user's cookie and key (no funding).

    Returns whether the user is new. Only the public key is kept.
    """
    public_key = derive_private_key(user_id, passphrase).public_key()
    is_new = user_id not in core.user_ids()
    core.add_user(user_id, cookie, public_key)
    if is_new:
        fund(core, user_id)
    return is_new


def bootstrap(core: ExchangeCore) -> None:
    """Set up a new exchange: the funded AUTH.md demo user."""
    add_funded_user(core, DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)
