"""The protocol state machine, frame in, frames out: replies, errors, notices and their order."""

from __future__ import annotations

import json
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.auth import authenticate_command, derive_private_key
from cfdash.core.errors import Msg

from .helpers import EUR, GBP, PAIR, XBT, Harness, funded, make_core

DEMO_COOKIE = "HGREqcILTz8blHa/jsUTVTNBJlg="
BOOK = {"base": PAIR.base, "counter": PAIR.counter}


def _err(reply: dict, code: int, msg: str | None = None) -> None:
    assert reply["error_code"] == code, reply
    if msg is not None:
        assert reply["error_msg"] == msg


def test_welcome_nonce_on_connect() -> None:
    core = make_core()
    sid = core.connect(1.0)
    ((to, text),) = core.take_output()
    msg = json.loads(text)
    assert to == sid and msg["notice"] == "Welcome" and set(msg) == {"notice", "nonce"}
    h = Harness(make_core())
    a, b = h.connect(), h.connect()
    assert len(h.nonces[a]) == 16 and h.nonces[a] != h.nonces[b]


def test_tag_echo_rules(harness: Harness) -> None:
    s = harness.session(1)
    assert harness.send(s, method="GetOrders", tag=5) == {"tag": 5, "error_code": 0, "orders": []}
    assert "tag" not in harness.send(s, method="GetOrders", tag=0)
    assert "tag" not in harness.send(s, method="GetOrders")
    assert "tag" not in harness.send(s, method="GetBalances", tag=True)
    bad = harness.send(s, method="NoSuchMethod", tag=9)
    _err(bad, 8)
    assert bad["tag"] == 9


def test_not_an_object_answers_8_without_tag(harness: Harness) -> None:
    s = harness.connect()
    for text in ("nonsense", "[1, 2]", '"x"', "{", "", "null", "3"):
        reply = harness.send_text(s, text)
        _err(reply, 8)
        assert "tag" not in reply and isinstance(reply["error_msg"], str)


@settings(max_examples=60)
@given(
    st.one_of(
        st.text(max_size=40),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=8,
        ).map(json.dumps),
        st.fixed_dictionaries(
            {
                "method": st.sampled_from(
                    [
                        "PlaceOrder",
                        "CancelOrder",
                        "WatchOrders",
                        "Authenticate",
                        "EstimateMarketOrder",
                        "GetTradeVolume",
                        "WatchTicker",
                    ]
                )
            },
            optional={
                "base": st.integers(-1, 70000),
                "counter": st.integers(-1, 70000),
                "quantity": st.integers(-(10**20), 10**20) | st.text(max_size=3),
                "price": st.integers(-5, 10**20),
                "total": st.integers(-(10**20), 10**20),
                "tonce": st.integers(-3, 3) | st.none(),
                "id": st.integers(-3, 3),
                "watch": st.booleans() | st.integers(),
                "tag": st.integers() | st.text(max_size=2),
                "user_id": st.integers(-1, 5),
                "asset": st.integers(-1, 70000),
            },
        ).map(json.dumps),
    )
)
def test_receive_never_raises_and_always_replies(text: str) -> None:
    core = make_core()
    funded(core, 1)
    h = Harness(core)
    for sid in (h.connect(), h.session(1)):
        reply = h.send_text(sid, text)
        assert isinstance(reply["error_code"], int)
        assert reply.get("error_msg") != "Internal error."


def _demo_core(**config) -> tuple[Harness, object]:
    core = make_core(**config)
    key = derive_private_key(1, "opensesame")
    core.add_user(1, DEMO_COOKIE, key.public_key())
    return Harness(core), key


def test_authenticate_demo_user_with_a_real_signature() -> None:
    h, key = _demo_core()
    s = h.connect()
    _err(h.send(s, method="GetBalances"), 7, Msg.NOT_AUTHENTICATED)
    cmd = authenticate_command(1, DEMO_COOKIE, key, h.nonces[s], bytes(range(16)), tag=3)
    assert h.send(s, **cmd) == {"tag": 3, "error_code": 0}
    assert h.send(s, method="GetBalances")["error_code"] == 0
    # the same signature does not authenticate another session (other welcome nonce)
    other = h.connect()
    _err(h.send(other, **cmd), 7, Msg.BAD_SIGNATURE)
    # re-authenticating as the same user is fine
    cmd2 = authenticate_command(1, DEMO_COOKIE, key, h.nonces[s])
    assert h.send(s, **cmd2)["error_code"] == 0


