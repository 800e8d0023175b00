"""SQLite write path: prepared statements run with ``executemany``, upserts by ``ON CONFLICT DO UPDATE``."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from mpp_bus.store.types import sqlite_time
from mpp_bus.store.writers.base import (
    APPLICATION_COLUMNS,
    EVENT_COLUMNS,
    ApplicationWriter,
    Current,
    driver_connection,
)


class SqliteWriter(ApplicationWriter):
    dialect = "sqlite"

    def __init__(self) -> None:
        cols = ", ".join(APPLICATION_COLUMNS)
        marks = ", ".join("?" for _ in APPLICATION_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in APPLICATION_COLUMNS[2:])
        self._upsert = (
            f"INSERT INTO applications ({cols}) VALUES ({marks}) "
            f"ON CONFLICT (agency_id, application_id) DO UPDATE SET {updates} "
            "WHERE excluded.source_updated_at >= applications.source_updated_at"
        )
        self._events = (
            f"INSERT INTO status_events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' for _ in EVENT_COLUMNS)}) "
            "ON CONFLICT (application_id, agency_id, idempotency_key) DO NOTHING"
        )
        # json_each keeps this one statement whatever the page size (no limit on bound variables to hit).
        self._current = (
            "SELECT application_id, status, source_updated_at, content_hash FROM applications "
            "WHERE agency_id = ? AND application_id IN (SELECT value FROM json_each(?))"
        )

    def time(self, value: datetime) -> Any:
        return sqlite_time(value)

    def date(self, value: date | None) -> Any:
        return None if value is None else value.isoformat()

    def current(self, conn: Connection, agency_id: str, ids: Collection[str]) -> dict[str, Current]:
        if not ids:
            return {}
        cursor = driver_connection(conn).cursor()
        try:
            cursor.execute(self._current, (agency_id, json.dumps(list(ids))))
            return {row[0]: Current(row[1], row[2], row[3]) for row in cursor.fetchall()}
        finally:
            cursor.close()

    def upsert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            driver_connection(conn).executemany(self._upsert, rows)

    def add_events(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            driver_connection(conn).executemany(self._events, rows)
