"""What performance reporting (pelaporan kinerja) reads and keeps: each application's timing, streamed in
(agency, service) order, and the stored snapshot of the figures that the report DAG refreshes and the API serves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, func, insert, select

from mpp_bus.store.tables import agencies, applications, performance_reports, services, status_events


@dataclass(frozen=True)
class ServicePerformance:
    """One agency service's figures."""

    agency_id: str
    agency_name: str
    service_code: str
    service_name: str | None
    applications: int
    finished: int
    finished_within_sla: int
    share_within_sla: float | None
    median_processing_days: float | None
    backlog: int
    overdue_backlog: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ApplicationTiming(NamedTuple):
    """One application's times, with the first decision in its history and its service's SLA."""

    agency_id: str
    service_code: str
    status: str
    status_at: datetime
    submitted_at: datetime
    sla_due_date: date | None
    decided_at: datetime | None
    sla_working_days: int | None


def agency_names(conn: Connection) -> dict[str, str]:
    return {a: n for a, n in conn.execute(select(agencies.c.id, agencies.c.name))}


def service_names(conn: Connection) -> dict[tuple[str, str], str]:
    return {(a, c): n for a, c, n in conn.execute(select(services.c.agency_id, services.c.code, services.c.name))}


def application_timings(conn: Connection, decided: Sequence[str], *, agency_id: str | None = None,
                        service_code: str | None = None) -> Iterator[ApplicationTiming]:
    """Applications in (agency, service) order, streamed; ``decided_at`` is the first event in one of the
    ``decided`` statuses."""
    first = (
        select(status_events.c.agency_id, status_events.c.application_id,
               func.min(status_events.c.occurred_at).label("decided_at"))
        .where(status_events.c.status.in_(list(decided)))
        .group_by(status_events.c.agency_id, status_events.c.application_id)
        .subquery()
    )
    apps = applications
    query = (
        select(apps.c.agency_id, apps.c.service_code, apps.c.status, apps.c.status_at, apps.c.submitted_at,
               apps.c.sla_due_date, first.c.decided_at, services.c.sla_working_days)
        .outerjoin(first, and_(first.c.agency_id == apps.c.agency_id,
                               first.c.application_id == apps.c.application_id))
        .outerjoin(services, and_(services.c.agency_id == apps.c.agency_id, services.c.code == apps.c.service_code))
        .order_by(apps.c.agency_id, apps.c.service_code)
    )
    if agency_id:
        query = query.where(apps.c.agency_id == agency_id)
    if service_code:
        query = query.where(apps.c.service_code == service_code)
    for row in conn.execution_options(yield_per=5000).execute(query):
        yield ApplicationTiming(*row)


def replace_performance_snapshot(conn: Connection, rows: Sequence[ServicePerformance], computed_at: datetime) -> None:
    """The snapshot becomes ``rows`` (in the caller's transaction)."""
    conn.execute(delete(performance_reports))
    if rows:
        conn.execute(insert(performance_reports), [{**r.as_dict(), "computed_at": computed_at} for r in rows])


def performance_snapshot(conn: Connection, *, agency_id: str | None = None,
                         service_code: str | None = None) -> tuple[datetime, list[ServicePerformance]] | None:
    """The stored snapshot and when it was computed, or None when no refresh has run yet."""
    stamp = conn.execute(select(func.max(performance_reports.c.computed_at))).scalar()
    if stamp is None:
        return None
    query = select(performance_reports).order_by(performance_reports.c.agency_id, performance_reports.c.service_code)
    if agency_id:
        query = query.where(performance_reports.c.agency_id == agency_id)
    if service_code:
        query = query.where(performance_reports.c.service_code == service_code)
    found = [ServicePerformance(**{k: v for k, v in r._asdict().items() if k != "computed_at"})
             for r in conn.execute(query)]
    return stamp, found