def test_authenticate_errors() -> None:
    h, key = _demo_core(auth_limit=(2, 3600.0))
    s = h.connect()
    good = authenticate_command(1, DEMO_COOKIE, key, h.nonces[s])
    _err(h.send(s, **{**good, "user_id": 2}), 1, Msg.NO_SUCH_USER)
    # a wrong cookie counts against the connection (and address), not the user (issue 13)
    for _ in range(3):
        _err(h.send(s, **{**good, "cookie": "wrong"}), 7, Msg.BAD_COOKIE)
    wrong = authenticate_command(1, DEMO_COOKIE, derive_private_key(1, "password"), h.nonces[s])
    _err(h.send(s, **wrong), 7, Msg.BAD_SIGNATURE)
    _err(h.send(s, **wrong), 7, Msg.BAD_SIGNATURE)
    _err(h.send(s, **good), 6, Msg.AUTH_TOO_RAPID)  # 2 attempts per window, per user
    h.now += 3600.0
    assert h.send(s, **good)["error_code"] == 0
    # a session cannot switch to another user
    h.core.add_user(2, "c2", derive_private_key(2, "x").public_key())
    other = authenticate_command(2, "c2", derive_private_key(2, "x"), h.nonces[s])
    _err(h.send(s, **other), 8)


def test_private_commands_need_authentication(harness: Harness) -> None:
    s = harness.connect()
    for method, extra in [
        ("GetBalances", {}),
        ("GetOrders", {}),
        ("PlaceOrder", {**BOOK, "quantity": 1, "price": 1}),
        ("CancelOrder", {"id": 1}),
        ("CancelAllOrders", {}),
        ("GetTradeVolume", {"asset": XBT}),
    ]:
        _err(harness.send(s, method=method, **extra), 7, Msg.NOT_AUTHENTICATED)
    for method, extra in [
        ("EstimateMarketOrder", {**BOOK, "quantity": 1}),
        ("WatchOrders", {**BOOK, "watch": True}),
        ("WatchTicker", {**BOOK, "watch": True}),
    ]:
        assert harness.send(s, method=method, **extra)["error_code"] == 0


def test_tonce_rules(harness: Harness) -> None:
    s = harness.session(1)
    assert harness.place(s, 1, 100, tonce=5)["error_code"] == 0
    _err(harness.place(s, 1, 100, tonce=5), 3, Msg.TONCE_OUT_OF_SEQUENCE)
    _err(harness.place(s, 1, 100, tonce=4), 3, Msg.TONCE_OUT_OF_SEQUENCE)
    _err(harness.place(s, 10**12, 10**9, tonce=50), 4, Msg.INSUFFICIENT_FUNDS)
    assert harness.place(s, 1, 100, tonce=6)["error_code"] == 0  # the failed 50 did not count
    assert harness.place(s, 1, 100)["error_code"] == 0  # no tonce: always fine
    assert harness.place(s, 1, tonce=7)["remaining"] == 1  # a market order's tonce counts
    _err(harness.place(s, 1, 100, tonce=7), 3)
    assert harness.core.tonce(1) == 7
    reply = harness.send(s, method="CancelAllOrders")
    assert len(reply["orders"]) == 3 and harness.core.tonce(1) == 0
    assert harness.place(s, 1, 100, tonce=1)["error_code"] == 0
    _err(harness.place(s, 1, 100, tonce=0), 8)


def test_cancel_by_id_and_tonce(harness: Harness) -> None:
    s1, s2 = harness.session(1), harness.session(2)
    first = harness.place(s1, -3, 20000, tonce=11)
    harness.place(s1, 2, 10000)
    theirs = harness.place(s2, 1, 10000)
    _err(harness.send(s1, method="CancelOrder", id=theirs["id"]), 1, Msg.ORDER_NOT_FOUND)
    _err(harness.send(s1, method="CancelOrder", tonce=99), 1, Msg.ORDER_NOT_FOUND)
    reply = harness.send(s1, method="CancelOrder", tonce=11, tag=4)
    assert reply == {
        "tag": 4,
        "error_code": 0,
        "id": first["id"],
        "tonce": 11,
        "base": XBT,
        "counter": GBP,
        "quantity": -3,
        "price": 20000,
        "time": first["time"],
    }
    _err(harness.send(s1, method="CancelOrder", id=first["id"]), 1, Msg.ORDER_NOT_FOUND)
    orders = harness.send(s1, method="GetOrders")["orders"]
    assert [(o["quantity"], o["tonce"]) for o in orders] == [(2, None)]
    cancelled = harness.send(s1, method="CancelOrder", id=orders[0]["id"])
    assert cancelled["tonce"] is None and cancelled["quantity"] == 2
    assert harness.core.balances(1)[PAIR.counter] == (10**10, 0)


