"""A scripted Coinfloor server on a real loopback socket, for the client tests.

A ``websockets`` asyncio server on 127.0.0.1:0 runs in a background thread. Each connection
(``Session``) gets a Welcome with a fresh nonce, has every command recorded, has Authenticate
checked with ``cfdash.core.auth.verify`` against the AUTH.md demo user, and gets canned replies
(echoing non-zero tags) that a test can override per method. Tests push notices, drop or stall
connections, and wait for what the server received.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from cfdash.core.assets import Assets
from cfdash.core.auth import b64, decode_nonce, derive_private_key, verify
from cfdash.core.errors import Msg

from .wait import wait_until

USER_ID = 1
PASSPHRASE = "opensesame"
COOKIE = "HGREqcILTz8blHa/jsUTVTNBJlg="
PUBLIC_KEY = derive_private_key(USER_ID, PASSPHRASE).public_key()
PUBLIC_METHODS = frozenset({"Authenticate", "EstimateMarketOrder", "WatchOrders", "WatchTicker"})

XBT, USD, GBP = Assets["XBT"], Assets["USD"], Assets["GBP"]

Handler = Callable[["Session", dict[str, Any]], Any]
"""(session, command) -> reply fields (dict), None for no reply; may be a coroutine function.

A returned dict without ``error_code`` is a success; ``tag`` is added by the server.
"""


class Session:
    """One client connection as the server sees it."""

    def __init__(self, server: ScriptedServer, ws: ServerConnection) -> None:
        self.server = server
        self.ws = ws
        self.nonce = os.urandom(16)
        self.received: list[dict[str, Any]] = []
        self.authenticated = False
        self.stalled = False
        self.closed = threading.Event()

    # -- from the test thread ---------------------------------------------------------------

    def push(self, message: dict[str, Any]) -> None:
        """Send a frame (a notice, usually) and wait until it is written."""
        self.server.call(self.ws.send(json.dumps(message)))

    def push_text(self, text: str) -> None:
        self.server.call(self.ws.send(text))

    def drop(self) -> None:
        """Abort the TCP connection: no close frame."""
        self.server.loop.call_soon_threadsafe(self.ws.transport.abort)

    def stall(self) -> None:
        """Stop reading: no replies, no pongs (the socket stays open)."""
        self.stalled = True
        self.server.loop.call_soon_threadsafe(self.ws.transport.pause_reading)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.server.call(self.ws.close(code, reason))

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are, past ``websockets``' framing (frames it would refuse)."""
        self.server.loop.call_soon_threadsafe(self.ws.transport.write, data)

    def close_received(self, timeout: float = 3.0) -> tuple[int, str] | None:
        """(code, reason) of the client's close frame, once the connection ended; None if the
        client sent none."""
        assert self.closed.wait(timeout), "the connection did not end"
        rcvd = self.ws.protocol.close_rcvd
        return None if rcvd is None else (rcvd.code, rcvd.reason)

    def methods(self) -> list[str]:
        return [c.get("method") for c in list(self.received)]

    # -- in the server loop -----------------------------------------------------------------

    async def reply(self, command: dict[str, Any], fields: dict[str, Any]) -> None:
        reply: dict[str, Any] = {}
        tag = command.get("tag")
        if tag:
            reply["tag"] = tag
        reply["error_code"] = 0
        reply.update(fields)
        await self.ws.send(json.dumps(reply))


