"""The watchlist's rows: every watched market's last price, change and spread, as text.

Pure (no Textual): wire integers in, display text out, through ``Decimal``. The change is
measured from the market's first last price this session (``TickerRow.reference``, kept by
``cfdash.tui.batches``): the ticker gives the 24 h low, high and volume, but no opening price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from cfdash.core.assets import Scales
from cfdash.tui import fmt
from cfdash.tui.source import PairTicker

HEADS = ("Market", "Last", "Chg", "Spread")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WatchLine:
    """One market's row: ``direction`` is the sign of its change (-1, 0, 1) for colour."""

    name: str
    last: str
    change: str
    spread: str
    direction: int = 0

    @property
    def cells(self) -> tuple[str, str, str, str]:
        return (self.name, self.last, self.change, self.spread)


def change_percent(last: int | None, reference: int | None) -> Decimal | None:
    """``last`` against ``reference`` in per cent, to two places (None when either is
    missing or the reference is zero)."""
    if last is None or not reference:
        return None
    ratio = (Decimal(last) - Decimal(reference)) * 100 / Decimal(reference)
    return ratio.quantize(CENT, ROUND_HALF_EVEN)


def change_text(percent: Decimal | None) -> str:
    """ "+1.25%", "-0.40%", "0.00%"; a dash when unknown."""
    if percent is None:
        return fmt.DASH
    if percent == 0:
        return "0.00%"
    return f"{percent:+.2f}%"


def watch_line(scales: Scales, item: PairTicker) -> WatchLine:
    pair, ticker = item.pair, item.ticker
    percent = change_percent(ticker.last, ticker.reference)
    spread = None
    if ticker.bid is not None and ticker.ask is not None:
        spread = ticker.ask - ticker.bid
    direction = 0 if not percent else (1 if percent > 0 else -1)
    return WatchLine(
        pair.name,
        fmt.price(scales, pair, ticker.last),
        change_text(percent),
        fmt.price(scales, pair, spread),
        direction,
    )


def watch_lines(scales: Scales, tickers: Sequence[PairTicker]) -> list[WatchLine]:
    return [watch_line(scales, t) for t in tickers]


def widths(lines: Sequence[WatchLine]) -> tuple[int, ...]:
    """Each column's width: its widest cell or heading."""
    return tuple(
        max([len(head), *(len(line.cells[i]) for line in lines)]) for i, head in enumerate(HEADS)
    )
