"""Issue 13, breaks 2, 3 and 7: the exchange under abuse, against a real ``cfdash serve``.

Every client here is on loopback; the attacker of the login lockout comes from another
loopback address (127.0.0.2: Linux routes all of 127/8 to ``lo``) so that the per-address
limits tell the attacker from the owner, as they would on a network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cfdash.core.engine.limits import WATCH_TOO_RAPID
from cfdash.core.errors import Msg
from cfdash.server.users import DEMO_USER_ID
from tests.support.processes import run_cfdash

from .helpers import GBP, XBT, Client, Message, ServeProcess

ATTACKER = ("127.0.0.2", 0)
PAIR = {"base": XBT, "counter": GBP}
ESTIMATE = {"method": "EstimateMarketOrder", **PAIR, "quantity": 1}


@pytest.fixture
def serve() -> Iterator[ServeProcess]:
    with ServeProcess("--db", ":memory:", "--no-traders") as server:
        yield server


def _burst(client: Client, frames: list[Message]) -> list[Message]:
    """Send every frame at once (tagged 1..n), then read every reply, in tag order."""
    for tag, frame in enumerate(frames, 1):
        client.send({**frame, "tag": tag})
    replies = [client.reply(tag, timeout=30.0) for tag in range(1, len(frames) + 1)]
    return replies


def _codes(replies: list[Message]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for reply in replies:
        counts[reply["error_code"]] = counts.get(reply["error_code"], 0) + 1
    return counts


def test_bogus_logins_do_not_lock_out_the_owner(serve: ServeProcess) -> None:
    """Break 2: 1,005 bogus Authenticate frames from one anonymous connection used to spend
    the owner's 1,000 attempts an hour (the owner then got error 6 for up to an hour)."""
    bogus = {
        "method": "Authenticate",
        "user_id": DEMO_USER_ID,
        "cookie": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "nonce": "AAAAAAAAAAAAAAAAAAAAAA==",
        "signature": ["AAAA", "AAAA"],
    }
    with Client(serve.url, source_address=ATTACKER) as attacker:
        replies = _burst(attacker, [bogus] * 1005)
    codes = _codes(replies)
    assert codes == {7: 100, 6: 905}, codes  # 100 failures an hour per connection...
    assert replies[-1]["error_msg"] == Msg.AUTH_TOO_RAPID
    with Client(serve.url) as owner:
        assert owner.authenticate()["error_code"] == 0  # ...and the owner is not locked out
    with Client(serve.url, source_address=ATTACKER) as again:
        assert again.authenticate()["error_code"] == 0  # the right cookie still works there
    for _ in range(9):  # 1,000 failures an hour per address
        with Client(serve.url, source_address=ATTACKER) as more:
            assert _codes(_burst(more, [bogus] * 100)) == {7: 100}
    with Client(serve.url, source_address=ATTACKER) as last:
        reply = last.authenticate()  # refused before its cookie is looked at: no oracle
        assert (reply["error_code"], reply["error_msg"]) == (6, Msg.AUTH_TOO_RAPID)
    with Client(serve.url) as owner:
        assert owner.authenticate()["error_code"] == 0


def test_more_connections_do_not_multiply_anonymous_estimates(serve: ServeProcess) -> None:
    """Break 3: 20 fresh anonymous connections used to get 20 x 1,000 estimates."""
    clients = [Client(serve.url) for _ in range(20)]
    try:
        for client in clients:
            for tag in range(1, 1001):
                client.send({**ESTIMATE, "tag": tag})
        replies = [c.reply(tag, timeout=30.0) for c in clients for tag in range(1, 1001)]
    finally:
        for client in clients:
            client.close()
    codes = _codes(replies)
    assert codes == {0: 1000, 6: 19_000}, codes  # 1,000 per 1,000 s per peer address
    assert {r["error_msg"] for r in replies if r["error_code"]} == {Msg.ORDERS_TOO_RAPID}


def test_watch_toggles_are_limited_per_connection_and_address(serve: ServeProcess) -> None:
    """Break 3: WatchOrders/WatchTicker on/off had no limit at all (75,600 in 3 s)."""
    toggles = [
        {"method": "WatchOrders", **PAIR, "watch": on} for _ in range(150) for on in (True, False)
    ]
    with Client(serve.url) as one:
        replies = _burst(one, toggles)
    assert _codes(replies)[0] == 100, _codes(replies)  # 100 per 10 s per connection
    refused = [r for r in replies if r["error_code"]]
    assert {(r["error_code"], r["error_msg"]) for r in refused} == {(6, WATCH_TOO_RAPID)}
    clients = [Client(serve.url) for _ in range(15)]
    try:
        for client in clients:
            for tag, frame in enumerate(toggles[:100], 1):
                client.send({**frame, "tag": tag})
        total = [c.reply(tag, timeout=30.0) for c in clients for tag in range(1, 101)]
    finally:
        for client in clients:
            client.close()
    assert _codes(total)[0] == 900, _codes(total)  # 1,000 per 100 s per address, 100 used


def test_serve_help_says_what_is_enforced() -> None:
    out = run_cfdash("serve", "--help")
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    for fragment in (
        "1,000 per 3,600 s per user",
        "1,000 per 1,000 s per peer address",
        "WatchOrders/WatchTicker (on or off): 100 per 10 s per connection",
        "a restart resets them",
    ):
        assert fragment in text, fragment


def test_serve_limit_option_changes_a_limit() -> None:
    with ServeProcess(
        "--db", ":memory:", "--no-traders", "--limit", "address-order=5/100"
    ) as serve:
        first, second = Client(serve.url), Client(serve.url)
        try:
            assert [r["error_code"] for r in _burst(first, [ESTIMATE] * 3)] == [0, 0, 0]
            assert [r["error_code"] for r in _burst(second, [ESTIMATE] * 3)] == [0, 0, 6]
        finally:
            first.close()
            second.close()
    refused = run_cfdash("serve", "--limit", "watch=many/10")
    assert refused.returncode == 2 and "NAME=COUNT/SECONDS" in refused.stderr


def test_errors_echo_no_huge_method_tag_or_digit_hint(serve: ServeProcess) -> None:
    """Break 7: a 30 KB method name and a tag of 10**29 were echoed back; a 5,000-digit
    integer got Python's ``set_int_max_str_digits`` hint."""
    with Client(serve.url) as client:
        client.send({"method": "X" * 30_000, "tag": 5})
        reply = client.reply(5)
        assert reply["error_code"] == 8 and len(json.dumps(reply)) < 200, len(json.dumps(reply))
        assert reply["error_msg"].startswith("Unknown method 'XXXX")
        client.send({"method": "WatchTicker", "tag": 10**29, **PAIR, "watch": True})
        reply = client.untagged()
        assert reply == {"error_code": 8, "error_msg": "Field 'tag' is out of range."}
        client.send('{"method": "WatchTicker", "x' + "y" * 30_000 + '": 1}')
        reply = client.untagged()
        assert reply["error_code"] == 8 and len(reply["error_msg"]) < 200
        client.send('{"method": "GetBalances", "tag": ' + "9" * 5000 + "}")
        reply = client.untagged()
        assert reply["error_code"] == 8 and "number too large" in reply["error_msg"]
        assert "int_max_str_digits" not in reply["error_msg"]