def test_too_many_orders_and_invalid_pair() -> None:
    core = make_core(max_open_orders=2)
    funded(core, 1)
    h = Harness(core)
    s = h.session(1)
    h.place(s, 1, 100)
    h.place(s, 1, 100)
    _err(h.place(s, 1, 100), 5, Msg.TOO_MANY_ORDERS)
    assert h.place(s, -1)["error_code"] == 0  # a market order does not rest
    reply = h.send(s, method="PlaceOrder", base=XBT, counter=XBT, quantity=1, price=1)
    _err(reply, 1, Msg.INVALID_PAIR)
    _err(h.send(s, method="WatchOrders", base=GBP, counter=EUR, watch=True), 1, Msg.INVALID_PAIR)


def test_limit_and_market_replies(harness: Harness) -> None:
    s1, s2 = harness.session(1), harness.session(2)
    limit = harness.place(s1, -5, 10000)
    assert set(limit) == {"error_code", "id", "time"} and limit["time"] == 1000 * 10**6
    assert harness.place(s2, 8) == {"error_code": 0, "remaining": 3}
    harness.place(s1, -5, 20000)
    assert harness.place(s2, total=4, quantity=None) == {"error_code": 0, "remaining": 0}
    _err(harness.place(s2, None), 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL)


def test_notice_order_for_a_fill(harness: Harness) -> None:
    s1, s2 = harness.session(1), harness.session(2)
    harness.place(s1, 10, 10000, tonce=1)
    opened = harness.notices(s1)
    assert [n["notice"] for n in opened] == ["BalanceChanged", "OrderOpened"]
    assert opened[1]["tonce"] == 1
    harness.place(s2, -10, tonce=3)  # a market sell fills the bid completely
    n1 = harness.notices(s1)
    assert [n["notice"] for n in n1] == [
        "OrdersMatched",
        "BalanceChanged",
        "TradeVolumeChanged",
        "TradeVolumeChanged",
        "OrderClosed",
    ]
    matched = n1[0]
    assert matched["bid_tonce"] == 1 and "ask" not in matched and "ask_rem" not in matched
    assert matched["bid_rem"] == 0 and "ask_tonce" not in matched
    assert n1[-1]["quantity"] == 0 and n1[-1]["tonce"] == 1
    n2 = harness.notices(s2)
    assert [n["notice"] for n in n2[:3]] == ["OrdersMatched", "BalanceChanged", "BalanceChanged"]
    assert n2[0]["ask_tonce"] == 3 and "ask" not in n2[0] and n2[0]["bid"] == matched["bid"]


def test_partly_filled_order_opens_with_its_remainder(harness: Harness) -> None:
    s1, s2, watcher = harness.session(1), harness.session(2), harness.connect()
    harness.send(watcher, method="WatchOrders", watch=True, **BOOK)
    harness.place(s1, -3, 10000)
    harness.notices(s2)
    reply = harness.place(s2, 10, 10000, tonce=5)  # fills 3, rests 7
    (mine,) = harness.notices(s2, "OrderOpened")
    (public,) = [n for n in harness.notices(watcher, "OrderOpened") if n["id"] == reply["id"]]
    assert mine["quantity"] == public["quantity"] == 7 and mine["tonce"] == 5
    (order,) = harness.core.open_orders(2)
    assert order.quantity == 7


def test_cancel_notices_close_before_release(harness: Harness) -> None:
    s = harness.session(1)
    reply = harness.place(s, -4, 10000)
    harness.notices(s)
    harness.send(s, method="CancelOrder", id=reply["id"])
    closed, released = harness.notices(s)
    assert closed["notice"] == "OrderClosed" and closed["quantity"] == -4
    assert released == {"notice": "BalanceChanged", "asset": XBT, "balance": 10**8}


