"""What an order did, in words: the notification and the form's note after a placement, and
an order's one-line name (for cancelling). Pure functions of the scales and the data."""

from __future__ import annotations

from cfdash.core.assets import Scales, asset_name
from cfdash.tui import fills as fill_report
from cfdash.tui import fmt
from cfdash.tui.fills import Report
from cfdash.tui.source import OpenOrder, OrderRequest, OrderResult


def amount(scales: Scales, order: OrderRequest, quantity: int | None, total: int | None) -> str:
    """A market order's amount, or what was left of it, with its asset (XBT or GBP)."""
    pair = order.pair
    if quantity is not None:
        return f"{fmt.quantity(scales, pair, abs(quantity))} {asset_name(pair.base)}"
    return f"{fmt.total(scales, pair, abs(total or 0))} {asset_name(pair.counter)}"


def placed(scales: Scales, order: OrderRequest, result: OrderResult) -> tuple[str, Report]:
    """What an order did, with what it traded at once (its fills known when the outcome came;
    later ones are reported as they come): the form's note, and the notification."""
    done = fill_report.total(result.fills)
    if order.is_market:
        left = result.remaining or 0
        by_quantity = order.quantity is not None
        unfilled = amount(scales, order, left if by_quantity else None, left)
        if done is None and result.remaining is None:  # settled by tonce after a lost reply
            note = "market order done"
            text = "market order done; what it traded was lost with the connection"
        elif done is None:
            note = "market order: nothing traded"
            text = note + (f", {unfilled} unfilled" if left else "")
        else:
            note = f"market order done: {fill_report.short(scales, done)}"
            trades = f" ({fmt.plural(done.trades, 'trade')})" if done.trades > 1 else ""
            text = fill_report.describe(scales, done) + trades
            if left:
                text += f"\n{unfilled} unfilled"
        if left:
            note += f", {unfilled} unfilled"
        return note, Report(text, "Market order")
    order_id = result.id if result.id is not None else done and done.order_id
    name = f"#{order_id}" if order_id else "order"
    called = f"order {order_id}" if order_id else "the order"
    if done is None:
        if result.id is None:  # settled after a lost reply: placed and already closed
            return "placed (already closed)", Report(
                "order placed and already filled or closed", "Order"
            )
        return f"placed #{result.id}", Report(f"order {result.id} placed", "Order")
    text = fill_report.describe(scales, done)
    if result.resting == 0 or result.id is None:
        left = (order.quantity or 0) - done.quantity
        if left > 0:  # e.g. a bid whose fee, taken from its reservation, left too little
            text += f"; closed with {amount(scales, order, left, None)} not traded"
        note = f"filled {name}: {fill_report.short(scales, done)}"
        return note, Report(f"{called} filled at once: {text}", "Order filled")
    on_book = result.resting or (order.quantity or 0) - done.quantity
    rest = amount(scales, order, on_book, None)
    report = Report(
        f"{called} placed, part filled at once: {text}; {rest} on the book", "Order placed"
    )
    return f"placed {name}, {fill_report.short(scales, done)}", report


def describe(scales: Scales, order: OpenOrder) -> str:
    """'SELL 0.10000000 XBT at 41,100.00 GBP (order 54)': what is left of it; an order in
    flight is named by its tonce ('BUY 0.10000000 XBT at market (sending, tonce 17…)')."""
    pair = order.pair
    side = "BUY" if order.side == "buy" else "SELL"
    if order.total is not None and not order.quantity:
        size = f"{fmt.total(scales, pair, abs(order.total))} {fmt.counter_name(pair)} of"
        size += f" {fmt.base_name(pair)}"
    else:
        size = f"{fmt.quantity(scales, pair, abs(order.remaining))} {fmt.base_name(pair)}"
    price = "market"
    if order.price is not None:
        price = f"{fmt.price(scales, pair, order.price)} {fmt.counter_name(pair)}"
    if order.in_flight:
        return f"{side} {size} at {price} ({order.state}, tonce {order.tonce})"
    return f"{side} {size} at {price} (order {order.id})"
