"""Keys you can trust (issue 10): a burst of keys (several in one read, as over SSH) does what
the same keys typed slowly do. The real app on the real embedded exchange (see conftest); a
burst is queued whole before the app handles any of it (``burst``), and what was placed is
asked of the exchange.
"""

from __future__ import annotations

import asyncio

import pytest
from textual import events
from textual.widgets import Input

from cfdash.core.assets import PAIRS
from cfdash.tui.app import DashboardApp
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.help import HelpScreen
from cfdash.tui.screens.login import LoginScreen
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.widgets.entry import NumberInput, OrderEntry

from .conftest import (
    COOKIE,
    SMALL,
    USER,
    XBT,
    p,
    q,
    running,
    screen_text,
    until,
)
from .test_app import footer_line, message, new_orders

CHARACTERS = {
    "tab": "\t",
    "enter": "\r",
    "escape": "\x1b",
    "backspace": "\x7f",
    "space": " ",
    "ctrl+a": "\x01",
    "ctrl+k": "\x0b",
    "ctrl+t": "\x14",
}
"""The characters a terminal sends for the named keys (arrows and such have none)."""


def burst(app: DashboardApp, *keys: str) -> None:
    """Queue ``keys`` all at once, as one read from the terminal delivers them: no key waits
    for the one before it to be handled."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        character = key if len(key) == 1 else CHARACTERS.get(key)
        event = events.Key(key, character)
        event.set_sender(app)
        driver.send_message(event)


def value(app: DashboardApp, name: str) -> str:
    return app.screen.query_one(f"#{name}", Input).value


def count_refusals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The values of the number fields each time one refused a character, from now on."""
    refused: list[str] = []
    restricted = NumberInput.restricted

    def counting(self: NumberInput) -> None:
        refused.append(self.value)
        restricted(self)

    monkeypatch.setattr(NumberInput, "restricted", counting)
    return refused


async def settle(pilot, app: DashboardApp) -> None:  # type: ignore[no-untyped-def]
    """Let the app handle everything queued (a few rounds: messages post messages)."""
    for _ in range(5):
        await pilot.pause()


async def answered(pilot, app: DashboardApp) -> None:  # type: ignore[no-untyped-def]
    """The keys are handled and every request they made has reached the exchange and been
    answered: a GetBalances queued behind them, on the source's one worker thread and over the
    same connection, has come back (the exchange answers a connection's commands in order)."""
    await settle(pilot, app)
    source = app.source
    client = source.client  # type: ignore[attr-defined]
    queued = source.worker.submit(lambda: client.GetBalances().result(20))  # type: ignore[attr-defined]
    await asyncio.wrap_future(queued)


# -- 1. a dialog answers once ------------------------------------------------------------------


@pytest.mark.slow
async def test_market_picker_enter_enter_in_one_burst_switches_once(app) -> None:
    async with running(app, SMALL) as pilot:
        burst(app, "m", "enter", "enter")
        await settle(pilot, app)
        assert app.is_running and app.pair == PAIRS[0]
        assert not isinstance(app.screen, MarketPicker)
        burst(app, "m", "down", "enter", "enter", "enter")
        await until(pilot, lambda: app.pair == PAIRS[1])
        await settle(pilot, app)
        assert app.is_running and len(app.screen_stack) == 1


@pytest.mark.slow
async def test_every_dialog_takes_one_answer_from_a_burst(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        burst(app, "question_mark", "escape", "escape", "question_mark", "question_mark")
        await settle(pilot, app)
        assert app.is_running and len(app.screen_stack) == 1
        burst(app, "m", "escape", "escape")
        await settle(pilot, app)
        assert app.is_running and len(app.screen_stack) == 1
        # cancel all: y y cancels once; the confirmation goes once
        burst(app, "C", "y", "y", "n", "escape")
        await until(pilot, lambda: exchange.open_orders() == [])
        await settle(pilot, app)
        assert app.is_running and len(app.screen_stack) == 1
        assert not isinstance(app.screen, ConfirmScreen | HelpScreen)


async def test_a_confirmation_button_pressed_twice_answers_once(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await until(pilot, lambda: app.focused is not None and app.focused.id == "no")
        burst(app, "enter", "enter", "enter")  # "No", pressed three times in one read
        await until(pilot, lambda: len(app.screen_stack) == 1)
        await settle(pilot, app)
        assert app.is_running and len(exchange.open_orders()) == 2  # nothing cancelled
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "yes")
        burst(app, "enter", "enter", "enter")
        await until(pilot, lambda: exchange.open_orders() == [])
        await settle(pilot, app)
        assert app.is_running and len(app.screen_stack) == 1


@pytest.mark.slow
async def test_login_dialog_escape_escape_and_enter_enter(exchange) -> None:
    app = exchange.dashboard(user=None, login=True).app
    async with running(app, SMALL, user=None) as pilot:
        burst(app, "l", "escape", "escape")
        await settle(pilot, app)
        assert app.is_running and len(app.screen_stack) == 1
        await pilot.press("l")
        screen = await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen)
        await until(pilot, lambda: isinstance(app.focused, Input))
        burst(app, *str(USER), "tab", *COOKIE, "tab", *"wrong", "enter", "enter", "enter")
        await until(pilot, lambda: "passphrase" in str(screen.query_one("#error").render()))
        await settle(pilot, app)
        assert app.is_running and app.status.user_id is None
        assert app.screen is screen
        burst(app, *"also wrong", "enter", "escape", "escape", "enter")
        await until(pilot, lambda: len(app.screen_stack) == 1)
        await settle(pilot, app)
        assert app.is_running


