"""The positions and P&L panel: per asset the holding and its value in the valuation currency;
per market traded this session the average cost, the mid, the unrealised and realised P&L (in
the market's counter currency, fees included); the account's total value. "—" where no price
is known. Private mode hides it, as it hides the balances.

The arithmetic is ``cfdash.tui.pnl`` and ``cfdash.core.views.positions``; this widget lays out
the text, only when shown.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar, Final

from textual.reactive import reactive
from textual.strip import Strip

from cfdash.core.assets import V2, Assets, Pair, Scales, asset_name
from cfdash.tui import fmt, pnl
from cfdash.tui.pairs import EXPIRED_ASSETS
from cfdash.tui.source import BalanceRow, Fill, Quote
from cfdash.tui.widgets.lines import Paced, cells
from cfdash.tui.widgets.table import TableView

WIDE: Final = 72
"""The narrowest panel with one line per market (narrower: three lines each)."""
GBP: Final = Assets["GBP"]


def money(value: Decimal | None, places: int, *, sign: bool = False) -> str:
    """``value`` rounded half even to ``places``, with separators ("—" for None)."""
    if value is None:
        return fmt.DASH
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.00"
    return format(rounded, f"{'+' if sign else ''},.{places}f")


def exact(value: Decimal | None, places: int, keep: int = 2) -> str:
    """``value`` with at most ``places`` (its scale's), trailing zeros past ``keep`` dropped."""
    if value is None:
        return fmt.DASH
    text = money(value, places)
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(min(keep, places), "0")
        text = f"{whole}.{fraction}" if fraction else whole
    return text


class PositionsView(TableView):
    """``update`` takes the session's fills, the balances and the quotes; ``currency`` and
    ``starts`` (pair -> average cost of what was held at the start) come from the settings."""

    private: reactive[bool] = reactive(False)
    read_only: reactive[bool] = reactive(False)
    show_expired: reactive[bool] = reactive(False)
    """Hold and value the expired 2018 futures' assets too (hidden, as in the balances)."""

    HEADS: ClassVar = ("Asset", "Holding", "Avg cost", "Mid", "Unrealised", "Realised")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.fills: tuple[Fill, ...] = ()
        self.balances: tuple[BalanceRow, ...] | None = None
        self.quotes: tuple[Quote, ...] = ()
        self.currency = GBP
        self.ledger = pnl.Ledger()
        self.login_key = "l"
        self._pace: Paced[None] = Paced(self, lambda _: self.changed(), every=0.5)

    def configure(self, currency: int, starts: Mapping[Pair, Decimal]) -> None:
        """The valuation currency and the starting costs (before the first balances)."""
        self.currency = currency
        self.ledger = pnl.Ledger(starts)
        self.changed()

    def update(
        self,
        scales: Scales,
        *,
        fills: Sequence[Fill] | None = None,
        balances: Sequence[BalanceRow] | bool | None = False,
        quotes: Sequence[Quote] | None = None,
    ) -> None:
        """New data (``None``/``False``: unchanged; ``balances=None``: not logged in)."""
        changed = scales != self.scales
        self.scales = scales
        if fills is not None and tuple(fills) != self.fills:
            self.fills, changed = tuple(fills), True
        if balances is not False:
            rows = None if balances is None or balances is True else tuple(balances)
            if rows != self.balances:
                self.balances, changed = rows, True
        moved = quotes is not None and tuple(quotes) != self.quotes
        if quotes is not None and moved:
            self.quotes = tuple(quotes)
        if changed:
            self.changed()
        elif moved:  # the mids move with every book change: revalued twice a second at most
            self._pace.offer(None)

    def watch_private(self) -> None:
        self.refresh()

    def watch_show_expired(self) -> None:
        self.changed()

    def mode(self) -> Hashable:
        return (self.private, self.read_only, self.login_key, self.show_expired)

    # -- layout ----------------------------------------------------------------------------
    def layout_rows(self, height: int) -> list[Hashable]:
        if not self.display or height <= 0:
            return []
        if self.read_only:
            return [("note", "read-only: no account")]
        if self.private:
            return [("note", "hidden in private mode (p shows it)")]
        if self.balances is None:
            return [("note", f"log in ({self.login_key}) to see positions")]
        scales = self.scales
        balances = self.balances
        if not self.show_expired:
            balances = tuple(b for b in balances if b.asset not in EXPIRED_ASSETS)
        if balances:
            self.ledger.start(scales, balances, self.fills)
        self.ledger.follow(scales, self.fills)
        rows, valuation = pnl.summary(scales, self.ledger, balances, self.quotes, self.currency)
        width = self.size.width
        lines = self._wide(rows) if width >= WIDE else self._compact(rows)
        footer = [("footer", f"Total {money(valuation.total, 2)} {asset_name(self.currency)}")]
        if valuation.unpriced:
            names = ", ".join(asset_name(a) for a in valuation.unpriced)
            footer.append(("note", f"not valued (no price): {names}"))
        if not rows:
            lines.append(("note", "no funds"))
        return [*lines[: max(0, height - len(footer))], *footer]

    def _texts(self, row: pnl.Row) -> dict[str, str]:
        scales = self.scales
        asset = row.asset
        places = fmt.places(scales.asset(asset))
        texts = {
            "asset": asset_name(asset),
            "holding": "" if row.holding is None else exact(row.holding, places),
            "value": money(row.value, 2) if row.holding is not None else "",
        }
        if row.counter is None or row.position is None:
            texts.update(avg="", mid="", unrealised="", realised="", market="")
            return texts
        pair = Pair(asset, row.counter)
        counter = fmt.places(scales.asset(row.counter))
        price = fmt.places(scales.price_scale(pair))
        position = row.position
        texts.update(
            avg=money(position.average, price),
            mid=money(row.price, price),
            unrealised=money(row.unrealised, counter, sign=True),
            realised=money(position.realised, counter, sign=True),
            market=pair.name,
        )
        if row.counter != self.currency:  # amounts in another currency: say which
            texts["asset"] = pair.name
        return texts

    def _wide(self, rows: Sequence[pnl.Row]) -> list[Hashable]:
        heads = (*self.HEADS, f"Value {asset_name(self.currency)}")
        keys = ("asset", "holding", "avg", "mid", "unrealised", "realised", "value")
        texts = [self._texts(r) for r in rows]
        table = [tuple(t[k] for k in keys) for t in texts]
        widths = tuple(max([len(h), *(len(t[i]) for t in table)]) for i, h in enumerate(heads))
        aligns = "<" + ">" * (len(heads) - 1)
        lines: list[Hashable] = [("head", 2, widths, aligns, heads)]
        for row, parts in zip(rows, table, strict=True):
            lines.append(("row", _style(row), 2, widths, aligns, parts))
        return lines

    def _compact(self, rows: Sequence[pnl.Row]) -> list[Hashable]:
        heads = ("Asset", "Holding", f"Value {asset_name(self.currency)}")
        texts = [self._texts(r) for r in rows]
        table = [(t["asset"], t["holding"], t["value"]) for t in texts]
        widths = tuple(max([len(h), *(len(t[i]) for t in table)]) for i, h in enumerate(heads))
        lines: list[Hashable] = [("head", 1, widths, "<>>", heads)]
        for row, t, parts in zip(rows, texts, table, strict=True):
            lines.append(("row", "plain", 1, widths, "<>>", parts))
            if row.position is not None:
                assert row.counter is not None
                lines.append(("text", "plain", f"  avg {t['avg']} {asset_name(row.counter)}"))
                lines.append(("text", "plain", f"  mid {t['mid']}"))
                lines.append(
                    ("text", _style(row), f"  unreal. {t['unrealised']}  real. {t['realised']}")
                )
        return lines

    def build_strip(self, row: Hashable, width: int) -> Strip:
        assert isinstance(row, tuple)
        if row[0] == "text":
            _, name, text = row
            return cells([(f" {text}", self.get_component_rich_style(f"table--{name}"))])
        return super().build_strip(row, width)


def _style(row: pnl.Row) -> str:
    """Gains green, losses red (by the P&L so far, unrealised included if known)."""
    if row.position is None:
        return "plain"
    total = row.position.realised + (row.unrealised or 0)
    return "gain" if total > 0 else "loss" if total < 0 else "plain"
