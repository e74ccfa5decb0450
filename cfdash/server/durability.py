"""The exchange's commit path: a batch's rows go to the store before its output leaves.

When SQLite refuses them (a full disk, an I/O error, a locked database), nothing of the batch
may be acknowledged and memory must not stay ahead of the store: the batch is undone
(``Rollback``: the stored state back in place, connections kept, the batch answered again
with its orders and cancels refused) and the exchange is read-only until the store takes rows
again (``retry``, which the server calls every few seconds). Read-only, the engine still
changes what a restart derives again by itself (the cancels of a closed connection's
``persist: false`` orders, windows' buckets expiring, the clock): those rows wait in
``unsaved``, and their notices go out.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from cfdash.core.engine.exchange import ExchangeCore
from cfdash.core.engine.journal import Row
from cfdash.core.engine.rollback import Rollback

from .store import Store

log = logging.getLogger(__name__)

Output = list[tuple[int, str]]


BUG_REFUSAL = "The exchange could not do this (an internal error); nothing was changed."


def refusal(exc: sqlite3.Error) -> str:
    """The error message of a command refused because the store cannot take rows."""
    full = getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL"
    cause = "disk full" if full else "storage error"
    return f"The exchange cannot store this now ({cause}); nothing was changed."


class Durability:
    """Commits ``core``'s changes to ``store``; undoes a batch the store refuses."""

    def __init__(self, store: Store, core: ExchangeCore, retry_interval: float) -> None:
        self.store = store
        self.core = core
        self.retry_interval = retry_interval  # for the log only: the server retries
        self.rollback = Rollback(core)
        self.error: sqlite3.Error | None = None  # read-only while set
        self.unsaved: dict[tuple[str, str], str | None] = {}  # rows waiting, read-only
        self.batch: list[tuple[int, str | None]] = []  # frames since the last commit
        # every frame the engine executes (connections, faults, traders) is recorded
        self._receive = core.receive
        core.receive = self.receive

    def receive(self, session: int, text: str, now: float) -> None:
        """``core.receive``, recording the frame in the batch."""
        self.batch.append((session, text))
        self._receive(session, text, now)

    def commit(self, taken: Output) -> Output | None:
        """Commit what changed since the last call. None: committed (read-only: kept for
        later); send the core's output. An output: the store refused the rows, the batch was
        undone (``taken``: its output already taken from the core) and that is what to send
        instead. Raises on any other error (the server cannot go on)."""
        rows = self.rollback.take_changes()
        if rows:
            if self.error is not None:
                self._keep(rows)
            else:
                try:
                    self.store.commit(rows)
                except sqlite3.OperationalError as exc:  # full, I/O error, locked ...
                    return self._undo(exc, taken)
        self.batch.clear()
        return None

    def _undo(self, exc: sqlite3.OperationalError, taken: Output) -> Output:
        output = taken + self.core.take_output()
        frames, self.batch = self.batch, []
        stored = list(self.store.load())  # raises: nothing known to undo to
        self.error = exc
        self.rollback.refuse_writes(refusal(exc))
        log.error(
            "cannot store the exchange state: %s (%s); orders and cancels are refused, reads go"
            " on; retrying every %g s",
            exc, getattr(exc, "sqlite_errorname", type(exc).__name__), self.retry_interval,
        )  # fmt: skip
        out = self.rollback.undo(stored, frames, output, time.time())
        self._keep(self.rollback.take_changes())  # the undo's own: expiry, gone connections
        return out

    def undo_bug(self, taken: Output) -> Output | None:
        """A command was answered "Internal error." (a bug: the state in memory may be
        half-applied): undo the batch as a refused commit is, answer its orders and cancels
        with ``BUG_REFUSAL``, and accept writes again at once. The output to send instead of
        the batch's; None when that cannot be done (read-only: memory holds rows the store
        has not, so the store is not the state to go back to)."""
        if self.error is not None:
            return None
        self.rollback.take_changes()  # not to be stored; remembers the batch's orders
        output = taken + self.core.take_output()
        frames, self.batch = self.batch, []
        stored = list(self.store.load())
        self.rollback.refuse_writes(BUG_REFUSAL)
        try:
            return self.rollback.undo(stored, frames, output, time.time())
        finally:
            self.rollback.allow_writes()

    def _keep(self, rows: list[Row]) -> None:
        unsaved = self.unsaved
        for kind, key, value in rows:
            unsaved[(kind, key)] = value  # the last value wins, as in the store

    def retry(self) -> bool:
        """Leave read-only if the store takes a probe and the rows waiting for it. Raises on
        an error that is not the store refusing rows."""
        try:
            self.store.probe()
            self.store.commit([(kind, key, v) for (kind, key), v in self.unsaved.items()])
        except sqlite3.OperationalError as exc:
            log.debug("the store still refuses rows: %s", exc)
            return False
        self.unsaved.clear()
        self.error = None
        self.rollback.allow_writes()
        log.warning("the exchange state can be stored again: orders and cancels are accepted")
        return True
