"""The exchange's own limits (issue 13, breaks 2, 3 and 7), sans-I/O: the limiters, the
per-address keys, and the engine's use of them with a fake clock and plain-data addresses."""

from __future__ import annotations

import base64
import json

from cfdash.core.auth import authenticate_command, derive_private_key
from cfdash.core.engine.limits import (
    WATCH_TOO_RAPID,
    KeyedLimiter,
    RateLimiter,
    address_key,
)
from cfdash.core.errors import Msg

from .helpers import PAIR, Harness, funded, make_core

COOKIE = "HGREqcILTz8blHa/jsUTVTNBJlg="
BOOK = {"base": PAIR.base, "counter": PAIR.counter}
ESTIMATE = {"method": "EstimateMarketOrder", "quantity": 1, **BOOK}


def _connect(h: Harness, address: str | None) -> int:
    """A session from ``address`` (its Welcome nonce kept in ``h.nonces``)."""
    sid = h.core.connect(h.now, address)
    h.pump()
    (welcome,) = h.inbox.pop(sid)
    h.nonces[sid] = base64.b64decode(welcome["nonce"])
    return sid


def _demo(**config: object) -> tuple[Harness, object]:
    core = make_core(**config)
    key = derive_private_key(1, "opensesame")
    core.add_user(1, COOKIE, key.public_key())
    return Harness(core), key


def _codes(h: Harness, sid: int, n: int, **cmd: object) -> list[int]:
    return [h.send(sid, **cmd)["error_code"] for _ in range(n)]


# ------------------------------------------------------------------ the limiters


def test_full_records_nothing() -> None:
    limiter = RateLimiter(2, 10.0)
    assert not limiter.full(0.0) and not limiter.full(0.0)
    assert limiter.allow(0.0) and limiter.allow(1.0)
    assert limiter.full(5.0) and not limiter.allow(5.0)
    assert not limiter.full(10.0)  # the event at 0.0 has left the window
    assert limiter.idle(11.0) and not limiter.idle(10.5)


def test_keyed_limiter_counts_per_key_and_forgets_idle_keys() -> None:
    limiter = KeyedLimiter(2, 10.0)
    assert limiter.allow("a", 0.0) and limiter.allow("a", 0.0)
    assert not limiter.allow("a", 1.0)
    assert limiter.allow("b", 1.0)
    assert limiter.full("a", 1.0) and not limiter.full("c", 1.0)
    assert len(limiter) == 2  # "full" of an unknown key adds nothing
    limiter.sweep(10.5)
    assert len(limiter) == 1  # "a" has no event in the window any more, "b" has
    assert limiter.allow("a", 10.5)


def test_keyed_limiter_memory_is_bounded_by_the_active_keys() -> None:
    limiter = KeyedLimiter(5, 1.0)
    for i in range(100_000):  # a new address every millisecond: ~1,000 active at a time
        assert limiter.allow(f"10.0.{i // 256}.{i % 256}", i / 1000)
    assert len(limiter) <= 2 * KeyedLimiter.MIN_SWEEP + 1


def test_address_keys() -> None:
    assert address_key(None) is None
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert address_key("/run/cfdash.sock") == "/run/cfdash.sock"


# ------------------------------------------------------------------ break 2: logins


