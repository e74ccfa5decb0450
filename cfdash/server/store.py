"""The embedded exchange's durable state: one SQLite table of engine rows.

The engine (``ExchangeCore.take_changes``) decides what the rows mean; the store only keeps
``(kind, key) -> value`` and applies each batch in one transaction.

Durability choice: WAL journal with ``synchronous=NORMAL``. A committed transaction has been
written to the WAL file with ``write()``, so it is in the operating system's page cache and
survives the death of the process, SIGKILL included; only a power loss or kernel crash can lose
the last few commits (the WAL is fsync'ed at checkpoints, not per commit). That is the failure
model of a local demo exchange, and it keeps a commit in the tens of microseconds.
``synchronous="FULL"`` adds an fsync per commit for power-loss durability.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

SCHEMA_VERSION: Final = 1
MEMORY: Final = ":memory:"
PROBE_BYTES: Final = 256 * 1024

Row = tuple[str, str, str | None]


def default_path() -> Path:
    """``$XDG_DATA_HOME/cfdash/exchange.sqlite3``, else ``~/.local/share/cfdash/...``."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "cfdash" / "exchange.sqlite3"


class StoreError(RuntimeError):
    """The database cannot be used (newer schema, not a cfdash store ...)."""


class Store:
    """A ``state(kind, key, value)`` table in SQLite (WAL mode)."""

    def __init__(self, path: str | os.PathLike[str] = MEMORY, *, synchronous: str = "NORMAL"):
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"bad synchronous mode: {synchronous!r}")
        self.path = str(path)
        if self.path != MEMORY:
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.path = str(Path(self.path).expanduser())
        # Autocommit mode: transactions are explicit BEGIN/COMMIT. The connection is used by
        # one thread at a time, but not necessarily the one that opened it.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._init_schema()
        except BaseException:
            self._db.close()
            raise

    def _init_schema(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                " WITHOUT ROWID"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS state (kind TEXT NOT NULL, key TEXT NOT NULL,"
                " value TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID"
            )
            found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if found is None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif found[0] != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{self.path}: schema version {found[0]}, this cfdash reads {SCHEMA_VERSION}"
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # see _transaction
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    @property
    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    def is_empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM state LIMIT 1").fetchone() is None

    def load(self) -> Iterator[tuple[str, str, str]]:
        """Every stored row, ordered by (kind, key)."""
        yield from self._db.execute("SELECT kind, key, value FROM state ORDER BY kind, key")

    def commit(self, rows: Iterable[Row]) -> None:
        """Apply the rows in one transaction, in order: upsert, or delete when value is None.
        On an error nothing is applied and the error raised is SQLite's (e.g. "database or
        disk is full")."""
        with self._transaction():
            # consecutive upserts (and deletes) go in one executemany: same order, fewer calls
            run: list[Row] = []
            deleting = False
            for row in rows:
                if (row[2] is None) != deleting and run:
                    self._apply(run, deleting)
                    run = []
                deleting = row[2] is None
                run.append(row)
            if run:
                self._apply(run, deleting)

    def probe(self, size: int = PROBE_BYTES) -> None:
        """Raise (as ``commit`` would) unless the database can grow by ``size`` bytes now: a
        row that big is written, then deleted; its pages stay free for the next commits."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('probe', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                ("x" * size,),
            )
        with self._transaction():
            self._db.execute("DELETE FROM meta WHERE key = 'probe'")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        db = self._db
        db.execute("BEGIN")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR ...):
            # a ROLLBACK would then fail ("no transaction is active") and hide the cause
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def _apply(self, run: list[Row], deleting: bool) -> None:
        if deleting:
            self._db.executemany(
                "DELETE FROM state WHERE kind = ? AND key = ?", [(k, key) for k, key, _ in run]
            )
        else:
            self._db.executemany(
                "INSERT INTO state (kind, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                run,
            )

    def fill_disk(self, extra_pages: int = 0) -> None:
        """Test-only (``Faults.fill_disk``): a full disk. A filler row takes the free pages,
        then the database may grow by ``extra_pages`` more (``PRAGMA max_page_count``): a
        commit that needs more fails with SQLITE_FULL "database or disk is full"."""
        db = self._db
        free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
        if free:
            size = int(db.execute("PRAGMA page_size").fetchone()[0])
            with self._transaction():
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('test_filler', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = value || excluded.value",
                    ("x" * (free * (size - 8)),),
                )
        db.execute(f"PRAGMA max_page_count={self.page_count + max(0, extra_pages)}")

    def free_disk(self) -> None:
        """Undo ``fill_disk``: no cap, the filler's pages free again."""
        self._db.execute("PRAGMA max_page_count=4294967294")
        with self._transaction():
            self._db.execute("DELETE FROM meta WHERE key = 'test_filler'")

    @property
    def page_count(self) -> int:
        return int(self._db.execute("PRAGMA page_count").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
