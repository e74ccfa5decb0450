"""Lazy connection and lazy authentication, with the seed's error behaviour."""

from __future__ import annotations

import threading

import pytest

from cfdash.client import Assets, WSClient
from cfdash.core.auth import decode_nonce, verify
from cfdash.core.errors import (
    AuthenticationError,
    Msg,
    NoSuchUserError,
    NotFoundError,
    RateLimitedError,
)

from .helpers import field
from .scripted_server import COOKIE, PASSPHRASE, PUBLIC_KEY, USER_ID, ScriptedServer, error

XBT, USD = Assets["XBT"], Assets["USD"]


def test_no_connection_until_the_first_send(server: ScriptedServer, make_client) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    later = make_client()  # a client made afterwards: its round trip ends after an eager connect
    later.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    assert len(server.sessions) == 1  # the later client's only
    assert client.state == "disconnected"
    assert not client.connected
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    assert len(server.sessions) == 2
    assert client.state == "connected"


def test_public_calls_do_not_authenticate(server: ScriptedServer, make_client) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.WatchOrders(base=XBT, counter=USD, watch=True).result(2)
    client.EstimateMarketOrder(base=XBT, counter=USD, quantity=100).result(2)
    assert server.session().methods() == ["WatchOrders", "EstimateMarketOrder"]
    assert client.state == "connected"


def test_first_private_call_authenticates_once_with_a_valid_signature(
    server: ScriptedServer, make_client
) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    reply = client.GetBalances().result(2)
    client.GetOrders().result(2)
    session = server.session()
    assert session.methods() == ["Authenticate", "GetBalances", "GetOrders"]
    auth = session.received[0]
    assert auth["user_id"] == USER_ID and auth["cookie"] == COOKIE
    # The signature covers this connection's server nonce and the client's nonce.
    client_nonce = decode_nonce(auth["nonce"])
    assert verify(PUBLIC_KEY, USER_ID, session.nonce, client_nonce, auth["signature"])
    assert not verify(PUBLIC_KEY, USER_ID, bytes(16), client_nonce, auth["signature"])
    assert client.state == "authenticated" and client.auth_okay and client.auth_error is None
    assert {field(b, "asset") for b in field(reply, "balances")} == {XBT, USD}


def test_concurrent_first_calls_connect_and_authenticate_once(
    server: ScriptedServer, make_client
) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    barrier = threading.Barrier(6)
    results: list[object] = []

    def worker() -> None:
        barrier.wait()
        results.append(client.GetTradeVolume(asset=XBT).result(3))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(results) == 6
    assert len(server.sessions) == 1
    assert server.session().methods().count("Authenticate") == 1
    assert server.session().methods()[0] == "Authenticate"


def test_wrong_passphrase_goes_to_err_handler_and_the_command_still_runs(
    server: ScriptedServer, make_client
) -> None:
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append((c, e)))
    client.set_auth_data(USER_ID, COOKIE, "not the passphrase")
    assert client.auth_error is None  # not tried yet
    future = client.GetBalances()
    assert errors == [(client, "Authentication failed")]
    # the seed's generic text above; the server's own reason kept for those who ask
    assert isinstance(client.auth_error, AuthenticationError) and client.auth_error.code == 7
    # As in the seed, the command is sent anyway; the server refuses it.
    with pytest.raises(AuthenticationError) as info:
        future.result(2)
    assert info.value.code == 7
    assert server.session().methods() == ["Authenticate", "GetBalances"]
    assert client.auth_complete and not client.auth_okay
    # Authentication is attempted once per connection, as in the seed.
    with pytest.raises(AuthenticationError):
        client.GetOrders().result(2)
    assert server.session().methods().count("Authenticate") == 1


def test_wrong_cookie_raises_connection_error_without_err_handler(
    server: ScriptedServer, make_client
) -> None:
    client = make_client()
    client.set_auth_data(USER_ID, "wrong cookie", PASSPHRASE)
    with pytest.raises(ConnectionError) as info:
        client.GetBalances()
    assert str(info.value) == f"Connection to {server.url} failed: Authentication failed"
    assert server.session().methods() == ["Authenticate"]


def test_missing_credentials(server: ScriptedServer, make_client) -> None:
    client = make_client()
    with pytest.raises(ConnectionError, match="Missing authentication data"):
        client.GetBalances()
    assert server.sessions == []  # nothing was connected for nothing


def test_auth_timeout_is_unable_to_complete(make_client, server: ScriptedServer) -> None:
    server.handlers["Authenticate"] = lambda session, cmd: None  # never answers
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e), socket_timeout=0.4)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.GetBalances()
    assert "Unable to complete authentication" in errors


