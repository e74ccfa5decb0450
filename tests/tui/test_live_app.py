"""The dashboard on the embedded exchange over loopback, driven with Textual's pilot.

Each test builds what ``cfdash`` builds (``cfdash.tui.main.build``): a quiet, seeded
``ServerThread`` (no simulated traders), a real ``WSClient`` with reconnection, ``ClientSource``
and the app. A second plain ``WSClient`` (user 2) plays the rest of the market.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from cfdash.client import WSClient
from cfdash.core.assets import PAIRS, SPOT_PAIRS, V2, Assets
from cfdash.core.errors import Msg
from cfdash.server.app import ServerThread
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, add_funded_user
from cfdash.tui.app import DashboardApp
from cfdash.tui.main import Dashboard
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.login import LoginScreen
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.widgets.balances import BalancesView
from cfdash.tui.widgets.ladder import OrderBookLadder
from tests.support.wait import until

from .conftest import record_notices

GBP_PAIR, EUR_PAIR = PAIRS[0], PAIRS[1]
XBT, GBP = Assets["XBT"], Assets["GBP"]
OTHER = (2, "b3RoZXIgdXNlcidzIGNvb2tpZQ==", "another passphrase")
SIZE = (120, 36)


def q(text: str) -> int:
    return V2.quantity_to_wire(GBP_PAIR, text)


def p(text: str) -> int:
    return V2.price_to_wire(GBP_PAIR, text)


def lines(widget: Any) -> list[str]:
    return [widget.line_text(y) for y in range(widget.size.height)]


def ladder_has(app: DashboardApp, text: str) -> bool:
    return any(text in line for line in lines(app.query_one(OrderBookLadder)))


@pytest.fixture
def demo(make_dashboard) -> Dashboard:
    return make_dashboard("--no-traders", "--seed", "1")


def trader(server: ServerThread) -> WSClient:
    server.call(lambda s: add_funded_user(s.core, *OTHER))
    client = WSClient(server.url, socket_timeout=3)
    client.set_auth_data(*OTHER)
    return client


@pytest.fixture
async def other(demo: Dashboard) -> AsyncIterator[WSClient]:
    assert demo.server is not None
    client = trader(demo.server)
    yield client
    client.stop()


async def logged_in(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await until(pilot, lambda: app.status.user_id == 1 and app.status.connected)  # type: ignore[attr-defined]


async def test_demo_logs_in_by_itself_and_shows_a_resting_order(demo, other) -> None:
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        assert not isinstance(app.screen, LoginScreen)
        assert "user 1" in str(app.query_one("#status").render())
        rows = [line.split() for line in lines(app.query_one(BalancesView))]
        gbp = next(row for row in rows if row[:1] == ["GBP"])
        available = V2.total_to_wire(GBP_PAIR, gbp[1].replace(",", ""))
        assert available == V2.total_to_wire(GBP_PAIR, "1000000")  # the demo account's GBP
        other.place_order(GBP_PAIR, "-0.5", "41000").result(3)
        await until(pilot, lambda: app.book.asks == ((p("41000"), q("0.5"), 1),))
        assert ladder_has(app, "41,000.00")
        assert ladder_has(app, "0.50000000")


async def test_switching_market_shows_only_the_new_market(demo, other) -> None:
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        other.place_order(GBP_PAIR, "-0.5", "41000").result(3)
        await until(pilot, lambda: ladder_has(app, "41,000.00"))
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MarketPicker))
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.pair == EUR_PAIR)
        await until(pilot, lambda: not ladder_has(app, "41,000.00"))
        other.place_order(GBP_PAIR, "-0.3", "41500").result(3)
        other.place_order(EUR_PAIR, "0.25", "39000").result(3)
        await until(pilot, lambda: ladder_has(app, "39,000.00"))
        assert app.book.asks == () and len(app.book.bids) == 1
        assert not ladder_has(app, "41,500.00")
        assert "XBT:EUR" in str(app.query_one("#ticker").render())
        watches = demo.source.client.watches
        watched = {(w["base"], w["counter"]) for w in watches if w["method"] == "WatchOrders"}
        assert watched == {(EUR_PAIR.base, EUR_PAIR.counter)}
        tickers = {(w["base"], w["counter"]) for w in watches if w["method"] == "WatchTicker"}
        assert tickers == {(p.base, p.counter) for p in SPOT_PAIRS}  # the watchlist


@pytest.fixture
def exchange() -> Iterator[ServerThread]:
    server = ServerThread(traders=False, seed=2)
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
async def test_login_dialog_opens_on_a_private_panel_shows_the_server_message_then_succeeds(
    make_dashboard, exchange: ServerThread, home: dict[str, str]
) -> None:
    config = Path(home["XDG_CONFIG_HOME"]) / "cfdash" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'user_id = 1\ncookie = "{DEMO_COOKIE}"\n')
    dashboard = make_dashboard(exchange.url)
    app = dashboard.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.connected)
        assert not isinstance(app.screen, LoginScreen)  # the public market needs no login
        await pilot.press("v")  # the open orders: private, so the dialog opens by itself
        screen = await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen)
        assert screen.query_one("#user-id", Input).value == "1"  # from the settings file
        assert screen.query_one("#cookie", Input).value == DEMO_COOKIE
        secret = screen.query_one("#passphrase", Input)
        assert app.focused is secret
        await pilot.press(*"wrong", "enter")
        error = screen.query_one("#error")
        await until(pilot, lambda: Msg.BAD_SIGNATURE in str(error.render()))
        assert app.screen is screen and secret.value == ""
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await until(pilot, lambda: app.screen is not screen)
        await logged_in(pilot)
        await until(pilot, lambda: app.query_one(BalancesView).balances)


async def test_environment_credentials_log_in_without_a_dialog(
    make_dashboard, exchange: ServerThread, home: dict[str, str]
) -> None:
    environ = {
        **home,
        "COINFLOOR_USER_ID": "1",
        "COINFLOOR_COOKIE": DEMO_COOKIE,
        "COINFLOOR_PASSPHRASE": DEMO_PASSPHRASE,
    }
    app = make_dashboard(exchange.url, environ=environ).app
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        assert not isinstance(app.screen, LoginScreen)


async def test_a_refused_environment_login_is_said_and_the_dialog_tells_why(
    make_dashboard, exchange: ServerThread, home: dict[str, str], monkeypatch
) -> None:
    """Issue 10, defect 11: a wrong ``COINFLOOR_PASSPHRASE`` is said at once (the exchange's
    message, never the passphrase), and the first private action opens the login dialog with
    that reason in it."""
    wrong = "not the passphrase"
    environ = {
        **home,
        "COINFLOOR_USER_ID": "1",
        "COINFLOOR_COOKIE": DEMO_COOKIE,
        "COINFLOOR_PASSPHRASE": wrong,
    }
    for name in ("USER_ID", "COOKIE"):  # what the dialog pre-fills (never the passphrase)
        monkeypatch.setenv(f"COINFLOOR_{name}", environ[f"COINFLOOR_{name}"])
    app = make_dashboard(exchange.url, environ=environ).app
    notices = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.connected)
        said = await until(pilot, lambda: [n for n in notices if Msg.BAD_SIGNATURE in n])
        assert "refused the login" in said[0]
        status = str(app.query_one("#status").render())
        assert "login refused" in status and app.status.user_id is None
        assert not isinstance(app.screen, LoginScreen)  # the public market needs no login
        await pilot.press("v")  # the open orders: private, so the dialog opens by itself
        screen = await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen)
        why = str(screen.query_one("#error").render())
        assert "automatic login" in why and Msg.BAD_SIGNATURE in why
        assert screen.query_one("#user-id", Input).value == "1"
        assert screen.query_one("#cookie", Input).value == DEMO_COOKIE
        assert screen.query_one("#passphrase", Input).value == ""
        assert all(wrong not in text for text in [*notices, why, status])
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await until(pilot, lambda: app.screen is not screen)
        await logged_in(pilot)
        await until(pilot, lambda: "login refused" not in str(app.query_one("#status").render()))


async def test_read_only_never_authenticates(make_dashboard) -> None:
    dashboard = make_dashboard("--no-traders", "--read-only")
    app = dashboard.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.connected)
        assert not app.query_one("#entry").display  # no order form
        await pilot.press("b", "C", "v")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen | LoginScreen)
        assert not isinstance(app.focused, Input)
        assert "read-only" in str(app.query_one("#status").render())
        assert app.status.user_id is None
        client = dashboard.source.client
        assert client.user_id is None and not client.auth_complete
