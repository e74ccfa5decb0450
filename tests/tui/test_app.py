"""The dashboard driven with Textual's pilot on the embedded exchange (see conftest).

Every check of what was placed, cancelled or reserved asks the exchange itself.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from textual.command import Command as PaletteCommand
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from cfdash.core.engine.config import EngineConfig
from cfdash.core.errors import Msg
from cfdash.tui.app import DashboardApp
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.help import HelpScreen
from cfdash.tui.screens.login import LoginScreen
from cfdash.tui.source import BookRows
from cfdash.tui.widgets.balances import BalancesView
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.ladder import OrderBookLadder
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.tape import TradeTape

from .conftest import (
    COOKIE,
    EUR_PAIR,
    FEE,
    GBP,
    MAKER,
    OWN,
    PAIR,
    SECRET,
    SMALL,
    USER,
    WIDE,
    XBT,
    Exchange,
    freeze_exchange_clock,
    gbp,
    lines,
    p,
    q,
    record_notices,
    running,
    screen_text,
    until,
)


def message(app: DashboardApp) -> str:
    return str(app.query_one("#message").render())


def new_orders(exchange: Exchange) -> list[tuple[int, int]]:
    """User 7's open orders beyond the two seeded ones: (price, signed remaining)."""
    seeded = {(p(price), q(size)) for size, price in OWN}
    return [(pr, left) for pr, left, _ in exchange.open_orders() if (pr, left) not in seeded]


