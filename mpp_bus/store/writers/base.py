"""The bulk write path of applications and their history: one small interface, one writer per dialect."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

# Row layouts the engine builds and the writers load, in this order.
APPLICATION_COLUMNS = (
    "agency_id",
    "application_id",
    "service_code",
    "nik_hash",
    "nik_masked",
    "status",
    "agency_status",
    "status_at",
    "submitted_at",
    "sla_due_date",
    "output_document",
    "source_updated_at",
    "content_hash",
    "synced_at",
)
EVENT_COLUMNS = (
    "agency_id",
    "application_id",
    "status",
    "agency_status",
    "occurred_at",
    "idempotency_key",
    "applied",
    "recorded_at",
)

Current = tuple[str, Any, str]
"""What the store holds for an application: (status, source_updated_at as the writer encodes it, content_hash)."""


class ApplicationWriter(ABC):
    """Writes one page of applications and status events inside the caller's transaction.

    Times are passed encoded by ``time`` (so the engine compares what it reads back from ``current`` with what it
    is about to write without converting either); encoded times order like the instants they encode.
    """

    dialect: str
    # True when ``insert_new`` is cheaper than looking ids up: a first load then never reads the store back.
    optimistic: bool = False
    # True when each statement waits on a database server (the engine then hands the GIL over sooner: prefetch.py).
    remote: bool = False

    def prepare(self, conn: Connection) -> None:  # noqa: B027 - a hook: most writers need nothing here
        """Once per connection, outside a transaction, before the first page (staging tables and the like)."""

    def refresh_statistics(self, conn: Connection) -> None:  # noqa: B027 - a hook: only some databases need it
        """After a large run, outside a transaction: bring the query planner's statistics up to date."""

    @abstractmethod
    def time(self, value: datetime) -> Any:
        """Encode an aware datetime for this database."""

    @abstractmethod
    def date(self, value: date | None) -> Any:
        """Encode a date for this database."""

    @abstractmethod
    def current(self, conn: Connection, agency_id: str, ids: Collection[str]) -> dict[str, Current]:
        """The stored state of the applications ``ids`` of one agency, in one query."""

    def insert_new(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> set[str]:
        """Insert the rows whose application is not stored yet and return their ids; rows of stored applications
        are left alone. Only called when ``optimistic`` is true."""
        raise NotImplementedError

    @abstractmethod
    def upsert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert or update applications (rows laid out as ``APPLICATION_COLUMNS``), never going back in time."""

    @abstractmethod
    def add_events(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert status events (``EVENT_COLUMNS``), ignoring those whose idempotency key is already stored."""

    def write_page(
        self, conn: Connection, rows: Sequence[tuple[Any, ...]], events: Sequence[tuple[Any, ...]]
    ) -> None:
        """``upsert`` then ``add_events``; a writer may do both in fewer round trips."""
        self.upsert(conn, rows)
        self.add_events(conn, events)


def driver_connection(conn: Connection) -> Any:
    """The DB-API connection under ``conn``, sharing its transaction."""
    return conn.connection.driver_connection
