"""The scripted server moved to :mod:`tests.support.scripted`; the old names still work."""

from tests.support.scripted import (
    COOKIE,
    GBP,
    PASSPHRASE,
    PUBLIC_KEY,
    PUBLIC_METHODS,
    USD,
    USER_ID,
    XBT,
    Handler,
    RawServer,
    ScriptedServer,
    Session,
    error,
)

__all__ = [
    "COOKIE",
    "GBP",
    "PASSPHRASE",
    "PUBLIC_KEY",
    "PUBLIC_METHODS",
    "USD",
    "USER_ID",
    "XBT",
    "Handler",
    "RawServer",
    "ScriptedServer",
    "Session",
    "error",
]
