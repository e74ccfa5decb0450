"""The passphrase and the derived key never show in logs, reprs, exceptions or tracebacks."""

from __future__ import annotations

import base64
import logging
import pickle
import traceback
from collections.abc import Callable

import pytest
import websocket

from cfdash.client import WSClient
from cfdash.core.auth import derive_private_key
from cfdash.core.errors import CoinfloorError
from tests.support.scripted import COOKIE, PASSPHRASE, USER_ID, ScriptedServer


@pytest.fixture
def make_client(make_scripted_client: Callable[..., WSClient]) -> Callable[..., WSClient]:
    """Clients on the scripted ``server`` (this directory's ``make_client`` takes a url)."""
    return make_scripted_client


WRONG = "not the passphrase at all"


def secrets_of(passphrase: str) -> list[str]:
    """Every spelling of the passphrase and its key a leak could take."""
    d = derive_private_key(USER_ID, passphrase).exponent
    raw = d.to_bytes(28, "big")
    return [
        passphrase,
        repr(passphrase.encode()),
        str(d),
        hex(d),
        f"{d:x}",
        f"{d:X}",
        base64.b64encode(raw).decode(),
        raw.hex(),
    ]


def describe(exc: BaseException) -> str:
    return "".join(
        traceback.TracebackException.from_exception(exc, capture_locals=True).format()
    ) + repr(exc)


def test_secrets_stay_out_of_logs_reprs_and_tracebacks(
    server: ScriptedServer, make_client, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    websocket.enableTrace(True, handler=logging.NullHandler())  # frames at DEBUG as well
    try:
        with (
            caplog.at_level(logging.DEBUG),
            caplog.at_level(logging.DEBUG, logger="cfdash"),
            caplog.at_level(logging.DEBUG, logger="websocket"),
        ):
            good = make_client(reconnect=True, backoff_base=0.05)
            good.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
            good.GetBalances().result(3)  # a full login
            server.session().drop()  # and a re-login after a reconnection
            server.wait_for(lambda: len(server.sessions) == 2 and good.auth_okay)
            seen += [repr(good), repr(vars(good)), str(good.__dict__)]
            with pytest.raises(TypeError) as pickled:
                pickle.dumps(good)
            seen.append(describe(pickled.value))

            errors: list[object] = []
            bad = make_client(err_handler=lambda c, e: errors.append(e))
            bad.set_auth_data(USER_ID, COOKIE, WRONG)
            future = bad.GetBalances()
            with pytest.raises(CoinfloorError) as failed:  # error 7: not authenticated
                future.result(3)
            seen += [describe(failed.value), repr(bad), repr(vars(bad)), *map(repr, errors)]
            seen += [describe(e) for e in errors if isinstance(e, BaseException)]

            plain = make_client()  # no err_handler: the seed raises ConnectionError
            plain.set_auth_data(USER_ID, COOKIE, WRONG)
            with pytest.raises(ConnectionError) as raised:
                plain.authenticate()
            seen.append(describe(raised.value))
    finally:
        websocket.enableTrace(False)
    assert any("Authenticate" in r.getMessage() for r in caplog.records)  # DEBUG was on
    assert errors == ["Authentication failed"]
    seen += [r.getMessage() for r in caplog.records]
    seen += [caplog.text]
    text = "\n".join(seen)
    for secret in secrets_of(PASSPHRASE) + secrets_of(WRONG):
        assert secret not in text


def test_the_passphrase_is_not_kept(server: ScriptedServer) -> None:
    client = WSClient(server.url)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    held = [v for v in vars(client).values() if isinstance(v, str | bytes)]
    assert PASSPHRASE not in held and PASSPHRASE.encode() not in held


LEAKY = "leaky-passphrase-42"
"""A module global: no frame of the tracebacks below holds it in a local but the client's."""
BAD_PASSPHRASES = [f"bad surrogate \ud800 {LEAKY}", 42, None]


@pytest.mark.parametrize("user_id", [-5, 0, True, 1.5, "abc", "-1", None, 2**64])
def test_bad_user_id_tracebacks_hold_no_passphrase(user_id: object) -> None:
    """Locals of every frame of the traceback (``capture_locals``), and chained exceptions."""
    with pytest.raises(ValueError) as info:
        WSClient("ws://127.0.0.1:9/").set_auth_data(user_id, COOKIE, LEAKY)  # type: ignore[arg-type]
    assert "user_id" in str(info.value)
    assert LEAKY not in describe(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None
    if type(user_id) is int and 0 <= user_id < 2**64:
        return  # zero is a valid key derivation input; only set_auth_data refuses it
    with pytest.raises(ValueError) as info:
        derive_private_key(user_id, LEAKY)  # type: ignore[arg-type]
    assert LEAKY not in describe(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


@pytest.mark.parametrize("which", range(len(BAD_PASSPHRASES)))
def test_bad_passphrase_tracebacks_hold_no_passphrase(which: int) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        WSClient("ws://127.0.0.1:9/").set_auth_data(USER_ID, COOKIE, BAD_PASSPHRASES[which])  # type: ignore[arg-type]
    text = describe(info.value)
    assert LEAKY not in text and "\\ud800" not in text
    assert info.value.__context__ is None and info.value.__cause__ is None
