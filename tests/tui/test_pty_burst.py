"""A key burst through a real terminal (issue 10): the real ``cfdash`` in an 80x24 pty, a whole
burst written in ONE ``write`` (so the app reads it at once, as over SSH), and the truth asked
of the exchange, a ``cfdash serve`` process: exactly one order, at the price and quantity the
keys spell once applied in order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfdash.client import WSClient
from cfdash.core.assets import PAIRS, V2
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID
from tests.server.helpers import ServeProcess

from .test_terminal_loss import PtyChild, drawn

PAIR = PAIRS[0]  # XBT:GBP, the dashboard's first market
BURST = (
    b"b"  # the buy form, on its quantity field, before the next key is routed
    + b"0.15\x7f"  # 0.15, Backspace: 0.1
    + b"\t"  # to the price field
    + b"99\x01\x0b25000"  # 99, Ctrl+A, Ctrl+K (gone), 25000
    + b"\r\r\r"  # Enter three times: one order
)


@pytest.fixture
def server() -> Iterator[ServeProcess]:
    with ServeProcess("--db", ":memory:", "--no-traders") as serve:
        yield serve


def orders(url: str) -> list[tuple[int, int]]:
    """The demo user's open orders on the exchange: (price, signed quantity)."""
    client = WSClient(url, socket_timeout=5, views=False)
    client.set_auth_data(DEMO_USER_ID, DEMO_COOKIE, DEMO_PASSPHRASE)
    try:
        reply = client.GetOrders().result(10)  # the list of orders
    finally:
        client.stop()
    return sorted((o.price, o.quantity) for o in reply)


def wait_for(condition, timeout: float, child: PtyChild | None = None):  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until true (reading the child's screen meanwhile); its value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        if child is not None:
            child.read(0.1)
        else:
            time.sleep(0.1)
    return value


def test_one_burst_through_a_pty_places_one_order(server: ServeProcess, tmp_path: Path) -> None:
    log = tmp_path / "cfdash.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINFLOOR_", "TEXTUAL"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        PYTHONUNBUFFERED="1",
        COINFLOOR_USER_ID=str(DEMO_USER_ID),
        COINFLOOR_COOKIE=DEMO_COOKIE,
        COINFLOOR_PASSPHRASE=DEMO_PASSPHRASE,
    )
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    child = PtyChild(["-m", "cfdash", "--log", str(log), server.url], ctty=True, env=env)
    try:
        child.read_until(drawn, timeout=30)
        wait_for(lambda: log.exists() and "logged in as user" in log.read_text(), 30, child)
        assert orders(server.url) == []
        os.write(child.master, BURST)
        placed = wait_for(lambda: orders(server.url), 30, child)
        child.read_until(lambda output: b"placed #" in output, timeout=30)  # the reply is in
        quantity, price = V2.quantity_to_wire(PAIR, "0.1"), V2.price_to_wire(PAIR, "25000")
        assert placed == [(price, quantity)]
        # Out of the form (the footer offers Quit again), and quit: every key of the burst
        # was handled before the dashboard is gone.
        mark = len(child.output)
        os.write(child.master, b"\x1b")
        child.read_until(lambda output: b"Quit" in output[mark:], timeout=30)
        os.write(child.master, b"q")
        status, _, _ = child.wait(timeout=30)
        assert status == 0, child.output[-800:]
        assert orders(server.url) == [(price, quantity)]  # still exactly one
        assert "Traceback" not in log.read_text()
    finally:
        child.kill()
