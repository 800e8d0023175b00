"""Admin views: sync runs, quarantined records, agency health and the audit log. All need the admin role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from mpp_bus.api.audit import Outcome
from mpp_bus.api.context import Admin, Context, Purpose
from mpp_bus.api.models import AgencyHealth, AgencyRef, AuditView, QuarantineItem, QuarantineSummary, SyncRunView
from mpp_bus.contract import StreamName
from mpp_bus.privacy import redact, redact_text
from mpp_bus.store import RunStatus

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

ADMIN_PURPOSE = "operations: reviewing quarantined records"


@router.get("/runs", summary="Recent sync runs, newest first")
def runs(
    ctx: Context,
    _who: Admin,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    stream: StreamName | None = None,
    run_status: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SyncRunView]:
    found = ctx.store.recent_runs(agency_id=agency, stream=stream.value if stream else None, status=run_status,
                                  limit=limit)
    return [SyncRunView(**{**r.__dict__, "error": redact_text(r.error) if r.error else None}) for r in found]


@router.get("/quarantine", summary="Quarantined records, newest first")
def quarantine(
    ctx: Context,
    _who: Admin,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    run_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    open_only: Annotated[bool, Query(alias="open", description="only the rows still waiting for a fix")] = False,
) -> list[QuarantineSummary]:
    items = ctx.store.quarantine_items(agency_id=agency, run_id=run_id, limit=limit, open_only=open_only)
    return [QuarantineSummary(**{k: v for k, v in i.__dict__.items() if k != "payload"}) for i in items]


@router.get("/quarantine/{item_id}", summary="One quarantined record with its (redacted) payload",
            responses={404: {"description": "No such quarantined record."}})
def quarantine_item(ctx: Context, who: Admin, item_id: Annotated[int, Path(ge=1, le=2**62)],
                    purpose: Purpose = None) -> QuarantineItem:
    item = ctx.store.quarantine_item(item_id)
    # Payloads are redacted when stored; reading one is still audited because it came from a citizen's record.
    ctx.audit_read(who, "quarantine.read", f"quarantine:{item_id}", subject_nik_hash=None,
                   purpose=purpose or ADMIN_PURPOSE, outcome=Outcome.ALLOWED if item else Outcome.NOT_FOUND)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantined record {item_id}")
    return QuarantineItem(**{**item.__dict__, "payload": redact(item.payload)})


@router.get("/health", summary="Per agency: last success, last failure, lag and circuit breaker state")
def health(ctx: Context, _who: Admin) -> list[AgencyHealth]:
    now = ctx.clock()
    rows = ctx.store.agency_summaries()
    waiting: dict[str, int] = {}
    for (agency_id, _), count in ctx.store.open_quarantine_counts().items():
        waiting[agency_id] = waiting.get(agency_id, 0) + count
    return [
        AgencyHealth(
            agency=AgencyRef(id=r.agency_id, name=r.name, level=r.level, region_code=r.region_code),
            last_success_at=r.last_success_at,
            last_failure_at=r.last_failure_at,
            last_error=redact_text(r.last_error) if r.last_error else None,
            lag_seconds=round((now - r.last_success_at).total_seconds(), 3) if r.last_success_at else None,
            breaker_state=r.last_run_breaker_state,
            latest_run_status=r.last_run_status,
            open_quarantine=waiting.get(r.agency_id, 0),
        )
        for r in rows
    ]


@router.get("/audit", summary="The audit log of personal-data reads, newest first")
def audit(
    ctx: Context,
    _who: Admin,
    action: Annotated[str | None, Query(max_length=64)] = None,
    subject_nik_hash: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AuditView]:
    return [AuditView.model_validate(e, from_attributes=True) for e in ctx.audit.entries(limit=limit, action=action,
                                                                    subject_nik_hash=subject_nik_hash,
                                                                    offset=offset)]
