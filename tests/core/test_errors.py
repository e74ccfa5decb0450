import pytest

from cfdash.core.errors import (
    AlreadyWatchingError,
    AuthenticationError,
    BadRequestError,
    CoinfloorError,
    InsufficientFundsError,
    Msg,
    NotFoundError,
    RateLimitedError,
    TonceOutOfSequenceError,
    TooManyOrdersError,
    ValidationError,
    error_from_reply,
)


@pytest.mark.parametrize(
    ("code", "msg", "cls"),
    [
        (1, Msg.INVALID_PAIR, NotFoundError),
        (2, Msg.ALREADY_WATCHING_TICKER, AlreadyWatchingError),
        (3, Msg.TONCE_OUT_OF_SEQUENCE, TonceOutOfSequenceError),
        (4, Msg.INSUFFICIENT_FUNDS, InsufficientFundsError),
        (5, Msg.TOO_MANY_ORDERS, TooManyOrdersError),
        (6, Msg.ORDERS_TOO_RAPID, RateLimitedError),
        (7, Msg.BAD_SIGNATURE, AuthenticationError),
        (8, Msg.PRICE_ZERO, BadRequestError),
    ],
)
def test_error_codes_map_to_classes(code, msg, cls):
    err = error_from_reply({"tag": 5, "error_code": code, "error_msg": msg})
    assert type(err) is cls
    assert err.code == code and err.message == msg
    assert str(err) == f"[{code}] {msg}"
    assert isinstance(err, CoinfloorError)


def test_unknown_code_and_malformed_reply():
    err = error_from_reply({"error_code": 99, "error_msg": "odd"})
    assert type(err) is CoinfloorError and err.code == 99
    err = error_from_reply({"error_code": "x"})
    assert err.code == -1


def test_validation_error_is_both_value_error_and_code_8():
    err = ValidationError("Quantity must not be zero.")
    assert isinstance(err, ValueError) and isinstance(err, BadRequestError) and err.code == 8
