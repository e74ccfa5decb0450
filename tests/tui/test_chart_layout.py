"""The chart and depth layouts (pure: no Textual): cells, glyphs, ticks and labels."""

from __future__ import annotations

import time
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.core.views.candles import MINUTE, Candle
from cfdash.tui.axes import EIGHTHS, label, nice_step, text_of, ticks
from cfdash.tui.chart_layout import CELL, GLYPHS, LAST_MARK, layout_chart
from cfdash.tui.depth_layout import DepthCurve, layout_depth, mid_price

START = 1_700_000_000 // 60 * 60 * 1_000_000  # a minute's start, µs
BODY_GLYPHS = {g for (top, bottom), g in GLYPHS.items() if 2 in (top, bottom)}


def styles_of(row: list[tuple[str, str]]) -> list[str]:
    return [style for text, style in row for _ in text]


@given(st.integers(0, 10**12), st.integers(1, 50))
def test_nice_steps_are_1_2_5_and_just_big_enough(span: int, count: int) -> None:
    step = nice_step(span, count)
    mantissa, power = int(str(step)[0]), 10 ** (len(str(step)) - 1)
    assert step == mantissa * power and mantissa in (1, 2, 5)
    assert step * count >= span
    below = {1: power // 2, 2: power, 5: 2 * power}[mantissa]  # the 1-2-5 step before it
    if below:
        assert below * count < span


@given(st.integers(0, 10**9), st.integers(0, 10**6), st.integers(1, 10**5))
def test_ticks_are_the_multiples_in_range(low: int, extra: int, step: int) -> None:
    high = low + extra
    marks = ticks(low, high, step)
    assert all(low <= t <= high and t % step == 0 for t in marks)
    assert len(marks) == high // step - (low - 1) // step


def test_labels_are_exact_decimals() -> None:
    assert label(4_100_050, 100) == "41,000.50"
    assert Decimal(label(123, 10_000).replace(",", "")) == Decimal("0.0123")


def candle(minute: int, o: int, h: int, low: int, c: int, volume: int = 10) -> Candle:
    return Candle(START + minute * MINUTE, o, h, low, c, volume)


def column_text(rows: list[str], column: int) -> str:
    return "".join(r[column] for r in rows)


def test_one_rising_candle_cell_by_cell() -> None:
    """10 rows of candles (20 halves) over 1000..1190: a wick from 1000 to 1190, a body from
    1050 to 1150, green; its volume bar the full height; the last price marked."""
    rows = layout_chart(
        [candle(0, 1050, 1190, 1000, 1150)],
        interval=MINUTE,
        end=START,
        width=30,
        height=13,  # 10 candle rows, 2 volume rows, the time axis
        price_scale=100,
        last=1150,
    )
    text = list(text_of(rows))
    assert all(len(line) == 30 for line in text)
    plot = 30 - len(label(1190, 100)) - 2
    column = plot - CELL
    # halves from the bottom: 1000 is half 0, 1050 half 5, 1150 half 15, 1190 half 19; row 7
    # holds halves 5 (body) and 4 (wick)
    assert column_text(text[:10], column) == "││█████╿││"
    assert column_text(text[10:12], column) == "██"
    assert {styles_of(r)[column] for r in rows[:10]} == {"up"}
    last_row = next(i for i, line in enumerate(text) if LAST_MARK in line)
    assert last_row == 2 and text[2][plot] == LAST_MARK and text[2].endswith(" 11.50")
    assert "┈" in text[2][:column]


def test_a_falling_candle_is_red_and_a_doji_has_a_body() -> None:
    rows = layout_chart(
        [candle(0, 200, 200, 100, 100), candle(1, 150, 160, 140, 150)],
        interval=MINUTE,
        end=START + MINUTE,
        width=40,
        height=12,
        price_scale=100,
    )
    text = list(text_of(rows))
    plot = 40 - len(label(200, 100)) - 2
    falling, doji = plot - 2 * CELL, plot - CELL
    assert {styles_of(r)[falling] for r in rows[:9] if text[rows.index(r)][falling] != " "} == {
        "down"
    }
    assert any(text[r][doji] in BODY_GLYPHS for r in range(9))
    assert LAST_MARK not in "".join(text)


def test_time_labels_fall_on_round_minutes() -> None:
    end = START + 59 * MINUTE
    rows = layout_chart(
        [candle(59, 100, 110, 90, 105)],
        interval=MINUTE,
        end=end,
        width=100,
        height=10,
        price_scale=100,
    )
    axis = list(text_of(rows))[-1]
    labels = axis.split()
    assert labels, axis
    for text in labels:
        _, minutes = map(int, text.split(":"))
        assert minutes % 5 == 0
    assert time.strftime("%H:%M", time.gmtime(end // 1_000_000 // 300 * 300)) in labels


@st.composite
def candle_lists(draw: st.DrawFn) -> list[Candle]:
    minutes = sorted(draw(st.sets(st.integers(0, 200), max_size=40)))
    out = []
    for m in minutes:
        prices = sorted(draw(st.lists(st.integers(1, 10**7), min_size=4, max_size=4)))
        o, c = draw(st.permutations(prices[1:3]))
        out.append(candle(m, o, prices[3], prices[0], c, draw(st.integers(1, 10**9))))
    return out


@given(candle_lists(), st.integers(12, 120), st.integers(4, 40), st.booleans())
@settings(max_examples=150)
def test_every_candle_in_sight_is_drawn_between_its_high_and_low(
    candles: list[Candle], width: int, height: int, marked: bool
) -> None:
    last = candles[-1].close if candles and marked else None
    rows = layout_chart(
        candles,
        interval=MINUTE,
        end=START + 200 * MINUTE,
        width=width,
        height=height,
        price_scale=100,
        last=last,
    )
    text = list(text_of(rows))
    assert len(text) == height and all(len(line) == width for line in text)
    if not candles:
        return
    axis = max(len(label(p, 100)) for p in [c.high for c in candles]) + 2
    plot = width - axis
    first = START + 200 * MINUTE - (plot // CELL - 1) * MINUTE
    volume_rows = max(1, (height - 1) // 5)
    for c in candles:
        if c.start < first:
            continue
        column = plot - CELL * (plot // CELL - (c.start - first) // MINUTE)
        drawn = [r for r in range(height - 1 - volume_rows) if text[r][column] not in " ┈"]
        assert drawn, (c, column)
        assert drawn == list(range(drawn[0], drawn[-1] + 1))  # one unbroken stroke
        assert any(text[r][column] in BODY_GLYPHS for r in drawn)
        assert all(styles_of(rows[r])[column] == ("up" if c.up else "down") for r in drawn)
        bars = "".join(text[r][column] for r in range(height - 1 - volume_rows, height - 1))
        assert set(bars) <= set(EIGHTHS) and bars.strip()  # every trade shows some volume


# -- depth ---------------------------------------------------------------------------------
book_sides = st.lists(
    st.tuples(st.integers(1, 10_000), st.integers(1, 10**9), st.integers(1, 3)),
    max_size=30,
    unique_by=lambda level: level[0],
)


@given(book_sides, book_sides, st.integers(0, 20_000))
def test_depth_curve_sums_the_levels_each_side_reaches(raw_bids, raw_asks, price) -> None:  # type: ignore[no-untyped-def]
    bids = sorted(raw_bids, reverse=True)
    asks = sorted(raw_asks)
    curve = DepthCurve.of(bids, asks)
    assert curve.bids_at(price) == sum(s for p, s, _ in bids if p >= price)
    assert curve.asks_at(price) == sum(s for p, s, _ in asks if p <= price)


def test_depth_layout_bids_left_asks_right_labels_exact() -> None:
    bids = [(4_099_000, 100_000_000, 1), (4_098_000, 300_000_000, 2)]  # 1 then 4 XBT in all
    asks = [(4_101_000, 200_000_000, 1)]
    assert mid_price(bids, asks) == 4_100_000
    rows = layout_depth(bids, asks, width=41, height=10, price_scale=100, size_scale=10**8)
    text = list(text_of(rows))
    assert all(len(line) == 41 for line in text)
    axis = next(line.index("│") for line in text if "│" in line)
    plot = 41 - axis - 1
    left, right = axis + 1, 40
    assert column_text(text[:9], left) == "█" * 9  # the deepest side fills the height
    assert column_text(text[:9], right).strip() == "▄" + "█" * 4  # 2 of 4 XBT: 4.5 rows
    styles = [styles_of(r) for r in rows]
    assert styles[8][left] == "bid" and styles[8][right] == "ask"
    assert " 41,000.00 " in text[9] and "40,980.00" in text[9] and "41,020.00" in text[9]
    assert [line[:axis].strip() for line in text[:9] if line[:axis].strip()] == ["4", "2"] or all(
        Decimal(line[:axis].strip()) % 1 == 0 for line in text[:9] if line[:axis].strip()
    )
    assert plot > 0


def test_depth_of_an_empty_book_says_so() -> None:
    rows = layout_depth([], [], width=30, height=5, price_scale=100, size_scale=10**8)
    assert "no orders" in next(text_of(rows))


def test_the_largest_volume_is_labelled_beside_the_bars() -> None:
    rows = layout_chart(
        [candle(0, 100, 110, 90, 105, volume=25_000_000), candle(1, 105, 106, 100, 101, 10)],
        interval=MINUTE,
        end=START + MINUTE,
        width=40,
        height=13,
        price_scale=100,
        volume_scale=10**8,
    )
    text = list(text_of(rows))
    assert text[10].endswith(" 0.25")  # the top volume row: 0.25 XBT fills the bars' height
    assert sum(" 0.25" in line for line in text) == 1
