"""The store as the sync engine sees it: one connection held for a run, one transaction per page.

The engine speaks no SQL: it opens a ``SyncSession`` for a run and, for each page, a ``PageTransaction`` whose
methods write the page's records, its quarantine and the cursor after it. Everything done through one
``PageTransaction`` commits together, or not at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mpp_bus.store import outbox, state
from mpp_bus.store.runs import RunCounts
from mpp_bus.store.state import CursorState, QuarantineRow, StoredService
from mpp_bus.store.writers import ApplicationRow, ApplicationWriter, Current, StatusEventRow


class PageTransaction:
    """The writes of one page, inside one open transaction (see ``SyncSession.transaction``)."""

    __slots__ = ("_conn", "writer")

    def __init__(self, conn: Connection, writer: ApplicationWriter) -> None:
        self._conn = conn
        self.writer = writer

    # --- applications (the writer's bulk path) ------------------------------------------------------------------

    def current_applications(self, agency_id: str, ids: Collection[str]) -> dict[str, Current]:
        """What the store holds of the applications ``ids`` of one agency."""
        return self.writer.current(self._conn, agency_id, ids)

    def insert_new_applications(self, rows: Sequence[ApplicationRow]) -> set[str]:
        """Insert the rows of applications not stored yet; returns their ids (only if ``writer.optimistic``)."""
        return self.writer.insert_new(self._conn, rows)

    def write_applications(self, rows: Sequence[ApplicationRow], events: Sequence[StatusEventRow]) -> None:
        """Upsert applications (never back in time) and add their status events (once per idempotency key)."""
        self.writer.write_page(self._conn, rows, events)

    # --- the outbox ------------------------------------------------------------------------------------------------

    def move_submission(self, record: outbox.SubmissionRecord, new: outbox.SubmissionState, *, now: datetime,
                        **values: Any) -> outbox.SubmissionRecord | None:
        """Move a submission in this transaction (with the application its receipt makes, for a delivery); None
        when someone moved it since it was read."""
        return outbox.move(self._conn, record, new, now=now, **values)

    # --- the service catalog ------------------------------------------------------------------------------------

    def current_services(self, agency_id: str, codes: Collection[str]) -> dict[str, StoredService]:
        return state.current_services(self._conn, agency_id, codes)

    def upsert_services(self, rows: Sequence[Mapping[str, Any]]) -> None:
        state.upsert_services(self._conn, rows)

    def mark_seen(self, agency_id: str, codes: Collection[str], generation: int) -> None:
        state.mark_seen(self._conn, agency_id, codes, generation)

    def withdraw_unseen(self, agency_id: str, generation: int, *, now: datetime) -> int:
        return state.withdraw_unseen(self._conn, agency_id, generation, now=now)

    # --- bookkeeping --------------------------------------------------------------------------------------------

    def add_quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        state.add_quarantine(self._conn, rows)

    def resolve_quarantine(self, agency_id: str, stream: str, record_ids: Collection[str], *, resolution: str,
                           run_id: int, now: datetime) -> int:
        """Close the open quarantine rows of these records (``state.STORED`` or ``state.SUPERSEDED``)."""
        return state.resolve_quarantine(self._conn, agency_id, stream, record_ids, resolution=resolution,
                                        run_id=run_id, now=now)

    def save_cursor(self, agency_id: str, stream: str, position: CursorState, *, now: datetime) -> None:
        state.save_cursor(self._conn, agency_id, stream, position, now=now)

    def record_progress(self, run_id: int, counts: RunCounts) -> None:
        state.record_progress(self._conn, run_id, counts)


class SyncSession:
    """One connection held for the pages of a run (staging tables and prepared statements live as long as it)."""

    __slots__ = ("_conn", "writer")

    def __init__(self, conn: Connection, writer: ApplicationWriter) -> None:
        self._conn = conn
        self.writer = writer

    def prepare_applications(self) -> None:
        """Before the first page of applications, outside a transaction (see ``ApplicationWriter.prepare``)."""
        self.writer.prepare(self._conn)

    def refresh_statistics(self) -> None:
        """After a large run, outside a transaction (see ``ApplicationWriter.refresh_statistics``)."""
        self.writer.refresh_statistics(self._conn)

    def load_cursor(self, agency_id: str, stream: str) -> CursorState | None:
        with self._conn.begin():
            return state.load_cursor(self._conn, agency_id, stream)

    def has_open_quarantine(self, agency_id: str, stream: str) -> bool:
        """True when a record of this stream waits in quarantine (only then do pages resolve rows)."""
        with self._conn.begin():
            return state.has_open_quarantine(self._conn, agency_id, stream)

    @contextmanager
    def transaction(self) -> Iterator[PageTransaction]:
        """A transaction that commits when the block ends, or rolls back if it raises."""
        with self._conn.begin():
            yield PageTransaction(self._conn, self.writer)