def test_no_welcome_means_no_nonce() -> None:
    with ScriptedServer(welcome=False) as srv:
        client = WSClient(srv.url, socket_timeout=0.3)
        client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
        try:
            with pytest.raises(ConnectionError, match="Server nonce not received"):
                client.GetBalances()
        finally:
            client.stop()


def test_connection_refused_raises_in_the_caller() -> None:
    client = WSClient("ws://127.0.0.1:9/", socket_timeout=0.5)
    with pytest.raises(ConnectionError, match=r"Connection to ws://127\.0\.0\.1:9/ failed"):
        client.WatchTicker(base=XBT, counter=USD, watch=True)
    assert client.state == "disconnected"
    errors: list[object] = []
    client.err_handler = lambda c, e: errors.append(e)
    future = client.WatchTicker(base=XBT, counter=USD, watch=True)
    assert len(errors) == 1 and isinstance(errors[0], OSError)
    with pytest.raises(ConnectionError):
        future.result(0)


def test_private_call_from_msg_handler_does_not_deadlock(
    server: ScriptedServer, make_client
) -> None:
    """On the event thread authentication is pipelined instead of waited for."""
    done = threading.Event()
    futures = []

    def on_message(client: WSClient, text: str) -> None:
        if '"Welcome"' in text:
            futures.append(client.GetBalances())
            futures[0].add_done_callback(lambda f: done.set())

    client = make_client(msg_handler=on_message)
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    client.WatchTicker(base=XBT, counter=USD, watch=True).result(2)
    assert done.wait(2)
    assert len(field(futures[0].result(0), "balances")) == 2
    methods = [m for m in server.session().methods() if m != "WatchTicker"]
    assert methods == ["Authenticate", "GetBalances"]


def test_insecure_ssl_warns() -> None:
    with pytest.warns(UserWarning, match="not be verified"):
        WSClient("wss://example.invalid/", insecure_ssl=True)


def test_no_such_user_is_an_authentication_error(server: ScriptedServer, make_client) -> None:
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e))
    client.set_auth_data(USER_ID + 1, COOKIE, PASSPHRASE)  # the server knows only user 1
    client.authenticate()
    assert errors == ["Authentication failed"]
    refusal = client.auth_error
    assert isinstance(refusal, NoSuchUserError) and refusal.code == 1
    assert isinstance(refusal, AuthenticationError) and isinstance(refusal, NotFoundError)
    assert refusal.message == Msg.NO_SUCH_USER
    # Code 1 to any other command is still only a NotFoundError.
    server.handlers["CancelOrder"] = lambda session, command: error(1, Msg.ORDER_NOT_FOUND)
    with pytest.raises(NotFoundError) as info:
        client.CancelOrder(id=5).result(2)
    assert not isinstance(info.value, AuthenticationError)


@pytest.mark.parametrize("user_id", ["1", "0001"])
def test_user_id_may_be_a_string_of_digits(
    server: ScriptedServer, make_client, user_id: str
) -> None:
    client = make_client()
    client.set_auth_data(user_id, COOKIE, PASSPHRASE)  # the seed called int() on it
    assert client.user_id == USER_ID
    client.GetBalances().result(2)
    assert client.auth_okay
    assert server.session().received[0]["user_id"] == USER_ID


@pytest.mark.parametrize(
    "user_id",
    [True, False, 1.0, 0, -1, "0", "-1", "+1", "1.5", " 1", "1 ", "", "\uff11", "\u00b2", None],
)
def test_bad_user_ids_are_refused(user_id: object) -> None:
    client = WSClient("ws://127.0.0.1:9/")
    with pytest.raises(ValueError, match="user_id"):
        client.set_auth_data(user_id, COOKIE, PASSPHRASE)  # type: ignore[arg-type]
    assert client.user_id is None


def test_a_passing_authentication_failure_does_not_stick(
    server: ScriptedServer, make_client
) -> None:
    """A rate-limited attempt (6) is tried again by the next private call; a wrong
    signature (7) is not (see above)."""
    answers = [error(6, Msg.AUTH_TOO_RAPID)]

    def authenticate(session, command):
        return answers.pop() if answers else server._canned_Authenticate(session, command)

    server.handlers["Authenticate"] = authenticate
    errors: list[object] = []
    client = make_client(err_handler=lambda c, e: errors.append(e))
    client.set_auth_data(USER_ID, COOKIE, PASSPHRASE)
    with pytest.raises(AuthenticationError):
        client.GetBalances().result(2)  # refused: the session is not authenticated
    assert errors == ["Authentication failed"]
    assert isinstance(client.auth_error, RateLimitedError)
    client.GetBalances().result(2)
    assert client.auth_okay and client.auth_error is None
    assert server.session().methods() == [
        "Authenticate",
        "GetBalances",
        "Authenticate",
        "GetBalances",
    ]
