"""PostgreSQL write path: COPY a page into a temporary staging table, then one set-based statement per table."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from mpp_bus.store.writers.base import (
    APPLICATION_COLUMNS,
    EVENT_COLUMNS,
    ApplicationRow,
    ApplicationWriter,
    Current,
    StatusEventRow,
    driver_connection,
)

_APP_STAGE = "mpp_stage_applications"
_NEW_STAGE = "mpp_stage_new_applications"
# Wire types of APPLICATION_COLUMNS and EVENT_COLUMNS for binary COPY (varchar travels as text).
_TIME = "timestamptz"
_APP_TYPES = ["text"] * 7 + [_TIME, _TIME, "date", "text", _TIME, "text", _TIME, "text"]
_EVENT_TYPES = ["text"] * 4 + [_TIME, "text", "bool", _TIME]
_EVENT_STAGE = "mpp_stage_status_events"


class PostgresWriter(ApplicationWriter):
    """Staging tables empty themselves at commit, so ``upsert`` and ``add_events`` run at most once a transaction."""

    dialect = "postgresql"
    remote = True
    optimistic = True  # an index probe per id is the cost of a page: insert first, look up only the conflicts

    def __init__(self) -> None:
        app_cols = ", ".join(APPLICATION_COLUMNS)
        event_cols = ", ".join(EVENT_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in APPLICATION_COLUMNS[2:])
        self._stage = (
            # ON COMMIT DELETE ROWS: each page's transaction starts with empty staging tables.
            f"CREATE TEMP TABLE IF NOT EXISTS {_APP_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {app_cols} FROM applications WITH NO DATA; "
            f"CREATE TEMP TABLE IF NOT EXISTS {_NEW_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {app_cols} FROM applications WITH NO DATA; "
            f"CREATE TEMP TABLE IF NOT EXISTS {_EVENT_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {event_cols} FROM status_events WITH NO DATA"
        )
        # Binary COPY: no text formatting of times on our side, no parsing on the server's.
        self._copy_apps = f"COPY {_APP_STAGE} ({app_cols}) FROM STDIN (FORMAT BINARY)"
        self._copy_new = f"COPY {_NEW_STAGE} ({app_cols}) FROM STDIN (FORMAT BINARY)"
        self._insert_new = (
            f"INSERT INTO applications ({app_cols}) SELECT {app_cols} FROM {_NEW_STAGE} "
            "ON CONFLICT (agency_id, application_id) DO NOTHING RETURNING application_id"
        )
        self._copy_events = f"COPY {_EVENT_STAGE} ({event_cols}) FROM STDIN (FORMAT BINARY)"
        self._upsert = (
            f"INSERT INTO applications ({app_cols}) SELECT {app_cols} FROM {_APP_STAGE} "
            f"ON CONFLICT (agency_id, application_id) DO UPDATE SET {updates} "
            "WHERE applications.source_updated_at <= excluded.source_updated_at"
        )
        self._events = (
            f"INSERT INTO status_events ({event_cols}) SELECT {event_cols} FROM {_EVENT_STAGE} "
            "ON CONFLICT (application_id, agency_id, idempotency_key) DO NOTHING"
        )
        self._current = (
            "SELECT application_id, status, source_updated_at, content_hash FROM applications "
            "WHERE agency_id = %s AND application_id = ANY(%s)"
        )

    def prepare(self, conn: Connection) -> None:
        with conn.begin(), driver_connection(conn).cursor() as cur:
            for statement in self._stage.split("; "):
                cur.execute(statement)

    def refresh_statistics(self, conn: Connection) -> None:
        # Autovacuum would get there too, but only after a delay in which every look-up by id plans a scan.
        with conn.begin(), driver_connection(conn).cursor() as cur:
            cur.execute("ANALYZE applications, status_events")

    def time(self, value: datetime) -> Any:
        # Aware datetimes as they are: binary COPY sends the instant whatever the zone, and they compare as instants.
        return value

    def date(self, value: date | None) -> Any:
        return value

    def current(self, conn: Connection, agency_id: str, ids: Collection[str]) -> dict[str, Current]:
        if not ids:
            return {}
        with driver_connection(conn).cursor() as cur:
            # Never a prepared (generic) plan: one made while the table was small would scan it whole for ever.
            cur.execute(self._current, (agency_id, list(ids)), prepare=False)
            return {row[0]: Current(row[1], row[2], row[3]) for row in cur.fetchall()}

    def insert_new(self, conn: Connection, rows: Sequence[ApplicationRow]) -> set[str]:
        if not rows:
            return set()
        with driver_connection(conn).cursor() as cur:
            _copy(cur, self._copy_new, _APP_TYPES, rows)
            cur.execute(self._insert_new)
            return {row[0] for row in cur.fetchall()}

    def upsert(self, conn: Connection, rows: Sequence[ApplicationRow]) -> None:
        self.write_page(conn, rows, ())

    def add_events(self, conn: Connection, rows: Sequence[StatusEventRow]) -> None:
        self.write_page(conn, (), rows)

    def write_page(
        self, conn: Connection, rows: Sequence[ApplicationRow], events: Sequence[StatusEventRow]
    ) -> None:
        """Two COPYs and one round trip for both set-based statements."""
        statements = []
        with driver_connection(conn).cursor() as cur:
            if rows:
                _copy(cur, self._copy_apps, _APP_TYPES, rows)
                statements.append(self._upsert)
            if events:
                _copy(cur, self._copy_events, _EVENT_TYPES, events)
                statements.append(self._events)
            if statements:
                # The page and the cursor after it commit together, so a commit lost in a server crash only means
                # the page is read again: no need to wait for the WAL flush. The run's final commit is synchronous
                # and flushes everything before it.
                cur.execute("; ".join(["SET LOCAL synchronous_commit TO OFF", *statements]))


def _copy(cur: Any, copy_sql: str, types: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    with cur.copy(copy_sql) as copy:
        copy.set_types(types)
        write_row = copy.write_row
        for row in rows:
            write_row(row)
