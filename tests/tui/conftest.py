"""The dashboard's test bed: the real app on the real stack, over a real loopback WebSocket.

``Exchange`` is a quiet embedded exchange (``ServerThread``, no simulated traders, seeded) with
a deterministic XBT:GBP market: user 2 rests a book, user 3 trades against it (three market
orders, before any dashboard watches), and the dashboard's user 7 (2 XBT, 50,000 GBP) has two
resting orders of its own. ``Exchange.dashboard()`` builds what ``cfdash`` builds (``WSClient``
with reconnection, ``ClientSource``, ``DashboardApp``) for a user, with a fixed clock for the
screen. The ``exchange`` fixture freezes the exchange's wall clock too, so that the times of
orders and trades (ages, the tape) are the same on every run; starting and seeding one takes
about 30 ms, so every test gets its own.
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot

from cfdash.client import WSClient
from cfdash.client.tonce import TonceClock
from cfdash.core.assets import PAIRS, V2, Assets
from cfdash.core.auth import derive_private_key
from cfdash.server.users import add_funded_user, fund
from cfdash.tui.app import DashboardApp
from cfdash.tui.config import config_path
from cfdash.tui.live import ClientSource, Credentials
from cfdash.tui.main import Dashboard, build, configure_parser
from tests.support.servers import start_exchange
from tests.support.wait import until

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC: the exchange's frozen wall clock
SCREEN_NOW = NOW + 180  # the dashboard's clock: the seeded orders are 3 minutes old
PAIR, EUR_PAIR = PAIRS[0], PAIRS[1]  # XBT:GBP, XBT:EUR
XBT, GBP = Assets["XBT"], Assets["GBP"]
USER = 7
COOKIE = "dXNlciBzZXZlbidzIGNvb2tpZQ=="
SECRET = "user seven's passphrase"
FUNDS = {"XBT": 2, "GBP": 50_000}
MAKER = (2, "bWFrZXIncyBjb29raWU=", "the maker's passphrase")
TAKER = (3, "dGFrZXIncyBjb29raWU=", "the taker's passphrase")
ASKS = (("41100", "2"), ("41040", "0.75"), ("41025.50", "1.2"), ("41010", "0.6"))
BIDS = (("40800", "4"), ("40900", "2.5"), ("40950", "0.3"), ("40990", "0.8"))
TRADES = ("0.05", "0.05", "-0.1")
"""The taker's market orders: two buys lift the best ask, a sell hits the best bid."""
OWN = (("0.2", "40950"), ("-0.1", "41100"))
"""User 7's own resting orders: a bid and an ask."""
FEE = Decimal("0.0025")
SMALL, WIDE = (80, 24), (120, 36)


def clock() -> float:
    return SCREEN_NOW


class FrozenTime:
    """Stands in for the ``time`` module of ``cfdash.server.app``: a fixed wall clock (the
    times of orders and trades, so screens are reproducible), the real monotonic clock (idle
    timeouts)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def freeze_exchange_clock(monkeypatch: pytest.MonkeyPatch, now: float = NOW) -> None:
    import cfdash.server.app

    monkeypatch.setattr(cfdash.server.app, "time", FrozenTime(now))


def q(text: str) -> int:
    """XBT quantity in wire units."""
    return V2.quantity_to_wire(PAIR, text)


def p(text: str) -> int:
    """GBP price in wire units."""
    return V2.price_to_wire(PAIR, text)


def gbp(text: str) -> int:
    """A GBP amount in wire units."""
    return V2.total_to_wire(PAIR, text)


class Exchange:
    """A started quiet ``ServerThread`` and the clients and dashboards made on it."""

    def __init__(self, *, seed: int = 1, **options: Any) -> None:
        """``options`` go to ``ExchangeServer`` (e.g. ``config=EngineConfig(...)``)."""
        # Ticks every 50 ms so that changes made with ``call`` (deposits) go out at once.
        self.server = start_exchange(seed=seed, tick_interval=0.05, **options)
        self.url = self.server.url
        self._clients: list[WSClient] = []
        self.dashboards: list[Dashboard] = []
        self._tonces: dict[int, TonceClock] = {}

    def close(self) -> None:
        for dashboard in self.dashboards:
            dashboard.close()
        for client in self._clients:
            client.stop()
        self.server.stop()

    # -- users -----------------------------------------------------------------------------
    def tonces(self, user_id: int) -> TonceClock:
        """The user's tonces, shared by its clients: 1700000000000000, then one more each."""
        return self._tonces.setdefault(user_id, TonceClock(lambda: int(NOW * 1_000_000_000)))

    def add_user(
        self, user: tuple[int, str, str], funds: dict[str, int] | None = None
    ) -> tuple[int, str, str]:
        """Create ``user`` (id, cookie, passphrase) with ``funds`` (default: the demo's)."""

        def add(s: Any) -> None:
            if funds is None:
                add_funded_user(s.core, *user)
            else:
                key = derive_private_key(user[0], user[2]).public_key()
                s.core.add_user(user[0], user[1], key)
                fund(s.core, user[0], funds)

        self.server.call(add)
        return user

    def client(self, user: tuple[int, str, str]) -> WSClient:
        """A plain client logged in as ``user`` (stopped with the exchange)."""
        client = WSClient(self.url, socket_timeout=3, views=False, tonce_clock=self.tonces(user[0]))
        client.set_auth_data(*user)
        self._clients.append(client)
        return client

    def balances(self, user_id: int = USER) -> dict[int, tuple[int, int]]:
        """(available, reserved) per asset, as the exchange holds them."""
        return dict(self.server.call(lambda s: s.core.balances(user_id)))

    def open_orders(self, user_id: int = USER) -> list[tuple[int, int, int]]:
        """(price, signed remaining quantity, id) of the user's open orders, by the exchange."""
        orders = self.server.call(lambda s: list(s.core.open_orders(user_id)))
        return sorted((o.price, o.quantity, o.id) for o in orders)

    # -- the market ------------------------------------------------------------------------
    def seed_market(self, *, book: bool = True, own: bool = True) -> None:
        """The book and the trades (``book``) and user 7's two resting orders (``own``)."""
        self.add_user((USER, COOKIE, SECRET), FUNDS)
        if book:
            maker = self.client(self.add_user(MAKER))
            taker = self.client(self.add_user(TAKER))
            for price, size in ASKS:
                maker.place_order(PAIR, f"-{size}", price).result(3)
            for price, size in BIDS:
                maker.place_order(PAIR, size, price).result(3)
            for size in TRADES:
                taker.place_order(PAIR, size).result(3)
            maker.stop()
            taker.stop()
        if own:
            mine = self.client((USER, COOKIE, SECRET))
            for size, price in OWN:
                mine.place_order(PAIR, size, price).result(3)
            mine.stop()

    def trade(self, *sizes: str) -> None:
        """The taker's market orders on XBT:GBP (positive buys, negative sells)."""
        taker = self.client(TAKER)
        for size in sizes:
            taker.place_order(PAIR, size).result(3)
        taker.stop()

    def dashboard(
        self,
        *,
        user: int | None = USER,
        app_clock: Callable[[], float] = clock,
        pair: Any = PAIR,
        **options: Any,
    ) -> Dashboard:
        """The dashboard for ``user`` (``None``: no credentials; ``login=True`` then asks)."""
        client = WSClient(
            self.url,
            socket_timeout=3,
            reconnect=True,
            tonce_clock=self.tonces(USER),
            **options.pop("client", {}),
        )
        credentials = None if user is None else Credentials(USER, COOKIE, SECRET)
        source = ClientSource(client, credentials=credentials, fee_rate=FEE, poll=0.1)
        app = DashboardApp(source, pair=pair, clock=app_clock, **options)
        dashboard = Dashboard(app, source)
        self.dashboards.append(dashboard)
        return dashboard


