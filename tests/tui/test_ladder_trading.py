"""Ladder trading on the real embedded exchange: select a level in the book (Up/Down while the
book has the focus), b/s open the form at its price, + and - move the price a tick, F5/F6/F7
(or %) fill the quantity with a share of what is available, the form shows the cost, and
Enter places the order at that price."""

from __future__ import annotations

from textual.widgets import Input

from cfdash.core.assets import V2
from cfdash.tui import sizing
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.ladder import CURSOR, OrderBookLadder

from .conftest import FEE, GBP, PAIR, SMALL, XBT, gbp, key_event, lines, p, q, running, until
from .test_app import message, new_orders
from .test_keys import settle


def typed_ahead(app, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    """``test_app.type_ahead`` with each key's name and character as a terminal gives them
    ("+" is the key "plus", character "+"): queued all at once, as a burst over SSH."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        driver.send_message(event)


def value(app, name: str) -> str:  # type: ignore[no-untyped-def]
    return app.query_one(f"#{name}", Input).value


def selected_line(app) -> str:  # type: ignore[no-untyped-def]
    return next(line for line in lines(app.query_one(OrderBookLadder)) if CURSOR in line)


async def test_buy_at_a_selected_bid_a_tick_up_with_a_quarter_of_the_funds(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        ladder = app.query_one(OrderBookLadder)
        assert app.focused is ladder
        await pilot.press("down")  # the best bid
        assert ladder.selected == ("bid", p("40990"))
        await pilot.press("down", "down", "j", "k")
        assert ladder.selected == ("bid", p("40900"))
        assert selected_line(app).startswith(f"{CURSOR}40,900.00")
        await pilot.press("b")
        entry = app.query_one(OrderEntry)
        assert entry.side == "buy" and app.focused is app.query_one("#quantity", Input)
        assert value(app, "price") == "40900"
        await pilot.press("plus", "plus", "minus")
        assert value(app, "price") == "40900.01"
        assert value(app, "quantity") == ""  # the ticks never typed into a field
        await pilot.press("f5")
        available = entry.available or {}
        assert available[GBP] == gbp("41810")
        wanted = sizing.buy_quantity(PAIR_SCALES, PAIR, p("40900.01"), gbp("10452.50"), FEE)
        assert value(app, "quantity") == text(wanted)
        cost = sizing.limit_cost(PAIR_SCALES, PAIR, "buy", wanted, p("40900.01"), FEE)
        assert cost.net <= gbp("10452.50")
        preview = entry.preview_text
        assert preview.startswith(f"cost {money(cost.net)} GBP · {money(cost.total)} + ")
        assert f"+ {money(cost.fee)} fee" in preview
        assert message(app) == "Enter to place"
        await pilot.press("enter")
        await until(pilot, lambda: new_orders(exchange))
        assert new_orders(exchange) == [(p("40900.01"), wanted)]
        spent = exchange.balances()[GBP]
        assert spent[0] >= gbp("41810") - gbp("10452.50")  # the reservation fits the share


async def test_sell_at_a_selected_ask_a_tick_down_with_half_then_all(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("up")  # the best ask
        assert app.query_one(OrderBookLadder).selected == ("ask", p("41010"))
        await pilot.press("s")
        assert value(app, "price") == "41010"
        await pilot.press("minus", "f6")
        assert (value(app, "price"), value(app, "quantity")) == ("41009.99", "0.95")
        await pilot.press("percent_sign")  # after 50 %: 100 %
        assert value(app, "quantity") == "1.9"
        await pilot.press("percent_sign")  # then 25 % again
        assert value(app, "quantity") == "0.475"
        await pilot.press("f7")
        entry = app.query_one(OrderEntry)
        cost = sizing.limit_cost(PAIR_SCALES, PAIR, "sell", q("1.9"), p("41009.99"), FEE)
        assert entry.preview_text.startswith(f"get {money(cost.net)} GBP")
        await pilot.press("enter")
        await until(pilot, lambda: new_orders(exchange))
        assert new_orders(exchange) == [(p("41009.99"), -q("1.9"))]
        assert exchange.balances()[XBT] == (0, q("2"))


async def test_without_a_selection_b_keeps_the_form_as_it_was(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b", *"0.1", "tab", *"40000", "escape")
        await pilot.press("b")  # nothing selected in the book: the price stays
        assert value(app, "price") == "40000"
        await pilot.press("escape", "up", "escape", "s")  # selected, then cleared
        assert value(app, "price") == "40000"
        await pilot.press("escape", "up", "s")
        assert value(app, "price") == "41010"


async def test_a_buy_share_needs_a_price_and_ticks_need_one(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b", "f5")
        assert value(app, "quantity") == ""
        assert "needs its price first" in message(app)
        await pilot.press("tab", "plus")
        assert value(app, "price") == ""
        assert "pick a level in the book" in message(app)
        await pilot.press(*"100", "plus")
        assert value(app, "price") == "100.01"


async def test_ladder_keys_in_a_burst_apply_in_order(app, exchange) -> None:
    async with running(app, SMALL) as pilot:
        # up twice, buy there, a tick up, a quarter; leave, down a level, sell there
        typed_ahead(app, ["up", "up", "b", "+", "f5", "escape", "down", "s", "-"])
        await until(pilot, lambda: app.query_one(OrderEntry).side == "sell")
        await settle(pilot, app)
        assert app.query_one(OrderBookLadder).selected == ("ask", p("41010"))
        assert value(app, "price") == "41009.99"
        bought = sizing.buy_quantity(PAIR_SCALES, PAIR, p("41025.51"), gbp("10452.50"), FEE)
        assert value(app, "quantity") == text(bought)  # filled for the buy, kept
        typed_ahead(app, ["escape", "down", "down", "down", "b", "f7", "enter"])
        await until(pilot, lambda: new_orders(exchange))
        price = p("40900")  # three levels down from 41,010: 40,990, 40,950, 40,900
        assert new_orders(exchange) == [
            (price, sizing.buy_quantity(PAIR_SCALES, PAIR, price, gbp("41810"), FEE))
        ]
        assert app.query_one("#price", Input).value == "40900"


PAIR_SCALES = V2


def text(quantity: int) -> str:
    return format(PAIR_SCALES.quantity_from_wire(PAIR, quantity).normalize(), "f")


def money(amount: int) -> str:
    return format(PAIR_SCALES.total_from_wire(PAIR, amount), ",.2f")


async def test_a_market_buy_fills_a_share_of_its_total(app) -> None:
    async with running(app, SMALL) as pilot:
        await pilot.press("b", "ctrl+t", "f6")  # half the GBP, the fee beside it
        total = sizing.buy_total(gbp("20905"), FEE)
        wanted = format(V2.total_from_wire(PAIR, total).normalize(), "f")
        assert (value(app, "quantity"), value(app, "total")) == ("", wanted)
        entry = app.query_one(OrderEntry)
        await until(pilot, lambda: "≈" in entry.preview_text)  # estimated
        await pilot.press("plus")  # no price to move in a market order
        assert value(app, "price") == "" and value(app, "total") == wanted