def test_wrong_cookies_do_not_spend_the_owners_allowance() -> None:
    h, key = _demo(auth_limit=(3, 3600.0), session_auth_fail_limit=(10**6, 3600.0))
    stranger = _connect(h, "198.51.100.9")
    bogus = authenticate_command(1, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", key, h.nonces[stranger])
    codes = _codes(h, stranger, 1005, **bogus)
    assert codes == [7] * 1000 + [6] * 5  # 1,000 failures an hour per address
    owner = _connect(h, "192.0.2.1")
    good = authenticate_command(1, COOKIE, key, h.nonces[owner])
    assert h.send(owner, **good)["error_code"] == 0


def test_an_address_past_its_failures_is_refused_before_the_cookie_is_checked() -> None:
    h, key = _demo(session_auth_fail_limit=(2, 60.0), address_auth_fail_limit=(3, 60.0))
    a = _connect(h, "198.51.100.9")
    bogus = {**authenticate_command(1, "wrong", key, h.nonces[a]), "cookie": "wrong"}
    assert _codes(h, a, 3, **bogus) == [7, 7, 6]  # per connection first
    good = authenticate_command(1, COOKIE, key, h.nonces[a])
    reply = h.send(a, **good)
    assert (reply["error_code"], reply["error_msg"]) == (6, Msg.AUTH_TOO_RAPID)  # no oracle
    b = _connect(h, "198.51.100.9")
    unknown = {**authenticate_command(2, COOKIE, key, h.nonces[b])}
    assert h.send(b, **unknown)["error_code"] == 1  # an unknown user is a failure too
    assert h.send(b, **authenticate_command(1, COOKIE, key, h.nonces[b]))["error_code"] == 6
    c = _connect(h, "192.0.2.1")  # another address is not affected
    assert h.send(c, **authenticate_command(1, COOKIE, key, h.nonces[c]))["error_code"] == 0
    h.now += 60.0
    assert h.send(b, **authenticate_command(1, COOKIE, key, h.nonces[b]))["error_code"] == 0


def test_right_cookie_attempts_still_count_against_the_user() -> None:
    h, key = _demo(auth_limit=(2, 3600.0))
    s = _connect(h, "192.0.2.1")
    wrong = authenticate_command(1, COOKIE, derive_private_key(1, "nope"), h.nonces[s])
    assert _codes(h, s, 3, **wrong) == [7, 7, 6]
    other = _connect(h, "203.0.113.5")
    good = authenticate_command(1, COOKIE, key, h.nonces[other])
    assert h.send(other, **good)["error_code"] == 6  # LIMITS.md: per user


# ------------------------------------------------------------------ break 3: connections


def test_anonymous_estimates_are_limited_per_address() -> None:
    h = Harness(make_core(order_limit=(5, 100.0), address_order_limit=(8, 100.0)))
    first, second = _connect(h, "198.51.100.9"), _connect(h, "198.51.100.9")
    assert _codes(h, first, 6, **ESTIMATE) == [0] * 5 + [6]  # the spec's, per connection
    assert _codes(h, second, 4, **ESTIMATE) == [0, 0, 0, 6]  # 8 per address
    reply = h.send(_connect(h, "198.51.100.9"), **ESTIMATE)
    assert (reply["error_code"], reply["error_msg"]) == (6, Msg.ORDERS_TOO_RAPID)
    assert h.send(_connect(h, "192.0.2.1"), **ESTIMATE)["error_code"] == 0
    assert h.send(_connect(h, None), **ESTIMATE)["error_code"] == 0  # no address, no such limit
    h.now += 100.0
    assert _codes(h, second, 5, **ESTIMATE) == [0] * 5


def test_authenticated_orders_count_against_the_user_not_the_address() -> None:
    core = make_core(order_limit=(5, 100.0), address_order_limit=(2, 100.0))
    funded(core, 1)
    h = Harness(core)
    s = _connect(h, "198.51.100.9")
    core.login(s, 1)
    assert _codes(h, s, 6, **ESTIMATE) == [0] * 5 + [6]


def test_watch_toggles_are_limited_per_connection_and_address() -> None:
    h = Harness(make_core(watch_limit=(4, 10.0), address_watch_limit=(6, 100.0)))
    on = {"method": "WatchOrders", **BOOK, "watch": True}
    off = {**on, "watch": False}
    a = _connect(h, "198.51.100.9")
    codes = [h.send(a, **cmd)["error_code"] for cmd in (on, off, on, off, on)]
    assert codes == [0, 0, 0, 0, 6]
    reply = h.send(a, method="WatchTicker", **BOOK, watch=True)
    assert (reply["error_code"], reply["error_msg"]) == (6, WATCH_TOO_RAPID)
    assert h.core._market(PAIR).book_watchers == set()  # a refused toggle changes nothing
    b = _connect(h, "198.51.100.9")
    assert [h.send(b, **cmd)["error_code"] for cmd in (on, off, on)] == [0, 0, 6]
    h.now += 10.0  # the connection's window has passed, not the address's
    assert h.send(a, **on)["error_code"] == 6
    assert h.send(_connect(h, "192.0.2.1"), **on)["error_code"] == 0
    h.now += 90.0
    assert h.send(a, **on)["error_code"] == 0


def test_trusted_sessions_skip_the_watch_limit() -> None:
    core = make_core(watch_limit=(1, 10.0))
    funded(core, 1)
    h = Harness(core)
    s = h.connect()
    core.login(s, 1, rate_limited=False)
    codes = [
        h.send(s, method="WatchTicker", **BOOK, watch=w)["error_code"] for w in (True, False) * 3
    ]
    assert codes == [0] * 6


# ------------------------------------------------------------------ break 7: echoes


def test_errors_echo_at_most_64_characters_of_a_name_and_only_64_bit_tags() -> None:
    h = Harness(make_core())
    s = h.connect()
    reply = h.send(s, method="X" * 30_000, tag=3)
    assert reply["tag"] == 3 and len(json.dumps(reply)) < 200
    assert reply["error_msg"] == f"Unknown method {'X' * 64!r}... (30000 characters)."
    reply = h.send(s, method="WatchTicker", **BOOK, watch=True, **{"y" * 30_000: 1})
    assert reply["error_code"] == 8 and len(reply["error_msg"]) < 200
    reply = h.send(s, method="WatchTicker", tag=10**29, **BOOK, watch=True)
    assert reply == {"error_code": 8, "error_msg": "Field 'tag' is out of range."}
    reply = h.send(s, method="WatchTicker", tag=2**63 - 1, **BOOK, watch=True)
    assert reply["tag"] == 2**63 - 1 and reply["error_code"] == 0
    reply = h.send_text(s, '{"method": "GetOrders", "tag": ' + "9" * 5000 + "}")
    assert reply == {"error_code": 8, "error_msg": "The frame cannot be decoded: number too large."}
    reply = h.send_text(s, '{"a": 1' + "0" * 400 + ".5}")
    assert reply == {
        "error_code": 8,
        "error_msg": "The frame holds a number too large for a float.",
    }
