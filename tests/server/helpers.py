"""Test clients for the embedded exchange: a plain ``websockets`` sync client and a runner for
``python -m cfdash serve`` in a real process."""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

from cfdash.core.assets import Assets, Pair
from cfdash.core.auth import authenticate_command, derive_private_key
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

    def place(self, quantity: int, price: int | None = None, pair: Pair = XBT_GBP, **kw: Any):
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


LISTENING = re.compile(r"^listening on (ws://127\.0\.0\.1:(\d+)/)$")


class ServeProcess:
    """``python -m cfdash serve --port 0 ...`` in a child process; ``url`` from its first line."""

    def __init__(self, *args: str, stdin_text: str | None = None, timeout: float = 20.0):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cfdash", "serve", "--port", "0", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text)
        self.proc.stdin.close()
        line = self.proc.stdout.readline().rstrip("\n")
        match = LISTENING.match(line)
        if match is None:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=timeout)
            raise AssertionError(f"unexpected first line {line!r}; stderr: {err}")
        self.url = match.group(1)
        self.port = int(match.group(2))

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
