"""Test-only fault injection for the embedded exchange: ``ExchangeServer(faults=Faults())``.

Never on by default. ``cfdash serve`` attaches a ``Faults`` only with the hidden
``--test-faults`` flag or ``CFDASH_TEST_FAULTS=1``; it then also accepts the control command
``{"method": "TestFault", "fault": ..., ...}`` (see ``control``) from any connection, so tests
can drive a server in another process. In-process tests call the methods below from any thread.

Faults on live connections (a session is chosen by id, by the user it authenticated as, or all):

* ``drop``: abort the TCP connection, no close frame;
* ``stall``: stop reading (no replies, no pongs) and stop writing; the socket stays open;
* ``inject``: send a raw text frame (malformed JSON, an unknown notice ...);
* ``refuse``: answer new connections' handshakes with HTTP 503 for a while;
* ``fill_disk``: fill the database's free pages and cap its size (``Store.fill_disk``), so that
  a commit that needs more pages fails with SQLITE_FULL "database or disk is full", as on a
  full disk; ``free_disk`` undoes it;

and armed on the next ``count`` commands of a method (``arm``):

* ``drop_after``: the engine executes the command, then the connection is aborted before its
  reply (and its notices) are written;
* ``drop_before``: the connection is aborted before the engine sees the command;
* ``delay``: the command, and everything after it on that connection, waits ``delay`` s;
* ``fail``: answered with an error reply instead of being executed;
* ``raise``: the engine's handler runs the command, then raises ``FaultInjected`` (a bug in a
  handler: its changes are half-applied; the engine answers "Internal error." and the server
  undoes the batch as on a refused commit).

``fired`` counts every fault that took effect, by name.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, TypeVar

from cfdash.core.errors import Msg

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from cfdash.core.engine.exchange import ExchangeCore

    from .app import ExchangeServer

__all__ = ["ACTIONS", "CONTROL_METHOD", "ENV_VAR", "FaultInjected", "Faults"]

T = TypeVar("T")

CONTROL_METHOD: Final = "TestFault"
ENV_VAR: Final = "CFDASH_TEST_FAULTS"
ACTIONS: Final = frozenset({"drop_after", "drop_before", "delay", "fail", "raise"})


class FaultInjected(RuntimeError):
    """Raised inside an engine command handler by the ``raise`` fault."""


@dataclass
class _Rule:
    method: str
    action: str
    count: int
    session: int | None
    user: int | None
    delay: float
    error: tuple[int, str]


class Faults:
    """Fault injection for one ``ExchangeServer`` (thread-safe; see the module docstring)."""

    def __init__(self) -> None:
        self.fired: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._refuse_until = 0.0
        self._users: dict[int, int] = {}  # session -> user id it tried to authenticate as
        self._gone: set[int] = set()  # sessions aborted by a fault: read nothing more
        self._server: ExchangeServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- wiring (called by ExchangeServer) --------------------------------------------------

    def attach(self, server: ExchangeServer) -> None:
        """Called by ``ExchangeServer.start`` on its event loop."""
        self._server = server
        self._loop = asyncio.get_running_loop()

    def process_request(self, connection: ServerConnection, _request: Request) -> Response | None:
        """The handshake hook: 503 while refusing connections."""
        if time.monotonic() < self._refuse_until:
            self.fired["refuse"] += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "refused (test fault)\n")
        return None

    async def filter(
        self, server: ExchangeServer, sid: int, ws: ServerConnection, text: str
    ) -> str | None:
        """Every text frame before the engine: the frame to execute, or None to skip it."""
        if sid in self._gone:
            return None
        if '"method"' not in text:
            return text
        try:
            command = json.loads(text)
            method = command.get("method")
        except (ValueError, AttributeError):
            return text
        if method == "Authenticate" and type(command.get("user_id")) is int:
            self._users[sid] = command["user_id"]
        if method == CONTROL_METHOD:
            await self._control(sid, ws, command)
            return None
        rule = self._match(sid, method)
        if rule is None:
            return text
        self.fired[rule.action] += 1
        if rule.action == "delay":
            await asyncio.sleep(rule.delay)
            return text
        if rule.action == "fail":
            await ws.send(json.dumps(_reply(command, rule.error[0], rule.error[1])))
            return None
        if rule.action == "raise":
            assert server.core is not None
            _raise_in_handler(server.core, method, sid, text)
            server._schedule_flush()
            return None
        if rule.action == "drop_after":
            assert server.core is not None
            server.core.receive(sid, text, time.time())
            server._schedule_flush()  # committed; the output goes nowhere (aborted below)
        self._abort(sid, ws)
        return None

    # -- faults on live connections (any thread) -------------------------------------------

    def sessions(self, user: int | None = None) -> list[int]:
        """The live sessions (those that tried to authenticate as ``user``, if given)."""
        return self._run(lambda: self._select(None, user))

    def drop(self, session: int | None = None, user: int | None = None) -> list[int]:
        """Abort the chosen connections (all by default); the sessions dropped."""

        def go() -> list[int]:
            chosen = self._select(session, user)
            for sid in chosen:
                self.fired["drop"] += 1
                self._abort(sid, self._ws(sid))
            return chosen

        return self._run(go)

    def stall(self, session: int | None = None, user: int | None = None) -> list[int]:
        """Stop reading from and writing to the chosen connections, leaving them open."""

        def go() -> list[int]:
            chosen = self._select(session, user)
            for sid in chosen:
                self._stall_now(sid)
            return chosen

        return self._run(go)

    def inject(self, text: str, session: int | None = None, user: int | None = None) -> list[int]:
        """Send the raw text frame ``text`` on the chosen connections."""

        async def go() -> list[int]:
            chosen = self._select(session, user)
            for sid in chosen:
                self.fired["inject"] += 1
                await self._ws(sid).send(text)
            return chosen

        return self._run_async(go)

    def refuse(self, seconds: float) -> None:
        """Refuse new connections for ``seconds`` (0 stops refusing)."""
        self._refuse_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def fill_disk(self, extra_pages: int = 0) -> None:
        """Let the database grow by at most ``extra_pages`` pages from now (a full disk)."""

        def go() -> None:
            assert self._server is not None
            self._server.store.fill_disk(extra_pages)
            self.fired["fill_disk"] += 1

        self._run(go)

    def free_disk(self) -> None:
        """Lift ``fill_disk``'s cap: the disk has space again."""

        def go() -> None:
            assert self._server is not None
            self._server.store.free_disk()
            self.fired["free_disk"] += 1

        self._run(go)

    # -- armed faults ----------------------------------------------------------------------

    def arm(
        self,
        method: str,
        action: str,
        *,
        count: int = 1,
        session: int | None = None,
        user: int | None = None,
        delay: float = 1.0,
        error: tuple[int, str] = (6, Msg.AUTH_TOO_RAPID),
    ) -> None:
        """Apply ``action`` to the next ``count`` commands ``method`` (of one session/user)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; one of {sorted(ACTIONS)}")
        with self._lock:
            self._rules.append(_Rule(method, action, count, session, user, delay, error))

    def armed(self) -> int:
        """How many armed faults have not fired yet."""
        with self._lock:
            return sum(r.count for r in self._rules)

    def clear(self) -> None:
        """Disarm everything and stop refusing connections."""
        with self._lock:
            self._rules.clear()
        self._refuse_until = 0.0

    # -- the control command ---------------------------------------------------------------

    async def _control(self, sid: int, ws: ServerConnection, command: dict[str, Any]) -> None:
        """``{"method": "TestFault", "fault": "drop"|"stall"|"inject"|"refuse"|"arm"|"clear"|
        "fill_disk"|"free_disk", "session"?, "user"?, ...}``: without ``session``/``user`` a
        live fault hits every connection but this one. The reply comes first, with ``fired``
        and ``sessions``."""
        fault = command.get("fault")
        session, user = command.get("session"), command.get("user")
        code, msg = 0, ""
        try:
            if fault in ("drop", "stall", "inject"):
                targets = self._select(session, user)
                if session is None and user is None:
                    targets = [t for t in targets if t != sid]
            elif fault == "refuse":
                self.refuse(float(command.get("seconds", 1.0)))
            elif fault == "arm":
                self.arm(
                    str(command["target"]),
                    str(command["action"]),
                    count=int(command.get("count", 1)),
                    session=session,
                    user=user,
                    delay=float(command.get("delay", 1.0)),
                    error=(int(command.get("error_code", 6)), str(command.get("error_msg", ""))),
                )
            elif fault == "clear":
                self.clear()
            elif fault == "fill_disk":
                self.fill_disk(int(command.get("extra_pages", 0)))
            elif fault == "free_disk":
                self.free_disk()
            elif fault != "status":
                raise ValueError(f"unknown fault {fault!r}")
        except (KeyError, TypeError, ValueError) as exc:
            code, msg = 8, f"bad TestFault: {exc}"
        reply = _reply(command, code, msg)
        if code == 0:
            reply["fired"] = dict(self.fired)
            reply["sessions"] = self._select(None, None)
        await ws.send(json.dumps(reply))
        if code == 0 and fault in ("drop", "stall", "inject"):
            for target in targets:
                if fault == "drop":
                    self.fired["drop"] += 1
                    self._abort(target, self._ws(target))
                elif fault == "stall":
                    self._stall_now(target)
                else:
                    self.fired["inject"] += 1
                    await self._ws(target).send(str(command.get("text", "")))

    # -- internals -------------------------------------------------------------------------

    def _stall_now(self, sid: int) -> None:
        self.fired["stall"] += 1
        transport = self._ws(sid).transport
        transport.pause_reading()
        transport.write = _discard  # type: ignore[method-assign,assignment]
        transport.writelines = _discard  # type: ignore[method-assign,assignment]

    def _match(self, sid: int, method: Any) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method != method:
                    continue
                if rule.session is not None and rule.session != sid:
                    continue
                if rule.user is not None and self._users.get(sid) != rule.user:
                    continue
                rule.count -= 1
                if rule.count <= 0:
                    self._rules.remove(rule)
                return rule
        return None

    def _abort(self, sid: int, ws: ServerConnection) -> None:
        self._gone.add(sid)
        ws.transport.abort()

    def _peers(self) -> dict[int, Any]:
        assert self._server is not None, "not attached to a started server"
        return self._server._peers  # sid -> peer with .ws

    def _ws(self, sid: int) -> ServerConnection:
        ws: ServerConnection = self._peers()[sid].ws
        return ws

    def _select(self, session: int | None, user: int | None) -> list[int]:
        sids = sorted(sid for sid in self._peers() if sid not in self._gone)
        if session is not None:
            sids = [s for s in sids if s == session]
        if user is not None:
            sids = [s for s in sids if self._users.get(s) == user]
        return sids

    def _in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _run(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """``fn()`` on the server's loop (directly when already there)."""
        if self._in_loop():
            return fn()

        async def call() -> T:
            return fn()

        return self._run_async(call, timeout)

    def _run_async(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10.0) -> T:
        assert self._loop is not None, "not attached to a started server"
        if self._in_loop():
            raise RuntimeError("call the async faults from another thread")
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout)


def _raise_in_handler(core: ExchangeCore, method: str, sid: int, text: str) -> None:
    """Execute ``text`` with ``method``'s handler made to raise after it ran."""
    handlers = core.commands.handlers
    real = handlers.get(method)
    if real is None:  # not a command the engine knows: it refuses it as usual
        core.receive(sid, text, time.time())
        return

    def broken(*args: Any) -> Any:
        real(*args)
        raise FaultInjected(f"test fault: {method} raised inside its handler")

    handlers[method] = broken
    try:
        core.receive(sid, text, time.time())
    finally:
        handlers[method] = real


def _discard(*_: Any) -> None:
    """A stalled transport's write: the bytes go nowhere."""


def _reply(command: dict[str, Any], code: int, msg: str) -> dict[str, Any]:
    reply: dict[str, Any] = {}
    tag = command.get("tag")
    if tag:
        reply["tag"] = tag
    reply["error_code"] = code
    if code:
        reply["error_msg"] = msg
    return reply
