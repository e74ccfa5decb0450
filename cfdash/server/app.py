"""The embedded exchange's I/O shell: WebSocket connections around ``ExchangeCore``.

One asyncio loop owns the core. Every text frame goes straight to ``core.receive``; once per
loop turn a single flush commits ``core.take_changes()`` to the store (group commit) and only
then hands ``core.take_output()`` to the connections, so nothing is acknowledged before it is
durable (``durability.Durability``). A commit that SQLite refuses (a full disk, an I/O error,
a locked database) undoes its batch (the state goes back to the store's, the batch's orders
and cancels are refused with error 8 and its notices dropped) and the server goes read-only:
it keeps serving reads, watches and the book, refuses orders and cancels up front, logs the
cause once and retries every ``retry_interval`` seconds until the store takes rows again. A command
the engine answered "Internal error." (a bug: the state in memory may be half-applied) undoes
its batch the same way (its orders and cancels refused, nothing of it committed or
acknowledged) and the server goes on. Any other commit error, or a bug while read-only (the
store is then behind memory: nothing safe to go back to), fails the server: nothing more is
committed or sent, every connection is closed (1011) and the server stops serving.

Each connection has a bounded outgoing queue and its own writer task: a reader that falls
more than ``send_limit`` bytes behind is closed (1008) instead of growing memory.

Requests can cost far more output than input (a book snapshot), so per-connection limits are
not enough (``cfdash.server.outbound``): all readers together hold at most ``output_budget``
bytes (over it, the readers furthest behind are dropped first); a connection whose reader has
not taken ``pause_at`` bytes (queued, or in the kernel's socket buffer) is not read, so nothing
more is rendered for it, until it takes half, and is closed as a slow reader if meanwhile it
takes nothing for ``stall_timeout`` seconds; a connection's handler yields to the others after
a slice of work (at once after a heavy command), so no one connection holds up the rest; and
one IP address may have at most ``max_per_ip`` connections open (HTTP 429 for more).

Timeouts follow the spec: a connection with no traffic either way for ``idle_timeout``
seconds is closed (1001). The server sends no pings of its own (its pongs would keep every
connection alive); client pings count as traffic and are answered by ``websockets``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import sqlite3
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from cfdash.core.engine.exchange import EngineConfig, ExchangeCore

from .durability import Durability
from .faults import Faults
from .outbound import (
    MAX_PER_ADDRESS,
    OUTPUT_BUDGET,
    PAUSE_AT,
    STALL_TIMEOUT,
    AddressCap,
    OutputBudget,
)
from .store import Store
from .traders import Traders
from .users import bootstrap

log = logging.getLogger(__name__)

MAX_FRAME: Final = 64 * 1024
SEND_LIMIT: Final = 4 * 1024 * 1024
IDLE_TIMEOUT: Final = 60.0
RETRY_INTERVAL: Final = 5.0
BINARY_FRAME_MSG: Final = "Commands must be sent as text frames."
CLOSE_SLOW: Final = 1008
CLOSE_IDLE: Final = 1001
CLOSE_SHUTDOWN: Final = 1001
CLOSE_FAILURE: Final = 1011
SLOW_READER_LOG: Final = "session %d: reader too slow, disconnecting (%s)"
ABORT_AT: Final = 1024 * 1024
"""A slow reader whose transport still holds more than this is cut off at once: its close
frame would wait behind all of it, and the memory is wanted now."""
DRAIN_POLL: Final = 0.02
"""How soon a paused connection first looks whether its reader took what the kernel holds
(then less and less often, up to once a second, while it takes nothing)."""
SLICE: Final = 0.002
"""Seconds of engine work one connection's handler does before it lets the others run."""
HEAVY: Final = 0.0003
"""A command that took this long (a book snapshot) is followed by a flush and a yield at once:
its output is queued and counted before the connection's next command, which waits if the
reader is behind."""


