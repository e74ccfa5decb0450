"""Make the README's screenshots from the real dashboard on a seeded embedded exchange.

    python scripts/screenshots.py [--out screenshots] [--seed 7] [--warmup 3]

One exchange runs throughout (``cfdash serve``'s ``ServerThread``, simulated traders on, seeded);
each screenshot is a fresh dashboard connected to it over loopback as the AUTH.md demo user, as
``cfdash --seed 7`` runs it, left running a few seconds so that the book, the tape and the
chart fill, then exported with ``App.export_screenshot``:

- ``overview.svg``: 120x36: book, form, trades, balances, chart, open orders;
- ``big.svg``: 200x60, every panel at once;
- ``compact.svg``: 80x24, the compact layout (book, order form, one panel, status);
- ``compact-<panel>.svg``: 80x24 with each other panel shown (its digit key): the chart, depth,
  fills, positions and P&L, closed orders, the watchlist;
- ``order-entry.svg``: 120x36, a limit buy typed into the form, with its cost;
- ``help.svg``: 120x36, the keys.

While each dashboard runs, the demo user trades a little (a market buy and part of it sold
back, an order cancelled), so that the fills, P&L and closed orders panels have something to
show.

The traders are random (seeded), so the pictures differ from run to run in their timing; the
snapshot tests (``tests/tui/test_snapshots.py``) are the reproducible ones.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from cfdash.client import WSClient
from cfdash.core.assets import PAIRS
from cfdash.server.app import ServerThread
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
from cfdash.tui.app import DashboardApp
from cfdash.tui.live import ClientSource, Credentials
from cfdash.tui.screens.dashboard import PANELS
from cfdash.tui.widgets.tape import TradeTape

PAIR = PAIRS[0]
WIDE, SMALL, BIG = (120, 36), (80, 24), (200, 60)
COMPACT_PANELS = ("chart", "depth", "fills", "positions", "closed", "watch")
DEMO = Credentials(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)


def demo_trading(url: str) -> None:
    """Two orders of the demo user's own away from the market (the open orders panel)."""
    with WSClient(url, socket_timeout=5) as client:
        client.set_auth_data(DEMO.user_id, DEMO.cookie, DEMO.passphrase)
        client.place_order(PAIR, "0.15", "27500").result(5)
        client.place_order(PAIR, "-0.08", "32750.50").result(5)


def session_trading(url: str) -> None:
    """What a dashboard sees the demo user do (it shows what happens while it runs): a market
    buy and part of it sold back (fills, P&L), an order placed and cancelled (closed)."""
    with WSClient(url, socket_timeout=5) as client:
        client.set_auth_data(DEMO.user_id, DEMO.cookie, DEMO.passphrase)
        client.place_order(PAIR, "0.5").result(5)
        time.sleep(1.0)  # the market moves on a little
        client.place_order(PAIR, "-0.2").result(5)
        gone = client.place_order(PAIR, "0.05", "26000").result(5)
        client.cancel_order(gone.id).result(5)


async def shoot(
    url: str,
    fee: Decimal,
    path: Path,
    size: tuple[int, int],
    warmup: float,
    press: Sequence[str] = (),
) -> None:
    client = WSClient(url, reconnect=True)
    source = ClientSource(client, credentials=DEMO, fee_rate=fee)
    app = DashboardApp(source, pair=PAIR)
    app.sub_title = "embedded exchange"
    try:
        async with app.run_test(size=size) as pilot:
            deadline = time.monotonic() + 10
            while not (app.status.connected and app.status.user_id and app.book.asks):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{path.name}: the dashboard did not connect")
                await pilot.pause(0.05)
            tape = app.query_one(TradeTape)
            await asyncio.to_thread(session_trading, url)
            end = time.monotonic() + warmup
            while time.monotonic() < end or (not tape.trades and time.monotonic() < deadline):
                await pilot.pause(0.1)
            if press:
                await pilot.press(*press)
                await pilot.pause(0.5)
            await pilot.pause()
            svg = app.export_screenshot(title=f"cfdash  {size[0]}x{size[1]}")
    finally:
        source.close()
    path.write_text(svg, encoding="utf-8")
    print(f"wrote {path} ({size[0]}x{size[1]})")


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated traders")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each shot")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    server = ServerThread(":memory:", seed=args.seed, traders=True)
    server.start()
    try:
        taker = server.call(lambda s: s.core.config.taker_fee)
        fee = Decimal(taker.numerator) / Decimal(taker.denominator)
        await asyncio.to_thread(demo_trading, server.url)
        await asyncio.sleep(args.warmup)  # the traders build a book
        shots = [
            ("overview.svg", WIDE, args.warmup * 4, ()),  # a tape, a chart
            ("big.svg", BIG, args.warmup * 4, ()),
            ("compact.svg", SMALL, args.warmup * 2, ()),
            *(
                (f"compact-{name}.svg", SMALL, args.warmup, (str(PANELS.index(name) + 1),))
                for name in COMPACT_PANELS
                if name in PANELS
            ),
            ("order-entry.svg", WIDE, args.warmup, ("b", *"0.25", "tab", *"29750")),
            ("help.svg", WIDE, 1.0, ("question_mark",)),
        ]
        for name, size, warmup, press in shots:
            await shoot(server.url, fee, args.out / name, size, warmup, press)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
