"""Test servers and what talks to them: a plain ``websockets`` client for the embedded exchange
(``Client``), the embedded exchange on a loopback port (``start_exchange``) and a free port
to restart one on. The scripted fake server for the client tests is :mod:`tests.support.scripted`.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

from cfdash.core.assets import Assets, Pair
from cfdash.core.auth import authenticate_command, derive_private_key
from cfdash.server.app import ServerThread
from cfdash.server.users import DEMO_COOKIE, DEMO_PASSPHRASE, DEMO_USER_ID

XBT, BCH, GBP = Assets["XBT"], Assets["BCH"], Assets["GBP"]
XBT_GBP = Pair(XBT, GBP)
Message = dict[str, Any]


class Client:
    """One connection: ``call`` sends a tagged command and returns its reply; every notice
    seen on the way is kept in ``notices``."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_size", None)
        # Entered as a context manager: websockets 17 warns about bare connect() otherwise.
        self.ws: ClientConnection = connect(url, **kwargs).__enter__()
        self.notices: list[Message] = []
        self.replies: dict[int, Message] = {}
        self._tags = itertools.count(1)
        self.welcome = self.recv()

    @property
    def nonce(self) -> bytes:
        return base64.b64decode(self.welcome["nonce"])

    def send(self, message: Message | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 5.0) -> Message:
        msg: Message = json.loads(self.ws.recv(timeout))
        return msg

    def _take(self, timeout: float) -> Message:
        msg = self.recv(timeout)
        if "notice" in msg:
            self.notices.append(msg)
        elif "tag" in msg:
            self.replies[msg["tag"]] = msg
        return msg

    def reply(self, tag: int, timeout: float = 5.0) -> Message:
        deadline = time.monotonic() + timeout
        while tag not in self.replies:
            self._take(max(0.01, deadline - time.monotonic()))
        return self.replies.pop(tag)

    def call(self, method: str, **fields: Any) -> Message:
        tag = next(self._tags)
        self.send({"method": method, "tag": tag, **fields})
        return self.reply(tag)

    def untagged(self, timeout: float = 5.0) -> Message:
        """The next reply without a tag (notices are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self._take(max(0.01, deadline - time.monotonic()))
            if "notice" not in msg and "tag" not in msg:
                return msg

    def wait_notice(self, pred: Callable[[Message], bool], timeout: float = 5.0) -> Message:
        for notice in self.notices:
            if pred(notice):
                return notice
        deadline = time.monotonic() + timeout
        while True:
            msg = self._take(max(0.01, deadline - time.monotonic()))
            if "notice" in msg and pred(msg):
                return msg

    def authenticate(
        self,
        user_id: int = DEMO_USER_ID,
        passphrase: str = DEMO_PASSPHRASE,
        cookie: str = DEMO_COOKIE,
    ) -> Message:
        tag = next(self._tags)
        key = derive_private_key(user_id, passphrase)
        self.send(authenticate_command(user_id, cookie, key, self.nonce, tag=tag))
        return self.reply(tag)

    def place(
        self, quantity: int, price: int | None = None, pair: Pair = XBT_GBP, **kw: Any
    ) -> Message:
        fields: Message = {"base": pair.base, "counter": pair.counter, "quantity": quantity}
        if price is not None:
            fields["price"] = price
        return self.call("PlaceOrder", **fields, **kw)

    def balances(self) -> dict[int, int]:
        reply = self.call("GetBalances")
        assert reply["error_code"] == 0, reply
        return {b["asset"]: b["balance"] for b in reply["balances"]}

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_exchange(**options: Any) -> ServerThread:
    """The embedded exchange (``ServerThread``) started on a free loopback port; no simulated
    traders unless ``traders=True``. The caller stops it."""
    options.setdefault("traders", False)
    thread = ServerThread(**options)
    thread.start()
    return thread


def free_port() -> int:
    """A loopback port free right now (to start a server on it again after a restart)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