try:  # what the kernel holds for a reader (SIOCOUTQ on Linux); elsewhere it is not counted
    import fcntl
    import termios

    _OUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - not on Linux
    _OUTQ = None


def ws_url(host: str, port: int) -> str:
    return f"ws://[{host}]:{port}/" if ":" in host else f"ws://{host}:{port}/"


class _Connection(ServerConnection):
    """A ``ServerConnection`` that records when bytes last arrived (pings included)."""

    last_activity = 0.0
    release: Callable[[], None] | None = None  # frees its place in the per-address cap

    def connection_lost(self, exc: Exception | None) -> None:
        release, self.release = self.release, None
        if release is not None:
            release()
        super().connection_lost(exc)

    def unsent(self) -> int:
        """Bytes written to the socket that its peer has not taken yet (Linux's SIOCOUTQ: a
        reader that stopped reading leaves up to megabytes there); 0 where unknown."""
        sock = self.transport.get_extra_info("socket")
        if _OUTQ is None or sock is None:
            return 0
        try:
            return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0])
        except (OSError, ValueError):
            return 0

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        super().data_received(data)

    def send_data(self) -> None:
        """Write every pending frame with one ``transport.write`` (one syscall for a batch,
        not one per frame); an empty chunk (EOF) is handled as ``websockets`` does."""
        chunks: list[bytes] = []
        for data in self.protocol.data_to_send():
            if data:
                chunks.append(data)
                continue
            if chunks:
                self.transport.write(b"".join(chunks))
                chunks = []
            if self.transport.can_write_eof():
                with contextlib.suppress(Exception):
                    self.transport.write_eof()
            else:
                self.transport.close()
        if chunks:
            self.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))


class _Peer:
    """One client: its session id, outgoing queue and writer task."""

    __slots__ = (
        "closing",
        "progress",
        "queue",
        "queued",
        "server",
        "session",
        "stalled_since",
        "total",
        "wake",
        "writer",
        "ws",
    )

    def __init__(self, server: ExchangeServer, session: int, ws: _Connection) -> None:
        self.server = server
        self.session = session
        self.ws = ws
        self.queue: deque[str] = deque()
        self.queued = 0  # characters (= bytes: the engine's JSON is ASCII) not yet written
        self.wake = asyncio.Event()
        self.progress = asyncio.Event()  # set when the writer has handed on a batch
        self.stalled_since: float | None = None  # paused, and the reader took nothing since
        self.total = 0  # bytes ever queued: what the reader took is this minus ``unread()``
        self.closing = False
        self.writer = asyncio.create_task(self._write())

    def held(self) -> int:
        """Bytes held for this reader: queued, and in the transport's buffer."""
        return self.queued + self.ws.transport.get_write_buffer_size()

    def unread(self) -> int:
        """Bytes sent or held that this reader has not taken yet."""
        return self.held() + self.ws.unsent()

    def send(self, text: str) -> None:
        if self.closing:
            return
        self.queue.append(text)
        self.queued += len(text)
        self.total += len(text)
        # the transport's buffer counts too: a writer stuck draining has already handed it
        # up to a whole batch, which would otherwise let a stalled reader hold twice the limit
        if self.held() > self.server.send_limit:
            self.drop("send queue overflow")
        else:
            self.wake.set()

    async def _write(self) -> None:
        ws, queue = self.ws, self.queue
        try:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await self.wake.wait()
                    self.wake.clear()
                    while queue:
                        # everything queued goes out as one batch: one write, one drain
                        batch = list(queue)
                        queue.clear()
                        self.queued -= sum(map(len, batch))
                        async with ws.send_context():
                            send_text = ws.protocol.send_text
                            for text in batch:
                                send_text(text.encode())
                        ws.last_activity = time.monotonic()
                        self.progress.set()
        finally:
            self.progress.set()  # a paused handler must not wait for a writer that is gone

    async def wait_drained(self, below: int) -> None:
        """Until this reader holds at most ``below`` bytes (or the connection ends); while
        it waits, ``stalled_since`` says since when the reader has taken nothing."""
        self.stalled_since = time.monotonic()
        taken = self.total - self.unread()
        poll = DRAIN_POLL
        try:
            while not self.closing and not self.writer.done() and self.total - taken > below:
                self.progress.clear()
                if self.held():
                    await self.progress.wait()
                else:  # all in the kernel: nothing tells when the reader takes it
                    await asyncio.sleep(poll)
                    poll = min(2 * poll, 1.0)  # a reader that takes nothing costs little
                now_taken = self.total - self.unread()
                if now_taken > taken:
                    self.stalled_since = time.monotonic()
                    taken = now_taken
                    poll = DRAIN_POLL
        finally:
            self.stalled_since = None

    def drop(self, why: str) -> None:
        """Close a reader that fell too far behind (1008); cut it off if it still holds a lot."""
        log.warning(SLOW_READER_LOG, self.session, why)
        abort = self.ws.transport.get_write_buffer_size() > ABORT_AT
        self.close(CLOSE_SLOW, f"slow reader: {why}", abort=abort)

    async def drained(self) -> None:
        while self.queue and not self.closing and not self.writer.done():
            await asyncio.sleep(0.01)

    def close(self, code: int, reason: str, *, abort: bool = False) -> asyncio.Task[None]:
        """End the session now, drop the backlog and close with a close frame (bounded wait),
        or at once without one (``abort``)."""
        self.closing = True
        self.server._end_session(self.session)
        self.queue.clear()
        self.queued = 0
        self.writer.cancel()
        self.progress.set()
        return asyncio.ensure_future(self._close(code, reason, abort))

    async def _close(self, code: int, reason: str, abort: bool = False) -> None:
        if abort:
            self.ws.transport.abort()
            return
        try:
            await asyncio.wait_for(self.ws.close(code, reason), self.server.close_timeout)
        except (TimeoutError, ConnectionClosed, OSError):
            self.ws.transport.abort()


