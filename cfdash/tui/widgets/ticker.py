"""The header: market, last price and change, bid, ask, spread, 24 h low/high/volume."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from cfdash.core.assets import V2, Pair, Scales
from cfdash.tui import fmt
from cfdash.tui.source import Ticker

GAP = "   "


def change_text(scales: Scales, pair: Pair, ticker: Ticker) -> tuple[str, str]:
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
        height: auto;
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
        self.ticker = Ticker()

    def set_market(self, scales: Scales, pair: Pair) -> None:
        self.scales, self.pair = scales, pair
        self.refresh(layout=True)

    def update_ticker(self, ticker: Ticker) -> None:
        if ticker != self.ticker:
            self.ticker = ticker
            self.refresh(layout=True)

    def watch_stale(self) -> None:
        self.set_class(self.stale, "-stale")
        self.refresh(layout=True)

    def groups(self) -> list[Text]:
        if self.pair is None:
            return [Text("no market")]
        s, p, t = self.scales, self.pair, self.ticker
        label = self.get_component_rich_style("ticker--label")
        # styled spans, not base styles: a line starting with a group would pass its style on
        out = [Text.assemble((p.name, self.get_component_rich_style("ticker--pair")))]
        if self.stale:
            out.append(Text.assemble((" STALE ", self.get_component_rich_style("ticker--stale"))))
        last = Text.assemble(("last ", label), fmt.price(s, p, t.last))
        change, trend = change_text(s, p, t)
        if change:
            style = self.get_component_rich_style(f"ticker--{trend}") if trend != "flat" else ""
            last.append(" ")
            last.append(change, style)
        out.append(last)
        spread = None if t.bid is None or t.ask is None else t.ask - t.bid
        for name, value in (("bid", t.bid), ("ask", t.ask), ("spread", spread)):
            out.append(Text.assemble((f"{name} ", label), fmt.price(s, p, value)))
        out.append(
            Text.assemble(
                ("24h low ", label),
                fmt.price(s, p, t.low),
                (" high ", label),
                fmt.price(s, p, t.high),
            )
        )
        out.append(
            Text.assemble(("vol ", label), fmt.quantity(s, p, t.volume), f" {fmt.base_name(p)}")
        )
        return out

    def lines(self, width: int) -> list[Text]:
        """Greedy packing of the groups, never splitting one across lines."""
        lines: list[Text] = []
        for group in self.groups():
            if lines and lines[-1].cell_len + len(GAP) + group.cell_len <= width:
                lines[-1].append(GAP)
                lines[-1].append_text(group)
            else:
                lines.append(group.copy())
        return lines

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        return Text("\n").join(self.lines(self.content_region.width or self.size.width))
