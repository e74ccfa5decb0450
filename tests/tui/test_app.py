"""Pilot tests of the dashboard against the in-memory source, at 80x24 and 120x36."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from cfdash.core.assets import PAIRS, V2
from cfdash.tui.app import DashboardApp
from cfdash.tui.fake import FakeSource
from cfdash.tui.screens.confirm import ConfirmScreen
from cfdash.tui.screens.help import HelpScreen
from cfdash.tui.screens.markets import MarketPicker
from cfdash.tui.source import OrderRequest
from cfdash.tui.widgets.entry import OrderEntry
from cfdash.tui.widgets.ladder import OrderBookLadder
from cfdash.tui.widgets.orders import OpenOrdersView

from .conftest import GBP, PAIR, clock, p, q, screen_text, seeded_source

SIZES = [(80, 24), (120, 36)]


def message(app: DashboardApp) -> str:
    return str(app.query_one("#message").render())


def placed_after_seed(source: FakeSource) -> list[OrderRequest]:
    return source.placed[2:]  # the two seeded own orders come first


@pytest.mark.parametrize("size", SIZES)
async def test_buy_limit_keys_place_the_order(app: DashboardApp, source: FakeSource, size) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.press("b", *"0.25", "tab", *"40000.5", "enter")
        await pilot.pause()
        assert placed_after_seed(source) == [
            OrderRequest(PAIR, "buy", quantity=q("0.25"), price=p("40000.50"))
        ]
        # The order now rests on the book and in the open orders panel, marked as ours.
        assert p("40000.50") in {o.price for o in app.query_one(OpenOrdersView).orders}
        assert app.query_one("#quantity", Input).value == ""


async def test_sell_form_starts_on_quantity_and_sells(app: DashboardApp, source: FakeSource):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        assert app.focused is app.query_one("#quantity", Input)
        assert app.query_one(OrderEntry).border_title.startswith("Sell XBT:GBP · limit")
        await pilot.press(*"0.1", "tab")
        assert app.focused is app.query_one("#price", Input)
        await pilot.press(*"41500", "enter")
        await pilot.pause()
        assert placed_after_seed(source) == [
            OrderRequest(PAIR, "sell", quantity=q("0.1"), price=p("41500"))
        ]


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


@pytest.mark.parametrize(("quantity", "price", "expected"), BAD_INPUTS)
async def test_invalid_limit_order_shows_why_and_sends_nothing(
    app: DashboardApp, source: FakeSource, quantity: str, price: str, expected: str
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        # Typing is covered by the other tests; setting the values keeps this table fast.
        app.query_one("#quantity", Input).value = quantity
        app.query_one("#price", Input).value = price
        await pilot.press("enter")
        await pilot.pause()
        assert expected in message(app)
        assert message(app).startswith("✗")
        assert placed_after_seed(source) == []


async def test_selling_more_than_available_is_refused_inline(app, source) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"1.95", "tab", *"41000", "enter")  # 1.9 XBT available
        await pilot.pause()
        assert "more than the 1.90000000 available" in message(app)
        assert placed_after_seed(source) == []


async def test_message_updates_as_you_type(app) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b", *"0.1")
        assert "price: required" in message(app)
        await pilot.press("tab", *"41000")
        assert "Enter to place" in message(app)
        assert "reserves 4,100.00 GBP" in str(app.query_one("#preview").render())
        assert "fee 0.25%" in str(app.query_one("#preview").render())


async def test_market_order_needs_confirmation(app: DashboardApp, source: FakeSource) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b", "t")
        assert app.query_one(OrderEntry).kind == "market"
        await pilot.press(*"0.3")
        await pilot.pause()
        preview = str(app.query_one("#preview").render())
        # 0.3 XBT market buy walks the asks: 0.5 @ 41,010 covers it (estimate from the source).
        assert "≈ 0.30000000 XBT for 12,303.00 GBP" in preview
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert placed_after_seed(source) == []
        await pilot.press("n")
        await pilot.pause()
        assert placed_after_seed(source) == []
        await pilot.press("enter")  # focus went back to the quantity field
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert placed_after_seed(source) == [OrderRequest(PAIR, "buy", quantity=q("0.3"))]


async def test_market_buy_by_total(app: DashboardApp, source: FakeSource) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b", "t", "tab", *"1000", "enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        total = source.scales.total_to_wire(PAIR, "1000")
        assert placed_after_seed(source) == [OrderRequest(PAIR, "buy", total=total)]


async def test_market_with_quantity_and_total_is_refused(app, source) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", "t", *"0.1", "tab", *"1000", "enter")
        await pilot.pause()
        assert "not both" in message(app)
        assert not isinstance(app.screen, ConfirmScreen)
        assert placed_after_seed(source) == []


async def test_refused_order_shows_the_exchange_message(source: FakeSource) -> None:
    app = DashboardApp(source, pair=PAIR, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        # Balances go stale-free but wrong: the source says funds are short.
        app.query_one(OrderEntry).set_account(None, None)  # no local funds check
        await pilot.press("b", *"5", "tab", *"41000", "enter")
        await pilot.pause()
        assert "You have insufficient funds." in message(app)


async def test_cancel_selected_order(app: DashboardApp, source: FakeSource) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        view = app.query_one(OpenOrdersView)
        assert [o.price for o in view.orders] == [p("41100"), p("40950")]
        view.focus()
        await pilot.press("down")
        selected = view.selected
        assert selected is not None and selected.price == p("40950")
        await pilot.press("c")
        await pilot.pause()
        assert source.cancelled == [selected.id]
        assert [o.price for o in view.orders] == [p("41100")]
        # The bid's reservation went back: no GBP is held any more.
        gbp = next(b for b in source.snapshot(PAIR).balances or () if b.asset == GBP)
        assert gbp.reserved == 0 and gbp.available == V2.total_to_wire(PAIR, "50000")


async def test_cancel_all_asks_first(app: DashboardApp, source: FakeSource) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("C")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert source.cancelled == []
        await pilot.press("C")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert len(source.cancelled) == 2
        assert app.query_one(OpenOrdersView).orders == ()
        reserved = {b.asset: b.reserved for b in source.snapshot(PAIR).balances or ()}
        assert set(reserved.values()) == {0}


async def test_m_switches_market(app: DashboardApp, source: FakeSource) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MarketPicker)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.pair == PAIRS[1]
        ladder = app.query_one(OrderBookLadder)
        assert ladder.pair == PAIRS[1]
        assert "XBT:EUR" in str(app.query_one("#ticker").render())
        assert source._watched == PAIRS[1]
        # The new market's (empty) book replaced the old one.
        assert not any("41,010.00" in ladder.line_text(y) for y in range(ladder.size.height))


async def test_help_lists_every_binding_and_escape_closes(app: DashboardApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {b.id for b in app.BINDINGS} <= ids
        assert {b.id for b in OrderEntry.BINDINGS} <= ids
        text = screen_text(app)
        for binding in app.BINDINGS:
            assert app.DESCRIPTIONS[binding.id] in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_keymap_remaps_by_binding_id(source: FakeSource) -> None:
    app = DashboardApp(source, pair=PAIR, clock=clock, keymap={"buy": "B", "help": "f1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        assert not isinstance(app.focused, Input)
        await pilot.press("B")
        assert app.focused is app.query_one("#quantity", Input)
        await pilot.press("escape", "f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert ("B", app.DESCRIPTIONS["buy"], "buy") in app.screen.rows


async def test_q_quits(app: DashboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_compact_layout_keeps_book_entry_status(app: DashboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
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


async def test_wide_layout_shows_everything(app: DashboardApp) -> None:
    async with app.run_test(size=(120, 36)):
        assert not app.compact
        for widget_id in ("#ladder", "#entry", "#tape", "#chart", "#orders", "#balances"):
            assert app.query_one(widget_id).region.area > 0, widget_id


async def test_ladder_renders_asks_above_bids_with_cumulative_sizes(app: DashboardApp) -> None:
    async with app.run_test(size=(80, 24)):
        ladder = app.query_one(OrderBookLadder)
        lines = [ladder.line_text(y) for y in range(ladder.size.height)]
        spread = next(i for i, line in enumerate(lines) if "spread 20.00" in line)
        asks = [line.split() for line in lines[1:spread] if line.strip()]
        bids = [line.split() for line in lines[spread + 1 :] if line.strip()]
        # Asks run from the highest down to the best; the size column accumulates outward.
        ask_prices = [row[0].lstrip("●") for row in asks]
        assert ask_prices == ["41,100.00", "41,040.00", "41,025.50", "41,010.00"]
        bid_prices = [row[0].lstrip("●") for row in bids]
        assert bid_prices == ["40,990.00", "40,950.00", "40,900.00", "40,800.00"]
        for rows in (list(reversed(asks)), bids):
            running = 0
            for row in rows:
                running += q(row[1].replace(",", ""))
                assert q(row[2].replace(",", "")) == running
        # Own orders are marked (a bid at 40,950 and an ask at 41,100).
        assert asks[0][0].startswith("●") and bids[1][0].startswith("●")
        assert not bids[0][0].startswith("●")


async def test_updates_arrive_pushed_and_repaint_in_place(app, source) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        before = app.applied
        source.add_order(PAIR, "buy", q("1"), p("40995"))
        await pilot.pause()
        assert app.applied == before + 1
        lines = [ladder.line_text(y) for y in range(ladder.size.height)]
        spread = next(i for i, line in enumerate(lines) if "spread" in line)
        assert "spread 15.00" in lines[spread]
        assert lines[spread + 1].split()[:3] == ["40,995.00", "1.00000000", "1.00000000"]


async def test_disconnect_marks_data_stale(app, source) -> None:
    from cfdash.tui.source import ConnectionStatus

    async with app.run_test(size=(80, 24)) as pilot:
        source.set_status(ConnectionStatus("reconnecting", reconnect_at=clock() + 5))
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "reconnecting in 5s" in status and "stale" in status
        assert app.query_one(OrderBookLadder).stale
        assert app.query_one(OrderBookLadder).has_class("-stale")
        source.set_status(ConnectionStatus("connected", latency=0.042))
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "connected" in status and "42 ms" in status and "stale" not in status
        assert "user 7" in status


async def test_private_mode_hides_balances(app) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        view = app.query_one("#balances")
        text = "\n".join(view.line_text(y) for y in range(view.size.height))
        assert "41,810.00" in text
        await pilot.press("p")
        text = "\n".join(view.line_text(y) for y in range(view.size.height))
        assert "41,810.00" not in text and "•••••" in text


async def test_read_only_hides_trading(source: FakeSource) -> None:
    app = DashboardApp(source, pair=PAIR, clock=clock, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.query_one(OrderEntry).display
        await pilot.press("b", "C")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert not isinstance(app.focused, Input)


async def test_login_dialog_shows_errors_and_retries() -> None:
    from .conftest import COOKIE, SECRET, USER

    source = seeded_source(user_id=None)
    app = DashboardApp(source, pair=PAIR, clock=clock, login=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        secret = screen.query_one("#passphrase", Input)
        assert secret.password
        screen.query_one("#user-id", Input).value = str(USER)
        screen.query_one("#cookie", Input).value = COOKIE
        secret.value = "wrong"
        await pilot.press("enter")
        await pilot.pause()
        assert "incorrect signature" in str(screen.query_one("#error").render())
        assert secret.value == ""  # never kept after an attempt
        assert app.screen is screen
        secret.focus()
        await pilot.press(*SECRET, "enter")
        await pilot.pause()
        assert app.screen is not screen
        assert app.status.user_id == USER
        assert "user 7" in str(app.query_one("#status").render())


async def test_command_palette_offers_every_action(app: DashboardApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        titles = {c.title for c in app.palette_commands()}
        for binding in app.BINDINGS:
            if binding.id != "login":  # already logged in
                assert binding.description in titles or binding.id == "help"
        assert "Market XBT:EUR" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"xbt:eur")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.pair == PAIRS[1]


async def test_batches_from_another_thread_touch_only_what_changed(app, source) -> None:
    import asyncio
    import threading

    async with app.run_test(size=(80, 24)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        calls: list[str] = []
        original = ladder.update_book
        ladder.update_book = lambda *a, **k: (calls.append("book"), original(*a, **k))  # type: ignore[method-assign]
        threads: list[int] = []
        source.subscribe(lambda batch: threads.append(threading.get_ident()))
        # A deposit changes balances only: the ladder is left alone.
        await asyncio.to_thread(source.credit, GBP, 100)
        await pilot.pause()
        assert calls == []
        assert threads and threads[-1] != threading.get_ident()
        # A new bid, pushed from the source's thread, reaches the ladder.
        await asyncio.to_thread(source.add_order, PAIR, "buy", q("1"), p("40995"))
        await pilot.pause()
        assert calls == ["book"]
        assert any("40,995.00" in ladder.line_text(y) for y in range(ladder.size.height))


async def test_theme_and_grouping_keys(app: DashboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.current_theme.dark
        await pilot.press("d")
        assert not app.current_theme.dark
        ladder = app.query_one(OrderBookLadder)
        await pilot.press("g", "g", "g", "g")  # 0.01 -> 0.10 -> 1.00 -> 10.00 -> 100.00
        assert ladder.group == 10000
        rows = [ladder.line_text(y).split() for y in range(ladder.size.height)]
        levels = [r[:2] for r in rows if r and r[0].lstrip("●")[:1].isdigit()]
        # Every ask rounds up into 41,100; bids round down into 40,900 and 40,800.
        assert levels == [
            ["●41,100.00", "4.55000000"],
            ["●40,900.00", "3.70000000"],
            ["40,800.00", "4.00000000"],
        ]
