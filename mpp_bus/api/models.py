"""Response and request bodies of the read API (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mpp_bus.canonical import Status
from mpp_bus.store import RunStatus

T = TypeVar("T")


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True)


class Page(_Body, Generic[T]):
    total: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int
    items: list[T]


class Labelled(_Body):
    code: str
    label: str = Field(description="Indonesian label a citizen reads.")


class Region(_Body):
    code: str = Field(description="Kemendagri region code, e.g. 33.14.")
    name: str | None = Field(description="Region name when the code is a province or a regency.")


class AgencyRef(_Body):
    id: str
    name: str
    level: str
    region_code: str | None


class AgencyName(_Body):
    id: str
    name: str


class ServiceSummary(_Body):
    agency: AgencyRef
    code: str
    name: str
    category: str = Field(description="Code from the shared category vocabulary, e.g. kesehatan.")
    category_label: str = Field(description="Indonesian label of the category a citizen reads.")
    sla_working_days: int
    fee_idr: int
    channels: list[Labelled]


class ServiceDetail(ServiceSummary):
    description: str
    requirements: list[Labelled] = Field(description="Documents to bring, from the shared vocabulary.")
    output_document: str
    legal_basis: str
    locations: list[Region] = Field(description="Where the service is offered; empty means wherever the agency "
                                                "serves.")
    source_updated_at: datetime | None
    synced_at: datetime


class StatusChange(_Body):
    status: Status
    label: str
    agency_status: str
    occurred_at: datetime
    applied: bool = Field(description="False when the change arrived out of order and did not alter the status.")


class Freshness(_Body):
    last_synced_at: datetime | None = Field(description="When the agency's applications were last synced "
                                                        "successfully.")
    stale: bool = Field(description="True when that sync is older than the configured threshold (or never "
                                    "happened).")


class ApplicationView(_Body):
    agency: AgencyName
    application_id: str
    service_code: str
    service_name: str | None
    applicant_nik_masked: str
    status: Status
    status_label: str
    agency_status: str
    status_at: datetime
    submitted_at: datetime
    sla_due_date: date | None
    overdue: bool = Field(description="No decision yet (approved, rejected, completed or cancelled stop the clock) "
                                      "and today in WIB (or, while waiting for the citizen's revision, the day that "
                                      "wait began) is past the SLA due date moved by earlier revision waits.")
    sla_paused: bool = Field(False, description="The SLA clock is paused: the citizen must fix something "
                                                "(needs_revision).")
    sla_paused_days: int = Field(0, description="Days the clock was paused for revisions; the due date moves by them.")
    output_document: str | None
    revision_note: str | None = Field(None, description="What to fix, in the agency's words, while the status is "
                                                        "needs_revision and the agency says.")
    freshness: Freshness
    history: list[StatusChange]


class AgencyHealth(_Body):
    agency: AgencyRef
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    lag_seconds: float | None = Field(description="Seconds since the last successful run of any stream.")
    breaker_state: str | None = Field(description="Circuit breaker state after the latest run.")
    latest_run_status: str | None
    open_quarantine: int = Field(0, description="Quarantined records of the agency still waiting for a fix "
                                                "(`mpp-bus quarantine retry` reads them again).")


class SyncRunView(_Body):
    id: int
    agency_id: str
    stream: str
    mode: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    read: int
    stored: int
    unchanged: int
    stale: int
    quarantined: int
    withdrawn: int
    duration_s: float | None
    error: str | None
    breaker_state: str | None


class QuarantineSummary(_Body):
    id: int
    run_id: int
    agency_id: str
    stream: str
    record_id: str | None
    reason: str
    created_at: datetime
    resolved_at: datetime | None = Field(None, description="When the row closed; null while it is open.")
    resolution: Literal["stored", "superseded"] | None = Field(
        None, description="`stored`: the record stored later; `superseded`: it was quarantined again (a newer row).")
    resolved_run_id: int | None = Field(None, description="The run that closed the row.")


class QuarantineItem(QuarantineSummary):
    payload: object = Field(description="The record as received, with personal fields redacted.")


class AuditView(_Body):
    id: int
    occurred_at: datetime
    actor: str
    actor_role: str
    action: str
    resource: str
    subject_nik_hash: str | None
    purpose: str
    outcome: str


class IdentityQuery(BaseModel):
    """What the portal's sign-up asks the population registry."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # [0-9], not \d: \d also takes fullwidth and Arabic-Indic digits, which no registry knows and the hasher refuses.
    nik: Annotated[str, Field(pattern=r"^[0-9]{16}$", description="The NIK to check (16 ASCII digits).")]
    name: Annotated[str, Field(min_length=1, max_length=200, description="Full name as on the KTP.")]
    birth_date: date


class IdentityAnswer(_Body):
    nik_found: bool
    name_matches: bool
    birth_date_matches: bool
    matches: bool = Field(description="All three hold.")


class PerformanceRow(_Body):
    agency_id: str
    agency_name: str
    service_code: str
    service_name: str | None
    applications: int
    finished: int = Field(description="Applications that reached a decision (completed or rejected).")
    finished_within_sla: int
    share_within_sla: float | None = Field(description="finished_within_sla / finished; null when none finished.")
    median_processing_days: float | None = Field(description="Median days from submission to the decision.")
    backlog: int = Field(description="Applications not yet finished (cancelled ones excluded).")
    overdue_backlog: int = Field(description="Backlog already past its SLA due date.")


class PerformanceReport(_Body):
    computed_at: datetime
    rows: list[PerformanceRow]

