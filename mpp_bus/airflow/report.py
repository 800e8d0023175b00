"""The freshness and SLA report: one row per agency, computed from the store's tables and kept in ``agency_reports``.

Per agency: when each stream last synced successfully, whether the agency is stale (no successful sync for twice
its schedule's interval), open and overdue applications (past their SLA due date, not in a terminal status), the
share of applications finished in the last 30 days that met their SLA, and failed runs and quarantined records in
the last 24 hours. A handful of grouped queries cover every agency, however many there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select

from mpp_bus.canonical.status import TERMINAL
from mpp_bus.config import AgencyInstance
from mpp_bus.store import RunStatus
from mpp_bus.store.tables import agency_reports, applications, quarantine, sync_runs

_PRESETS = {"@hourly": 3600.0, "@daily": 86400.0, "@weekly": 7 * 86400.0, "@monthly": 31 * 86400.0,
            "@yearly": 366 * 86400.0, "@annually": 366 * 86400.0}


def expected_interval(schedule: str | None) -> float | None:
    """Seconds between scheduled runs: presets and the common cron shapes; None for manual or unknown schedules."""
    if not schedule:
        return None
    if schedule in _PRESETS:
        return _PRESETS[schedule]
    fields = schedule.split()
    if len(fields) != 5:
        return None
    minute, hour, day, _, weekday = fields
    if minute.startswith("*/") and hour == "*":
        return float(minute[2:]) * 60
    if hour == "*":
        return 3600.0
    if hour.startswith("*/"):
        return float(hour[2:]) * 3600
    if day == "*" and weekday == "*":
        return 86400.0 / max(1, len(hour.split(",")))
    return 7 * 86400.0 if weekday != "*" else 31 * 86400.0


def compute_reports(engine: Engine, instances: Sequence[AgencyInstance], now: datetime | None = None) -> list[dict]:
    """One report row per instance (not yet written)."""
    now = now or datetime.now(UTC)
    today: date = now.date()
    day_ago, month_ago = now - timedelta(hours=24), now - timedelta(days=30)
    terminal = [str(s) for s in TERMINAL]
    finished = applications.c.status.in_(terminal)
    with engine.connect() as conn:
        last_ok = {
            (a, s): t
            for a, s, t in conn.execute(
                select(sync_runs.c.agency_id, sync_runs.c.stream, func.max(sync_runs.c.finished_at))
                .where(sync_runs.c.status == RunStatus.SUCCEEDED)
                .group_by(sync_runs.c.agency_id, sync_runs.c.stream)
            )
        }
        last_status: dict[str, str] = dict(conn.execute(_last_run_status()).all())
        failed: dict[str, int] = dict(conn.execute(
            select(sync_runs.c.agency_id, func.count())
            .where(sync_runs.c.status != RunStatus.SUCCEEDED, sync_runs.c.finished_at.is_not(None),
                   sync_runs.c.started_at >= day_ago)
            .group_by(sync_runs.c.agency_id)
        ).all())
        quarantined: dict[str, int] = dict(conn.execute(
            select(quarantine.c.agency_id, func.count())
            .where(quarantine.c.created_at >= day_ago)
            .group_by(quarantine.c.agency_id)
        ).all())
        open_counts = {
            a: (o, d)
            for a, o, d in conn.execute(
                select(
                    applications.c.agency_id,
                    func.count(),
                    func.count().filter(and_(applications.c.sla_due_date.is_not(None),
                                             applications.c.sla_due_date < today)),
                )
                .where(~finished)
                .group_by(applications.c.agency_id)
            )
        }
        finished_counts = {
            a: (n, ok)
            for a, n, ok in conn.execute(
                select(
                    applications.c.agency_id,
                    func.count(),
                    func.count().filter(and_(applications.c.sla_due_date.is_not(None),
                                             func.date(applications.c.status_at) <= applications.c.sla_due_date)),
                )
                .where(finished, applications.c.status_at >= month_ago)
                .group_by(applications.c.agency_id)
            )
        }
    rows = []
    for instance in instances:
        catalog_at = last_ok.get((instance.id, "catalog"))
        applications_at = last_ok.get((instance.id, "applications"))
        latest = max((t for t in (catalog_at, applications_at) if t is not None), default=None)
        freshness = (now - latest).total_seconds() if latest is not None else None
        interval = expected_interval(instance.schedule)
        n_finished, n_ok = finished_counts.get(instance.id, (0, 0))
        n_open, n_overdue = open_counts.get(instance.id, (0, 0))
        rows.append({
            "generated_at": now,
            "agency_id": instance.id,
            "last_catalog_sync_at": catalog_at,
            "last_applications_sync_at": applications_at,
            "last_run_status": last_status.get(instance.id),
            "freshness_s": round(freshness, 1) if freshness is not None else None,
            "expected_interval_s": interval,
            # Never synced counts as stale; a manual-only agency is judged only by having synced at all.
            "stale": freshness is None or (interval is not None and freshness > 2 * interval),
            "open_applications": int(n_open),
            "overdue_applications": int(n_overdue),
            "finished_30d": int(n_finished),
            "finished_within_sla_30d": int(n_ok),
            "sla_compliance": round(n_ok / n_finished, 4) if n_finished else None,
            "failed_runs_24h": int(failed.get(instance.id, 0)),
            "quarantined_24h": int(quarantined.get(instance.id, 0)),
        })
    return rows


def _last_run_status() -> Any:
    newest = (
        select(sync_runs.c.agency_id, func.max(sync_runs.c.id).label("id"))
        .group_by(sync_runs.c.agency_id)
        .subquery()
    )
    return select(sync_runs.c.agency_id, sync_runs.c.status).join(newest, sync_runs.c.id == newest.c.id)


def write_reports(
    engine: Engine, instances: Sequence[AgencyInstance], *, run_label: str = "", now: datetime | None = None
) -> list[dict]:
    """Compute the report of every instance and append it to ``agency_reports`` in one transaction."""
    rows = compute_reports(engine, instances, now)
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(agency_reports), [{**r, "run_label": run_label[:250]} for r in rows])
    return rows


def latest_reports(engine: Engine) -> list[dict]:
    """The newest report row of every agency."""
    newest = (
        select(agency_reports.c.agency_id, func.max(agency_reports.c.id).label("id"))
        .group_by(agency_reports.c.agency_id)
        .subquery()
    )
    query = select(agency_reports).join(newest, agency_reports.c.id == newest.c.id).order_by(agency_reports.c.agency_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
