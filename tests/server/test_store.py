"""The SQLite store on its own: round trips, deletes, atomic batches, WAL, schema version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfdash.server.store import SCHEMA_VERSION, Store, StoreError, default_path


def test_round_trip_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "x.sqlite3"
    rows = [("user", "1", '{"cookie":"c"}'), ("balance", "1:63488", "[5,0]"), ("meta", "k", "7")]
    with Store(path) as store:
        assert store.is_empty()
        store.commit(rows)
        assert not store.is_empty()
    with Store(path) as store:
        assert sorted(store.load()) == sorted(rows)


def test_upsert_and_delete(tmp_path: Path) -> None:
    with Store(tmp_path / "db") as store:
        store.commit([("order", "1", "a"), ("order", "2", "b"), ("user", "1", "u")])
        store.commit([("order", "1", "a2"), ("order", "2", None), ("order", "9", None)])
        assert sorted(store.load()) == [("order", "1", "a2"), ("user", "1", "u")]


def test_rows_apply_in_order_within_a_batch() -> None:
    with Store(":memory:") as store:
        store.commit([("t", "k", "1"), ("t", "k", None), ("t", "j", "2"), ("t", "j", "3")])
        assert list(store.load()) == [("t", "j", "3")]


def test_a_failing_batch_changes_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "db") as store:
        store.commit([("order", "1", "kept")])
        bad = [("order", "1", "overwritten"), ("order", "2", "new"), ("order", None, "x")]
        with pytest.raises(sqlite3.IntegrityError):
            store.commit(bad)  # type: ignore[list-item]
        assert list(store.load()) == [("order", "1", "kept")]
        store.commit([("order", "3", "later")])  # still usable
        assert len(list(store.load())) == 2


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with Store(path) as store:
        assert store.journal_mode == "wal"
        assert store.schema_version == SCHEMA_VERSION
    assert Path(str(path) + "-wal").exists() or path.exists()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)


def test_committed_rows_are_visible_to_another_connection(tmp_path: Path) -> None:
    """A commit is in the database file/WAL (not just this connection) when commit returns."""
    path = tmp_path / "db"
    with Store(path) as store:
        store.commit([("k", "1", "v")])
        other = sqlite3.connect(path)
        assert other.execute("SELECT value FROM state").fetchall() == [("v",)]
        other.close()


def test_memory_store_and_bad_mode() -> None:
    with Store(":memory:") as store:
        store.commit([("a", "b", "c")])
        assert list(store.load()) == [("a", "b", "c")]
    with pytest.raises(ValueError):
        Store(":memory:", synchronous="SOMETIMES")


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "cfdash" / "exchange.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "share" / "cfdash" / "exchange.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_path() == tmp_path / "home" / ".local" / "share" / "cfdash" / "exchange.sqlite3"


keys = st.tuples(st.sampled_from(["user", "order", "balance"]), st.text(max_size=4))
batches = st.lists(st.lists(st.tuples(keys, st.none() | st.text(max_size=8)), max_size=8))


@settings(max_examples=40)
@given(batches)
def test_store_matches_a_dict_model(
    batches: list[list[tuple[tuple[str, str], str | None]]],
) -> None:
    model: dict[tuple[str, str], str] = {}
    with Store(":memory:") as store:
        for batch in batches:
            store.commit([(k, key, v) for (k, key), v in batch])
            for (k, key), v in batch:
                if v is None:
                    model.pop((k, key), None)
                else:
                    model[(k, key)] = v
        assert {(k, key): v for k, key, v in store.load()} == model


def test_a_full_disk_raises_sqlite_full_changes_nothing_and_passes_when_freed(
    tmp_path: Path,
) -> None:
    """The cause is SQLite's "database or disk is full" (it used to be hidden behind "cannot
    rollback - no transaction is active": SQLite had already rolled back)."""
    with Store(tmp_path / "db") as store:
        store.commit([("order", "1", "kept")])
        store.fill_disk()
        big = [("order", str(i), "x" * 1000) for i in range(2, 100)]
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full") as info:
            store.commit(big)
        assert info.value.sqlite_errorname == "SQLITE_FULL"
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            store.probe()
        assert list(store.load()) == [("order", "1", "kept")]
        store.free_disk()
        store.probe()
        store.commit(big)
        assert len(list(store.load())) == 99
