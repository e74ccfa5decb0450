"""Issue 13, break 4: an order whose outcome cannot be known is said to be so, clearly, and is
listed in Open orders as "unknown" until the user removes it (c): the dashboard neither calls
it placed nor refused, and never sends it again.

The real app on the real embedded exchange (see conftest), which drops the connection before
its engine sees the PlaceOrder: from the client's side the order was sent and no answer came,
exactly as when the answer is lost, so nothing can tell whether it was placed.
"""

from __future__ import annotations

import pytest

from cfdash.tui.widgets.orders import OpenOrdersView

from .conftest import WIDE, lines, p, record_notices, running, until


def message(app) -> str:
    return str(app.query_one("#message").render())


def prices(exchange) -> list[int]:
    """The prices of the account's open orders, by the exchange."""
    return [price for price, _, _ in exchange.open_orders()]


@pytest.mark.slow
async def test_an_order_of_unknown_outcome_is_said_and_listed_as_unknown(faulty_exchange) -> None:
    exchange, faults = faulty_exchange
    exchange.seed_market(book=False)
    app = exchange.dashboard().app
    async with running(app, WIDE) as pilot:
        notices = record_notices(app)
        view = app.query_one(OpenOrdersView)
        faults.arm("PlaceOrder", "drop_before")
        await pilot.press("b", *"0.1", "tab", *"40000", "enter")
        await until(pilot, lambda: message(app).startswith("outcome unknown (tonce "))
        assert message(app).split(" · ")[0].endswith(": see Open orders")
        said = [n for n in notices if n.startswith("Order outcome unknown (tonce ")]
        assert len(said) == 1
        assert "not sent again" in said[0] and "Check your balances" in said[0]
        assert not any("refused" in n or "placed" in n.split(".")[0] for n in notices)
        row = await until(
            pilot, lambda: next((line for line in lines(view) if "40,000.00" in line), None)
        )
        assert row.split()[0] == "BUY" and row.split()[-1] == "unknown"
        assert "1 in flight" in str(view.border_title)
        assert p("40000") not in prices(exchange)  # indeed never placed, and not sent again
        await pilot.press("escape")  # leave the form
        await pilot.press("c")  # names the first order (one of the seeded ones)
        await until(pilot, lambda: view.armed is not None)
        below = next(n for n, o in enumerate(view.orders) if o.state == "unknown")
        await pilot.press(*"j" * below)  # down to the unknown one
        await until(pilot, lambda: view.selected is not None and view.selected.state == "unknown")
        await pilot.press("c")  # nothing to cancel: the user has seen it, it goes
        await until(pilot, lambda: any("Removed from the list" in n for n in notices))
        await until(pilot, lambda: not any("40,000.00" in line for line in lines(view)))
        assert p("40000") not in prices(exchange)