def test_watchers_get_public_notices_once() -> None:
    core = make_core(up=True, taker_fee=Fraction(1, 100))
    funded(core, 1, 2)
    h = Harness(core)
    owner_watching, owner_plain, seller, watcher = (
        h.session(1),
        h.session(1),
        h.session(2),
        h.connect(),
    )
    for s in (owner_watching, watcher):
        assert h.send(s, method="WatchOrders", watch=True, **BOOK)["orders"] == []
    h.place(owner_watching, 5, 10000, tonce=9)
    h.place(seller, -2, 10000)
    for s in (owner_watching, owner_plain):
        got = [n for n in h.notices(s) if n["notice"] in ("OrderOpened", "OrdersMatched")]
        assert [n["notice"] for n in got] == ["OrderOpened", "OrdersMatched"]
        assert got[0]["tonce"] == 9 and got[1]["bid_tonce"] == 9
        assert got[1]["bid_counter_fee"] == 0 and "ask_counter_fee" not in got[1]
    public = h.notices(watcher)
    # the incoming ask filled at once: it never opened, and closes after its match
    assert [n["notice"] for n in public] == ["OrderOpened", "OrdersMatched", "OrderClosed"]
    for n in public:
        assert not {
            "tonce",
            "bid_tonce",
            "ask_tonce",
            "bid_counter_fee",
            "ask_counter_fee",
            "bid_base_fee",
            "ask_base_fee",
        } & set(n)
    assert public[1]["bid_rem"] == 3 and public[1]["ask_rem"] == 0
    assert public[2]["id"] == public[1]["ask"] and public[2]["quantity"] == 0


def test_shared_strings_and_compact_json() -> None:
    core = make_core()
    funded(core, 1)
    watchers = [core.connect(0.0) for _ in range(3)]
    s = core.connect(0.0)
    core.login(s, 1)
    for w in watchers:
        core.receive(w, json.dumps({"method": "WatchOrders", "watch": True, **BOOK}), 0.0)
    core.take_output()
    core.receive(s, json.dumps({"method": "PlaceOrder", "quantity": 1, "price": 5, **BOOK}), 0.0)
    frames = core.take_output()
    public = [t for sid, t in frames if sid in watchers]
    assert len(public) == 3 and public[0] is public[1] is public[2]
    # a trade against a market order (tonce null) and a partial limit fill, with tags
    core.receive(s, json.dumps({"method": "PlaceOrder", "quantity": -1, "tag": 2, **BOOK}), 0.0)
    core.receive(s, json.dumps({"method": "PlaceOrder", "quantity": 3, "price": 7, **BOOK}), 0.0)
    core.receive(
        s,
        json.dumps(
            {"method": "PlaceOrder", "quantity": -2, "price": 7, "tonce": 5, "tag": -3, **BOOK}
        ),
        0.0,
    )
    frames += core.take_output()
    assert sum('"OrdersMatched"' in t for _, t in frames) == 8  # 2 trades x (owner + 3)
    for _, text in frames:
        assert text == json.dumps(json.loads(text), separators=(",", ":"))
    for _, _, value in core.take_changes():
        assert value is None or json.loads(value) is not None


def test_watch_errors_and_snapshot_depth() -> None:
    core = make_core(snapshot_depth=2)
    funded(core, 1)
    h = Harness(core)
    s = h.session(1)
    for q, p in [(1, 100), (2, 102), (3, 101), (-4, 200), (-5, 199), (-6, 201)]:
        h.place(s, q, p)
    w = h.connect()
    _err(h.send(w, method="WatchOrders", watch=False, **BOOK), 1, Msg.NOT_WATCHING_ORDERS)
    snap = h.send(w, method="WatchOrders", watch=True, **BOOK)["orders"]
    assert [(o["quantity"], o["price"]) for o in snap] == [(2, 102), (3, 101), (-5, 199), (-4, 200)]
    assert set(snap[0]) == {"id", "quantity", "price", "time"}
    _err(h.send(w, method="WatchOrders", watch=True, **BOOK), 2, Msg.ALREADY_WATCHING_ORDERS)
    assert h.send(w, method="WatchOrders", watch=False, **BOOK) == {"error_code": 0}
    h.place(s, 1, 100)
    assert h.notices(w) == []
    _err(h.send(w, method="WatchTicker", watch=False, **BOOK), 1, Msg.NOT_WATCHING_TICKER)
    h.send(w, method="WatchTicker", watch=True, **BOOK)
    _err(h.send(w, method="WatchTicker", watch=True, **BOOK), 2, Msg.ALREADY_WATCHING_TICKER)