class ExchangeServer:
    """The exchange: core + store + WebSocket listener (+ simulated traders)."""

    def __init__(
        self,
        db: str | os.PathLike[str] | Store = ":memory:",
        *,
        config: EngineConfig | None = None,
        seed: int | None = None,
        traders: bool = True,
        idle_timeout: float = IDLE_TIMEOUT,
        max_frame: int = MAX_FRAME,
        send_limit: int = SEND_LIMIT,
        tick_interval: float = 1.0,
        trader_interval: float = 0.1,
        close_timeout: float = 5.0,
        faults: Faults | None = None,
        output_budget: int = OUTPUT_BUDGET,
        pause_at: int = PAUSE_AT,
        stall_timeout: float = STALL_TIMEOUT,
        max_per_ip: int = MAX_PER_ADDRESS,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        self.store = db if isinstance(db, Store) else Store(db)
        self.faults = faults  # test-only fault injection (cfdash.server.faults)
        self.config = config
        self.seed = seed
        self.idle_timeout = idle_timeout
        self.max_frame = max_frame
        self.send_limit = send_limit
        self.tick_interval = tick_interval
        self.trader_interval = trader_interval
        self.close_timeout = close_timeout
        self.budget = OutputBudget(output_budget)
        self.pause_at = pause_at
        self.stall_timeout = stall_timeout
        self.address_cap = AddressCap(max_per_ip)
        self.retry_interval = retry_interval  # read-only: how often to try the store again
        self.core: ExchangeCore | None = None
        self.traders: Traders | None = None
        self._want_traders = traders
        self._peers: dict[int, _Peer] = {}
        self._local: dict[int, Callable[[int, str], None]] = {}
        self._pending: list[tuple[int, str]] = []
        self._bugs = 0  # the engine's internal errors undone so far
        self._flush_scheduled = False
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stopped = False
        self._closed = False  # the store is closed
        self.failure: BaseException | None = None
        self._failed: asyncio.Event | None = None
        self.durability: Durability | None = None  # the commit path (see durability.py)
        self._retrying: asyncio.Task[None] | None = None
        self.address: tuple[str, int] | None = None

    # ------------------------------------------------------------------ state

    def open(self) -> ExchangeCore:
        """Load the core from the store, or set up a new exchange when the store is empty."""
        if self.core is not None:
            return self.core
        # Seeded stochastic rounding, but Welcome nonces always from os.urandom.
        rng = random.Random(self.seed) if self.seed is not None else None
        core = ExchangeCore(self.config, rng=rng)
        rows = list(self.store.load())
        if rows:
            core.load(rows)
        else:
            bootstrap(core)
            self.store.commit(core.take_changes())
        self.core = core
        self.durability = Durability(self.store, core, self.retry_interval)
        return core

    @property
    def url(self) -> str:
        assert self.address is not None, "not started"
        return ws_url(*self.address)

    @property
    def storage_error(self) -> sqlite3.Error | None:
        """Why the store refuses rows (the server is read-only), or None."""
        return None if self.durability is None else self.durability.error

    @property
    def connections(self) -> int:
        return len(self._peers)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Open the state, start the traders and listen; returns the bound (host, port)."""
        core = self.open()
        loop = asyncio.get_running_loop()
        self._failed = asyncio.Event()
        if self._want_traders:
            self.traders = Traders(core, self.seed)
            for sid in self.traders.start(time.time()):
                self._local[sid] = self.traders.on_frame
        self._flush()
        if self.faults is not None:
            self.faults.attach(self)
        self._server = await serve(
            self._handle,
            host,
            port,
            create_connection=_Connection,
            max_size=self.max_frame,
            max_queue=64,
            compression=None,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=self.close_timeout,
            process_request=self._process_request,
        )
        sockname = self._server.sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        self._tasks.append(loop.create_task(self._tick_loop()))
        if self.traders is not None:
            self._tasks.append(loop.create_task(self._trader_loop()))
        return self.address

    async def wait_failure(self) -> BaseException:
        """Return once the server has failed (a commit error): it then stops serving."""
        assert self._failed is not None, "not started"
        await self._failed.wait()
        assert self.failure is not None
        return self.failure

    async def stop(self) -> None:
        """Stop accepting, commit, deliver what is committed, close every connection (1001)."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        server = self._server
        if server is not None:
            server.close(close_connections=False)  # stop accepting now
        if self.traders is not None and self.core is not None and self.failure is None:
            self.traders.stop(time.time())
        self._flush()
        peers = list(self._peers.values())
        if peers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(p.drained() for p in peers)), self.close_timeout
                )
            await asyncio.gather(*(p.close(CLOSE_SHUTDOWN, "server shutting down") for p in peers))
        if server is not None:
            try:
                await asyncio.wait_for(server.wait_closed(), self.close_timeout)
            except TimeoutError:
                for ws in list(server.connections):
                    ws.transport.abort()
                await server.wait_closed()
        self._flush()  # the disconnects (persist=false cancels)
        if self.storage_error is not None and self.failure is None:
            self._retry()  # a last try for the rows waiting (a restart derives them again)
        if self._retrying is not None:
            self._retrying.cancel()
        self._closed = True
        self.store.close()

    # ------------------------------------------------------------------ connections

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake hook: test faults, then the per-address cap (429 over it)."""
        if self.faults is not None:
            response = self.faults.process_request(connection, request)
            if response is not None:
                return response
        assert isinstance(connection, _Connection)
        address = str(connection.remote_address[0]) if connection.remote_address else ""
        cap = self.address_cap
        if not cap.admit(address):
            log.info("refused a connection from %s: %d open", address, cap.count(address))
            return connection.respond(
                HTTPStatus.TOO_MANY_REQUESTS, "too many connections from your address\n"
            )
        connection.release = lambda: cap.release(address)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, _Connection) and self.core is not None
        core = self.core
        faults = self.faults
        if self._stopping:
            await ws.close(CLOSE_SHUTDOWN, "server shutting down")
            return
        ws.last_activity = time.monotonic()
        remote = ws.remote_address  # the per-address limits' key (plain data for the core)
        sid = core.connect(time.time(), str(remote[0]) if remote else None)
        peer = _Peer(self, sid, ws)
        self._peers[sid] = peer
        self._schedule_flush()
        worked = 0.0  # seconds of engine work since this handler last let the others run
        try:
            async for message in ws:
                if peer.closing:
                    break  # dropped (a slow reader): what it sent since is not executed
                if self._stopping:
                    continue  # nothing new is accepted once shutdown has begun
                if faults is not None and isinstance(message, str):
                    filtered = await faults.filter(self, sid, ws, message)
                    if filtered is None:
                        continue
                    message = filtered
                started = time.monotonic()
                if isinstance(message, str):
                    core.receive(sid, message, time.time())
                else:
                    self._binary(sid)
                self._schedule_flush()
                took = time.monotonic() - started
                worked += took
                if worked > SLICE or took > HEAVY:  # let the flush and the others run
                    worked = 0.0
                    if took > HEAVY:  # its output queued (and budgeted) before others add
                        self._flush()
                    await asyncio.sleep(0)
                    if peer.unread() > self.pause_at:  # render nothing more until it reads
                        await peer.wait_drained(self.pause_at // 2)
                elif peer.held() > self.pause_at:
                    await peer.wait_drained(self.pause_at // 2)
        except ConnectionClosed:
            pass
        finally:
            peer.writer.cancel()
            self._end_session(sid)

    def _end_session(self, sid: int) -> None:
        """Forget a connection's session (once): no more output, its volatile orders go."""
        if self._peers.pop(sid, None) is not None and self.failure is None:
            assert self.core is not None
            self.core.disconnect(sid, time.time())
            self._schedule_flush()

    def _binary(self, sid: int) -> None:
        """Binary frames are malformed commands: error 8, in order with the session's output."""
        assert self.core is not None
        self._pending.extend(self.core.take_output())
        reply = json.dumps({"error_code": 8, "error_msg": BINARY_FRAME_MSG})
        self._pending.append((sid, reply))
        assert self.durability is not None
        self.durability.batch.append((sid, None))

    # ------------------------------------------------------------------ commit, then send

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        core = self.core
        if core is None or self.failure is not None or self._closed:
            return
        assert self.durability is not None
        try:
            if core.internal_errors > self._bugs:  # first: half-applied state is not committed
                self._bugs = core.internal_errors
                out = self.durability.undo_bug(self._pending)
                if out is None or core.internal_errors > self._bugs:
                    error = core.commands.last_internal_error
                    self._fail(error or RuntimeError("internal error"), "an engine command failed")
                    return
                log.error("an engine command failed: its batch was undone")
            else:
                out = self.durability.commit(self._pending)
        except Exception as exc:
            self._fail(exc, "cannot commit the exchange state")
            return
        if out is not None and self.storage_error is None:  # a bug's batch, undone
            self._pending = []
        elif out is not None:  # the store refused the rows: the batch was undone
            self._pending = []
            if self._retrying is None or self._retrying.done():
                self._retrying = asyncio.get_running_loop().create_task(self._retry_loop())
        else:
            out = core.take_output()
            if self._pending:
                out = self._pending + out
                self._pending = []
        peers, local = self._peers, self._local
        queued = 0
        for sid, text in out:
            peer = peers.get(sid)
            if peer is not None:
                peer.send(text)
                queued += len(text)
            else:
                handler = local.get(sid)
                if handler is not None:
                    handler(sid, text)
        if queued and self.budget.queued(queued):
            self._settle_budget()

    def _settle_budget(self) -> None:
        """Over the output budget: drop the readers furthest behind until it fits again."""
        peers = self._peers
        held = {sid: peer.held() for sid, peer in peers.items() if not peer.closing}
        for sid in self.budget.settle(held):
            peers[sid].drop(f"over the server's output budget of {self.budget.limit} bytes")

    def _fail(self, exc: BaseException, what: str) -> None:
        """A commit (or an engine command) failed: nothing more can be acknowledged. Close
        everyone, stop serving."""
        log.critical("%s; stopping", what, exc_info=exc)
        self.failure = exc
        self._stopping = True
        self._pending = []
        for peer in list(self._peers.values()):
            peer.close(CLOSE_FAILURE, "internal error")
        if self._failed is not None:
            self._failed.set()

    # ------------------------------------------------------------------ read-only: retry

    async def _retry_loop(self) -> None:
        while self.storage_error is not None:
            await asyncio.sleep(self.retry_interval)
            if self.failure is not None or self._closed:
                return
            self._retry()

    def _retry(self) -> None:
        assert self.durability is not None
        try:
            resumed = self.durability.retry()
        except Exception as exc:
            self._fail(exc, "cannot commit the exchange state")
            return
        if resumed:
            self._schedule_flush()

    # ------------------------------------------------------------------ timers

    async def _tick_loop(self) -> None:
        assert self.core is not None
        while True:
            await asyncio.sleep(self.tick_interval)
            if self.failure is not None:
                return
            try:
                self.core.tick(time.time())
            except Exception:  # a core bug must not stop the clock or the idle checks
                log.exception("tick failed")
            now = time.monotonic()
            idle_before = now - self.idle_timeout
            stalled_before = now - self.stall_timeout
            for peer in list(self._peers.values()):
                if peer.closing:
                    continue
                if peer.stalled_since is not None and peer.stalled_since < stalled_before:
                    peer.drop(f"took nothing for {self.stall_timeout:g} s")
                elif peer.ws.last_activity < idle_before:
                    peer.close(CLOSE_IDLE, "idle timeout")
            self._schedule_flush()

    async def _trader_loop(self) -> None:
        assert self.traders is not None
        while True:
            await asyncio.sleep(self.trader_interval)
            if self.failure is not None:
                return
            if self.storage_error is not None:
                continue  # read-only: their orders would be refused
            try:
                self.traders.step(time.time())
            except Exception:
                log.exception("simulated traders failed; they stop trading")
                self._schedule_flush()
                return
            self._schedule_flush()


class ServerThread:
    """An ``ExchangeServer`` on its own event loop in a background thread.

    ``start()`` blocks until it listens (and returns ``url``); ``stop()`` shuts it down
    gracefully. ``call(fn)`` runs ``fn(server)`` on the server's loop (the core is not
    thread-safe) and returns its result.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] = ":memory:",
        *,
        seed: int | None = None,
        traders: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> None:
        self._args = (db, seed, traders, host, port, options)
        self.server: ExchangeServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        self._thread = threading.Thread(target=self._run, name="cfdash-exchange", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the exchange did not start")
        if self._error is not None:
            raise self._error
        return self.url

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        db, seed, traders, host, port, options = self._args
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.server = ExchangeServer(db, seed=seed, traders=traders, **options)
            await self.server.start(host, port)
            self.url = self.server.url
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        failure = asyncio.ensure_future(self.server.wait_failure())
        stop = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait([failure, stop], return_when=asyncio.FIRST_COMPLETED)
        failure.cancel()
        stop.cancel()
        await self.server.stop()

    def call(self, fn: Callable[[ExchangeServer], Any], timeout: float = 10.0) -> Any:
        assert self._loop is not None and self.server is not None, "not started"
        server = self.server

        async def run() -> Any:
            return fn(server)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
