"""Read queries for the CLI, the read API and the portal: runs, quarantine, a citizen's applications with their
freshness, and an application's status history. Agency health and the other questions are in ``reads/``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from mpp_bus.canonical.status import Status
from mpp_bus.contract.stream import StreamName
from mpp_bus.store.runs import RunRecord, RunStatus
from mpp_bus.store.tables import agencies, applications, quarantine, services, status_events, sync_runs


@dataclass(frozen=True)
class QuarantineItem:
    id: int
    run_id: int
    agency_id: str
    stream: str
    record_id: str | None
    reason: str
    payload: Any
    created_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None  # `stored` or `superseded` once closed
    resolved_run_id: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class OpenRecord:
    """An open quarantine row's record, to read again from its agency (``mpp-bus quarantine retry``)."""

    id: int
    agency_id: str
    stream: str
    record_id: str | None


@dataclass(frozen=True)
class CitizenApplication:
    """One application of a citizen, with how fresh its status is (the agency's last successful sync)."""

    agency_id: str
    agency_name: str
    application_id: str
    service_code: str
    service_name: str | None
    nik_masked: str
    status: Status
    agency_status: str
    status_at: datetime
    submitted_at: datetime
    sla_due_date: date | None
    output_document: str | None
    synced_at: datetime
    freshness: datetime | None
    revision_note: str | None = None  # what to fix, in the agency's words (redacted)

    @property
    def status_label(self) -> str:
        return self.status.label


@dataclass(frozen=True)
class HistoryEntry:
    status: Status
    agency_status: str
    occurred_at: datetime
    applied: bool
    recorded_at: datetime


def recent_runs(
    conn: Connection,
    *,
    agency_id: str | None = None,
    stream: str | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """The newest sync runs first, optionally of one agency, stream or status."""
    stmt = select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
    if agency_id:
        stmt = stmt.where(sync_runs.c.agency_id == agency_id)
    if stream:
        stmt = stmt.where(sync_runs.c.stream == stream)
    if status:
        stmt = stmt.where(sync_runs.c.status == status)
    return [RunRecord.from_row(row) for row in conn.execute(stmt)]


def quarantine_items(
    conn: Connection, *, agency_id: str | None = None, run_id: int | None = None, limit: int = 100,
    open_only: bool = False,
) -> list[QuarantineItem]:
    """Quarantined records, newest first (only the open ones with ``open_only``)."""
    stmt = select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
    if agency_id:
        stmt = stmt.where(quarantine.c.agency_id == agency_id)
    if run_id is not None:
        stmt = stmt.where(quarantine.c.run_id == run_id)
    if open_only:
        stmt = stmt.where(quarantine.c.resolved_at.is_(None))
    return [QuarantineItem(**row._asdict()) for row in conn.execute(stmt)]


def open_quarantine(
    conn: Connection, *, item_id: int | None = None, reason: str | None = None, agency_id: str | None = None
) -> list[OpenRecord]:
    """The open quarantine rows to retry: one by id, those whose reason contains ``reason``, or all (of an agency)."""
    stmt = (select(quarantine.c.id, quarantine.c.agency_id, quarantine.c.stream, quarantine.c.record_id)
            .where(quarantine.c.resolved_at.is_(None)).order_by(quarantine.c.id))
    if item_id is not None:
        stmt = stmt.where(quarantine.c.id == item_id)
    if reason:
        stmt = stmt.where(quarantine.c.reason.contains(reason, autoescape=True))
    if agency_id:
        stmt = stmt.where(quarantine.c.agency_id == agency_id)
    return [OpenRecord(r.id, r.agency_id, r.stream, r.record_id) for r in conn.execute(stmt)]


def open_quarantine_counts(conn: Connection, *, agency_id: str | None = None) -> dict[tuple[str, str], int]:
    """How many quarantine rows are open, per (agency, stream)."""
    stmt = (select(quarantine.c.agency_id, quarantine.c.stream, func.count())
            .where(quarantine.c.resolved_at.is_(None)).group_by(quarantine.c.agency_id, quarantine.c.stream))
    if agency_id:
        stmt = stmt.where(quarantine.c.agency_id == agency_id)
    return {(a, s): int(n) for a, s, n in conn.execute(stmt)}


def quarantine_item(conn: Connection, item_id: int) -> QuarantineItem | None:
    row = conn.execute(select(quarantine).where(quarantine.c.id == item_id)).one_or_none()
    return None if row is None else QuarantineItem(**row._asdict())


def citizen_applications(conn: Connection, nik_hash: str) -> list[CitizenApplication]:
    """Every application of the citizen whose keyed NIK hash is ``nik_hash``, across agencies, newest status first."""
    fresh = (
        select(sync_runs.c.agency_id, func.max(sync_runs.c.finished_at).label("freshness"))
        .where(sync_runs.c.status == RunStatus.SUCCEEDED, sync_runs.c.stream == StreamName.APPLICATIONS.value)
        .group_by(sync_runs.c.agency_id)
        .subquery()
    )
    stmt = (
        select(
            applications,
            agencies.c.name.label("agency_name"),
            services.c.name.label("service_name"),
            fresh.c.freshness,
        )
        .join(agencies, agencies.c.id == applications.c.agency_id)
        .outerjoin(
            services,
            and_(services.c.agency_id == applications.c.agency_id, services.c.code == applications.c.service_code),
        )
        .outerjoin(fresh, fresh.c.agency_id == applications.c.agency_id)
        .where(applications.c.nik_hash == nik_hash)
        .order_by(applications.c.status_at.desc(), applications.c.agency_id, applications.c.application_id)
    )
    return [
        CitizenApplication(
            agency_id=r.agency_id,
            agency_name=r.agency_name,
            application_id=r.application_id,
            service_code=r.service_code,
            service_name=r.service_name,
            nik_masked=r.nik_masked,
            status=Status(r.status),
            agency_status=r.agency_status,
            status_at=r.status_at,
            submitted_at=r.submitted_at,
            sla_due_date=r.sla_due_date,
            output_document=r.output_document,
            synced_at=r.synced_at,
            freshness=r.freshness,
            revision_note=r.revision_note,
        )
        for r in conn.execute(stmt)
    ]


def widest_citizen(conn: Connection) -> str | None:
    """The NIK hash with applications at the most agencies (a sample citizen for demos), or None when empty."""
    row = conn.execute(
        select(applications.c.nik_hash)
        .group_by(applications.c.nik_hash)
        .order_by(func.count(func.distinct(applications.c.agency_id)).desc(), applications.c.nik_hash)
        .limit(1)
    ).one_or_none()
    return None if row is None else str(row.nik_hash)


def status_history(conn: Connection, agency_id: str, application_id: str) -> list[HistoryEntry]:
    """The status events of one application, oldest first (including out-of-order ones, ``applied=False``)."""
    stmt = (
        select(
            status_events.c.status,
            status_events.c.agency_status,
            status_events.c.occurred_at,
            status_events.c.applied,
            status_events.c.recorded_at,
        )
        .where(status_events.c.agency_id == agency_id, status_events.c.application_id == application_id)
        .order_by(status_events.c.occurred_at, status_events.c.id)
    )
    return [
        HistoryEntry(Status(r.status), r.agency_status, r.occurred_at, bool(r.applied), r.recorded_at)
        for r in conn.execute(stmt)
    ]
