"""Deterministic data for the dashboard tests: a seeded in-memory source and a fixed clock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cfdash.core.assets import PAIRS, V2, Assets
from cfdash.tui.app import DashboardApp
from cfdash.tui.fake import FakeSource

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
PAIR = PAIRS[0]  # XBT:GBP
XBT, GBP = Assets["XBT"], Assets["GBP"]
USER = 7
COOKIE = "HGREqcILTz8blHa/jsUTVTNBJlg="
SECRET = "opensesame"


def clock() -> float:
    return NOW


def q(text: str) -> int:
    """XBT quantity in wire units."""
    return V2.quantity_to_wire(PAIR, text)


def p(text: str) -> int:
    """GBP price in wire units."""
    return V2.price_to_wire(PAIR, text)


def seeded_source(*, user_id: int | None = USER) -> FakeSource:
    source = FakeSource(clock=clock, users={USER: (COOKIE, SECRET)}, pair=PAIR, user_id=user_id)
    for price, size in (("41100", "2"), ("41040", "0.75"), ("41025.50", "1.2"), ("41010", "0.6")):
        source.add_order(PAIR, "sell", q(size), p(price))
    for price, size in (("40800", "4"), ("40900", "2.5"), ("40950", "0.3"), ("40990", "0.8")):
        source.add_order(PAIR, "buy", q(size), p(price))
    # Three trades: two buyers lift the best ask, a seller hits the best bid.
    source.add_order(PAIR, "buy", q("0.05"), p("41010"))
    source.add_order(PAIR, "buy", q("0.05"), p("41010"))
    source.add_order(PAIR, "sell", q("0.1"), p("40990"))
    if user_id is not None:
        source.credit(XBT, q("2"))
        source.credit(GBP, V2.total_to_wire(PAIR, "50000"))
        source.place_order(_order("buy", "0.2", "40950")).result()
        source.place_order(_order("sell", "0.1", "41100")).result()
    return source


def _order(side: str, size: str, price: str):  # type: ignore[no-untyped-def]
    from cfdash.tui.source import OrderRequest

    return OrderRequest(PAIR, side, quantity=q(size), price=p(price))  # type: ignore[arg-type]


@pytest.fixture
def source() -> FakeSource:
    return seeded_source()


@pytest.fixture
def app(source: FakeSource) -> DashboardApp:
    return DashboardApp(source, pair=PAIR, clock=clock)


FEE = Decimal("0.0025")


def screen_text(app: DashboardApp) -> str:
    """The whole screen as plain text, as the terminal would show it."""
    from io import StringIO

    from rich.console import Console

    width = app.size.width
    console = Console(width=width, record=True, file=StringIO(), color_system=None)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()
