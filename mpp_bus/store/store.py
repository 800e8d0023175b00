"""The portal store's public face: one object for migrations, the writer lock, the read queries and the audit log.

Every other package asks the store its questions through these methods and gets plain typed values back; none of
them writes SQL or names a table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from mpp_bus.canonical.entities import Agency
from mpp_bus.store import alerts, outbox, queries, state
from mpp_bus.store.breakers import BreakerStatus, StoreBreakerStates
from mpp_bus.store.database import make_engine
from mpp_bus.store.locks import SyncLock
from mpp_bus.store.migrate import current_revision, head_revision, upgrade
from mpp_bus.store.portal_sessions import SessionTable
from mpp_bus.store.reads import audit, catalog, content, health, performance, reconcile
from mpp_bus.store.reads import requirements as requirements_reads
from mpp_bus.store.reads.audit import Outcome
from mpp_bus.store.runs import RunCounts, RunRecord, RunStatus
from mpp_bus.store.session import SyncSession
from mpp_bus.store.writers import ApplicationWriter, writer_for

# The stream name of a run that records a failed check (a pseudo-stream: no data, only the outcome).
CHECK_STREAM = "check"


class Store:
    """The unified portal store (SQLite or PostgreSQL).

    Example::

        store = create_store("sqlite:///var/mpp-bus.db")
        store.upgrade()
        for run in store.recent_runs(limit=5):
            print(run.agency_id, run.stream, run.status, run.read)
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @cached_property
    def writer(self) -> ApplicationWriter:
        """The bulk writer of applications for this database."""
        return writer_for(self.engine)

    @cached_property
    def portal_sessions(self) -> SessionTable:
        """The citizen pages' server-side sessions."""
        return SessionTable(self.engine)

    def upgrade(self, revision: str = "head") -> None:
        """Apply the schema migrations up to ``revision``."""
        upgrade(self.engine, revision)

    def is_current(self) -> bool:
        """True when the schema is at the newest migration."""
        return current_revision(self.engine) == head_revision()

    def is_set_up(self) -> bool:
        """True when the store answers and has been migrated at all (False for a missing or unreachable one)."""
        try:
            return current_revision(self.engine) is not None
        except SQLAlchemyError:
            return False

    def lock(self, agency_id: str, stream: str, *, wait: float = 0.0) -> SyncLock:
        """The writer lock of one agency stream (a context manager); raises ``SyncLockedError`` when it is taken
        and not freed within ``wait`` seconds."""
        return SyncLock(self.engine, agency_id, stream, wait=wait)

    def register_agency(self, agency: Agency, *, adapter: str | None = None) -> None:
        with self.engine.begin() as conn:
            state.register_agency(conn, agency, adapter=adapter, now=datetime.now(UTC))

    # --- sync runs ----------------------------------------------------------------------------------------------

    def open_run(self, agency_id: str, stream: str, mode: str, *, now: datetime) -> int:
        """Record a run as started and return its id; runs of this agency stream left running become abandoned
        (call it holding the stream's writer lock)."""
        with self.engine.begin() as conn:
            return state.open_run(conn, agency_id, stream, mode, now=now)

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: RunCounts,
        duration_s: float,
        now: datetime,
        error: str | None = None,
        breaker_state: str | None = None,
    ) -> RunRecord:
        """Record a run's outcome and return the finished record."""
        with self.engine.begin() as conn:
            return state.finish_run(conn, run_id, status=status, counts=counts, duration_s=duration_s, now=now,
                                    error=error, breaker_state=breaker_state)

    @contextmanager
    def session(self) -> Iterator[SyncSession]:
        """One connection for the pages of a run, each page in its own ``SyncSession.transaction()``."""
        with self.engine.connect() as conn:
            yield SyncSession(conn, self.writer)

    def record_failed_check(self, agency: Agency, *, adapter: str | None, error: str, duration_s: float | None,
                            now: datetime) -> int:
        """A check that failed, kept as a run (stream ``check``, status failed, with the error), so the health view,
        the runs list and the report see an outage even when no sync started. Returns the run id."""
        with self.engine.begin() as conn:
            state.register_agency(conn, agency, adapter=adapter, now=now)
            run_id = state.open_run(conn, agency.id, CHECK_STREAM, CHECK_STREAM, now=now)
            state.finish_run(conn, run_id, status=RunStatus.FAILED, counts=RunCounts(), duration_s=duration_s or 0.0,
                             now=now, error=error)
        return run_id

    def raise_alert(self, agency_id: str, kind: str, message: str, *, now: datetime) -> bool:
        """Open an alert; True only for the caller that opened it (who then notifies)."""
        return alerts.raise_alert(self.engine, agency_id, kind, message, now=now)

    def resolve_alert(self, agency_id: str, kind: str, *, now: datetime) -> bool:
        return alerts.resolve_alert(self.engine, agency_id, kind, now=now)

    def open_alerts(self) -> list[alerts.AlertRecord]:
        return alerts.alerts(self.engine)

    # --- read queries -------------------------------------------------------------------------------------------

    def recent_runs(
        self,
        *,
        agency_id: str | None = None,
        stream: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        with self.engine.connect() as conn:
            return queries.recent_runs(conn, agency_id=agency_id, stream=stream, status=status, limit=limit)

    def quarantine_items(
        self, *, agency_id: str | None = None, run_id: int | None = None, limit: int = 100, open_only: bool = False
    ) -> list[queries.QuarantineItem]:
        with self.engine.connect() as conn:
            return queries.quarantine_items(conn, agency_id=agency_id, run_id=run_id, limit=limit,
                                            open_only=open_only)

    def quarantine_item(self, item_id: int) -> queries.QuarantineItem | None:
        with self.engine.connect() as conn:
            return queries.quarantine_item(conn, item_id)

    def open_quarantine(self, *, item_id: int | None = None, reason: str | None = None,
                        agency_id: str | None = None) -> list[queries.OpenRecord]:
        """The open quarantine rows ``mpp-bus quarantine retry`` reads again."""
        with self.engine.connect() as conn:
            return queries.open_quarantine(conn, item_id=item_id, reason=reason, agency_id=agency_id)

    def open_quarantine_counts(self, *, agency_id: str | None = None) -> dict[tuple[str, str], int]:
        """Open quarantine rows per (agency, stream)."""
        with self.engine.connect() as conn:
            return queries.open_quarantine_counts(conn, agency_id=agency_id)

    def agency_summaries(self, agency_id: str | None = None) -> list[health.AgencySummary]:
        """Per agency: catalog, applications, quarantine and how its runs went (the one health query)."""
        with self.engine.connect() as conn:
            return health.agency_summaries(conn, agency_id)

    def breaker_states(self) -> dict[str, BreakerStatus]:
        """Each agency's circuit breaker, by agency id (an agency without one is closed)."""
        return StoreBreakerStates(self.engine).all()

    def citizen_applications(self, nik_hash: str) -> list[queries.CitizenApplication]:
        with self.engine.connect() as conn:
            return queries.citizen_applications(conn, nik_hash)

    def requirement_states(self, nik_hash: str,
                           requirements: Iterable[str]) -> list[requirements_reads.RequirementState]:
        """Each requirement of a service as held by the citizen (the output document of one of their completed
        applications at any agency) or still needed."""
        with self.engine.connect() as conn:
            return requirements_reads.requirement_states(conn, nik_hash, requirements)

    def widest_citizen(self) -> str | None:
        with self.engine.connect() as conn:
            return queries.widest_citizen(conn)

    def status_history(self, agency_id: str, application_id: str) -> list[queries.HistoryEntry]:
        with self.engine.connect() as conn:
            return queries.status_history(conn, agency_id, application_id)

    # --- the service catalog --------------------------------------------------------------------------------------

    def search_services(self, where: catalog.CatalogFilter, *, limit: int,
                        offset: int) -> tuple[int, list[catalog.CatalogService]]:
        """Services on offer matching ``where``, best match first when it has text (else by agency and code), with
        the total count."""
        with self.engine.connect() as conn:
            return catalog.search_services(conn, where, limit=limit, offset=offset)

    def service_detail(self, agency_id: str, code: str) -> catalog.CatalogService | None:
        with self.engine.connect() as conn:
            return catalog.service_detail(conn, agency_id, code)

    def service_categories(self) -> list[tuple[str, int]]:
        """Categories of the services on offer, with how many services each has."""
        with self.engine.connect() as conn:
            return catalog.categories(conn)

    # --- the audit log ----------------------------------------------------------------------------------------------

    def record_audit(self, entry: audit.AuditEntry, *, at: datetime) -> None:
        """Write one audit entry in its own transaction; a failure propagates."""
        with self.engine.begin() as conn:
            audit.record_audit(conn, entry, at=at)

    def audit_attempts(self, action: str, *, since: datetime, actor: str | None = None,
                       subject_nik_hash: str | None = None) -> int:
        with self.engine.connect() as conn:
            return audit.audit_attempts(conn, action, since=since, actor=actor, subject_nik_hash=subject_nik_hash)

    def audit_entries(self, *, limit: int = 100, action: str | None = None, subject_nik_hash: str | None = None,
                      offset: int = 0) -> list[audit.AuditRecord]:
        with self.engine.connect() as conn:
            return audit.audit_entries(conn, limit=limit, action=action, subject_nik_hash=subject_nik_hash,
                                       offset=offset)

    # --- performance reporting --------------------------------------------------------------------------------------

    def agency_names(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return performance.agency_names(conn)

    def service_names(self) -> dict[tuple[str, str], str]:
        with self.engine.connect() as conn:
            return performance.service_names(conn)

    def application_timings(self, decided: Sequence[str], *, agency_id: str | None = None,
                            service_code: str | None = None) -> Iterator[performance.ApplicationTiming]:
        """Applications in (agency, service) order with their first decision time, streamed."""
        with self.engine.connect() as conn:
            yield from performance.application_timings(conn, decided, agency_id=agency_id,
                                                       service_code=service_code)

    def replace_performance_snapshot(self, rows: Sequence[performance.ServicePerformance],
                                     computed_at: datetime) -> None:
        """Replace the stored performance snapshot with ``rows`` in one transaction."""
        with self.engine.begin() as conn:
            performance.replace_performance_snapshot(conn, rows, computed_at)

    def performance_snapshot(
        self, *, agency_id: str | None = None, service_code: str | None = None
    ) -> tuple[datetime, list[performance.ServicePerformance]] | None:
        with self.engine.connect() as conn:
            return performance.performance_snapshot(conn, agency_id=agency_id, service_code=service_code)

    # --- reconciliation ---------------------------------------------------------------------------------------------

    def application_versions(self, agency_id: str, start: datetime | None = None,
                             end: datetime | None = None) -> Iterator[reconcile.StoredVersion]:
        """The agency's stored applications (optionally those updated in ``[start, end)``), streamed."""
        with self.engine.connect() as conn:
            yield from reconcile.application_versions(conn, agency_id, start, end)

    def application_versions_of(self, agency_id: str, ids: Sequence[str]) -> list[reconcile.StoredVersion]:
        with self.engine.connect() as conn:
            return reconcile.application_versions_of(conn, agency_id, ids)

    # --- the outbox (submissions on their way to agencies) -----------------------------------------------------------

    def accept_submission(self, new: outbox.NewSubmission, *,
                          now: datetime | None = None) -> tuple[outbox.SubmissionRecord, bool]:
        """Accept a submission in one transaction, keyed by the citizen and the client's idempotency key.

        Returns the submission and whether it was created now: a replay (same key, same request) returns the first
        one, also when two requests race; the same key with another request raises ``IdempotencyConflictError``."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            existing = outbox.submission_by_key(conn, new.nik_hash, new.client_key)
        if existing is not None:
            return outbox.replayed(existing, new), False
        try:
            with self.engine.begin() as conn:
                return outbox.insert_submission(conn, new, now=now), True
        except IntegrityError:
            with self.engine.connect() as conn:
                existing = outbox.submission_by_key(conn, new.nik_hash, new.client_key)
            if existing is None:
                raise
            return outbox.replayed(existing, new), False

    def submission(self, submission_id: int) -> outbox.SubmissionRecord | None:
        with self.engine.connect() as conn:
            return outbox.submission(conn, submission_id)

    def submission_by_reference(self, reference: str) -> outbox.SubmissionRecord | None:
        with self.engine.connect() as conn:
            return outbox.submission_by_reference(conn, reference)

    def submission_by_key(self, nik_hash: str, client_key: str) -> outbox.SubmissionRecord | None:
        with self.engine.connect() as conn:
            return outbox.submission_by_key(conn, nik_hash, client_key)

    def citizen_submissions(self, nik_hash: str, *, limit: int = 200) -> list[outbox.SubmissionRecord]:
        """A citizen's submissions, newest first, with their delivery state."""
        with self.engine.connect() as conn:
            return outbox.citizen_submissions(conn, nik_hash, limit=limit)

    def list_submissions(self, *, agency_id: str | None = None,
                         states: Sequence[outbox.SubmissionState] | None = None,
                         limit: int = 100) -> list[outbox.SubmissionRecord]:
        """Submissions for an admin, newest first; the sealed data is never read."""
        with self.engine.connect() as conn:
            return outbox.list_submissions(conn, agency_id=agency_id, states=states, limit=limit)

    def due_submissions(self, agency_id: str, *, now: datetime, limit: int = 100) -> list[outbox.SubmissionRecord]:
        with self.engine.connect() as conn:
            return outbox.due_submissions(conn, agency_id, now=now, limit=limit)

    def agencies_waiting(self, *, now: datetime | None = None) -> dict[str, int]:
        """Agencies with submissions waiting (due by ``now`` when given), and how many."""
        with self.engine.connect() as conn:
            return outbox.agencies_waiting(conn, now=now)

    def next_submission_due(self, agency_id: str) -> datetime | None:
        with self.engine.connect() as conn:
            return outbox.next_due(conn, agency_id)

    def outbox_counts(self, agency_id: str | None = None) -> dict[tuple[str, outbox.SubmissionState], int]:
        with self.engine.connect() as conn:
            return outbox.outbox_counts(conn, agency_id)

    def move_submission(self, record: outbox.SubmissionRecord, new: outbox.SubmissionState, *, now: datetime,
                        outcome: Outcome = Outcome.ALLOWED, **values: object) -> outbox.SubmissionRecord | None:
        """Move a submission to ``new`` if nobody moved it since it was read (audited; a finished state purges its
        sealed data); None when it had moved."""
        with self.engine.begin() as conn:
            return outbox.move(conn, record, new, now=now, outcome=outcome, **values)

    def sealed_finished_submissions(self) -> int:
        """Finished submissions still holding sealed personal data: always 0 (a check for tests and admins)."""
        with self.engine.connect() as conn:
            return outbox.sealed_count(conn)

    # --- whole-store looks ------------------------------------------------------------------------------------------

    def content_counts(self) -> content.ContentCounts:
        """How many services, applications and status events are stored."""
        with self.engine.connect() as conn:
            return content.content_counts(conn)

    def stored_text(self) -> str:
        """Every stored value as text, one per line (for scans that no clear personal data was kept)."""
        with self.engine.connect() as conn:
            return content.stored_text(conn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def create_store(url: str | URL, *, upgrade: bool = False) -> Store:
    """A store on ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``); ``upgrade=True`` migrates it too."""
    store = Store(make_engine(url))
    if upgrade:
        store.upgrade()
    return store
