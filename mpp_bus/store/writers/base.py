"""The bulk write path of applications and their history: one small interface, one writer per dialect."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection


class ApplicationRow(NamedTuple):
    """An application as the engine hands it to the writers: the columns of ``applications``, times and dates as
    the writer encodes them (``ApplicationWriter.time``/``date``). A tuple underneath, so the writers load it as it
    is (COPY rows, ``executemany`` parameters) in this field order."""

    agency_id: str
    application_id: str
    service_code: str
    nik_hash: str
    nik_masked: str
    status: str
    agency_status: str
    status_at: Any
    submitted_at: Any
    sla_due_date: Any
    output_document: str | None
    source_updated_at: Any
    content_hash: str
    synced_at: Any
    revision_note: str | None  # the agency's free text, already redacted (last: the older columns keep their places)


class StatusEventRow(NamedTuple):
    """A reported status of an application, for its history (``status_events``); ``applied`` tells whether it
    became the current status, or came too late (stale)."""

    agency_id: str
    application_id: str
    status: str
    agency_status: str
    occurred_at: Any
    idempotency_key: str
    applied: bool
    recorded_at: Any


class Current(NamedTuple):
    """What the store holds for an application, to decide what a newly read record does to it."""

    status: str
    source_updated_at: Any  # as the writer encodes it
    content_hash: str


APPLICATION_COLUMNS: tuple[str, ...] = ApplicationRow._fields
EVENT_COLUMNS: tuple[str, ...] = StatusEventRow._fields


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

    def insert_new(self, conn: Connection, rows: Sequence[ApplicationRow]) -> set[str]:
        """Insert the rows whose application is not stored yet and return their ids; rows of stored applications
        are left alone. Only called when ``optimistic`` is true."""
        raise NotImplementedError

    @abstractmethod
    def upsert(self, conn: Connection, rows: Sequence[ApplicationRow]) -> None:
        """Insert or update applications, never going back in time."""

    @abstractmethod
    def add_events(self, conn: Connection, rows: Sequence[StatusEventRow]) -> None:
        """Insert status events, ignoring those whose idempotency key is already stored."""

    def write_page(
        self, conn: Connection, rows: Sequence[ApplicationRow], events: Sequence[StatusEventRow]
    ) -> None:
        """``upsert`` then ``add_events``; a writer may do both in fewer round trips."""
        self.upsert(conn, rows)
        self.add_events(conn, events)


def driver_connection(conn: Connection) -> Any:
    """The DB-API connection under ``conn``, sharing its transaction."""
    return conn.connection.driver_connection
