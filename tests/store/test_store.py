"""The portal store: migrations, database setup, time handling and the public face."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

import mpp_bus.store as store_pkg
from mpp_bus.errors import ConfigError
from mpp_bus.store import create_store, upgrade
from mpp_bus.store.database import normalise_url
from mpp_bus.store.tables import TABLES, agencies, applications, is_derived, metadata


def test_public_names_do_not_drift():
    exported = set(store_pkg.__all__)
    assert len(exported) == len(store_pkg.__all__)
    imported = {n for n, v in vars(store_pkg).items() if not n.startswith("_") and not isinstance(v, ModuleType)}
    assert imported - {"annotations"} == exported


def test_migrations_create_exactly_the_declared_tables(db_url):
    store = create_store(db_url, upgrade=True)
    try:
        store.upgrade()  # a second upgrade is a no-op
        assert store.is_current()
        with store.engine.connect() as conn:
            # The search index is derived data the migrations add beside the model (see tables.is_derived).
            context = MigrationContext.configure(
                conn, opts={"include_name": lambda name, _kind, _parent: not is_derived(name)})
            diff = compare_metadata(context, metadata)
            names = set(inspect(conn).get_table_names())
        assert diff == []
        assert {t.name for t in TABLES} <= names
        columns = {c.name for c in applications.columns}
        assert "nik_hash" in columns and "nik_masked" in columns
        assert not any(c in columns for c in ("nik", "applicant_nik"))  # never a clear NIK column
    finally:
        store.dispose()


def test_sqlite_file_folder_is_created_with_wal_and_foreign_keys(tmp_path: Path):
    path = tmp_path / "deep" / "er" / "bus.db"
    upgrade(f"sqlite:///{path}")
    assert path.exists()
    store = create_store(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.dispose()
    assert sqlite3.connect(path).execute("select count(*) from alembic_version").fetchone() == (1,)


def test_urls():
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ConfigError, match="unsupported database"):
        normalise_url("mysql://u@h/db")
    with pytest.raises(ConfigError, match="not valid"):
        normalise_url("not a url at all")


def test_datetimes_come_back_aware_in_utc(db_url):
    store = create_store(db_url, upgrade=True)
    jakarta = timezone(timedelta(hours=7))
    when = datetime(2025, 5, 1, 9, 30, 15, 123456, tzinfo=jakarta)
    with store.engine.begin() as conn:
        conn.execute(agencies.insert().values(id="a", name="A", level="pusat", updated_at=when))
        got = conn.execute(select(agencies.c.updated_at)).scalar_one()
        assert got == when and got.tzinfo is not None and got.utcoffset() == timedelta(0)
        with pytest.raises(Exception, match="timezone-aware"):
            conn.execute(agencies.update().values(updated_at=datetime(2025, 1, 1)))
    store.dispose()
    assert datetime(2025, 5, 1, 2, 30, 15, 123456, tzinfo=UTC) == got
