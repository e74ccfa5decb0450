"""Code written for the original Coinfloor Python library runs unchanged against ``cfdash serve``.

The body of ``test_seed_style_session`` is written the way the seed's users wrote it: a
``msg_handler`` receiving raw text, lazy connection and authentication, fire-and-forget command
methods, ``Assets`` for codes, ``stop()`` at the end. Only the imports differ.
"""

from __future__ import annotations

import json
import threading
import time

from cfdash import Assets, WSClient
from tests.support.processes import ServeProcess

DEMO_COOKIE = "HGREqcILTz8blHa/jsUTVTNBJlg="


class Inbox:
    """Collects what a seed-style msg_handler receives, for the test to wait on."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.raw: list[str] = []
        self.cond = threading.Condition()

    def handler(self, client: WSClient, message: str) -> None:
        with self.cond:
            self.raw.append(message)
            self.messages.append(json.loads(message))
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for msg in self.messages:
                    if pred(msg):
                        return msg
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; got {self.messages[-5:]}"
                self.cond.wait(left)


def test_seed_style_session(tmp_path):
    with ServeProcess("--db", str(tmp_path / "x.db"), "--no-traders") as server:
        inbox = Inbox()
        errors: list[object] = []
        coinfloor = WSClient(
            server.url, msg_handler=inbox.handler, err_handler=lambda ws, e: errors.append(e)
        )
        assert not coinfloor.connected  # lazy: nothing until the first send

        coinfloor.WatchOrders(base=Assets["XBT"], counter=Assets["GBP"], watch=True)
        coinfloor.WatchTicker(base=Assets["XBT"], counter=Assets["GBP"], watch=True)
        welcome = inbox.wait_for(lambda m: m.get("notice") == "Welcome")
        assert len(welcome["nonce"]) == 24
        assert not coinfloor.auth_complete  # public calls don't authenticate

        coinfloor.set_auth_data(1, DEMO_COOKIE, "opensesame")
        coinfloor.GetBalances()  # lazy authentication happens here
        assert coinfloor.auth_complete and coinfloor.auth_okay
        balances = inbox.wait_for(lambda m: "balances" in m)
        funds = {b["asset"]: b["balance"] for b in balances["balances"]}
        assert funds[Assets["GBP"]] == 1_000_000 * 100

        coinfloor.PlaceOrder(
            base=Assets["XBT"], counter=Assets["GBP"], quantity=5_000_000, price=2_000_000
        )
        placed = inbox.wait_for(lambda m: "id" in m and "time" in m and "error_code" in m)
        assert placed["error_code"] == 0
        opened = inbox.wait_for(lambda m: m.get("notice") == "OrderOpened")
        assert opened["id"] == placed["id"] and opened["quantity"] == 5_000_000
        # reservation: 0.05 XBT at 20000.00 GBP = 1000.00 GBP
        changed = inbox.wait_for(
            lambda m: m.get("notice") == "BalanceChanged" and m["asset"] == Assets["GBP"]
        )
        assert changed["balance"] == funds[Assets["GBP"]] - 100_000

        coinfloor.CancelOrder(id=placed["id"])
        cancelled = inbox.wait_for(lambda m: m.get("error_code") == 0 and "base" in m)
        assert cancelled["id"] == placed["id"] and cancelled["quantity"] == 5_000_000
        inbox.wait_for(lambda m: m.get("notice") == "OrderClosed" and m["id"] == placed["id"])

        coinfloor.stop()
        assert errors == []
        # Every frame reached msg_handler as the raw text the server sent.
        assert all(isinstance(r, str) for r in inbox.raw) and len(inbox.raw) >= 8
