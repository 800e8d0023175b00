"""Requirements a citizen already holds ("data diisi sekali"): the output documents of their completed applications.

A completed application at any agency whose service's output document is a code of the shared vocabulary (NIB from
OSS, NPWP from DJP, KTP-el or KK from Dukcapil) makes that document held; a later service that requires it attaches
it by reference instead of asking the citizen to upload it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from mpp_bus.canonical.status import Status
from mpp_bus.canonical.vocabulary import output_document_code
from mpp_bus.store.tables import agencies, applications, services


@dataclass(frozen=True)
class HeldDocument:
    """A document the citizen holds: which requirement it meets and the application that produced it."""

    requirement: str
    agency_id: str
    agency_name: str
    application_id: str
    service_code: str
    service_name: str | None
    document_number: str | None
    completed_at: datetime


@dataclass(frozen=True)
class RequirementState:
    """One requirement of a service for one citizen: held (with the document) or still needed."""

    requirement: str
    held: HeldDocument | None

    @property
    def needed(self) -> bool:
        return self.held is None


def held_documents(conn: Connection, nik_hash: str) -> dict[str, HeldDocument]:
    """The documents the citizen holds, by requirement code; the newest completed application wins."""
    rows = conn.execute(
        select(applications.c.agency_id, agencies.c.name.label("agency_name"), applications.c.application_id,
               applications.c.service_code, services.c.name.label("service_name"),
               services.c.output_document.label("output_name"), applications.c.output_document,
               applications.c.status_at)
        .join(agencies, agencies.c.id == applications.c.agency_id)
        .join(services, and_(services.c.agency_id == applications.c.agency_id,
                             services.c.code == applications.c.service_code))
        .where(applications.c.nik_hash == nik_hash, applications.c.status == Status.COMPLETED.value)
        .order_by(applications.c.status_at.desc(), applications.c.agency_id, applications.c.application_id))
    held: dict[str, HeldDocument] = {}
    for r in rows:
        code = output_document_code(r.output_name)
        if code is None or code.value in held:
            continue
        held[code.value] = HeldDocument(code.value, r.agency_id, r.agency_name, r.application_id, r.service_code,
                                        r.service_name, r.output_document, r.status_at)
    return held


def requirement_states(conn: Connection, nik_hash: str, requirements: Iterable[str]) -> list[RequirementState]:
    """Each of ``requirements`` (in order) as held or still needed by the citizen."""
    held = held_documents(conn, nik_hash)
    return [RequirementState(code, held.get(code)) for code in requirements]
