"""Document tracking (penelusuran dokumen): a signed-in citizen's applications across agencies.

A citizen reaches only the applications filed under the NIK in their own token; asking for anyone else's answers 404,
exactly as for an application that does not exist, so the API never confirms that it does. Every read is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, status

from mpp_bus.api.audit import Outcome
from mpp_bus.api.context import ApiContext, Citizen, Context, Purpose
from mpp_bus.api.models import AgencyName, ApplicationView, Freshness, StatusChange
from mpp_bus.canonical import Status
from mpp_bus.canonical.sla import sla_clock
from mpp_bus.store import CitizenApplication

router = APIRouter(prefix="/api/v1/me", tags=["tracking"])

TRACKING_PURPOSE = "document tracking by the data subject (penelusuran dokumen)"


@router.get("/applications", summary="The signed-in citizen's applications across agencies")
def my_applications(ctx: Context, who: Citizen, purpose: Purpose = None) -> list[ApplicationView]:
    """Every application filed under the token's NIK, newest status first, each with its status history, SLA due
    date and how fresh the agency's data is."""
    views = applications_of(ctx, who.nik_hash or "")
    ctx.audit_read(who, "applications.list", f"applications:{len(views)}", subject_nik_hash=who.nik_hash,
                   purpose=purpose or TRACKING_PURPOSE)
    return views


@router.get("/applications/{agency_id}/{application_id}", summary="One of the signed-in citizen's applications",
            responses={404: {"description": "No such application among the citizen's own."}})
def my_application(ctx: Context, who: Citizen, agency_id: str, application_id: str,
                   purpose: Purpose = None) -> ApplicationView:
    found = [v for v in applications_of(ctx, who.nik_hash or "")
             if v.agency.id == agency_id and v.application_id == application_id]
    resource = f"application:{agency_id}/{application_id}"[:300]
    if not found:
        ctx.audit_read(who, "applications.read", resource, subject_nik_hash=who.nik_hash,
                       purpose=purpose or TRACKING_PURPOSE, outcome=Outcome.NOT_FOUND)
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such application among the caller's own")
    ctx.audit_read(who, "applications.read", resource, subject_nik_hash=who.nik_hash,
                   purpose=purpose or TRACKING_PURPOSE)
    return found[0]


def applications_of(ctx: ApiContext, nik_hash: str) -> list[ApplicationView]:
    """The citizen's applications as views (the caller audits the read)."""
    now = ctx.clock()
    stale_after = timedelta(hours=ctx.settings.stale_after_hours)
    return [view(app, ctx, now, stale_after) for app in ctx.store.citizen_applications(nik_hash)]


def view(app: CitizenApplication, ctx: ApiContext, now: datetime, stale_after: timedelta) -> ApplicationView:
    history = ctx.store.status_history(app.agency_id, app.application_id)
    changes = [(h.status, h.occurred_at) for h in history if h.applied] + [(app.status, app.status_at)]
    clock = sla_clock(app.sla_due_date, changes, now)
    return ApplicationView(
        agency=AgencyName(id=app.agency_id, name=app.agency_name),
        application_id=app.application_id,
        service_code=app.service_code,
        service_name=app.service_name,
        applicant_nik_masked=app.nik_masked,
        status=app.status,
        status_label=app.status.label,
        agency_status=app.agency_status,
        status_at=app.status_at,
        submitted_at=app.submitted_at,
        sla_due_date=app.sla_due_date,
        overdue=clock.overdue,
        sla_paused=clock.paused,
        sla_paused_days=clock.paused_days,
        output_document=app.output_document,
        # An old note is no instruction once the agency moved on: shown only while it waits for the citizen.
        revision_note=app.revision_note if app.status is Status.NEEDS_REVISION else None,
        freshness=Freshness(last_synced_at=app.freshness,
                            stale=app.freshness is None or now - app.freshness > stale_after),
        history=[StatusChange(status=h.status, label=h.status.label, agency_status=h.agency_status,
                              occurred_at=h.occurred_at, applied=h.applied) for h in history],
    )
