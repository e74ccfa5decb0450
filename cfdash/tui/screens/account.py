"""The account's history panels on the dashboard: fills, positions and P&L, closed orders.

``apply_batch`` is the dashboard's batch handling for them (kept here so that the screen's own
``apply_batch`` only calls it): each panel is touched only when its data changed, and builds its
text only when shown (``TableView``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

from cfdash.core.assets import Assets, Pair, Scales
from cfdash.tui.source import Batch, ClosedOrderRow, OpenOrder
from cfdash.tui.widgets.closed import ClosedOrdersView
from cfdash.tui.widgets.fills import FillsView
from cfdash.tui.widgets.positions import PositionsView

if TYPE_CHECKING:
    from cfdash.tui.screens.dashboard import DashboardScreen

PANELS: Final = frozenset({"fills", "positions", "closed"})
"""In the wide layout the one chosen (``v``) takes the chart's place."""


def mount_panels(screen: DashboardScreen, login_key: str) -> None:
    """Titles, the login key, and the positions settings the app was given (the settings
    file's ``currency`` and ``[start_cost]``)."""
    screen.query_one("#fills", FillsView).border_title = "Fills"
    screen.query_one("#closed", ClosedOrdersView).border_title = "Closed orders"
    positions = screen.query_one("#positions", PositionsView)
    positions.border_title = "Positions and P&L"
    positions.login_key = login_key
    currency: int = getattr(screen.app, "currency", Assets["GBP"])
    starts: dict[Pair, Decimal] = getattr(screen.app, "start_costs", {})
    positions.configure(currency, starts)


def apply_batch(screen: DashboardScreen, batch: Batch, scales: Scales, *, force: bool) -> None:
    """The batch's fills, closed orders, balances and quotes to the panels that show them."""
    positions = screen.query_one("#positions", PositionsView)
    if batch.fill_history is not None:
        screen.query_one("#fills", FillsView).update_fills(scales, batch.fill_history)
        positions.update(scales, fills=batch.fill_history)
    if batch.closed:
        closed = screen.query_one("#closed", ClosedOrdersView)
        closed.add_closed(scales, batch.closed, screen.clock())
    if batch.balances is not None or force:
        positions.update(scales, balances=batch.balances)
    if batch.quotes is not None:
        positions.update(scales, quotes=batch.quotes)


def dismissed(screen: DashboardScreen, scales: Scales, order: OpenOrder) -> None:
    """The user dismissed an order of unknown outcome: listed as closed, "unknown"."""
    amount = abs(order.quantity)  # 0 for a market order by total: its size is not known
    row = ClosedOrderRow(
        order.id,
        order.pair,
        order.side,
        order.price,
        amount,
        0,
        amount,
        order.tonce,
        outcome="unknown",
    )
    screen.query_one("#closed", ClosedOrdersView).add_closed(scales, [row], screen.clock())
