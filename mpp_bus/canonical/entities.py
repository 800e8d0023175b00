"""The canonical entities every adapter speaks: Agency, Service, Application, StatusEvent.

These pydantic models are the source of the JSON Schemas in ``schemas/`` (the published contract). Adapters emit
plain dicts shaped like ``Service`` and ``Application``; the engine validates whole pages against these models.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from mpp_bus.canonical.status import Status
from mpp_bus.canonical.vocabulary import Category, Channel, Document
from mpp_bus.privacy.nik import nik_problem

REGION_CODE = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"
RECORD_ID = r"^[^\s].{0,127}$"


class Level(StrEnum):
    """Level of government an agency belongs to."""

    PUSAT = "pusat"
    PROVINSI = "provinsi"
    KABUPATEN_KOTA = "kabupaten_kota"


def _check_nik(value: str) -> str:
    problem = nik_problem(value)
    if problem:
        # The message must not echo the value; the engine also drops pydantic's input from its error reports.
        raise ValueError(problem)
    return value


Nik = Annotated[
    str,
    AfterValidator(_check_nik),
    Field(
        description="The applicant's NIK, in transit only: the store keeps a keyed hash and a masked form.",
        json_schema_extra={"pattern": r"^\d{16}$", "writeOnly": True},
    ),
]


class _Canonical(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Agency(_Canonical):
    """A government agency instance the bus syncs from."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Stable id, e.g. dpmptsp-3314.")]
    name: Annotated[str, Field(min_length=1, max_length=300)]
    level: Level
    region_code: Annotated[str | None, Field(pattern=REGION_CODE, description="Kemendagri code, e.g. 33.14.")] = None


class Service(_Canonical):
    """One entry of the public service catalog, scoped to its agency."""

    agency_id: Annotated[str, Field(min_length=1, max_length=64)]
    code: Annotated[str, Field(pattern=RECORD_ID, description="The agency's own service code.")]
    name: Annotated[str, Field(min_length=1, max_length=300, description="Name in Indonesian.")]
    description: Annotated[str, Field(max_length=4000)] = ""
    category: Category = Field(description="From the shared category vocabulary; each adapter maps its agency's own.")
    requirements: list[Document] = Field(default_factory=list, description="Codes from the shared vocabulary.")
    output_document: Annotated[str, Field(max_length=300)] = ""
    sla_working_days: Annotated[int, Field(ge=0, le=3650)]
    fee_idr: Annotated[int, Field(ge=0, description="Fee in rupiah; 0 when free.")]
    legal_basis: Annotated[str, Field(max_length=1000)] = ""
    channels: list[Channel] = Field(default_factory=list)
    locations: list[Annotated[str, Field(pattern=REGION_CODE)]] = Field(
        default_factory=list, description="Region codes where the service is offered; empty means everywhere."
    )
    accepts_submissions: bool = Field(
        default=False, description="Whether the portal can carry an electronic application to the agency."
    )
    form_schema: Annotated[str | None, Field(max_length=300)] = Field(
        default=None, description="The `$id` of the JSON Schema of the application form, when it accepts one."
    )


class Application(_Canonical):
    """An application (permohonan) as an adapter reports it, before the engine pseudonymises the NIK."""

    agency_id: Annotated[str, Field(min_length=1, max_length=64)]
    application_id: Annotated[str, Field(pattern=RECORD_ID, description="The agency's own application number.")]
    service_code: Annotated[str, Field(pattern=RECORD_ID)]
    applicant_nik: Nik
    status: Status
    agency_status: Annotated[str, Field(min_length=1, max_length=64, description="The agency's raw status code.")]
    status_at: AwareDatetime
    submitted_at: AwareDatetime
    sla_due_date: date | None = None
    output_document: Annotated[str | None, Field(max_length=300)] = None
    revision_note: Annotated[str | None, Field(
        max_length=1000,
        description="What the citizen must fix, in the agency's words, when it says (mostly with needs_revision). "
                    "Free text: the store keeps it with NIK-like numbers, phones and e-mail addresses masked.",
    )] = None
    source_updated_at: AwareDatetime


class StatusEvent(_Canonical):
    """One status transition of an application, as kept in its history."""

    agency_id: str
    application_id: str
    status: Status
    agency_status: str
    occurred_at: AwareDatetime
    idempotency_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    applied: bool = Field(description="False when the event arrived out of order and did not change the status.")


ENTITIES: dict[str, type[BaseModel]] = {
    "agency": Agency,
    "service": Service,
    "application": Application,
    "status_event": StatusEvent,
}

__all__ = ["ENTITIES", "Agency", "Application", "Level", "Nik", "Service", "StatusEvent"]
