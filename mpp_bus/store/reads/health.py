"""Per-agency health: the one query behind the admin API's health view, ``mpp-bus agencies``, the demo summary and
the report DAG's freshness check.

A handful of grouped statements cover every agency, however many there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select, type_coerce

from mpp_bus.store.runs import RunStatus
from mpp_bus.store.tables import agencies, applications, quarantine, services, sync_runs
from mpp_bus.store.types import UtcDateTime


@dataclass(frozen=True)
class AgencySummary:
    """One registered agency: catalog size, applications by canonical status, quarantine size, its runs' outcome."""

    agency_id: str
    name: str
    level: str
    region_code: str | None
    active_services: int = 0
    withdrawn_services: int = 0
    applications_by_status: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    last_run_status: RunStatus | None = None
    last_run_duration_s: float | None = None
    last_run_finished_at: datetime | None = None
    last_run_breaker_state: str | None = None
    # The end of the newest successful and failed run of any stream, and the newest failure's error.
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    # Stream name -> when its newest successful run finished.
    last_success_by_stream: dict[str, datetime] = field(default_factory=dict)

    @property
    def applications(self) -> int:
        return sum(self.applications_by_status.values())


def agency_summaries(conn: Connection, agency_id: str | None = None) -> list[AgencySummary]:
    """Every registered agency (or just ``agency_id``), ordered by id."""

    def scoped(stmt: Any, column: Any) -> Any:
        return stmt.where(column == agency_id) if agency_id else stmt

    rows = {r.id: r for r in conn.execute(scoped(select(agencies).order_by(agencies.c.id), agencies.c.id))}
    active: dict[str, int] = {}
    withdrawn: dict[str, int] = {}
    svc = select(services.c.agency_id, services.c.withdrawn_at.is_(None).label("active"), func.count()).group_by(
        services.c.agency_id, services.c.withdrawn_at.is_(None)
    )
    for aid, is_active, n in conn.execute(scoped(svc, services.c.agency_id)):
        (active if is_active else withdrawn)[aid] = n
    by_status: dict[str, dict[str, int]] = {}
    apps = select(applications.c.agency_id, applications.c.status, func.count()).group_by(
        applications.c.agency_id, applications.c.status
    )
    for aid, status, n in conn.execute(scoped(apps, applications.c.agency_id)):
        by_status.setdefault(aid, {})[status] = n
    q_stmt = select(quarantine.c.agency_id, func.count()).group_by(quarantine.c.agency_id)
    quarantined: dict[str, int] = {aid: n for aid, n in conn.execute(scoped(q_stmt, quarantine.c.agency_id))}
    by_stream: dict[str, dict[str, datetime]] = {}
    per_stream = scoped(
        select(sync_runs.c.agency_id, sync_runs.c.stream, func.max(sync_runs.c.finished_at))
        .where(sync_runs.c.status == RunStatus.SUCCEEDED)
        .group_by(sync_runs.c.agency_id, sync_runs.c.stream),
        sync_runs.c.agency_id,
    )
    for aid, stream, at in conn.execute(per_stream):
        if at is not None:
            by_stream.setdefault(aid, {})[stream] = at
    runs = {r.agency_id: r for r in conn.execute(_run_health(agency_id))}
    summaries = []
    for aid, agency in rows.items():
        run = runs.get(aid)
        summaries.append(
            AgencySummary(
                agency_id=aid,
                name=agency.name,
                level=agency.level,
                region_code=agency.region_code,
                active_services=active.get(aid, 0),
                withdrawn_services=withdrawn.get(aid, 0),
                applications_by_status=by_status.get(aid, {}),
                quarantined=quarantined.get(aid, 0),
                last_run_status=RunStatus(run.status) if run else None,
                last_run_duration_s=run.duration_s if run else None,
                last_run_finished_at=run.finished_at if run else None,
                last_run_breaker_state=run.breaker_state if run else None,
                last_success_at=run.last_success_at if run else None,
                last_failure_at=run.last_failure_at if run else None,
                last_error=run.last_error if run else None,
                last_success_by_stream=by_stream.get(aid, {}),
            )
        )
    return summaries


def _run_health(agency_id: str | None) -> Any:
    """Per agency with runs: the newest run, the ends of the newest successful and failed runs, the failure's error."""
    ended = func.coalesce(sync_runs.c.finished_at, sync_runs.c.started_at)
    times = select(
        sync_runs.c.agency_id,
        _latest(ended, sync_runs.c.status == RunStatus.SUCCEEDED).label("last_success_at"),
        _latest(ended, sync_runs.c.status == RunStatus.FAILED).label("last_failure_at"),
        func.max(sync_runs.c.id).label("latest_id"),
        func.max(case((sync_runs.c.status == RunStatus.FAILED, sync_runs.c.id))).label("failed_id"),
    ).group_by(sync_runs.c.agency_id)
    if agency_id:
        times = times.where(sync_runs.c.agency_id == agency_id)
    grouped = times.subquery()
    latest = sync_runs.alias("latest")
    failed = sync_runs.alias("failed")
    return (
        select(
            grouped.c.agency_id, grouped.c.last_success_at, grouped.c.last_failure_at,
            latest.c.status, latest.c.duration_s, latest.c.finished_at, latest.c.breaker_state,
            failed.c.error.label("last_error"),
        )
        .join(latest, latest.c.id == grouped.c.latest_id)
        .outerjoin(failed, failed.c.id == grouped.c.failed_id)
    )


def _latest(moment: Any, when: Any) -> Any:
    # max() over a CASE loses the column type on SQLite; coercing keeps the values timezone-aware.
    return type_coerce(func.max(case((when, moment))), UtcDateTime())
