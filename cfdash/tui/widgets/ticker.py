"""The header: market, last price and change, bid, ask, spread, 24 h low/high/volume."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui import fmt
from cfdash.tui.source import TickerRow

GAP = "   "


def change_text(scales: Scales, pair: Pair, ticker: TickerRow) -> tuple[str, str]:
    """("▲ +12.34 (+0.03%)", "up"|"down"|"flat") against the ticker's reference price."""
    if ticker.last is None or ticker.reference is None:
        return "", "flat"
    delta = ticker.last - ticker.reference
    trend = "up" if delta > 0 else "down" if delta < 0 else "flat"
    arrow = {"up": "▲", "down": "▼", "flat": "="}[trend]
    text = f"{arrow} {fmt.price(scales, pair, delta, sign=True)}"
    if ticker.reference:
        pct = (Decimal(delta) * 100 / Decimal(ticker.reference)).quantize(Decimal("0.01"))
        text += f" ({pct:+}%)"
    return text, trend


class TickerBar(Widget):
    COMPONENT_CLASSES: ClassVar = {
        "ticker--pair",
        "ticker--up",
        "ticker--down",
        "ticker--label",
        "ticker--stale",
    }
    DEFAULT_CSS = """
    TickerBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        & > .ticker--pair { text-style: bold; color: $text-accent; }
        & > .ticker--up { color: $text-success; }
        & > .ticker--down { color: $text-error; }
        & > .ticker--label { color: $text-muted; }
        & > .ticker--stale { color: $text-warning; text-style: bold reverse; }
        &.-stale { text-opacity: 60%; }
    }
    """

    stale: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self.ticker = TickerRow()

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.scales, self.pair = scales, pair
        self.refresh(layout=True)

    def update_ticker(self, ticker: TickerRow) -> None:
        if ticker != self.ticker:
            self.ticker = ticker
            self.refresh()  # one line of a fixed height: no layout

    def watch_stale(self) -> None:
        self.set_class(self.stale, "-stale")
        self.refresh(layout=True)

    def groups(self) -> list[tuple[int, str, Text]]:
        """(priority, joiner, text) of each part in display order: lower priorities are shown
        first when the line is short; ``joiner`` goes before the part (the change sticks to
        the last price)."""
        if self.pair is None:
            return [(0, "", Text("no market"))]
        s, p, t = self.scales, self.pair, self.ticker
        label = self.get_component_rich_style("ticker--label")
        # styled spans, not base styles: a line starting with a group would pass its style on
        out = [(0, "", Text.assemble((p.name, self.get_component_rich_style("ticker--pair"))))]
        if self.stale:
            stale = Text.assemble((" STALE ", self.get_component_rich_style("ticker--stale")))
            out.append((1, GAP, stale))
        out.append((2, GAP, Text.assemble(("last ", label), fmt.price(s, p, t.last))))
        change, trend = change_text(s, p, t)
        if change:
            style = self.get_component_rich_style(f"ticker--{trend}") if trend != "flat" else ""
            out.append((5, " ", Text(change, style)))
        spread = None if t.bid is None or t.ask is None else t.ask - t.bid
        for priority, name, value in ((3, "bid", t.bid), (4, "ask", t.ask), (6, "spread", spread)):
            out.append((priority, GAP, Text.assemble((f"{name} ", label), fmt.price(s, p, value))))
        volume = fmt.trimmed(t.volume, s.asset(p.base))
        out.append((7, GAP, Text.assemble(("vol ", label), volume, f" {fmt.base_name(p)}")))
        low_high = Text.assemble(
            ("24h low ", label), fmt.price(s, p, t.low), (" high ", label), fmt.price(s, p, t.high)
        )
        out.append((8, GAP, low_high))
        return out

    def line(self, width: int) -> Text:
        """One line, whatever the width and the state (the header never wraps, so the layout
        under it never moves): the parts that fit, by priority (market, STALE, last, bid,
        ask, change, spread, volume, 24 h range), in their usual order."""
        groups = self.groups()
        shown: set[int] = set()
        used = 0
        for index in sorted(range(len(groups)), key=lambda i: groups[i][0]):
            _, joiner, text = groups[index]
            cost = text.cell_len + (len(joiner) if index else 0)
            if joiner == " " and index - 1 not in shown:
                continue  # the change without the last price would mean nothing
            if not shown or used + cost <= width:
                shown.add(index)
                used += cost
        line = Text()
        for index, (_, joiner, text) in enumerate(groups):
            if index in shown:
                if line:
                    line.append(joiner)
                line.append_text(text)
        line.truncate(max(0, width))
        return line

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return 1

    def render(self) -> Text:
        return self.line(self.content_region.width or self.size.width)