def test_ticker_fields_changes_and_24h_expiry(harness: Harness) -> None:
    s1, s2, w = harness.session(1), harness.session(2), harness.connect()
    tick = harness.send(w, method="WatchTicker", watch=True, **BOOK)
    assert tick == {
        "error_code": 0,
        "last": None,
        "bid": None,
        "ask": None,
        "low": None,
        "high": None,
        "volume": 0,
    }
    harness.place(s1, 5, 10000)
    changes = harness.notices(w)
    assert changes == [{"notice": "TickerChanged", "base": XBT, "counter": GBP, "bid": 10000}]
    harness.place(s2, -2, 9000)  # trades 2 at 10000
    harness.place(
        s1,
        1,
        12000,
    )
    harness.place(s2, -9, 11000)  # trades 1 at 12000, rests 8 @ 11000
    changes = harness.notices(w)
    assert changes[0] == {
        "notice": "TickerChanged",
        "base": XBT,
        "counter": GBP,
        "last": 10000,
        "low": 10000,
        "high": 10000,
        "volume": 2,
    }
    assert changes[-1] == {
        "notice": "TickerChanged",
        "base": XBT,
        "counter": GBP,
        "last": 12000,
        "high": 12000,
        "volume": 3,
        "bid": 10000,  # 12000 for a moment, until that bid filled
        "ask": 11000,
    }
    assert harness.core.ticker(PAIR) == {
        "last": 12000,
        "bid": 10000,
        "ask": 11000,
        "low": 10000,
        "high": 12000,
        "volume": 3,
    }
    harness.core.tick(1000.0 + 86399)
    assert harness.pump() == []
    harness.core.tick(1000.0 + 86400)
    harness.pump()
    assert harness.notices(w) == [
        {
            "notice": "TickerChanged",
            "base": XBT,
            "counter": GBP,
            "low": None,
            "high": None,
            "volume": 0,
        }
    ]


def test_rate_limits_with_fake_now() -> None:
    core = make_core(info_limit=(2, 10.0), order_limit=(3, 100.0))
    funded(core, 1)
    h = Harness(core)
    s, other = h.session(1), h.session(1)
    assert h.send(s, method="GetBalances")["error_code"] == 0
    assert h.send(s, method="GetTradeVolume", asset=XBT)["error_code"] == 0
    _err(h.send(s, method="GetOrders"), 6, Msg.INFO_TOO_RAPID)
    assert h.send(other, method="GetOrders")["error_code"] == 0  # per session
    h.now += 10.0
    assert h.send(s, method="GetOrders")["error_code"] == 0
    h.place(s, 1, 100)
    h.send(other, method="CancelAllOrders")
    h.send(s, method="EstimateMarketOrder", quantity=1, **BOOK)
    _err(h.place(other, 1, 100), 6, Msg.ORDERS_TOO_RAPID)  # per user
    anon = h.connect()
    assert h.send(anon, method="EstimateMarketOrder", quantity=1, **BOOK)["error_code"] == 0
    h.now += 100.0
    assert h.place(other, 1, 100)["error_code"] == 0
    # trusted sessions may opt out of the order and information limits
    free = h.connect()
    core.login(free, 1, rate_limited=False)
    assert all(h.send(free, method="GetOrders")["error_code"] == 0 for _ in range(5))


