"""Engine rules checked over the wire: a real server on loopback, plain WebSocket clients,
hand-computed figures (amounts chosen so that no stochastic rounding is involved)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from cfdash.core.assets import V1, Assets
from cfdash.core.engine.config import EngineConfig
from cfdash.core.errors import Msg
from cfdash.server.app import ServerThread
from cfdash.server.users import add_funded_user

from .helpers import GBP, XBT, XBT_GBP, Client

BOB, BOB_COOKIE, BOB_PASS = 2, "Ym9iLWNvb2tpZQ==", "bob's passphrase"
START_GBP = 1_000_000 * 100
START_XBT = 10 * 10**8


def _with_bob(exchange: ServerThread) -> Client:
    exchange.call(lambda server: add_funded_user(server.core, BOB, BOB_COOKIE, BOB_PASS))
    bob = Client(exchange.url)
    assert bob.authenticate(BOB, BOB_PASS, BOB_COOKIE)["error_code"] == 0
    return bob


def _kinds(notices: list[dict]) -> list[tuple[str, int | None]]:
    return [(n["notice"], n.get("asset")) for n in notices if n["notice"] != "TradeVolumeChanged"]


def test_matching_fees_and_notices(make_exchange: Callable[..., ServerThread]) -> None:
    fees = EngineConfig(maker_fee=Fraction(1, 1000), taker_fee=Fraction(25, 10000))
    exchange = make_exchange(config=fees)
    watcher = Client(exchange.url)
    assert watcher.call("WatchOrders", base=XBT, counter=GBP, watch=True)["orders"] == []
    alice = Client(exchange.url)
    assert alice.authenticate()["error_code"] == 0
    bob = _with_bob(exchange)

    # Alice rests an ask: 0.1 XBT at 30,000.00 GBP; 0.1 XBT is reserved before OrderOpened.
    ask = alice.place(-10_000_000, 3_000_000, tonce=7)
    assert ask["error_code"] == 0
    opened = alice.wait_notice(lambda n: n["notice"] == "OrderOpened")
    assert opened["tonce"] == 7 and opened["quantity"] == -10_000_000
    assert _kinds(alice.notices)[:2] == [("BalanceChanged", XBT), ("OrderOpened", None)]
    assert alice.notices[0]["balance"] == START_XBT - 10_000_000

    # Bob's bid crosses: 0.04 XBT limit 30,100.00 trades at the resting price 30,000.00.
    # total = 0.04 * 30000 = 1200.00 GBP; taker fee 0.25 % = 3.00; maker fee 0.1 % = 1.20.
    bid = bob.place(4_000_000, 3_010_000)
    assert bid["error_code"] == 0
    matched = bob.wait_notice(lambda n: n["notice"] == "OrdersMatched")
    assert matched["bid"] == bid["id"] and matched["ask"] == ask["id"]
    assert (matched["quantity"], matched["price"], matched["total"]) == (
        4_000_000,
        3_000_000,
        120_000,
    )
    assert (matched["bid_rem"], matched["ask_rem"]) == (0, 6_000_000)
    assert matched["bid_tonce"] is None and matched["bid_counter_fee"] == 300
    assert "ask_tonce" not in matched and "ask_counter_fee" not in matched
    bob.wait_notice(lambda n: n["notice"] == "OrderClosed" and n["id"] == bid["id"])
    assert bob.balances() == {
        **bob.balances(),
        XBT: START_XBT + 4_000_000,
        GBP: START_GBP - 120_300,
    }
    # The bid reserved ceil(0.04 * 30100) = 1204.00; it spent 1200.00 + 3.00 and got 1.00 back.
    gbp = [
        n["balance"] for n in bob.notices if n["notice"] == "BalanceChanged" and n["asset"] == GBP
    ]
    assert gbp[0] == START_GBP - 120_400 and gbp[-1] == START_GBP - 120_300
    # IMPL-GUIDE order: the trade's balance changes follow its OrdersMatched.
    xbt_credit = next(
        n for n in bob.notices if n["notice"] == "BalanceChanged" and n["asset"] == XBT
    )
    assert xbt_credit["balance"] == START_XBT + 4_000_000
    assert bob.notices.index(matched) < bob.notices.index(xbt_credit)

    # Alice, the maker: OrdersMatched with her tonce and fee, then her GBP credit.
    seen = alice.wait_notice(lambda n: n["notice"] == "OrdersMatched")
    assert seen["ask_tonce"] == 7 and seen["ask_counter_fee"] == 120 and "bid_tonce" not in seen
    credit = alice.wait_notice(lambda n: n["notice"] == "BalanceChanged" and n["asset"] == GBP)
    assert credit["balance"] == START_GBP + 120_000 - 120
    assert alice.notices.index(seen) < alice.notices.index(credit)

    # A mere watcher sees the trade without anyone's private fields.
    public = watcher.wait_notice(lambda n: n["notice"] == "OrdersMatched")
    assert not {"bid_tonce", "ask_tonce", "bid_counter_fee", "ask_counter_fee"} & public.keys()
    assert public["total"] == 120_000 and public["ask_rem"] == 6_000_000

    assert alice.call("GetTradeVolume", asset=XBT)["volume"] == 4_000_000
    ticker = watcher.call("WatchTicker", base=XBT, counter=GBP, watch=True)
    assert (ticker["last"], ticker["ask"], ticker["bid"]) == (3_000_000, 3_000_000, None)
    assert ticker["volume"] == 4_000_000


def test_impl_guide_reservation_under_v1_scales(make_exchange: Callable[..., ServerThread]) -> None:
    exchange = make_exchange(config=EngineConfig(scales=V1))
    with Client(exchange.url) as alice:
        assert alice.authenticate()["error_code"] == 0
        start = alice.balances()[GBP]
        assert start == 1_000_000 * V1.asset(GBP)
        placed = alice.place(12345, 1234500)
        assert placed["error_code"] == 0
        assert alice.balances()[GBP] == start - 1523991
        assert alice.call("CancelOrder", id=placed["id"])["quantity"] == 12345
        assert alice.balances()[GBP] == start


def test_tonce_rules_over_the_wire(make_client: Callable[..., Client]) -> None:
    alice = make_client()
    alice.authenticate()
    assert alice.place(-1_000_000, 5_000_000, tonce=5)["error_code"] == 0
    again = alice.place(-1_000_000, 5_000_000, tonce=5)
    assert (again["error_code"], again["error_msg"]) == (3, Msg.TONCE_OUT_OF_SEQUENCE)
    zero = alice.place(-1_000_000, 5_000_000, tonce=0)
    assert (zero["error_code"], zero["error_msg"]) == (8, Msg.TONCE_ZERO)
    cancelled = alice.call("CancelOrder", tonce=5)
    assert cancelled["error_code"] == 0 and cancelled["tonce"] == 5
    assert alice.call("CancelAllOrders")["orders"] == []
    assert alice.place(-1_000_000, 5_000_000, tonce=1)["error_code"] == 0  # counter was reset


def test_rate_limits_answer_error_6_and_keep_the_connection(
    make_exchange: Callable[..., ServerThread],
) -> None:
    limits = EngineConfig(info_limit=(3, 60.0), order_limit=(4, 60.0))
    exchange = make_exchange(config=limits)
    with Client(exchange.url) as alice:
        alice.authenticate()
        info = [alice.call("GetBalances")["error_code"] for _ in range(4)]
        assert info == [0, 0, 0, 6]
        limited = alice.call("GetOrders")
        assert (limited["error_code"], limited["error_msg"]) == (6, Msg.INFO_TOO_RAPID)
        estimate = {"base": XBT, "counter": GBP, "quantity": 1000}
        orders = [alice.call("EstimateMarketOrder", **estimate)["error_code"] for _ in range(4)]
        assert orders == [0, 0, 0, 0]
        limited = alice.call("PlaceOrder", base=XBT, counter=GBP, quantity=-1000, price=10**6)
        assert (limited["error_code"], limited["error_msg"]) == (6, Msg.ORDERS_TOO_RAPID)
        # A burst is refused, not punished: the session still works for other commands.
        assert alice.call("WatchTicker", base=XBT, counter=GBP, watch=True)["error_code"] == 0
    assert Assets["XBT"] == XBT_GBP.base