def error(code: int, message: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": message}


class ScriptedServer:
    """The server; use as a context manager. ``handlers`` override the canned replies."""

    def __init__(
        self,
        handlers: dict[str, Handler] | None = None,
        *,
        on_connect: Callable[[Session], Any] | None = None,
        welcome: bool = True,
    ) -> None:
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.on_connect = on_connect
        self.welcome = welcome
        self.sessions: list[Session] = []
        self.book_orders: list[dict[str, Any]] = [
            {"id": 1, "quantity": 100000000, "price": 4000000, "time": 1},
            {"id": 2, "quantity": -50000000, "price": 4100000, "time": 2},
        ]
        self.next_id = 100
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None
        self.url = ""

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        self._server = self.call(self._start())
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        for session in self.sessions:
            self.loop.call_soon_threadsafe(session.ws.transport.abort)
        self.call(self._server.wait_closed())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    async def _start(self) -> Any:
        return await serve(self._serve, "127.0.0.1", 0, ping_interval=None, compression=None)

    def call(self, coro: Any, timeout: float = 5) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # -- waiting ---------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 3.0) -> Any:
        return wait_until(predicate, timeout, what="the condition", interval=0.005)

    def session(self, index: int = -1, timeout: float = 3.0) -> Session:
        self.wait_for(lambda: len(self.sessions) > (index if index >= 0 else 0), timeout)
        return self.sessions[index]

    def received(self) -> list[dict[str, Any]]:
        return [c for s in self.sessions for c in list(s.received)]

    def wait_received(self, method: str, count: int = 1, timeout: float = 3.0) -> list[dict]:
        return self.wait_for(
            lambda: (
                found
                if len(found := [c for c in self.received() if c.get("method") == method]) >= count
                else None
            ),
            timeout,
        )

    # -- serving ---------------------------------------------------------------------------

    async def _serve(self, ws: ServerConnection) -> None:
        session = Session(self, ws)
        self.sessions.append(session)
        try:
            if self.welcome:
                await ws.send(json.dumps({"notice": "Welcome", "nonce": b64(session.nonce)}))
            if self.on_connect is not None:
                result = self.on_connect(session)
                if inspect.isawaitable(result):
                    await result
            async for text in ws:
                try:
                    command = json.loads(text)
                except ValueError:
                    command = {"_unparsed": text}
                session.received.append(command)
                await self._answer(session, command)
        except ConnectionClosed:
            pass
        finally:
            session.closed.set()

    async def _answer(self, session: Session, command: dict[str, Any]) -> None:
        method = command.get("method")
        handler = self.handlers.get(method)  # type: ignore[arg-type]
        if handler is None:
            if method not in PUBLIC_METHODS and not session.authenticated:
                await session.reply(command, error(7, Msg.NOT_AUTHENTICATED))
                return
            handler = getattr(self, f"_canned_{method}", None)
            if handler is None:
                await session.reply(command, error(8, f"Unknown method {method!r}."))
                return
        fields = handler(session, command)
        if inspect.isawaitable(fields):
            fields = await fields
        if fields is not None:
            await session.reply(command, fields)

    # canned replies ------------------------------------------------------------------------

    def _canned_Authenticate(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        if cmd.get("user_id") != USER_ID:
            return error(1, Msg.NO_SUCH_USER)
        if cmd.get("cookie") != COOKIE:
            return error(7, Msg.BAD_COOKIE)
        try:
            client_nonce = decode_nonce(cmd.get("nonce"))
        except ValueError:
            return error(8, "Bad nonce.")
        if not verify(PUBLIC_KEY, USER_ID, session.nonce, client_nonce, cmd.get("signature", [])):
            return error(7, Msg.BAD_SIGNATURE)
        session.authenticated = True
        return {}

    def _canned_GetBalances(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"balances": [{"asset": XBT, "balance": 150000000}, {"asset": USD, "balance": 5000}]}

    def _canned_GetOrders(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"orders": []}

    def _canned_CancelAllOrders(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"orders": []}

    def _canned_CancelOrder(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        return error(1, Msg.ORDER_NOT_FOUND)

    def _canned_GetTradeVolume(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"volume": 12345}

    def _canned_PlaceOrder(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        if "price" not in cmd:
            return {"remaining": 0}
        self.next_id += 1
        return {"id": self.next_id, "time": int(time.time() * 1e6)}

    def _canned_EstimateMarketOrder(self, session: Session, cmd: dict[str, Any]) -> dict:
        if "quantity" in cmd:
            return {"quantity": abs(cmd["quantity"]), "total": abs(cmd["quantity"]) // 25}
        return {"quantity": abs(cmd["total"]) * 25, "total": abs(cmd["total"])}

    def _canned_WatchOrders(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"orders": list(self.book_orders)} if cmd.get("watch") else {}

    def _canned_WatchTicker(self, session: Session, cmd: dict[str, Any]) -> dict[str, Any]:
        if not cmd.get("watch"):
            return {}
        return {
            "last": 4050000,
            "bid": 4000000,
            "ask": 4100000,
            "low": 3900000,
            "high": 4200000,
            "volume": 1000000000,
        }


class RawServer:
    """A bare TCP server that does the upgrade itself, for what ``websockets`` will not do
    (say, the 101 and the first frames in one write). One connection: ``script(conn, accept)``
    runs on it in a thread once the request head was read; ``accept`` is the right 101 to it.
    """

    def __init__(self, script: Callable[[socket.socket, bytes], None]) -> None:
        self.script = script
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/"
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._listener.close()
        if self._conn is not None:
            self._conn.close()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:  # closed before a client came
            return
        self._conn = conn
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        digest = hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        accept = (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + base64.b64encode(digest) + b"\r\n\r\n"
        )
        self.script(conn, accept)
        self.stop.wait()
