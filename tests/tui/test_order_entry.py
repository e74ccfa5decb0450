"""Order entry and login, as an audit found them (issue 4): the real app, driven with the pilot
on the real embedded exchange (see conftest). Every check of what was placed asks the exchange.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Input, Label

from cfdash.core.assets import PAIRS, parse_pair
from cfdash.core.errors import Msg
from cfdash.tui.app import DashboardApp
from cfdash.tui.main import build
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.login import LoginScreen, known_login
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.widgets.entry import OrderEntry

from .conftest import (
    COOKIE,
    FUNDS,
    GBP,
    MAKER,
    SECRET,
    SMALL,
    USER,
    WIDE,
    XBT,
    Exchange,
    gbp,
    p,
    parse,
    q,
    record_notices,
    running,
    screen_text,
    until,
)
from .test_app import message, new_orders, type_ahead

PLN_PAIR = PAIRS[3]
FUTURES = parse_pair("XBTJAN18:USDJAN18")


def field(app: DashboardApp, name: str) -> str:
    return app.query_one(f"#{name}", Input).value


def shown(app: DashboardApp, widget_id: str) -> str:
    """What a widget shows on the screen, its lines joined (a wrapped message reads as one)."""
    region = app.query_one(widget_id).region
    rows = screen_text(app).splitlines()[region.y : region.bottom]
    return " ".join(text for row in rows if (text := row[region.x : region.right].strip()))


# -- 1. a market switch starts from an empty form ----------------------------------------------


@pytest.mark.slow
async def test_switching_market_clears_the_price_the_amounts_and_the_note(app, exchange) -> None:
    maker = exchange.client(MAKER)
    await asyncio.to_thread(lambda: maker.place_order(PLN_PAIR, "1", "159000").result(3))
    async with running(app) as pilot:
        await pilot.press("b", *"0.01", "tab", *"25000", "enter")
        await until(pilot, lambda: message(app).startswith("placed #"))
        await pilot.press(*"0.5", "escape", "m")
        await until(pilot, lambda: isinstance(app.screen, MarketPicker))
        await pilot.press("down", "down", "down", "enter")
        await until(pilot, lambda: app.pair == PLN_PAIR)
        entry = app.query_one(OrderEntry)
        assert (field(app, "quantity"), field(app, "price"), field(app, "total")) == ("", "", "")
        assert entry.border_title.startswith("Buy XBT:PLN")
        assert message(app) == "type a quantity and a price"  # no "placed #…" from XBT:GBP
        await pilot.press("s", *"0.5", "enter")
        await pilot.pause(0.2)
        assert message(app) == "✗ price: required"
        assert new_orders(exchange) == [(p("25000"), q("0.01"))]  # only the XBT:GBP bid
        assert exchange.balances()[XBT] == (q("1.9"), q("0.1"))  # nothing sold


async def test_reloading_the_same_market_keeps_what_was_typed(app) -> None:
    """After a login the app reloads the market it shows: the form is not wiped."""
    async with running(app) as pilot:
        await pilot.press("b", *"0.25", "tab", *"40000")
        app.load(app.source.snapshot(app.pair))
        await pilot.pause()
        assert (field(app, "quantity"), field(app, "price")) == ("0.25", "40000")
        assert "Enter to place" in message(app)


@pytest.mark.slow
async def test_a_pending_estimate_for_the_old_market_is_dropped(app) -> None:
    async with running(app) as pilot:
        entry = app.query_one(OrderEntry)
        await pilot.press("b", "ctrl+t", *"0.3")
        await until(pilot, lambda: "≈ 0.30000000 XBT" in entry.preview_text)
        app.switch_pair(PLN_PAIR)
        await pilot.pause()
        assert entry.estimate is None
        assert "≈" not in entry.preview_text
        await pilot.press("b", *"0.3")
        await until(pilot, lambda: "no liquidity" in entry.preview_text)  # asked anew


@pytest.mark.slow
async def test_a_limit_far_through_the_book_asks_first(app, exchange) -> None:
    """Best ask 41,010, best bid 40,990: a limit more than 10% through the touch asks for a
    confirmation like a market order; nearer, it is placed at once."""
    async with running(app) as pilot:
        await pilot.press("b", *"0.1", "tab", *"45200", "enter")  # 10.2% above the ask
        screen = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        question = str(screen.query_one("#question").render())
        assert "Buy 0.10000000 XBT at 45,200.00 GBP on XBT:GBP?" in question
        assert "10% above the best ask 41,010.00" in question
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert exchange.balances()[XBT] == (q("1.9"), q("0.1"))  # nothing was sent
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: exchange.balances()[XBT][0] == q("2.0"))  # filled at 41,010
        # 45,100 is within 10% of the best ask: no question.
        await pilot.press(*"0.1", "tab", *"45100", "enter")
        await until(pilot, lambda: exchange.balances()[XBT][0] == q("2.1"))
        assert not isinstance(app.screen, ConfirmScreen)
        # A sell below the best bid by more than 10% asks too.
        await pilot.press("escape", "s", *"0.1", "tab", *"36800", "enter")
        screen = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        assert "10% below the best bid 40,990.00" in str(screen.query_one("#question").render())
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))


# -- 2. messages fit the 80x24 form -----------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        ("756", "41000", "✗ quantity: more than the 41,810.00 available · needs 30,996,000.00 GBP"),
        ("0.000000001", "41000", "✗ quantity: 0.000000001 has more than 8 decimal places"),
        ("0.1", "41000.001", "✗ price: 41000.001 has more than 2 decimal places"),
    ],
)
async def test_messages_fit_the_compact_form(app, quantity: str, price: str, expected) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b")
        app.query_one("#quantity", Input).value = quantity
        app.query_one("#price", Input).value = price
        await pilot.pause()
        assert message(app) == expected
        assert shown(app, "#message") == expected  # nothing cut off
        preview = shown(app, "#preview")  # one line of whole parts: never wrapped
        assert preview and app.query_one(OrderEntry).preview_text.startswith(preview)
        for widget_id in ("#ladder", "#entry", "#status", "#ticker"):
            widget = app.query_one(widget_id)
            assert app.screen.region.contains_region(widget.region), widget_id
        assert app.query_one("#tape").region.height >= 5


async def test_a_long_message_leaves_off_its_detail_rather_than_lose_its_end(app, exchange):
    exchange.server.call(lambda s: s.core.credit(USER, GBP, gbp("1000000")))
    async with running(app, SMALL) as pilot:
        entry = app.query_one(OrderEntry)
        await until(pilot, lambda: (entry.available or {}).get(GBP) == gbp("1041810"))
        await pilot.press("b", *"1000", "tab", *"41000")
        short = "✗ quantity: more than the 1,041,810.00 available"
        assert shown(app, "#message") == short  # whole, on two lines
        assert entry.error is not None and entry.error.detail == "needs 41,000,000.00 GBP"
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert shown(app, "#message") == f"{short} · needs 41,000,000.00 GBP"


async def test_the_preview_leaves_off_the_fee_rather_than_wrap(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b", *"756", "tab", *"41000")
        cost = "cost 31,073,490.00 GBP · 30,996,000.00 + 77,490.00 fee (0.25%)"  # ladder trading
        assert app.query_one(OrderEntry).preview_text == cost
        assert shown(app, "#preview") == "cost 31,073,490.00 GBP"  # never "fee" / "(0.25%)"
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert shown(app, "#preview") == cost


# -- 3. typing ahead in the login dialog ------------------------------------------------------


async def test_keys_typed_ahead_in_the_login_dialog_land_in_their_fields(exchange) -> None:
    app = exchange.dashboard(user=None, login=True).app
    async with running(app, SMALL, user=None) as pilot:
        await pilot.press("l")
        screen = await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen)
        await pilot.pause()
        type_ahead(app, [str(USER), "tab", *COOKIE, "tab", *"secret"])
        await pilot.pause()
        assert screen.query_one("#user-id", Input).value == str(USER)
        assert screen.query_one("#cookie", Input).value == COOKIE
        assert screen.query_one("#passphrase", Input).value == "secret"
        assert app.focused is screen.query_one("#passphrase", Input)
        type_ahead(app, ["shift+tab", "shift+tab", "tab"])
        await pilot.pause()
        assert app.focused is screen.query_one("#cookie", Input)


# -- 4. private mode ---------------------------------------------------------------------------


@pytest.mark.slow
async def test_private_mode_hides_the_balance_in_the_funds_message(app) -> None:
    async with running(app, WIDE) as pilot:
        await pilot.press("b", *"100", "tab", *"41000")
        assert "41,810.00" in message(app)
        await pilot.press("escape", "p")
        assert "41,810.00" not in message(app)
        assert message(app) == "✗ quantity: more than the GBP available · needs 4,100,000.00 GBP"
        assert "41,810.00" not in screen_text(app)
        await pilot.press("s", *"3", "enter")  # 1.9 XBT available
        assert message(app) == "✗ quantity: more than the XBT available · needs 3.00000000 XBT"
        await pilot.press("escape", "p")
        assert "more than the 1.90000000 available" in message(app)


# -- 5. labels of long futures names -----------------------------------------------------------


@pytest.mark.parametrize("size", [SMALL, WIDE])
async def test_labels_fit_every_pair(app, size: tuple[int, int]) -> None:
    async with running(app, size) as pilot:
        app.switch_pair(FUTURES)
        await pilot.press("b")
        await pilot.pause()
        rows = {"quantity": "Quantity XBTJAN18", "price": "Price USDJAN18"}
        for kind in ("limit", "market"):
            if kind == "market":
                await pilot.press("ctrl+t")
                await pilot.pause()
                rows = {"quantity": "Quantity XBTJAN18", "total": "or Total USDJAN18"}
            starts = set()
            for name, text in rows.items():
                label = app.query_one(f"#{name}-label", Label)
                box = app.query_one(f"#{name}", Input)
                assert str(label.render()) == text
                assert label.region.width > len(text)  # all of it, and a gap
                assert box.region.x >= label.region.x + len(text) + 1
                assert box.region.width >= 10
                starts.add(box.region.x)
            assert len(starts) == 1  # the fields line up
            text = screen_text(app)
            for label_text in rows.values():
                assert f"{label_text} " in text


# -- 6. a refusal while disconnected goes once the connection is back --------------------------


async def test_the_not_connected_refusal_goes_when_the_connection_is_back(exchange) -> None:
    dashboard = exchange.dashboard(client={"backoff_base": 1.0, "backoff_cap": 1.0})
    app = dashboard.app
    port = int(exchange.url.rstrip("/").rsplit(":", 1)[1])
    second: Exchange | None = None
    try:
        async with running(app) as pilot:
            await pilot.press("b", *"0.1", "tab", *"40000")
            await asyncio.to_thread(exchange.server.stop)
            await until(pilot, lambda: app.status.state == "reconnecting")
            await pilot.press("enter")
            await until(pilot, lambda: message(app).startswith("✗ Not connected to the exchange"))
            assert shown(app, "#message") == message(app)
            second = Exchange(port=port)
            second.add_user((USER, COOKIE, SECRET), FUNDS)
            await until(pilot, lambda: app.status.connected and app.status.user_id, timeout=8)
            await until(pilot, lambda: message(app) == "Enter to place")
            assert field(app, "quantity") == "0.1"  # kept: Enter places it now
    finally:
        if second is not None:
            second.close()


# -- 7. exponents and thousands separators -----------------------------------------------------


async def test_exponents_and_ambiguous_commas_are_refused_inline(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("b")
        for quantity, price, expected in [
            ("1e-2", "40000", "✗ quantity: no exponents: type 0.01"),
            ("0.01", "4E4", "✗ price: no exponents: type 40000"),
            ("0.01", "40,000", "✗ price: 40,000 is ambiguous: type 40000 or 40.000"),
            ("0,5", "40000", "✗ quantity: commas only group thousands; use a point"),
        ]:
            app.query_one("#quantity", Input).value = quantity
            app.query_one("#price", Input).value = price
            await pilot.press("enter")
            await pilot.pause()
            assert message(app) == expected
            assert shown(app, "#message") == expected
        await pilot.pause(0.1)
        assert new_orders(exchange) == []
        app.query_one("#quantity", Input).value = "0.01"
        app.query_one("#price", Input).value = "40,000.00"  # a point: the comma groups
        await pilot.press("enter")
        await until(pilot, lambda: new_orders(exchange) == [(p("40000"), q("0.01"))])


# -- 8. a refused environment login ------------------------------------------------------------


@pytest.mark.slow
async def test_a_refused_environment_login_says_press_l_and_prefills_the_dialog(
    exchange, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("COINFLOOR_USER_ID", str(USER))
    monkeypatch.setenv("COINFLOOR_COOKIE", COOKIE)
    monkeypatch.setenv("COINFLOOR_PASSPHRASE", "not user seven's passphrase")
    dashboard = build(parse(exchange.url))
    exchange.dashboards.append(dashboard)  # closed with the exchange
    app = dashboard.app
    async with running(app, SMALL, user=None) as pilot:
        notices = record_notices(app)
        await pilot.press("b", *"0.1", "tab", *"40000", "enter")
        # the refusal was said when it came; the first private action opens the dialog, with
        # the reason in it (issue 10, defect 11)
        screen = await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen)
        assert Msg.BAD_SIGNATURE in str(screen.query_one("#error").render())
        assert screen.query_one("#user-id", Input).value == str(USER)  # from the environment
        assert screen.query_one("#cookie", Input).value == COOKIE
        secret = screen.query_one("#passphrase", Input)
        assert secret.value == "" and app.focused is secret  # never the passphrase
        await pilot.press(*SECRET, "enter")
        await until(pilot, lambda: app.status.user_id == USER)
        # logged in, the order that asked for it goes on
        await until(pilot, lambda: new_orders(exchange) == [(p("40000"), q("0.1"))])
        assert not any("not user seven" in notice for notice in notices)


def test_the_dialog_prefers_the_environment_and_never_reads_the_passphrase() -> None:
    read: set[str] = set()

    class Env(dict[str, str]):
        def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
            read.add(key)
            return super().get(key, default)

    env = Env(COINFLOOR_USER_ID="7", COINFLOOR_COOKIE=f" {COOKIE} ", COINFLOOR_PASSPHRASE="x")
    assert known_login(3, "the settings' cookie", env) == (7, COOKIE)
    assert read == {"COINFLOOR_USER_ID", "COINFLOOR_COOKIE"}
    assert known_login(3, "the settings' cookie", {}) == (3, "the settings' cookie")
    # Another user than the settings': their cookie is not offered for it.
    assert known_login(3, "the settings' cookie", {"COINFLOOR_USER_ID": "7"}) == (7, "")
    assert known_login(7, "the settings' cookie", {"COINFLOOR_USER_ID": "7"}) == (
        7,
        "the settings' cookie",
    )
    assert known_login(None, "", {"COINFLOOR_USER_ID": "seven"}) == (None, "")