# -- 2. editing keys apply in the order they came ----------------------------------------------


@pytest.mark.slow
async def test_editing_keys_in_a_burst_apply_in_order(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b")
        for before, keys, after in [
            ("9994", ["backspace", "5"], "9995"),
            ("999", ["ctrl+a", "ctrl+k", *"123"], "123"),
            ("999", ["backspace"] * 3 + [*"123"], "123"),
            ("12", ["left", "backspace", "3"], "32"),
        ]:
            field = app.query_one("#quantity", Input)
            field.value = before
            field.cursor_position = len(before)
            await pilot.pause()
            burst(app, *keys)
            await until(pilot, lambda: field.value != before)  # noqa: B023
            await settle(pilot, app)
            assert field.value == after, keys


async def test_editing_keys_in_a_burst_apply_in_order_in_the_login_dialog(exchange) -> None:
    app = exchange.dashboard(user=None, login=True).app
    async with running(app, SMALL, user=None) as pilot:
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.pause()
        burst(app, *"70", "backspace", "tab", *"abcx", "backspace", "d", "ctrl+a", "ctrl+k")
        burst(app, *COOKIE, "tab", *"pass", "backspace", "s")
        await until(pilot, lambda: value(app, "passphrase") == "pass")
        await settle(pilot, app)
        assert (value(app, "user-id"), value(app, "cookie")) == ("7", COOKIE)


# -- 3. letters in a number field are refused, never commands ----------------------------------


async def test_letters_in_number_fields_never_switch_side_kind_or_market(
    app, exchange, monkeypatch
) -> None:
    async with running(app, SMALL) as pilot:
        entry = app.query_one(OrderEntry)
        refused = count_refusals(monkeypatch)
        burst(app, "b", "0", "s", ".", "t", "1", "b", "m", "q", "tab", *"4x1y0z0", "0", "s", "t")
        # Every key handled: the ten letters refused, the last two after the price's last digit.
        await until(pilot, lambda: value(app, "price") == "41000" and len(refused) == 10)
        await settle(pilot, app)
        assert value(app, "quantity") == "0.1"
        assert (entry.side, entry.kind, app.pair) == ("buy", "limit", PAIRS[0])
        assert app.is_running and len(app.screen_stack) == 1
        assert message(app).startswith("✗ digits only")
        assert "digits only" in screen_text(app)
        burst(app, "backspace", "0")  # the next edit takes the message away
        # Both keys handled: the backspace alone already says "Enter to place" (for 4100), and
        # its "0" would otherwise come after the paste below and take its message away.
        await until(
            pilot, lambda: message(app) == "Enter to place" and value(app, "price") == "41000"
        )
        # a paste with letters is refused whole
        app.query_one("#price", Input).post_message(events.Paste("4l000"))
        await until(pilot, lambda: message(app).startswith("✗ digits only"))
        assert value(app, "price") == "41000"
        # the market form's total field too
        burst(app, "ctrl+t", "s", "b")
        await until(pilot, lambda: entry.kind == "market" and message(app).startswith("✗ dig"))
        assert entry.side == "buy" and value(app, "total") == ""
        assert new_orders(exchange) == []


async def test_the_side_is_shown_in_the_form_in_its_colour(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b")
        side = app.query_one("#side")
        assert str(side.render()) == "BUY"
        buy_colour = side.styles.color
        text = screen_text(app).splitlines()
        assert any("Quantity XBT" in line and "BUY" in line for line in text)
        await pilot.press("escape", "s")
        await until(pilot, lambda: str(side.render()) == "SELL")
        assert side.styles.color != buy_colour
        assert side.styles.color == app.get_css_variables()["text-error"] or (
            side.styles.color.hex.lower() == app.get_css_variables()["text-error"].lower()
        )
        assert any(
            "Quantity XBT" in line and "SELL" in line for line in screen_text(app).split("\n")
        )


async def test_a_burst_from_the_dashboard_places_one_order(app, exchange) -> None:
    """b and s act as the app reads them: the form has focus before the digits are routed."""
    async with running(app, SMALL) as pilot:
        burst(app, "b", *"0.1", "tab", *"25000", "enter")
        await until(pilot, lambda: new_orders(exchange))
        await until(pilot, lambda: message(app).startswith("placed #"))
        assert new_orders(exchange) == [(p("25000"), q("0.1"))]


# -- 4. b and s open a limit order -------------------------------------------------------------


@pytest.mark.slow
async def test_b_and_s_open_a_limit_order_after_market_mode(app) -> None:
    async with running(app, SMALL) as pilot:
        entry = app.query_one(OrderEntry)
        await pilot.press("b", "ctrl+t")
        assert entry.kind == "market"
        await pilot.press("escape", "b")
        assert entry.kind == "limit" and app.focused is app.query_one("#quantity", Input)
        await pilot.press("ctrl+t", "escape", "s")
        assert (entry.kind, entry.side) == ("limit", "sell")


# -- 5. one Enter is one order -----------------------------------------------------------------


@pytest.mark.slow
async def test_enter_enter_enter_places_one_order(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b", *"0.1", "tab", *"25000")
        burst(app, "enter", "enter", "enter")
        await until(pilot, lambda: message(app).startswith("placed #"))
        burst(app, "enter", "enter")  # the quantity is gone: nothing to place
        await answered(pilot, app)
        assert new_orders(exchange) == [(p("25000"), q("0.1"))]


@pytest.mark.slow
async def test_a_slow_reply_locks_the_form_until_the_outcome(faulty_exchange) -> None:
    exchange, faults = faulty_exchange
    exchange.seed_market(book=False)
    dashboard = exchange.dashboard()
    app = dashboard.app
    dashboard.source.timeout = 1.0  # then the order is called pending
    async with running(app, SMALL) as pilot:
        faults.arm("PlaceOrder", "delay", delay=2.0)
        await pilot.press("b", *"0.1", "tab", *"25000")
        burst(app, "enter", "enter", "enter")
        await until(pilot, lambda: message(app) == "sending…")
        burst(app, "enter", "backspace", "5", "enter")  # locked: neither edits nor sends
        await settle(pilot, app)
        assert value(app, "price") == "25000"
        assert message(app) == "sending…"
        await until(pilot, lambda: message(app).startswith("order pending"), timeout=10)
        assert value(app, "quantity") == ""
        burst(app, "enter", "enter")
        await until(pilot, lambda: new_orders(exchange), timeout=10)
        await until(pilot, lambda: not faults.armed(), timeout=10)
        await answered(pilot, app)
        assert new_orders(exchange) == [(p("25000"), q("0.1"))]  # exactly one
        await pilot.press(*"0.2", "enter")  # unlocked: the next order goes
        await until(pilot, lambda: len(new_orders(exchange)) == 2, timeout=10)


async def test_a_market_order_confirmed_twice_is_one_order(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        before = exchange.balances()[XBT][0]
        await pilot.press("b", "ctrl+t", *"0.1")
        await until(pilot, lambda: "≈ 0.10000000 XBT" in app.query_one(OrderEntry).preview_text)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        burst(app, "y", "y", "enter", "enter", "y")
        await until(pilot, lambda: exchange.balances()[XBT][0] != before)
        # The keys after the first y meet a locked form, or (as typed slowly, once the reply
        # is in) an empty one: a y refused as a letter, an Enter with nothing to place.
        await until(pilot, lambda: not app.query_one(OrderEntry).locked)
        await answered(pilot, app)
        assert exchange.balances()[XBT][0] == before + q("0.1")  # bought once
        assert app.is_running
        # Yes focused, Enter three times in one read
        await pilot.press(*"0.1", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "yes")
        burst(app, "enter", "enter", "enter")
        await until(pilot, lambda: exchange.balances()[XBT][0] != before + q("0.1"))
        await until(pilot, lambda: message(app).startswith("market order done"))
        await answered(pilot, app)
        assert exchange.balances()[XBT][0] == before + q("0.2")  # once more, not twice


async def test_a_declined_confirmation_unlocks_the_form(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        entry = app.query_one(OrderEntry)
        await pilot.press("b", "ctrl+t", *"0.1")
        await until(pilot, lambda: "≈" in entry.preview_text)
        burst(app, "enter", "enter", "enter")  # No has focus: declined; asked again
        await settle(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: len(app.screen_stack) == 1 and not entry.locked)
        assert message(app) == "Enter to place"
        assert app.is_running and new_orders(exchange) == []


# -- 6. the footer shows the keys that work where the focus is ---------------------------------


async def test_the_footer_in_the_form_shows_the_form_keys_not_quit(app) -> None:
    async with running(app, SMALL) as pilot:
        assert "q Quit" in footer_line(app)
        await pilot.press("b")
        await until(pilot, lambda: "Place" in footer_line(app))
        footer = footer_line(app)
        for words in ("⏎ Place", "tab Next", "esc Leave", "^t Limit/market"):
            assert words in footer
        assert "Quit" not in footer and "Help" not in footer and "Buy" not in footer
        await pilot.press("q")  # refused in the field: the app goes on
        assert app.is_running and message(app).startswith("✗ digits only")
        await pilot.press("escape")
        await until(pilot, lambda: "q Quit" in footer_line(app))


async def test_the_form_footer_follows_the_keymap(exchange) -> None:
    app = exchange.dashboard(keymap={"entry.kind": "ctrl+y"}).app
    async with running(app, SMALL) as pilot:
        await pilot.press("b")
        await until(pilot, lambda: "^y Limit/market" in footer_line(app))
        await pilot.press("ctrl+y")
        assert app.query_one(OrderEntry).kind == "market"