@pytest.fixture
def exchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[Exchange]:
    """A seeded quiet exchange of its own (starting one takes a few milliseconds), its wall
    clock frozen at ``NOW``."""
    freeze_exchange_clock(monkeypatch)
    ex = Exchange()
    ex.seed_market()
    yield ex
    ex.close()


@pytest.fixture
def app(exchange: Exchange) -> DashboardApp:
    """The dashboard as user 7 (logged in in the background, as for the demo user)."""
    return exchange.dashboard().app


def loaded(app: DashboardApp, user: int | None = USER) -> bool:
    """Connected, logged in as ``user`` (unless None) and the seeded book shown."""
    status = app.status
    return status.connected and status.user_id == user and bool(app.book.bids)


@asynccontextmanager
async def running(
    app: DashboardApp, size: tuple[int, int] = SMALL, user: int | None = USER
) -> AsyncIterator[Pilot[Any]]:
    """``app.run_test`` once the app shows the seeded market (as ``user``)."""
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: loaded(app, user))
        await pilot.pause()
        yield pilot


def key_event(key: str) -> events.Key:
    """The key event ``pilot.press(key)`` would send: ``key`` is a Textual key name ("b",
    "full_stop", "enter", "shift+tab") or a character ("."), its character worked out the
    same way."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        character: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        character = key if len(key) == 1 else None
    return events.Key(key, character)


def burst(app: App[Any], keys: Iterable[str]) -> None:
    """Post ``keys`` to the app all at once, as a burst read over SSH arrives: no key waits
    for the one before it to be handled (``pilot.press`` waits between keys). Let the app
    settle after it, e.g. ``await pilot.pause()`` or ``until(...)``."""
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        app.post_message(event)


def record_notices(app: DashboardApp) -> list[str]:
    """Every notification text the app shows from now on."""
    notices: list[str] = []
    notify = app.notify

    def recording(message: str, **options: Any) -> None:
        notices.append(message)
        notify(message, **options)

    app.notify = recording  # type: ignore[method-assign]
    return notices


def lines(widget: Any) -> list[str]:
    return [widget.line_text(y) for y in range(widget.size.height)]


def screen_text(app: DashboardApp) -> str:
    """The whole screen as plain text, as the terminal would show it."""
    from io import StringIO

    from rich.console import Console

    console = Console(width=app.size.width, record=True, file=StringIO(), color_system=None)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


@pytest.fixture
def faulty_exchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Exchange, Any]]:
    """A quiet exchange (not seeded: each test seeds what it needs) whose replies the test can
    delay or drop with its ``Faults``; its wall clock frozen at ``NOW``."""
    from cfdash.server.faults import Faults

    freeze_exchange_clock(monkeypatch)
    faults = Faults()
    ex = Exchange(faults=faults)
    yield ex, faults
    ex.close()


# -- the command line: ``cfdash``'s options and settings, as ``main.build`` takes them ------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose settings and state live under ``tmp_path``."""
    return {"XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}


def write_config(env: dict[str, str], text: str) -> Path:
    """Write the settings file ``build`` reads with ``env``; its path."""
    path = config_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def make_dashboard(home: dict[str, str]) -> Iterator[Callable[..., Dashboard]]:
    """``make(*argv, environ=None)``: what ``cfdash *argv`` builds with ``environ`` (default
    ``home``), closed after the test."""
    made: list[Dashboard] = []

    def make(*argv: str, environ: dict[str, str] | None = None) -> Dashboard:
        dashboard = build(parse(*argv), env=environ or home)
        made.append(dashboard)
        return dashboard

    yield make
    for dashboard in made:
        dashboard.close()