async def test_buy_limit_from_the_keys_then_the_form_is_neutral(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("b", *"0.25", "tab", *"40000.5", "enter")
        view = app.query_one(OpenOrdersView)
        order = await until(
            pilot, lambda: next((o for o in view.orders if o.price == p("40000.50")), None)
        )
        assert new_orders(exchange) == [(p("40000.50"), q("0.25"))]
        assert (order.side, order.remaining) == ("buy", q("0.25"))
        assert order.tonce is not None
        ladder = app.query_one(OrderBookLadder)
        await until(pilot, lambda: any("●40,000.50" in line for line in lines(ladder)))  # ours
        # The form clears the quantity, keeps the price, says what happened and complains
        # about nothing until the user types again, in the quantity field.
        await until(pilot, lambda: f"placed #{order.id}" in message(app))
        assert message(app) == f"placed #{order.id} · type a quantity"
        assert app.query_one("#quantity", Input).value == ""
        assert app.query_one("#price", Input).value == "40000.5"
        assert app.focused is app.query_one("#quantity", Input)
        await pilot.press("x")  # refused: a number field takes digits only
        assert message(app).startswith("✗ digits only")
        assert app.query_one("#quantity", Input).value == ""
        await pilot.press("5")
        assert message(app).startswith("✗ quantity: more than")  # the next edit: its message
        await pilot.press("backspace")
        assert message(app) == "type a quantity"  # back as the form left it; no note


def type_ahead(app: DashboardApp, keys: list[str]) -> None:
    """Queue ``keys`` all at once, as a burst read from a slow link (or a busy app's backlog)
    arrives: no key waits for the one before it to be handled."""
    from textual import events

    driver = app._driver
    assert driver is not None
    for key in keys:
        character = key if len(key) == 1 else {"tab": "\t", "escape": "\x1b"}.get(key)
        event = events.Key(key, character)
        event.set_sender(app)
        driver.send_message(event)


@pytest.mark.slow
async def test_keys_typed_ahead_land_in_the_field_they_were_typed_for(app, exchange) -> None:
    async with running(app) as pilot:
        type_ahead(app, ["b", *"0.25", "tab", *"40000.5"])
        await pilot.pause()
        assert app.query_one("#quantity", Input).value == "0.25"
        assert app.query_one("#price", Input).value == "40000.5"
        assert app.focused is app.query_one("#price", Input)
        assert app.query_one(OrderEntry).border_title.startswith("Buy XBT:GBP")
        # back a field (focus selects its text: typing replaces it), the side switched (out of
        # the form and back with the other key), then out of it and a dashboard key: each
        # applies before the next key
        type_ahead(app, ["shift+tab", *"0.7", "escape", "s", "escape", "g"])
        await pilot.pause()
        assert app.query_one("#quantity", Input).value == "0.7"
        assert app.query_one(OrderEntry).border_title.startswith("Sell XBT:GBP")
        assert app.query_one(OrderBookLadder).group > 1
        assert app.focused is app.query_one(OrderBookLadder)
        assert new_orders(exchange) == []


async def test_sell_form_starts_on_quantity_and_sells(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("s")
        assert app.focused is app.query_one("#quantity", Input)
        assert app.query_one(OrderEntry).border_title.startswith("Sell XBT:GBP · limit")
        await pilot.press(*"0.1", "tab")
        assert app.focused is app.query_one("#price", Input)
        await pilot.press(*"41500", "enter")
        await until(pilot, lambda: new_orders(exchange))
        assert new_orders(exchange) == [(p("41500"), -q("0.1"))]


BAD_INPUTS = [
    # (quantity, price, expected fragment of the inline message)
    ("", "41000", "quantity: required"),
    ("0", "41000", "quantity: must not be zero"),
    ("0.123456789", "41000", "more than 8 decimal places"),
    ("-1", "41000", "must not be negative"),
    ("1..2", "41000", "not a number"),
    ("0.1", "41000.001", "price: 41000.001 has more than 2 decimal places"),
    ("0.1", "", "price: required"),
    ("5", "41000", "more than the 41,810.00 available"),  # a bid reserving 205,000 GBP
]


async def test_invalid_limit_orders_show_why_and_send_nothing(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("b")
        quantity, price = app.query_one("#quantity", Input), app.query_one("#price", Input)
        for bad_quantity, bad_price, expected in BAD_INPUTS:
            # Typing is covered by the other tests; setting the values keeps this table fast.
            quantity.value, price.value = bad_quantity, bad_price
            await pilot.press("enter")
            await pilot.pause()
            assert expected in message(app), (bad_quantity, bad_price)
            assert message(app).startswith("✗")
        await pilot.pause(0.1)
        assert new_orders(exchange) == []


@pytest.mark.slow
async def test_selling_more_than_available_is_refused_inline(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("s", *"1.95", "tab", *"41000", "enter")  # 1.9 XBT available
        await pilot.pause()
        assert "more than the 1.90000000 available" in message(app)
        assert new_orders(exchange) == []


@pytest.mark.slow
async def test_message_and_preview_update_as_you_type(app) -> None:
    async with running(app) as pilot:
        await pilot.press("b")
        assert message(app) == "type a quantity and a price"  # nothing typed: no complaint
        await pilot.press(*"0.1")
        assert "price: required" in message(app)
        await pilot.press("tab", *"41000")
        assert "Enter to place" in message(app)
        preview = str(app.query_one("#preview").render())
        assert "cost 4,110.25 GBP" in preview  # 4,100.00 + 10.25 fee: at 80 columns, no room


async def test_market_order_estimates_and_needs_confirmation(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("b", "ctrl+t")
        assert app.query_one(OrderEntry).kind == "market"
        await pilot.press(*"0.3")
        preview = app.query_one("#preview")
        # 0.3 XBT walks the asks: 0.5 are left at 41,010 after the seeded trades.
        await until(pilot, lambda: "≈ 0.30000000 XBT for 12,303.00 GBP" in str(preview.render()))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.book.asks[0] == (p("41010"), q("0.5"), 1)  # nothing was sent
        await pilot.press("enter")  # focus went back to the quantity field
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.book.asks[0] == (p("41010"), q("0.2"), 1))
        done = "market order done: bought 0.30 XBT at 41,010.00 · type a quantity"
        await until(pilot, lambda: message(app) == done)
        xbt = exchange.balances()[XBT]
        assert xbt == (q("1.9") + q("0.3"), q("0.1"))  # bought 0.3; the own ask holds 0.1


async def test_market_buy_by_total_spends_that_total(app, exchange) -> None:
    before = exchange.balances()[GBP][0]
    async with running(app) as pilot:
        await pilot.press("b", "ctrl+t", "tab", *"1000", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        tape = app.query_one(TradeTape)
        await until(pilot, lambda: tape.trades)  # the seeded trades came before watching
        assert (tape.trades[0].price, tape.trades[0].aggressor) == (p("41010"), "buy")
        spent = before - exchange.balances()[GBP][0]
        assert spent == gbp("1000") * (1 + FEE)  # the total, and the taker's fee on it


async def test_market_with_quantity_and_total_is_refused(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("s", "ctrl+t")
        app.query_one("#quantity", Input).value = "0.1"
        app.query_one("#total", Input).value = "1000"
        await pilot.press("enter")
        await pilot.pause()
        assert "not both" in message(app)
        assert not isinstance(app.screen, ConfirmScreen)
        assert exchange.balances()[XBT] == (q("1.9"), q("0.1"))


@pytest.mark.slow
async def test_refused_order_shows_the_exchange_message(monkeypatch) -> None:
    """An order the form cannot know is refused: this exchange allows two open orders."""
    freeze_exchange_clock(monkeypatch)
    exchange = Exchange(config=EngineConfig(max_open_orders=2))
    try:
        exchange.seed_market(book=False)  # only user 7's two orders
        app = exchange.dashboard().app
        async with running(app) as pilot:
            await pilot.press("b", *"0.1", "tab", *"40000", "enter")
            await until(pilot, lambda: message(app) == f"✗ {Msg.TOO_MANY_ORDERS}")
            assert app.query_one("#quantity", Input).value == "0.1"  # kept, to fix or retry
            assert len(exchange.open_orders()) == 2
    finally:
        exchange.close()


async def test_cancel_selected_order_returns_its_reservation(app, exchange) -> None:
    async with running(app, WIDE) as pilot:
        view = app.query_one(OpenOrdersView)
        assert [o.price for o in view.orders] == [p("41100"), p("40950")]
        view.focus()
        await pilot.press("down")
        selected = view.selected
        assert selected is not None and selected.price == p("40950")
        await pilot.press("c")  # names it (arms)
        await until(pilot, lambda: view.armed == selected.id)
        await pilot.press("c")  # cancels it
        await until(pilot, lambda: [o.price for o in view.orders] == [p("41100")])
        assert [price for price, _, _ in exchange.open_orders()] == [p("41100")]
        assert exchange.balances()[GBP] == (gbp("50000"), 0)


@pytest.mark.slow
async def test_cancel_all_asks_first(app, exchange) -> None:
    async with running(app) as pilot:
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert len(exchange.open_orders()) == 2
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        view = app.query_one(OpenOrdersView)
        await until(pilot, lambda: view.orders == ())
        assert exchange.open_orders() == []
        assert {reserved for _, reserved in exchange.balances().values()} == {0}
        notices = record_notices(app)
        await pilot.press("C")  # nothing left: nothing to confirm
        await until(pilot, lambda: notices)
        assert notices == ["no open orders to cancel"]
        assert not isinstance(app.screen, ConfirmScreen)


@pytest.mark.slow
async def test_help_lists_every_binding_and_escape_closes(app) -> None:
    async with running(app, WIDE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        ids = {row[2] for row in app.screen.rows}
        assert {b.id for b in app.BINDINGS} <= ids
        assert {b.id for b in OrderEntry.BINDINGS} <= ids
        text = screen_text(app)
        for binding in app.BINDINGS:
            assert app.DESCRIPTIONS[binding.id] in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


@pytest.mark.slow
async def test_keymap_remaps_by_binding_id(exchange) -> None:
    app = exchange.dashboard(keymap={"buy": "B", "help": "f1"}).app
    async with running(app) as pilot:
        await pilot.press("b")
        assert not isinstance(app.focused, Input)
        await pilot.press("B")
        assert app.focused is app.query_one("#quantity", Input)
        await pilot.press("escape", "f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert ("B", app.DESCRIPTIONS["buy"], "buy") in app.screen.rows


async def test_q_quits(app) -> None:
    async with running(app) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


async def test_compact_layout_keeps_book_entry_status(app) -> None:
    async with running(app, SMALL) as pilot:
        assert app.compact
        screen_region = app.screen.region
        for widget_id in ("#ladder", "#entry", "#status", "#ticker"):
            widget = app.query_one(widget_id)
            assert widget.display and widget.region.area > 0, widget_id
            assert screen_region.contains_region(widget.region)
        visible = [w.id for w in app.query(".panel") if w.region.area > 0]
        assert visible == ["tape"]
        await pilot.press("v")
        await pilot.pause()
        assert [w.id for w in app.query(".panel") if w.region.area > 0] == ["orders"]


async def test_wide_layout_shows_everything(app) -> None:
    async with running(app, WIDE):
        assert not app.compact
        for widget_id in ("#ladder", "#entry", "#tape", "#chart", "#orders", "#balances"):
            assert app.query_one(widget_id).region.area > 0, widget_id


async def test_open_orders_and_balances_fit_the_compact_panel(app) -> None:
    """At 80 columns the panel has 36 cells: compact columns, every amount still exact."""
    async with running(app, SMALL) as pilot:
        orders, balances = app.query_one(OpenOrdersView), app.query_one(BalancesView)
        await pilot.press("v")
        await until(pilot, lambda: orders.region.area > 0)
        text = lines(orders)
        assert all(len(line.rstrip()) <= orders.size.width for line in text)
        assert text[0].split() == ["Side", "Price", "Size", "Left", "Age"]
        assert text[1].split() == ["▸SELL", "41,100.00", "0.10", "0.10", "3m"]  # selected
        assert text[2].split() == ["BUY", "40,950.00", "0.20", "0.20", "3m"]
        await pilot.press("v")
        await until(pilot, lambda: balances.region.area > 0)
        text = lines(balances)
        assert all(len(line.rstrip()) <= balances.size.width for line in text)
        assert text[0].split() == ["Asset", "Available", "Reserved", "Total"]
        assert text[1].split() == ["XBT", "1.90", "0.10", "2.00"]
        assert text[2].split() == ["GBP", "41,810.00", "8,190.00", "50,000.00"]


async def test_wide_panels_show_every_decimal_place(app) -> None:
    async with running(app, (160, 40)):
        orders, balances = app.query_one(OpenOrdersView), app.query_one(BalancesView)
        text = lines(orders)
        assert text[0].split() == ["Side", "Price", "Size", "Left", "Tonce", "Age"]
        sell = text[1].split()
        assert sell[:4] == ["▸SELL", "41,100.00", "0.10000000", "0.10000000"]  # selected
        assert int(sell[4]) == orders.orders[0].tonce and sell[5] == "3m"
        assert lines(balances)[1].split() == ["XBT", "1.90000000", "0.10000000", "2.00000000"]


async def test_ladder_renders_asks_above_bids_with_cumulative_sizes(app) -> None:
    async with running(app, SMALL):
        text = lines(app.query_one(OrderBookLadder))
        spread = next(i for i, line in enumerate(text) if "spread 20.00" in line)
        asks = [line.split() for line in text[1:spread] if line.strip()]
        bids = [line.split() for line in text[spread + 1 :] if line.strip()]
        # Asks run from the highest down to the best; the size column accumulates outward.
        ask_prices = [row[0].lstrip("●") for row in asks]
        assert ask_prices == ["41,100.00", "41,040.00", "41,025.50", "41,010.00"]
        bid_prices = [row[0].lstrip("●") for row in bids]
        assert bid_prices == ["40,990.00", "40,950.00", "40,900.00", "40,800.00"]
        for rows in (list(reversed(asks)), bids):
            running_total = 0
            for row in rows:
                running_total += q(row[1].replace(",", ""))
                assert q(row[2].replace(",", "")) == running_total
        # The seeded trades took 0.1 from the best ask and 0.1 from the best bid.
        assert asks[-1][1] == "0.50000000" and bids[0][1] == "0.70000000"
        # Own orders are marked (a bid at 40,950 and an ask at 41,100).
        assert asks[0][0].startswith("●") and bids[1][0].startswith("●")
        assert not bids[0][0].startswith("●")


async def test_another_traders_order_is_pushed_and_repaints_in_place(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        ladder = app.query_one(OrderBookLadder)
        maker = exchange.client(MAKER)
        await asyncio.to_thread(lambda: maker.place_order(PAIR, "1", "40995").result(3))
        await until(pilot, lambda: app.book.best_bid == p("40995"))
        text = lines(ladder)
        spread = next(i for i, line in enumerate(text) if "spread" in line)
        assert "spread 15.00" in text[spread]
        assert text[spread + 1].split()[:3] == ["40,995.00", "1.00000000", "1.00000000"]


async def test_a_deposit_touches_the_balances_not_the_ladder(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        ladder = app.query_one(OrderBookLadder)
        calls: list[str] = []
        original = ladder.update_book
        ladder.update_book = lambda *a, **k: (calls.append("book"), original(*a, **k))  # type: ignore[method-assign]
        threads: list[int] = []
        exchange.dashboards[-1].source.subscribe(
            lambda batch: threads.append(threading.get_ident())
        )
        view = app.query_one(BalancesView)
        exchange.server.call(lambda s: s.core.credit(USER, GBP, gbp("100")))
        await until(pilot, lambda: any(b.available == gbp("41910") for b in view.balances or ()))
        await until(pilot, lambda: threads)  # the app's sink was called first
        assert calls == []
        assert threads[-1] != threading.get_ident()  # pushed from the bridge thread


async def test_disconnect_marks_data_stale_with_the_countdown(exchange) -> None:
    dashboard = exchange.dashboard(
        app_clock=time.time,  # the countdown is to a real time
        client={"backoff_base": 5.0, "backoff_cap": 5.0, "ping_interval": 0.2},
    )
    app = dashboard.app
    async with running(app, SMALL) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: app.status.latency is not None)
        await until(pilot, lambda: " ms" in str(status.render()))
        assert "● connected" in str(status.render()) and f"user {USER}" in str(status.render())
        await asyncio.to_thread(exchange.server.stop)
        await until(pilot, lambda: app.status.state == "reconnecting" and app.status.reconnect_at)
        text = str(status.render())
        assert re.search(r"reconnecting in \d+s \(attempt \d+\)", text) and "stale" in text
        assert " ms" not in text  # no latency while disconnected
        assert app.query_one(OrderBookLadder).stale
        assert app.query_one(OrderBookLadder).has_class("-stale")
        assert "STALE" in str(app.query_one("#ticker").render())


async def test_private_mode_hides_balances(app) -> None:
    async with running(app, WIDE) as pilot:
        view = app.query_one(BalancesView)
        assert "41,810.00" in "\n".join(lines(view))
        await pilot.press("p")
        text = "\n".join(lines(view))
        assert "41,810.00" not in text and "•••••" in text


@pytest.mark.slow
async def test_a_private_action_opens_the_login_dialog_once_then_continues(exchange) -> None:
    """Without credentials (a real endpoint), submitting an order asks to log in, shows the
    exchange's refusal, and places the order once logged in; cancelling is not re-asked."""
    app = exchange.dashboard(user=None, login=True).app
    async with running(app, SMALL, user=None) as pilot:
        assert not isinstance(app.screen, LoginScreen)  # watching the market needs no login
        await pilot.press("b", *"0.25", "tab", *"40000", "enter")
        screen = await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen)
        secret = screen.query_one("#passphrase", Input)
        assert secret.password
        screen.query_one("#user-id", Input).value = str(USER)
        screen.query_one("#cookie", Input).value = COOKIE
        secret.value = "wrong"
        secret.focus()
        await pilot.press("enter")
        error = screen.query_one("#error")
        await until(pilot, lambda: "incorrect signature" in str(error.render()))
        assert secret.value == ""  # never kept after an attempt
        assert app.screen is screen
        secret.value = SECRET
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen)
        await until(pilot, lambda: new_orders(exchange) == [(p("40000"), q("0.25"))])
        assert app.status.user_id == USER
        assert f"user {USER}" in str(app.query_one("#status").render())


async def test_a_dismissed_login_is_not_asked_again(exchange) -> None:
    app = exchange.dashboard(user=None, login=True).app
    async with running(app, SMALL, user=None) as pilot:
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LoginScreen))
        notices = record_notices(app)
        await pilot.press("C")
        await until(pilot, lambda: notices)
        assert notices == ["not logged in: press l to log in"]
        assert not isinstance(app.screen, LoginScreen | ConfirmScreen)
        await pilot.press("l")  # the key still offers it
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))


def offered(palette: CommandPalette) -> list[str]:
    """The titles the command palette lists, in its order."""
    commands = palette.query_one(CommandList)
    options = [commands.get_option_at_index(i) for i in range(commands.option_count)]
    return [o.hit.text or "" for o in options if isinstance(o, PaletteCommand)]


async def open_palette(app: DashboardApp, pilot: Pilot[None], query: str) -> CommandPalette:
    """Open the command palette with its key and type ``query``."""
    await pilot.press("ctrl+p")
    palette = await until(pilot, lambda: isinstance(app.screen, CommandPalette) and app.screen)
    await pilot.press(*query)
    return palette


@pytest.mark.slow
async def test_command_palette_offers_every_action(app) -> None:
    """The palette is a dialog: Buy and Sell are offered there all the same (the letters b
    and s, priority keys elsewhere, are typed into its search field)."""
    async with running(app, WIDE) as pilot:
        palette = await open_palette(app, pilot, "")  # nothing typed: every command
        wanted = {b.description for b in app.BINDINGS if b.id != "login"}  # logged in
        await until(pilot, lambda: wanted <= set(offered(palette)))
        assert "Log in" not in offered(palette) and "Market XBT:EUR" in offered(palette)
        await pilot.press(*"sell")
        await until(pilot, lambda: offered(palette)[:1] == ["Sell"])
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
        palette = await open_palette(app, pilot, "buy")
        await until(pilot, lambda: offered(palette)[:1] == ["Buy"])
        assert palette.query_one(CommandList).highlighted == 0
        await pilot.press("enter")
        entry = app.query_one(OrderEntry)
        await until(pilot, lambda: app.focused is app.query_one("#quantity", Input))
        assert entry.side == "buy" and entry.border_title.startswith("Buy XBT:GBP")
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        palette = await open_palette(app, pilot, "xbt:eur")
        await until(pilot, lambda: "Market XBT:EUR" in offered(palette))
        await pilot.press("enter")
        await until(pilot, lambda: app.pair == EUR_PAIR)
        await until(pilot, lambda: app.book == BookRows())  # nothing rests on XBT:EUR


async def test_theme_and_grouping_keys(app) -> None:
    async with running(app, SMALL) as pilot:
        assert app.current_theme.dark
        await pilot.press("d")
        assert not app.current_theme.dark
        ladder = app.query_one(OrderBookLadder)
        await pilot.press("g", "g", "g", "g")  # 0.01 -> 0.10 -> 1.00 -> 10.00 -> 100.00
        assert ladder.group == 10000
        rows = [line.split() for line in lines(ladder)]
        levels = [r[:2] for r in rows if r and r[0].lstrip("●")[:1].isdigit()]
        # Every ask rounds up into 41,100; bids round down into 40,900 and 40,800.
        assert levels == [
            ["●41,100.00", "4.55000000"],
            ["●40,900.00", "3.70000000"],
            ["40,800.00", "4.00000000"],
        ]


async def test_c_first_shows_the_order_it_would_cancel(app, exchange) -> None:
    """At 80x24 the trades fill the panel: ``c`` shows the open orders, selects the first and
    names it; only a second ``c``, with it in sight, cancels it."""
    async with running(app, SMALL) as pilot:
        view = app.query_one(OpenOrdersView)
        assert view.region.area == 0  # the trades are showing
        notices = record_notices(app)
        await pilot.press("c")
        await until(pilot, lambda: notices)
        order = view.selected
        assert order is not None and order.price == p("41100")
        assert notices == [
            f"SELL 0.10000000 XBT at 41,100.00 GBP (order {order.id}): press c again to cancel it"
        ]
        await pilot.pause()
        assert view.region.area > 0 and app.focused is view
        assert lines(view)[1].split()[:2] == ["✗SELL", "41,100.00"]  # selected, armed
        await pilot.pause(0.2)
        assert len(exchange.open_orders()) == 2  # nothing cancelled yet
        await pilot.press("c")
        await until(pilot, lambda: [o.price for o in view.orders] == [p("40950")])
        assert [price for price, _, _ in exchange.open_orders()] == [p("40950")]
        await until(pilot, lambda: notices[-1] == f"order {order.id} cancelled")


async def test_read_only_offers_no_login_and_no_trading(exchange) -> None:
    app = exchange.dashboard(user=None, read_only=True).app
    async with running(app, WIDE, user=None) as pilot:
        await pilot.press("l", "b", "c", "C")
        await pilot.pause(0.2)
        assert app.screen is app.screen_stack[0]  # no login dialog, no confirmation
        actions = {b.action for _, b, _, _ in app.screen.active_bindings.values()}
        assert not actions & {"buy", "sell", "cancel", "cancel_all", "login"}
        footer = screen_text(app).splitlines()[-1]
        assert "Buy" not in footer and "Cancel" not in footer and "Log in" not in footer
        assert "? Help" in footer and "q Quit" in footer
        titles = {c.title for c in app.palette_commands()}
        assert not titles & {"Buy", "Sell", "Cancel", "Cancel all", "Log in"}
        assert lines(app.query_one(BalancesView))[0].strip() == "read-only: no account"
        assert lines(app.query_one(OpenOrdersView))[1].strip() == "read-only: no account"


def footer_line(app: DashboardApp) -> str:
    return screen_text(app).splitlines()[-1]


@pytest.mark.slow
async def test_dialogs_footers_show_their_own_keys(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await until(pilot, lambda: footer_line(app).split() == ["y", "Yes", "n/esc", "No"])
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("b", "ctrl+t", *"0.1", "enter")  # a market order asks first
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await until(pilot, lambda: footer_line(app).split() == ["y", "Yes", "n/esc", "No"])
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape", "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await until(pilot, lambda: footer_line(app).split() == ["esc", "Close"])


@pytest.mark.slow
async def test_footer_fits_80_columns_with_help_and_quit_whatever_the_keymap(exchange) -> None:
    app = exchange.dashboard(keymap={"help": "f1"}).app
    async with running(app, SMALL) as pilot:
        await until(pilot, lambda: "f1 Help" in footer_line(app))
        footer = footer_line(app)
        assert footer.split("▏")[0].split() == [
            *("b", "Buy", "s", "Sell", "c", "Cancel", "C", "Cancel", "all"),
            *("m", "Market", "v", "Panel", "f1", "Help", "q", "Quit"),
        ]
        assert footer.rstrip().endswith("^p palette")  # nothing cut off
        await pilot.press("b")  # in the form only its keys: the field takes f1 and q
        await until(pilot, lambda: "Limit/market" in footer_line(app))
        assert footer_line(app).split("▏")[0].split() == [
            *("⏎", "Place", "tab", "Next", "esc", "Leave", "^t", "Limit/market")
        ]
        keys = {key.description: key for key in app.screen.query(FooterKey)}
        assert "Help" not in keys and "Quit" not in keys
        assert not keys["Leave"].has_class("-disabled")


@pytest.mark.slow
async def test_own_orders_mark_only_their_own_side_when_grouped(app, exchange) -> None:
    """A bid at 41,001 rounds up into the 41,010.00 ask bucket when grouped by 10.00: it
    marks the 41,000.00 bid bucket only."""
    async with running(app, SMALL) as pilot:
        await pilot.press("b", *"0.1", "tab", *"41001", "enter")
        view = app.query_one(OpenOrdersView)
        await until(pilot, lambda: len(view.orders) == 3)
        await pilot.press("escape", "g", "g", "g")  # 0.01 -> 0.10 -> 1.00 -> 10.00
        ladder = app.query_one(OrderBookLadder)
        text = lines(ladder)
        spread = next(i for i, line in enumerate(text) if "spread" in line)
        asks = [line.split()[0] for line in text[1:spread] if line.strip()]
        bids = [line.split()[0] for line in text[spread + 1 :] if line.strip()]
        assert asks == ["●41,100.00", "41,040.00", "41,030.00", "41,010.00"]
        assert bids[:3] == ["●41,000.00", "40,990.00", "●40,950.00"]


async def test_open_orders_show_every_column_at_120_columns(app) -> None:
    async with running(app, WIDE):
        text = lines(app.query_one(OpenOrdersView))
        assert text[0].split() == ["Side", "Price", "Size", "Left", "Tonce", "Age"]
        assert text[2].split()[:4] == ["BUY", "40,950.00", "0.20000000", "0.20000000"]


@pytest.mark.slow
async def test_one_order_is_one_order(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        view = app.query_one(OpenOrdersView)
        ask = next(o for o in view.orders if o.side == "sell")
        mine = exchange.client((USER, COOKIE, SECRET))
        await asyncio.to_thread(lambda: mine.cancel_order(ask.id).result(3))
        await until(pilot, lambda: len(view.all_orders) == 1)
        notices = record_notices(app)
        await pilot.press("C")
        screen = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
        bid = view.all_orders[0]
        question = str(screen.query_one("#question").render())
        assert question == (
            f"Cancel your one open order, BUY 0.20000000 XBT at 40,950.00 GBP (order {bid.id})?"
        )
        await pilot.press("y")
        await until(pilot, lambda: "1 order cancelled" in notices)


@pytest.mark.slow
async def test_an_unanswered_order_is_pending_never_refused_and_reported_later(
    faulty_exchange,
) -> None:
    """The reply is slow: the form clears (Enter cannot send it twice), and the real outcome
    is reported when it comes."""
    exchange, faults = faulty_exchange
    exchange.seed_market(book=False)
    dashboard = exchange.dashboard()
    app = dashboard.app
    dashboard.source.timeout = 0.3  # what the dashboard waits before calling it pending
    notices = record_notices(app)
    async with running(app) as pilot:
        faults.arm("PlaceOrder", "delay", delay=1.5)
        await pilot.press("b", *"0.1", "tab", *"40000", "enter")
        await until(pilot, lambda: message(app).startswith("order pending"))
        assert app.query_one("#quantity", Input).value == ""
        assert not any("refused" in n.lower() for n in notices)
        await pilot.press("enter")  # nothing to send again
        placed = await until(
            pilot, lambda: next((n for n in notices if n.endswith(" placed")), None)
        )
        await pilot.pause(0.3)
        assert new_orders(exchange) == [(p("40000"), q("0.1"))]  # exactly once
        assert placed == f"order {new_orders_ids(exchange)[0]} placed"


def new_orders_ids(exchange: Exchange) -> list[int]:
    seeded = {(p(price), q(size)) for size, price in OWN}
    return [oid for pr, left, oid in exchange.open_orders() if (pr, left) not in seeded]


async def test_the_balances_hint_names_the_login_key_of_the_keymap(exchange) -> None:
    app = exchange.dashboard(user=None, keymap={"login": "L"}).app
    async with running(app, WIDE, user=None) as pilot:
        balances = app.query_one(BalancesView)
        await until(pilot, lambda: any("log in (L) to see balances" in x for x in lines(balances)))