def test_persist_false_orders_cancelled_on_disconnect(harness: Harness) -> None:
    s, other, w = harness.session(1), harness.session(1), harness.connect()
    harness.send(w, method="WatchOrders", watch=True, **BOOK)
    kept = harness.place(s, 1, 100, persist=True)
    gone = harness.place(s, -2, 300, persist=False, tonce=4)
    harness.notices(other)
    harness.notices(w)
    harness.notices(s)
    harness.core.disconnect(s, harness.now)
    harness.pump()
    assert [o.id for o in harness.core.open_orders(1)] == [kept["id"]]
    closed, balance = harness.notices(other)
    assert closed["notice"] == "OrderClosed" and closed["id"] == gone["id"]
    assert closed["tonce"] == 4 and closed["quantity"] == -2
    assert balance == {"notice": "BalanceChanged", "asset": XBT, "balance": 10**8}
    assert [n["id"] for n in harness.notices(w, "OrderClosed")] == [gone["id"]]
    assert s not in harness.inbox


def test_balances_orders_and_trade_volume(harness: Harness) -> None:
    s1, s2 = harness.session(1), harness.session(2)
    harness.place(s1, 3, 20000, tonce=2)
    harness.place(s2, -2, 20000)
    assert harness.send(s1, method="GetBalances")["balances"] == [
        {"asset": XBT, "balance": 10**8 + 2},
        {"asset": GBP, "balance": 10**10 - 6},
    ]
    (order,) = harness.send(s1, method="GetOrders")["orders"]
    assert order == {
        "id": 1,
        "tonce": 2,
        "base": XBT,
        "counter": GBP,
        "quantity": 1,
        "price": 20000,
        "time": order["time"],
    }
    assert harness.send(s1, method="GetTradeVolume", asset=XBT)["volume"] == 2
    assert harness.send(s2, method="GetTradeVolume", asset=GBP)["volume"] == 4
    assert harness.send(s2, method="GetTradeVolume", asset=EUR)["volume"] == 0
    vol = harness.notices(s2, "TradeVolumeChanged")
    assert vol == [
        {"notice": "TradeVolumeChanged", "asset": XBT, "volume": 2},
        {"notice": "TradeVolumeChanged", "asset": GBP, "volume": 4},
    ]
    harness.core.tick(harness.now + 30 * 86400)
    harness.pump()
    assert harness.core.trade_volume(2, XBT) == 0
    assert {(n["asset"], n["volume"]) for n in harness.notices(s2, "TradeVolumeChanged")} == {
        (XBT, 0),
        (GBP, 0),
    }


def test_estimate_market_order_frames(harness: Harness) -> None:
    s = harness.connect()
    est = harness.send(s, method="EstimateMarketOrder", quantity=5, tag=1, **BOOK)
    assert est == {"tag": 1, "error_code": 0, "quantity": 0, "total": 0}
    harness.place(harness.session(1), -3, 15000)
    est = harness.send(s, method="EstimateMarketOrder", quantity=5, **BOOK)
    assert (est["quantity"], est["total"]) == (3, 5)  # 4.5 rounds half up
    _err(harness.send(s, method="EstimateMarketOrder", quantity=0, **BOOK), 8, Msg.QUANTITY_ZERO)
    _err(harness.send(s, method="EstimateMarketOrder", total=0, **BOOK), 8, Msg.TOTAL_ZERO)
    _err(harness.send(s, method="EstimateMarketOrder", **BOOK), 8, Msg.MARKET_NEEDS_QTY_OR_TOTAL)


def test_load_then_first_tick_cancels_persist_false_orders() -> None:
    core = make_core()
    funded(core, 1)
    h = Harness(core)
    s = h.session(1)
    kept = h.place(s, 2, 100)
    volatile = h.place(s, -3, 200, persist=False, tonce=8)
    rows = core.take_changes()  # the server crashes here: the session is gone
    fresh = make_core()
    fresh.load(rows)
    assert {o.id for o in fresh.open_orders(1)} == {kept["id"], volatile["id"]}
    h2 = Harness(fresh)
    watcher = h2.connect()  # the first connect after load cancels it
    assert [o.id for o in fresh.open_orders(1)] == [kept["id"]]
    assert fresh.balances(1)[XBT] == (10**8, 0)
    assert ("order", str(volatile["id"]), None) in fresh.take_changes()
    snap = h2.send(watcher, method="WatchOrders", watch=True, **BOOK)["orders"]
    assert [o["id"] for o in snap] == [kept["id"]]
    # the order ids continue after the stored ones
    s2 = h2.session(1)
    assert h2.place(s2, 1, 100, tonce=9)["id"] == volatile["id"] + 1
    assert h2.place(s2, 1, 100, tonce=8)["error_code"] == 3  # the tonce counter survived
