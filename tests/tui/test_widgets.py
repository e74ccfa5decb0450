"""Widget logic: book grouping, the line cache, repainting in place, header and status text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.geometry import Region

import cfdash.tui
from cfdash.core.assets import V2, Assets, to_wire
from cfdash.tui import fmt
from cfdash.tui.source import BalanceRow, BookRows, ConnectionStatus, OpenOrder, TickerRow
from cfdash.tui.widgets.balances import RESERVED_MIN, BalancesView
from cfdash.tui.widgets.ladder import OrderBookLadder, group_levels
from cfdash.tui.widgets.lines import REDRAW_EVERY, LineCache, LineWidget
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.status import latency_words, silence_words, state_words
from cfdash.tui.widgets.ticker import change_text

from .conftest import GBP, NOW, PAIR, XBT, p, q, until

levels = st.lists(
    st.tuples(st.integers(1, 10**7), st.integers(1, 10**9), st.integers(1, 5)),
    max_size=30,
    unique_by=lambda level: level[0],
)


@given(levels, st.sampled_from([1, 10, 100, 1000]), st.booleans())
@settings(max_examples=60)
def test_grouping_keeps_totals_and_never_improves_a_price(raw, step, ask) -> None:  # type: ignore[no-untyped-def]
    book_side = sorted(raw, reverse=not ask)  # best first: asks ascending, bids descending
    grouped = group_levels(book_side, step, ask=ask)
    assert sum(s for _, s, _ in grouped) == sum(s for _, s, _ in book_side)
    assert sum(c for _, _, c in grouped) == sum(c for _, _, c in book_side)
    assert len({price for price, _, _ in grouped}) == len(grouped)
    prices = [price for price, _, _ in grouped]
    assert prices == sorted(prices, reverse=not ask)
    for price, _, _ in book_side:
        bucket = -(-price // step) * step if ask else price // step * step
        assert bucket in prices
        assert (bucket >= price) if ask else (bucket <= price)


def test_line_cache_is_least_recently_used() -> None:
    cache = LineCache(maxsize=2)
    from textual.strip import Strip

    a, b, c = Strip.blank(1), Strip.blank(2), Strip.blank(3)
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # now "b" is the oldest
    cache.put("c", c)
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


class LadderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield OrderBookLadder()


async def test_ladder_repaints_only_the_lines_that_changed() -> None:
    book = BookRows(
        bids=((p("40990"), q("0.7"), 1), (p("40950"), q("0.5"), 2), (p("40900"), q("2.5"), 1)),
        asks=((p("41010"), q("0.5"), 1), (p("41040"), q("0.75"), 1), (p("41100"), q("2.1"), 2)),
    )
    app = LadderApp()
    async with app.run_test(size=(40, 20)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        ladder.set_market(V2, PAIR)
        ladder.update_book(book)
        await pilot.pause()
        before = [ladder.line_text(y) for y in range(20)]
        repainted: list[Region] = []
        original = ladder.refresh

        def spy(*regions, **kwargs):  # type: ignore[no-untyped-def]
            repainted.extend(regions)
            return original(*regions, **kwargs)

        ladder.refresh = spy  # type: ignore[method-assign]
        # The farthest ask grows from 2.1 to 2.2: only its own line changes (the bids' total
        # still sets the depth-bar scale).
        far_price, far_size, far_count = book.asks[-1]
        asks = (*book.asks[:-1], (far_price, far_size + q("0.1"), far_count))
        ladder.update_book(BookRows(book.bids, asks))  # drawn soon (at most 10 a second)
        await until(pilot, lambda: ladder.book.asks == asks)
        await pilot.pause()
        after = [ladder.line_text(y) for y in range(20)]
        changed = [y for y in range(20) if before[y] != after[y]]
        assert len(changed) == 1 and "2.20000000" in after[changed[0]]
        assert [r.y for r in repainted] == changed
        # A line the update did not touch comes from the cache.
        hits = ladder.cache.hits
        ladder.render_line(changed[0] + 1)
        assert ladder.cache.hits == hits + 1


async def test_grouping_key_merges_levels() -> None:
    book = BookRows(
        bids=((p("100.07"), q("1"), 1), (p("100.02"), q("2"), 1), (p("99.99"), q("4"), 2)),
        asks=((p("100.11"), q("1"), 1), (p("100.19"), q("1"), 1)),
    )
    app = LadderApp()
    async with app.run_test(size=(40, 12)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        ladder.set_market(V2, PAIR)
        ladder.update_book(book, own={("buy", p("100.02"))})
        ladder.group = 10  # 0.10 GBP
        await pilot.pause()
        text = [ladder.line_text(y).split() for y in range(12)]
        rows = [r for r in text if r and r[0].lstrip("●")[:1].isdigit()]
        assert [r[0] for r in rows] == ["100.20", "●100.00", "99.90"]
        assert rows[1][1:] == ["3.00000000", "3.00000000"]
        assert ladder.border_title == "Book XBT:GBP · 0.10"


async def test_ladder_lays_out_once_per_change_not_once_per_line() -> None:
    book = BookRows(
        bids=tuple((p(f"{40990 - 10 * i}"), q("0.5"), 1) for i in range(30)),
        asks=tuple((p(f"{41010 + 10 * i}"), q("0.5"), 1) for i in range(30)),
    )
    app = LadderApp()
    async with app.run_test(size=(40, 20)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        ladder.set_market(V2, PAIR)
        ladder.update_book(book)
        await pilot.pause()
        calls: list[int] = []
        original = ladder.layout_rows

        def counting(height: int):  # type: ignore[no-untyped-def]
            calls.append(height)
            return original(height)

        ladder.layout_rows = counting  # type: ignore[method-assign]
        ladder.refresh()
        await pilot.pause()
        lines = [ladder.line_text(y) for y in range(ladder.size.height)]
        assert calls == [] and any("41,010.00" in line for line in lines)
        # every input of the layout still shows (a new book at most 10 times a second), and
        # is laid out once: a new book with own prices, a grouping
        asks = ((p("41005"), q("1.25"), 1), *book.asks)
        ladder.update_book(BookRows(book.bids, asks), own={("buy", p("40990"))})
        await until(pilot, lambda: ladder.book.asks == asks)
        await pilot.pause()
        text = "\n".join(ladder.line_text(y) for y in range(ladder.size.height))
        assert "1.25000000" in text and "●40,990.00" in text and len(calls) == 1
        ladder.group = p("100")  # 100.00 GBP buckets
        await pilot.pause()
        text = "\n".join(ladder.line_text(y) for y in range(ladder.size.height))
        assert "41,100.00" in text and "41,005.00" not in text and len(calls) == 2


def test_change_against_the_reference_price() -> None:
    assert change_text(V2, PAIR, TickerRow(last=4_100_000, reference=4_000_000)) == (
        "▲ +1,000.00 (+2.50%)",
        "up",
    )
    assert change_text(V2, PAIR, TickerRow(last=3_990_000, reference=4_000_000))[1] == "down"
    assert change_text(V2, PAIR, TickerRow(last=None, reference=4_000_000)) == ("", "flat")


def test_connection_state_in_words() -> None:
    assert state_words(ConnectionStatus("connected"), NOW) == "connected"
    assert state_words(ConnectionStatus("connecting"), NOW) == "connecting"
    assert state_words(ConnectionStatus("reconnecting", NOW + 2.2), NOW) == "reconnecting in 3s"
    assert state_words(ConnectionStatus("reconnecting", NOW - 1), NOW) == "reconnecting now"
    waiting = ConnectionStatus("reconnecting", NOW + 4, attempt=3)
    assert state_words(waiting, NOW) == "reconnecting in 4s (attempt 3)"
    assert latency_words(0.0004) == "<1 ms" and latency_words(0.0421) == "42 ms"
    assert silence_words(ConnectionStatus("connected"), 100.0) is None
    silent = ConnectionStatus("connected", silent_since=97.6)
    assert silence_words(silent, 100.0) == "no reply for 2s"
    assert silence_words(silent, 101.0) == "no reply for 3s"


def test_stylesheet_ships_next_to_the_module() -> None:
    from cfdash.tui.app import CSS_FILE, DashboardApp

    assert CSS_FILE.is_file() and CSS_FILE.parent == Path(cfdash.tui.__file__).parent
    assert DashboardApp.CSS_PATH == CSS_FILE


@given(
    st.integers(-(2**63) + 1, 2**63 - 1), st.sampled_from([100, 10**4, 10**8]), st.integers(0, 8)
)
def test_trimmed_amounts_are_exact(value: int, scale: int, keep: int) -> None:
    text = fmt.trimmed(value, scale, keep=keep)
    assert to_wire(text.replace(",", ""), scale, "amount") == value
    decimals = len(text.partition(".")[2])
    assert decimals >= min(keep, fmt.places(scale))
    assert decimals <= max(keep, 0) or not text.endswith("0")  # trailing zeros only to keep


def test_fewer_places_than_the_value_needs_is_refused() -> None:
    assert fmt.amount(5_000_000, 10**8, decimals=2) == "0.05"
    with pytest.raises(ValueError, match="more than 1 decimal places"):
        fmt.amount(5_000_000, 10**8, decimals=1)  # would round: never silently
    assert fmt.column([5_000_000, 16_966_035], 10**8) == ["0.05000000", "0.16966035"]


class PanelApp(App[None]):
    def __init__(self, widget: LineWidget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def cells_of(widget: LineWidget) -> list[list[str]]:
    return [widget.line_text(y).split() for y in range(widget.size.height)]


DEMO_BALANCES = (
    BalanceRow(XBT, q("9.92"), q("0.08")),
    BalanceRow(GBP, V2.total_to_wire(PAIR, "995875"), V2.total_to_wire(PAIR, "4125")),
    BalanceRow(Assets["XBTJAN18"], q("10")),
    BalanceRow(Assets["EUR"], V2.total_to_wire(PAIR, "1000000.5")),
)


async def test_balances_narrow_to_fit_without_rounding() -> None:
    """From 60 cells down to 36, the columns depend on the width alone (the reserved one from
    ``RESERVED_MIN`` up) and every amount shown reads back as the exact balance, or is marked
    "…" and is the balance with its last digits cut (never more than it)."""
    view = BalancesView()
    view.show_expired = True  # XBTJAN18 listed too (hidden by default)
    app = PanelApp(view)
    async with app.run_test(size=(60, 8)) as pilot:
        view.update_balances(V2, DEMO_BALANCES)
        seen: set[tuple[str, ...]] = set()
        for width in range(60, 35, -3):
            await pilot.resize_terminal(width, 8)
            await pilot.pause()
            rows = cells_of(view)
            heads = tuple(rows[0])
            seen.add(heads)
            assert ("Reserved" in heads) == (width >= RESERVED_MIN)
            assert all(len(view.line_text(y).rstrip()) <= width for y in range(8))
            if any("…" in view.line_text(y) for y in range(5)):
                continue  # too narrow for these amounts: marked as cut
            for balance, row in zip(DEMO_BALANCES, rows[1:5], strict=True):
                scale = V2.asset(balance.asset)
                wanted = {"Available": balance.available, "Reserved": balance.reserved}
                wanted["Total"] = balance.total
                for head, text in zip(heads[1:], row[1:], strict=True):
                    assert to_wire(text.replace(",", ""), scale, head) == wanted[head]
        assert ("Asset", "Available", "Reserved", "Total") in seen
        assert ("Asset", "Available", "Total") in seen
        narrowest = cells_of(view)  # 36 cells: no reserved column, room for every place
        assert narrowest[2] == ["GBP", "995,875", "1,000,000"]
        assert narrowest[4] == ["EUR", "1,000,000.50", "1,000,000.50"]


async def test_open_orders_narrow_to_fit_without_rounding() -> None:
    orders = (
        OpenOrder(1, PAIR, p("41100"), -q("0.1"), -q("0.1"), int(NOW * 1e6), 1_700_000_000_000_000),
        OpenOrder(2, PAIR, p("40950.5"), q("0.2"), q("0.16966035"), int(NOW * 1e6), None),
    )
    view = OpenOrdersView(lambda: NOW + 125)
    app = PanelApp(view)
    async with app.run_test(size=(70, 6)) as pilot:
        view.set_market(V2, PAIR)
        view.update_orders(orders)
        layouts: list[tuple[str, ...]] = []
        for width in (70, 50, 40, 36, 34):
            await pilot.resize_terminal(width, 6)
            await pilot.pause()
            rows = cells_of(view)
            layouts.append(tuple(rows[0]))
            assert all(len(view.line_text(y).rstrip()) <= width for y in range(6))
            by_head = [dict(zip(rows[0], row, strict=True)) for row in rows[1:3]]
            # highest price first; the first is selected (marked, for terminals without colour)
            assert [r["Side"] for r in by_head] == ["▸SELL", "BUY"]
            assert [r["Age"] for r in by_head] == ["2m", "2m"]
            for order, row in zip(orders, by_head, strict=True):
                assert to_wire(row["Price"].replace(",", ""), 100, "price") == order.price
                assert to_wire(row["Left"], 10**8, "left") == abs(order.remaining)
                if "Size" in row:
                    assert to_wire(row["Size"], 10**8, "size") == abs(order.quantity)
        assert layouts[0] == ("Side", "Price", "Size", "Left", "Tonce", "Age")
        assert layouts[-1] == ("Side", "Price", "Left", "Age")
        assert len(set(layouts)) >= 3


async def test_a_changing_book_is_drawn_at_most_ten_times_a_second_and_the_last_one_shown() -> None:
    """Under a firehose every row changes with every batch: the ladder draws the first change
    at once, then at most every ``REDRAW_EVERY`` seconds, and always ends on the latest."""
    app = LadderApp()
    async with app.run_test(size=(40, 20)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        ladder.set_market(V2, PAIR)
        books = [
            BookRows(bids=((p("40990"), q(f"0.{n}"), 1),), asks=((p("41010"), q("1"), 1),))
            for n in range(1, 10)
        ]
        ladder.update_book(books[0])
        assert ladder.book is books[0]  # after a quiet spell: at once
        for book in books[1:]:
            ladder.update_book(book)
        assert ladder.book is books[0]  # the rest waits for the next redraw
        await until(pilot, lambda: ladder.book is books[-1])  # only the latest is drawn
        assert "0.90000000" in "".join(ladder.line_text(y) for y in range(20))
        # a market switch drops a book not drawn yet
        ladder.update_book(books[3])
        ladder.set_market(V2, PAIR)
        await pilot.pause(REDRAW_EVERY * 2)
        assert ladder.book is books[-1]
