"""Performance reporting (pelaporan kinerja) over HTTP: the snapshot the report DAG refreshes, or a live computation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mpp_bus import reports
from mpp_bus.api.context import ApiContext, Caller, Context
from mpp_bus.api.models import PerformanceReport, PerformanceRow

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/performance", summary="SLA compliance, median processing time and backlog per agency and service",
            responses={429: {"description": "Too many live computations by this caller; retry after the minute."}})
def performance(
    ctx: Context,
    _who: Caller,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    live: Annotated[bool, Query(description="Compute now instead of serving the last refreshed snapshot.")] = False,
) -> PerformanceReport:
    """Figures hold no personal data, so any signed-in caller may read them. Without ``live`` the last snapshot
    (``mpp-bus report performance --refresh`` or the report DAG) is served, or a live computation when none exists.
    A report is computed at most once per filter every ``MPP_API_REPORT_CACHE_SECONDS``; ``live`` is limited to
    ``MPP_API_REPORT_LIVE_PER_MINUTE`` calls per caller (429 with Retry-After beyond)."""
    def compute() -> PerformanceReport:
        if live:  # the expensive path: a bounded number per caller and minute, counted in the store
            ctx.limits.check_live_report(_who.subject, now=ctx.clock())
        return _report(ctx, live, agency, service)

    report: PerformanceReport = ctx.limits.reports.get_or_compute((live, agency, service), compute)
    return report


def _report(ctx: ApiContext, live: bool, agency: str | None, service: str | None) -> PerformanceReport:
    snapshot = None if live else reports.latest(ctx.store, agency_id=agency, service_code=service)
    if snapshot is None:
        computed_at, rows = ctx.clock(), reports.performance(ctx.store, as_of=ctx.clock(), agency_id=agency,
                                                              service_code=service)
    else:
        computed_at, rows = snapshot
    return PerformanceReport(computed_at=computed_at, rows=[PerformanceRow(**r.as_dict()) for r in rows])
