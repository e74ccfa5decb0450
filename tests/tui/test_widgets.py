"""Widget logic: book grouping, the line cache, repainting in place, header and status text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.geometry import Region

import cfdash.tui
from cfdash.core.assets import V2
from cfdash.tui.source import Book, ConnectionStatus, Ticker
from cfdash.tui.widgets.ladder import OrderBookLadder, group_levels
from cfdash.tui.widgets.lines import LineCache
from cfdash.tui.widgets.status import state_words
from cfdash.tui.widgets.ticker import change_text

from .conftest import NOW, PAIR, p, q, seeded_source

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
    book = seeded_source().snapshot(PAIR).book
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
        ladder.update_book(Book(book.bids, asks))
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
    book = Book(
        bids=((p("100.07"), q("1"), 1), (p("100.02"), q("2"), 1), (p("99.99"), q("4"), 2)),
        asks=((p("100.11"), q("1"), 1), (p("100.19"), q("1"), 1)),
    )
    app = LadderApp()
    async with app.run_test(size=(40, 12)) as pilot:
        ladder = app.query_one(OrderBookLadder)
        ladder.set_market(V2, PAIR)
        ladder.update_book(book, own_prices={p("100.02")})
        ladder.group = 10  # 0.10 GBP
        await pilot.pause()
        text = [ladder.line_text(y).split() for y in range(12)]
        rows = [r for r in text if r and r[0].lstrip("●")[:1].isdigit()]
        assert [r[0] for r in rows] == ["100.20", "●100.00", "99.90"]
        assert rows[1][1:] == ["3.00000000", "3.00000000"]
        assert ladder.border_title == "Book XBT:GBP · 0.10"


def test_change_against_the_reference_price() -> None:
    assert change_text(V2, PAIR, Ticker(last=4_100_000, reference=4_000_000)) == (
        "▲ +1,000.00 (+2.50%)",
        "up",
    )
    assert change_text(V2, PAIR, Ticker(last=3_990_000, reference=4_000_000))[1] == "down"
    assert change_text(V2, PAIR, Ticker(last=None, reference=4_000_000)) == ("", "flat")


def test_connection_state_in_words() -> None:
    assert state_words(ConnectionStatus("connected"), NOW) == "connected"
    assert state_words(ConnectionStatus("connecting"), NOW) == "connecting"
    assert state_words(ConnectionStatus("reconnecting", NOW + 2.2), NOW) == "reconnecting in 3s"
    assert state_words(ConnectionStatus("reconnecting", NOW - 1), NOW) == "reconnecting in 0s"


def test_stylesheet_ships_next_to_the_module() -> None:
    from cfdash.tui.app import CSS_FILE, DashboardApp

    assert CSS_FILE.is_file() and CSS_FILE.parent == Path(cfdash.tui.__file__).parent
    assert DashboardApp.CSS_PATH == CSS_FILE
