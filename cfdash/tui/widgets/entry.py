"""Order entry: buy/sell, limit or market; validates as you type and never submits an invalid
order. The rules live in ``cfdash.tui.orderform``; this is the view and its keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Label

from cfdash.core.assets import V2, Pair, Scales, from_wire
from cfdash.tui import fmt, sizing
from cfdash.tui.orderform import (
    FormError,
    Kind,
    OrderForm,
    field_amount,
    parse,
    validate,
)
from cfdash.tui.source import ConnectionStatus, EstimateRow, OrderRequest, Side

FIELD_KEYS: list[Binding] = [
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="entry.next"),
    Binding(
        "shift+tab",
        "app.focus_previous",
        "Previous field",
        show=False,
        priority=True,
        id="entry.back",
    ),
]
"""Tab and shift+tab for a form of fields (the order form, the login dialog). Priority bindings
act as the app reads each key, not when the focused field gets to it, so keys typed ahead (a
burst over SSH, or a backlog while the app is busy) land in the field they were typed for:
focus moves before the next key is routed. The keymap remaps them in every form at once."""
SEPARATOR = Content(" · ")


def _key(key: str, action: str, description: str, binding_id: str, display: str) -> Binding:
    return Binding(
        key, action, description, key_display=display, show=False, priority=True, id=binding_id
    )


TRADING_KEYS: list[Binding] = [
    _key("plus", "tick(1)", "price up a tick", "entry.up", "+"),
    _key("minus", "tick(-1)", "price down a tick", "entry.down", "-"),
    _key("f5", "fill(25)", "quantity: 25% of what is available", "entry.25", "F5"),
    _key("f6", "fill(50)", "quantity: 50% of what is available", "entry.50", "F6"),
    _key("f7", "fill(100)", "quantity: 100% of what is available", "entry.100", "F7"),
    _key("percent_sign", "fill(0)", "quantity: 25, 50, 100% in turn", "entry.pct", "%"),
]
"""The order form's ladder-trading keys (priority, like the form's others): + and - move the
price by the pair's tick; F5/F6/F7 (or % in turn) fill the quantity with that share of the
available balance (a buy: what its cost with the fee leaves; a market buy: its total)."""


class FieldInput(Input):
    """An input that applies keys in the order they came.

    Textual's ``Input`` types a printable key in its own ``_on_key`` at once, but leaves an
    editing key (Backspace, Ctrl+A, Ctrl+K, Left, Delete...) to bubble through every ancestor's
    message queue up to the app, which only then runs the input's binding for it: a printable
    key that came in the same read (a burst over SSH) is typed first ("9994", Backspace, "5"
    gave "9994"). Here a key that the input's own bindings handle runs that binding on this
    input, before the next key is looked at.

    Textual calls the ``_on_key`` of every class in the MRO until one prevents the default, so
    the handlers here never call ``super()``: ``Input``'s runs next unless they prevent it."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return


NUMBER = r"[0-9.,]*"
"""What a number field accepts, typed or pasted: what ``orderform.parse`` may read as a number
(no signs, no exponents, no letters)."""


class NumberInput(FieldInput):
    """An input for amounts: digits, a point and thousands commas only. Any other character is
    refused (never typed, never a command) and the form says "digits only"."""

    class Refused(Message):
        """A character that is not part of a number was typed or pasted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, compact=True, placeholder="0", restrict=NUMBER)

    def restricted(self) -> None:
        self.post_message(self.Refused())

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Every printable character but the form's own keys (% fills a share): Textual drops
        the bindings of the keys a focused field would consume."""
        return character != "%" and super().check_consume_key(key, character)

    def _locked(self) -> bool:
        form = next((n for n in self.ancestors if isinstance(n, OrderEntry)), None)
        return form is not None and form.locked

    async def _on_key(self, event: events.Key) -> None:
        if self._locked():  # an order is on its way: the fields stay as it was sent
            event.stop()
            event.prevent_default()

    def _on_paste(self, event: events.Paste) -> None:
        if self._locked():
            event.stop()
            event.prevent_default()

    async def action_submit(self) -> None:
        """Enter: the form reads its fields now, not once a ``Submitted`` message has bubbled
        up to it, by when the keys typed after the Enter would have changed them."""
        form = next((n for n in self.ancestors if isinstance(n, OrderEntry)), None)
        if form is None:
            await super().action_submit()
        else:
            form.submit()


