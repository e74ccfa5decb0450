"""The protocol's error codes and messages, and the exception classes they map to.

The message texts are the spec's (WEBSOCKET-README.md) and are shared by the client, which maps
error replies to exceptions, and the embedded exchange, which sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Msg:
    """The spec's exact ``error_msg`` texts."""

    NO_SUCH_USER = "There is no such user."
    AUTH_TOO_RAPID = "You are making authentication attempts too rapidly."
    BAD_COOKIE = "You sent an incorrect login cookie."
    BAD_SIGNATURE = (
        "You sent an incorrect signature. This probably means you used a wrong passphrase."
    )
    NOT_AUTHENTICATED = "You are not authenticated."
    INFO_TOO_RAPID = "You are making information requests too rapidly."
    ORDERS_TOO_RAPID = "You are sending orders too rapidly."
    INVALID_PAIR = "You specified an invalid asset pair."
    ORDER_NOT_FOUND = "The specified order was not found."
    TONCE_OUT_OF_SEQUENCE = "Tonce is out of sequence."
    INSUFFICIENT_FUNDS = "You have insufficient funds."
    TOO_MANY_ORDERS = "You have too many outstanding orders."
    TONCE_ZERO = "Tonce must not be zero."
    PRICE_ZERO = "Price must not be zero."
    QUANTITY_ZERO = "Quantity must not be zero."
    TOTAL_ZERO = "Total must not be zero."
    TOTAL_OVERFLOW = "Order total would overflow."
    MARKET_NEEDS_QTY_OR_TOTAL = "You must specify either quantity or total for a market order."
    CANCEL_NEEDS_ID_OR_TONCE = "You must specify either order ID or tonce."
    NOT_WATCHING_ORDERS = "You are not watching the order book for the specified asset pair."
    ALREADY_WATCHING_ORDERS = (
        "You are already watching the order book for the specified asset pair."
    )
    NOT_WATCHING_TICKER = "You are not watching the ticker for the specified asset pair."
    ALREADY_WATCHING_TICKER = "You are already watching the ticker for the specified asset pair."


class CoinfloorError(Exception):
    """An error reply from the server (or a command refused before sending, code 8)."""

    code: int = 0

    def __init__(
        self, message: str, code: int | None = None, reply: Mapping[str, Any] | None = None
    ):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.reply = reply

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r})"


class NotFoundError(CoinfloorError):
    """Code 1: no such user, invalid asset pair, order not found, not watching."""

    code = 1


class AlreadyWatchingError(CoinfloorError):
    """Code 2: already watching that book or ticker."""

    code = 2


class TonceOutOfSequenceError(CoinfloorError):
    """Code 3: the tonce is not above the last one (the order may already be placed)."""

    code = 3


class InsufficientFundsError(CoinfloorError):
    code = 4


class TooManyOrdersError(CoinfloorError):
    code = 5


class RateLimitedError(CoinfloorError):
    """Code 6: one of the LIMITS.md rate limits was exceeded."""

    code = 6


class AuthenticationError(CoinfloorError):
    """Code 7: not authenticated, wrong cookie or wrong signature (passphrase)."""

    code = 7


class NoSuchUserError(NotFoundError, AuthenticationError):
    """Code 1 in reply to ``Authenticate``: "There is no such user." (an authentication error)."""

    code = 1


class BadRequestError(CoinfloorError):
    """Code 8: a malformed command."""

    code = 8


class ValidationError(BadRequestError, ValueError):
    """A command refused locally, before it reached the wire (same meaning as code 8)."""


class ProtocolError(Exception):
    """The server sent something the protocol does not allow (bad JSON, missing fields...)."""


ERROR_CLASSES: Mapping[int, type[CoinfloorError]] = {
    cls.code: cls
    for cls in (
        NotFoundError,
        AlreadyWatchingError,
        TonceOutOfSequenceError,
        InsufficientFundsError,
        TooManyOrdersError,
        RateLimitedError,
        AuthenticationError,
        BadRequestError,
    )
}


def error_from_reply(reply: Mapping[str, Any], method: str | None = None) -> CoinfloorError:
    """The typed exception for an error reply ``{"error_code": N, "error_msg": ...}``.

    ``method`` is the command answered, when known: code 1 to ``Authenticate`` is
    ``NoSuchUserError``, which is both a ``NotFoundError`` and an ``AuthenticationError``.
    """
    code = reply.get("error_code")
    message = reply.get("error_msg")
    if not isinstance(message, str):
        message = f"error {code}"
    if not isinstance(code, int) or isinstance(code, bool):
        return CoinfloorError(message, code=-1, reply=reply)
    if code == NoSuchUserError.code and method == "Authenticate":
        return NoSuchUserError(message, code=code, reply=reply)
    cls = ERROR_CLASSES.get(code, CoinfloorError)
    return cls(message, code=code, reply=reply)
