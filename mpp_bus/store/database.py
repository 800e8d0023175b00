"""Engines for the portal store: a SQLite file by default, PostgreSQL (psycopg 3) by URL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url

from mpp_bus.errors import ConfigError


def normalise_url(url: str | URL) -> URL:
    """The URL with its driver made explicit: plain ``postgresql://`` means psycopg 3, the driver the bus ships."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with the (possibly secret-bearing) URL in it
        raise ConfigError("the database URL is not valid; expected sqlite:///path or postgresql+psycopg://...") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite:/// or postgresql+psycopg://"
        )
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and its parent folder created."""
    parsed = normalise_url(url)
    # Parameters never appear in SQL error messages: they may hold personal data.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


@contextmanager
def scratch_database(server_url: str | URL, *, prefix: str = "mpp_scratch") -> Iterator[str]:
    """A new, empty, uniquely named PostgreSQL database on the server of ``server_url``, dropped (with any
    connections still open to it) when the block ends; yields its URL, password included, for a child process."""
    server = normalise_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL with synchronous=NORMAL never corrupts and keeps a page's records and cursor together; only the last
    # commits before a power loss may be lost, and the cursor goes back with them.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Bulk pages touch random spots of the key indexes, so the page cache is larger than the default 2 MiB. It is
    # resident memory of the sync process and is full by 100k records. Measured on a REST -> SQLite sync of 1M
    # records: 32 MiB syncs as fast as 64 MiB (records/s and CPU time within noise) at 113 MiB peak RSS instead of
    # 150 MiB; 16 MiB peaks at 95 MiB but is a few per cent slower. Rarer checkpoints mean fewer fsyncs of the
    # main file.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()