class Parts(Widget):
    """A line (or as many as its height) of parts joined by " · ", wrapped to its width: the
    later parts that do not fit are left off whole, rather than cut or split ("fee" / "0.25%")."""

    DEFAULT_CSS = "Parts { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts: tuple[Content, ...] = ()

    def show(self, *parts: str | Content) -> None:
        """Show the non-empty ``parts`` (plain text: no markup), the first always."""
        self.parts = tuple(Content(p) if isinstance(p, str) else p for p in parts if p)
        self.refresh()

    def render(self) -> Content:
        width, height = self.size
        for count in range(len(self.parts), 1, -1):
            text = SEPARATOR.join(self.parts[:count])
            if not width or len(text.wrap(width)) <= height:
                return text
        return self.parts[0] if self.parts else Content()


class OrderEntry(Vertical):
    """The order form. Its keys are priority bindings so they work while a field has focus;
    none is a letter: a letter typed in a number field is refused, never a command (a stray
    ``s`` must not turn a buy into a sell). The side is chosen by opening the form with ``b``
    or ``s`` (Escape, then the other key, switches it).

    While an order is on its way the form is locked (``lock_form``/``unlock_form``): the fields
    take no keys, Enter sends nothing and the message line says "sending…", so one Enter is
    one order however many Enters follow in the same burst."""

    BINDINGS: ClassVar = [
        Binding("ctrl+t", "toggle_kind", "Limit/market", priority=True, id="entry.kind"),
        Binding("escape", "leave", "Leave form", priority=True, id="entry.leave"),
        *FIELD_KEYS,
        *TRADING_KEYS,
    ]
    """Priority bindings, so that keys typed ahead land where they were meant (``FIELD_KEYS``).
    Ctrl+T, not a letter; and not Ctrl+B (tmux's prefix) nor Ctrl+S/Ctrl+Q (flow control).
    + - % are refused by the number fields, so they never clash with typing an amount; F5-F7
    reach the app over SSH and tmux (Alt+digit does not, reliably)."""
    FOOTER: ClassVar[list[Binding]] = [
        Binding("enter", "place", "Place", id="entry.place"),
        Binding("tab", "app.focus_next", "Next", id="entry.next"),
        Binding("escape", "leave", "Leave", id="entry.leave"),
        Binding("ctrl+t", "toggle_kind", "Limit/market", id="entry.kind"),
    ]
    """What the footer shows while a field has focus: the keys that work there (the dashboard's
    letters are typed into the field, or refused, so they are not shown)."""
    DEFAULT_CSS = """
    OrderEntry {
        height: auto;
        & Horizontal { height: 1; margin-bottom: 1; }
        & Label { width: 14; color: $text-muted; }
        & Input { width: 1fr; }
        & #message { height: 2; }
        & #preview { height: 1; color: $text-muted; }
        & .-error { color: $text-error; }
        & #side { width: auto; min-width: 6; padding: 0 1; text-style: bold reverse; }
        &.-buy #side { color: $text-success; }
        &.-sell #side { color: $text-error; }
        & .-hint { color: $text-muted; }
        &.-market #price-row { display: none; }
        &.-limit #total-row { display: none; }
    }
    """

    side: reactive[Side] = reactive("buy")
    kind: reactive[Kind] = reactive("limit")
    private: reactive[bool] = reactive(False)
    """Private mode: no message shows a balance."""
    status: reactive[ConnectionStatus] = reactive(ConnectionStatus, repaint=False)
    """The connection (bound to ``DashboardScreen.status``)."""

    @dataclass
    class Submitted(Message):
        """A valid order the user asked to place."""

        entry: OrderEntry
        order: OrderRequest

    @dataclass
    class EstimateWanted(Message):
        """A market order changed: the app asks the source and calls ``set_estimate``."""

        entry: OrderEntry
        order: OrderRequest

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.scales: Scales = V2
        self.pair: Pair | None = None
        self.available: dict[int, int] | None = None
        self.fee_rate: Decimal | None = None
        self.estimate: tuple[OrderRequest, EstimateRow | None] | None = None
        self.error: FormError | None = None
        self.preview_text = ""
        self._baseline = ("", "", "")
        """The fields as the form last set them itself: no complaints until the user types."""
        self.note = ""
        """Shown with the hint while the form is untouched (e.g. "placed #110")."""
        self._refusal: tuple[str, tuple[str, ...]] | None = None
        """The exchange's last refusal and the form it was for: shown until that changes."""
        self._edited = ""
        self.sending: str | None = None
        """Set while an order is on its way (``lock_form``): what the message line says."""
        self.refused = False
        """A character that is not part of a number was refused: "digits only" until the next
        edit."""
        self._filled: tuple[int, str] | None = None
        """The share last filled in by a percentage key and the text it put in its field (the
        % key goes on to the next share while that text is unchanged)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="quantity-row"):
            yield Label("Quantity", id="quantity-label")
            yield NumberInput(id="quantity")
            yield Label("BUY", id="side")
        with Horizontal(id="price-row"):
            yield Label("Price", id="price-label")
            yield NumberInput(id="price")
        with Horizontal(id="total-row"):
            yield Label("or Total", id="total-label")
            yield NumberInput(id="total")
        yield Parts(id="preview")
        yield Parts(id="message")

    def on_mount(self) -> None:
        self._retitle()
        self.revalidate()

    # -- data from the app -----------------------------------------------------------------
    def set_market(self, scales: Scales, pair: Pair) -> None:
        """Show ``pair``. Another market starts from an empty form (no price, amounts, note,
        refusal or estimate): a price typed for one market is nonsense on another."""
        switched = self.pair is not None and (scales, pair) != (self.scales, self.pair)
        self.scales, self.pair = scales, pair
        self._retitle()
        if switched:
            self.clear(price=True)
        else:
            self.estimate = None
            self.revalidate()

    def set_account(self, available: Mapping[int, int] | None, fee_rate: Decimal | None) -> None:
        self.available = None if available is None else dict(available)
        self.fee_rate = fee_rate
        self.revalidate(ask_estimate=False)

    def set_estimate(self, order: OrderRequest, estimate: EstimateRow | None) -> None:
        if order.pair != self.pair:
            return  # asked for the market shown before
        self.estimate = (order, estimate)
        self.revalidate(ask_estimate=False)

    def open(self, side: Side, price: int | None = None) -> None:
        """Show the form for ``side``, a limit order, with the quantity field focused; at
        ``price`` (wire units: a level picked in the ladder) if given."""
        self.side = side
        self.kind = "limit"
        if price is not None and self.pair is not None and not self.locked:
            self.query_one("#price", Input).value = self._text(self._price_scale(), price)
        self.screen.set_focus(self.query_one("#quantity", Input))  # now, not after a refresh

    def watch_status(self, before: ConnectionStatus, status: ConnectionStatus) -> None:
        """Follow the connection: once it is back, or someone has logged in, the exchange's
        last refusal (e.g. "Not connected…") no longer holds and goes."""
        back = status.connected and not before.connected
        logged_in = status.user_id is not None and before.user_id is None
        if self._refusal is not None and (back or logged_in):
            self._refusal = None
            self.revalidate(ask_estimate=False)

    def clear(self, note: str = "", *, price: bool = False) -> None:
        """Empty the amounts (after a placement: the price stays for the next order; and the
        price too if ``price``) and go back to a neutral hint, with ``note`` (e.g. "placed
        #110"), until the user types."""
        had_focus = self.has_focus_within
        self.sending = None
        for name in ("quantity", "total", "price") if price else ("quantity", "total"):
            self.query_one(f"#{name}", Input).value = ""
        self.estimate = None
        self._refusal = None
        self.note = note
        self._baseline = self._values()
        if had_focus:
            self.query_one("#quantity", Input).focus()
        self.revalidate()

    def _values(self) -> tuple[str, str, str]:
        return tuple(  # type: ignore[return-value]
            self.query_one(f"#{name}", Input).value for name in ("quantity", "price", "total")
        )

    # -- sending -----------------------------------------------------------------------------
    def lock_form(self, text: str = "sending…") -> None:
        """An order from this form is on its way (or being confirmed): Enter sends nothing, the
        fields take no keys, and the message line says ``text``, until ``unlock_form``, ``clear``
        (placed, or pending) or ``show_error`` (refused)."""
        self.sending = text
        self.revalidate(ask_estimate=False)

    def unlock_form(self, note: str = "") -> None:
        """Nothing was sent after all (the confirmation was declined, or a login is needed):
        the form takes keys again, as it was, with ``note`` if the form is untouched."""
        if self.sending is None:
            return
        self.sending = None
        self.note = note
        self.revalidate(ask_estimate=False)

    @property
    def locked(self) -> bool:
        return self.sending is not None

    # -- state -----------------------------------------------------------------------------
    def form(self) -> OrderForm | None:
        if self.pair is None:
            return None
        return OrderForm(
            self.pair,
            self.side,
            self.kind,
            quantity=self.query_one("#quantity", Input).value,
            price=self.query_one("#price", Input).value,
            total=self.query_one("#total", Input).value,
            edited=self._edited,
        )

    def _estimate_for(self, order: OrderRequest) -> EstimateRow | None:
        if self.estimate is not None and self.estimate[0] == order:
            return self.estimate[1]
        return None

    def revalidate(self, *, ask_estimate: bool = True) -> OrderRequest | None:
        """Check the form, show the preview and the message; the valid order or ``None``."""
        if not self.is_mounted:  # its fields are not there yet: ``on_mount`` revalidates
            return None
        try:
            form = self.form()
            message = self.query_one("#message", Parts)
            preview = self.query_one("#preview", Parts)
        except NoMatches:  # being taken down (the app closing, an estimate arriving late)
            return None
        if form is None:
            return None
        order: OrderRequest | None = None
        try:
            parsed = parse(form, self.scales)
        except FormError as exc:
            parsed = None
            self.error = exc
        if parsed is not None:
            estimate = self._estimate_for(parsed)
            if parsed.is_market and estimate is None and ask_estimate:
                self.post_message(self.EstimateWanted(self, parsed))
            try:
                order = validate(form, self.scales, self.available, estimate, private=self.private)
                self.error = None
            except FormError as exc:
                self.error = exc
            parts: tuple[str, ...] = self._preview(parsed, estimate)
        else:
            parts = (self._fee_text(),)
        preview.show(*parts)
        self.preview_text = " · ".join(part for part in parts if part)
        values = (form.quantity, form.price, form.total)
        untouched = values == self._baseline or not "".join(values).strip()
        if not untouched:
            self.note = ""
        if self._refusal is not None and self._refusal[1] != (self.side, self.kind, *values):
            self._refusal = None
        if self.sending is not None:
            message.show(Content.styled(self.sending, "italic"))
            message.set_classes("-hint")
        elif self.refused:
            message.show("✗ digits only", "letters are not keys here: Esc leaves the form")
            message.set_classes("-error")
        elif self._refusal is not None:
            message.show(f"✗ {self._refusal[0]}")
            message.set_classes("-error")
        elif self.error is None:
            message.show(Content.styled("Enter to place", "italic"))
            message.set_classes("-hint")
        elif untouched:
            wanted = "type a quantity"
            if self.kind == "limit" and not form.price.strip():
                wanted += " and a price"
            message.show(self.note, wanted)
            message.set_classes("-hint")
        else:
            message.show(f"✗ {self.error}", self.error.detail)
            message.set_classes("-error")
        return order

    def show_error(self, text: str) -> None:
        """Show a message from the exchange (e.g. a refused order) in the message line, until
        the user changes the form."""
        self._refusal = (text, (self.side, self.kind, *self._values()))
        self.sending = None
        self.revalidate(ask_estimate=False)

    def _fee_text(self) -> str:
        return "" if self.fee_rate is None else f"fee {fmt.percent(self.fee_rate)}"

    def _preview(self, order: OrderRequest, estimate: EstimateRow | None) -> tuple[str, ...]:
        """What the order does, and the fee (left off first where the line is short)."""
        fee = self._fee_text()
        pair = order.pair
        if order.is_market:
            if estimate is None:
                body = "estimating…"
            elif estimate.quantity == 0:
                body = "no liquidity"
            else:
                body = (
                    f"≈ {fmt.quantity(self.scales, pair, estimate.quantity)} {fmt.base_name(pair)}"
                    f" for {fmt.total(self.scales, pair, estimate.total)} {fmt.counter_name(pair)}"
                )
        else:
            return self._cost(order)
        return body, fee

    def _cost(self, order: OrderRequest) -> tuple[str, str, str]:
        """A limit order's cost (a buy: total plus fee) or proceeds (a sell: total less fee),
        then the sum with the fee rate (left off where the line is short)."""
        assert order.quantity is not None and order.price is not None
        pair, side = order.pair, order.side
        cost = sizing.limit_cost(
            self.scales, pair, side, order.quantity, order.price, self.fee_rate
        )
        counter = fmt.counter_name(pair)
        net = f"{'cost' if side == 'buy' else 'get'} {fmt.total(self.scales, pair, cost.net)}"
        sign = "+" if side == "buy" else "-"
        total = fmt.total(self.scales, pair, cost.total)
        if not self.fee_rate:
            return f"{net} {counter}", "", ""
        fee = f"{fmt.total(self.scales, pair, cost.fee)} fee ({fmt.percent(self.fee_rate)})"
        return f"{net} {counter}", f"{total} {sign} {fee}", ""

    def _retitle(self) -> None:
        side = "Buy" if self.side == "buy" else "Sell"
        market = self.pair.name if self.pair else ""
        self.border_title = f"{side} {market} · {self.kind}"
        self.set_class(self.side == "buy", "-buy")
        self.set_class(self.side == "sell", "-sell")
        self.set_class(self.kind == "market", "-market")
        self.set_class(self.kind == "limit", "-limit")
        if self.is_mounted:
            self.query_one("#side", Label).update("BUY" if self.side == "buy" else "SELL")
        if self.pair is not None and self.is_mounted:
            base, counter = fmt.base_name(self.pair), fmt.counter_name(self.pair)
            labels = {
                "quantity": f"Quantity {base}",
                "price": f"Price {counter}",
                "total": f"or Total {counter}",
            }
            width = max(len(text) for text in labels.values()) + 2  # the fields line up
            for name, text in labels.items():
                label = self.query_one(f"#{name}-label", Label)
                label.update(text)
                label.styles.width = width

    def watch_side(self) -> None:
        self.estimate = None
        self._retitle()
        self.revalidate()

    def watch_private(self) -> None:
        self.revalidate(ask_estimate=False)

    def watch_kind(self) -> None:
        self.estimate = None
        focused = self.screen.focused if self.is_mounted else None
        self._retitle()
        self.revalidate()
        # The second field swaps (price <-> total): keep the cursor in the form.
        if focused is not None and focused.id in ("price", "total"):
            other = "total" if self.kind == "market" else "price"
            self.query_one(f"#{other}", Input).focus()

    # -- keys ------------------------------------------------------------------------------
    def _price_scale(self) -> int:
        assert self.pair is not None
        return self.scales.price_scale(self.pair)

    @staticmethod
    def _text(scale: int, amount: int) -> str:
        """A wire amount as the fields take it: plain digits and a point, no trailing zeros."""
        return format(from_wire(amount, scale).normalize(), "f")

    def action_tick(self, ticks: int) -> None:
        """Move the price by ``ticks`` of the pair's price step (``sizing.PRICE_TICK``)."""
        if self.pair is None or self.locked or self.kind == "market":
            return
        field = self.query_one("#price", Input)
        try:
            price = field_amount(field.value, self._price_scale(), "price")
        except FormError as exc:
            self.show_error(f"{exc}: type a price, or pick a level in the book")
            return
        field.value = self._text(self._price_scale(), sizing.step_price(price, ticks))

    def action_fill(self, percent: int) -> None:
        """Fill the quantity (a market buy: the total) with ``percent`` % of what is available
        (0: the next of 25, 50, 100 % after the share this key filled last)."""
        if self.pair is None or self.locked:
            return
        if percent == 0:
            percent = sizing.PERCENTS[0]
            if self._filled is not None and self._filled[1] == self._fill_field_text():
                at = sizing.PERCENTS.index(self._filled[0])
                percent = sizing.PERCENTS[(at + 1) % len(sizing.PERCENTS)]
        if self.available is None:
            self.show_error("balances not known yet: log in to fill a share of them")
            return
        price = None
        if self.kind == "limit" and self.side == "buy":
            try:
                price = field_amount(
                    self.query_one("#price", Input).value, self._price_scale(), "price"
                )
            except FormError as exc:
                self.show_error(f"{exc}: a buy's share needs its price first")
                return
        filled = sizing.fill(
            self.scales,
            self.pair,
            self.side,
            percent,
            self.available,
            self.fee_rate,
            price,
            market=self.kind == "market",
        )
        asset = self.pair.counter if filled.field == "total" else self.pair.base
        text = self._text(self.scales.asset(asset), filled.amount) if filled.amount else ""
        if filled.field == "quantity" and self.kind == "market":
            self.query_one("#total", Input).value = ""
        if filled.field == "total":
            self.query_one("#quantity", Input).value = ""
        self.query_one(f"#{filled.field}", Input).value = text
        self._filled = (percent, text)
        if not filled.amount:
            self.show_error(f"{percent}% of the available balance is nothing")

    def _fill_field_text(self) -> str:
        name = "total" if self.kind == "market" and self.side == "buy" else "quantity"
        return self.query_one(f"#{name}", Input).value

    def action_toggle_kind(self) -> None:
        self.kind = "market" if self.kind == "limit" else "limit"

    def action_leave(self) -> None:
        self.screen.set_focus(None)  # keys typed next are the dashboard's, not the form's
        self.post_message(self.Left())

    class Left(Message):
        """The user pressed Escape in the form."""

    @on(NumberInput.Refused)
    def _refused(self, event: NumberInput.Refused) -> None:
        event.stop()
        self.refused = True
        self.revalidate(ask_estimate=False)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._edited = event.input.id or ""  # a problem of two fields is told in this one
        self.refused = False
        self.revalidate()

    def submit(self) -> None:
        """Enter in a field: post ``Submitted`` for a valid order, and lock the form."""
        if self.locked:
            return  # the order is on its way: one Enter is one order
        order = self.revalidate(ask_estimate=False)
        if order is not None:
            self.lock_form()  # now: the next Enter of the burst is already behind this one
            self.post_message(self.Submitted(self, order))
