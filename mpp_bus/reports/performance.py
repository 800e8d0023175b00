"""Performance per agency and service (pelaporan kinerja), computed from the applications and their status history.

For each agency and service:

- **finished**: applications that reached a decision, ``completed`` or ``rejected``; the decision time is the first
  such event in the status history (or the status time when the history has none). Cancelled applications are the
  citizen's choice and count neither as finished nor as backlog.
- **share within SLA**: finished on or before the SLA due date (the agency's, or else the submission date plus the
  service's working days, Monday to Friday), dates taken in WIB; with no due date known it never counts as within.
- **median processing time**: days from submission to decision.
- **backlog**: applications not in a terminal status; **overdue backlog**: those already past their due date.

Rows are streamed in (agency, service) order so memory holds one service's durations at a time, however large the
store is.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

from mpp_bus.canonical import TERMINAL, Status
from mpp_bus.store import ApplicationTiming, ServicePerformance, Store

FINISHED = (Status.COMPLETED.value, Status.REJECTED.value)
WIB = timezone(timedelta(hours=7), "WIB")


def performance(store: Store, *, as_of: datetime | None = None, agency_id: str | None = None,
                service_code: str | None = None) -> list[ServicePerformance]:
    """Compute the figures now from the store, one row per (agency, service) that has applications.

    Example::

        for row in performance(bus.store, agency_id="dpmptsp-3314"):
            print(row.service_code, row.share_within_sla, row.median_processing_days, row.backlog)
    """
    today = (as_of or datetime.now(UTC)).astimezone(WIB).date()
    agency_names = store.agency_names()
    service_names = store.service_names()
    rows = store.application_timings(FINISHED, agency_id=agency_id, service_code=service_code)
    return [
        _figures(key, group, today, agency_names.get(key[0], key[0]), service_names.get(key))
        for key, group in _grouped(rows)
    ]


def refresh(store: Store, *, as_of: datetime | None = None) -> list[ServicePerformance]:
    """Recompute every agency's figures and replace the stored snapshot in one transaction (the report DAG's task)."""
    computed_at = as_of or datetime.now(UTC)
    rows = performance(store, as_of=computed_at)
    store.replace_performance_snapshot(rows, computed_at)
    return rows


def latest(store: Store, *, agency_id: str | None = None,
           service_code: str | None = None) -> tuple[datetime, list[ServicePerformance]] | None:
    """The stored snapshot and when it was computed, or None when no refresh has run yet."""
    return store.performance_snapshot(agency_id=agency_id, service_code=service_code)


def _grouped(rows: Iterable[ApplicationTiming]) -> Iterator[tuple[tuple[str, str], list[ApplicationTiming]]]:
    key: tuple[str, str] | None = None
    group: list[ApplicationTiming] = []
    for row in rows:
        row_key = (row.agency_id, row.service_code)
        if row_key != key and group:
            yield key, group  # type: ignore[misc]  # as above  # key is set once a row was seen
            group = []
        key = row_key
        group.append(row)
    if group:
        yield key, group  # type: ignore[misc]  # as above


def _figures(key: tuple[str, str], group: Sequence[ApplicationTiming], today: date, agency_name: str,
             service_name: str | None) -> ServicePerformance:
    durations: list[float] = []
    within = backlog = overdue = 0
    for row in group:
        status = Status(row.status)
        due = row.sla_due_date or _due_date(row.submitted_at, row.sla_working_days)
        decided_at = row.decided_at or (row.status_at if row.status in FINISHED else None)
        if decided_at is not None:
            durations.append(max(0.0, (decided_at - row.submitted_at).total_seconds() / 86400))
            within += due is not None and decided_at.astimezone(WIB).date() <= due
        elif status not in TERMINAL:
            backlog += 1
            overdue += due is not None and due < today
    finished = len(durations)
    return ServicePerformance(
        agency_id=key[0],
        agency_name=agency_name,
        service_code=key[1],
        service_name=service_name,
        applications=len(group),
        finished=finished,
        finished_within_sla=within,
        share_within_sla=round(within / finished, 4) if finished else None,
        median_processing_days=round(statistics.median(durations), 2) if durations else None,
        backlog=backlog,
        overdue_backlog=overdue,
    )


def _due_date(submitted_at: datetime, working_days: int | None) -> date | None:
    """Submission date plus ``working_days`` weekdays (public holidays are not known to the bus)."""
    if working_days is None:
        return None
    day = submitted_at.astimezone(WIB).date()
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day
