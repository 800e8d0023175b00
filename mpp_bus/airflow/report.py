"""The report DAG's work: refresh the performance snapshot and judge each agency's freshness.

The performance snapshot (``performance_reports``, served by ``GET /api/v1/reports/performance``) is recomputed from
the status history by ``mpp_bus.reports.refresh``. Freshness comes from the store's per-agency health (the same
query behind the admin API's health view and ``mpp-bus agencies``): when each stream last synced successfully and
whether the agency is stale (no successful sync for twice its schedule's interval). Freshness is reported in the
task's log and result, not stored: the health view computes it live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName
from mpp_bus.reports import refresh
from mpp_bus.store import AgencySummary, Store

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


@dataclass(frozen=True)
class Freshness:
    """How fresh one configured agency's data is."""

    agency_id: str
    last_catalog_sync_at: datetime | None
    last_applications_sync_at: datetime | None
    last_run_status: str | None
    freshness_s: float | None
    expected_interval_s: float | None
    stale: bool
    # The newest failed run (a failed check counts) and its error, so the report shows outages, not only successes.
    last_failure_at: datetime | None = None
    last_error: str | None = None
    name: str = ""

    @property
    def failing(self) -> bool:
        """The newest outcome is a failure: no success since the last failed run or check."""
        latest = max((t for t in (self.last_catalog_sync_at, self.last_applications_sync_at) if t), default=None)
        return self.last_failure_at is not None and (latest is None or self.last_failure_at > latest)


@dataclass(frozen=True)
class ReportSummary:
    """What one report run did: the freshness of every configured agency and the refreshed snapshot's totals."""

    freshness: list[Freshness]
    services: int
    overdue_applications: int
    # False when the snapshot was refreshed less than the configured interval ago and was left as it was.
    refreshed: bool = True

    @property
    def stale(self) -> list[str]:
        return sorted(f.agency_id for f in self.freshness if f.stale)

    @property
    def failing(self) -> list[str]:
        return sorted(f.agency_id for f in self.freshness if f.failing)


def freshness(summaries: Sequence[AgencySummary], instances: Sequence[AgencyInstance],
              now: datetime | None = None) -> list[Freshness]:
    """One verdict per configured instance, from the store's agency health."""
    now = now or datetime.now(UTC)
    by_id = {s.agency_id: s for s in summaries}
    out = []
    for instance in instances:
        summary = by_id.get(instance.id)
        synced = summary.last_success_by_stream if summary else {}
        catalog_at = synced.get(StreamName.CATALOG.value)
        applications_at = synced.get(StreamName.APPLICATIONS.value)
        latest = max((t for t in (catalog_at, applications_at) if t is not None), default=None)
        age = (now - latest).total_seconds() if latest is not None else None
        interval = expected_interval(instance.schedule)
        out.append(Freshness(
            agency_id=instance.id,
            last_catalog_sync_at=catalog_at,
            last_applications_sync_at=applications_at,
            last_run_status=summary.last_run_status if summary else None,
            freshness_s=round(age, 1) if age is not None else None,
            expected_interval_s=interval,
            # Never synced counts as stale; a manual-only agency is judged only by having synced at all.
            stale=age is None or (interval is not None and age > 2 * interval),
            last_failure_at=summary.last_failure_at if summary else None,
            last_error=summary.last_error if summary else None,
            name=instance.name,
        ))
    return out


def run_report(store: Store, instances: Sequence[AgencyInstance], *, now: datetime | None = None,
               min_refresh_s: float = 0.0) -> ReportSummary:
    """Refresh the performance snapshot (unless it is younger than ``min_refresh_s``: many assets landing at once
    cost one refresh), then judge every configured agency's freshness and failures."""
    now = now or datetime.now(UTC)
    latest = store.performance_snapshot() if min_refresh_s > 0 else None
    if latest is not None and (now - latest[0]).total_seconds() < min_refresh_s:
        rows, refreshed = latest[1], False
    else:
        rows, refreshed = refresh(store, as_of=now), True
    return ReportSummary(
        freshness=freshness(store.agency_summaries(), instances, now),
        services=len(rows),
        overdue_applications=sum(r.overdue_backlog for r in rows),
        refreshed=refreshed,
    )
