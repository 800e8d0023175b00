"""An in-memory agency behind a real ``Adapter`` subclass, and generators of valid canonical records."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mpp_bus.canonical import Level
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import Adapter, AdapterConfig, CheckResult, Cursor, Page, Reject, StreamName, StreamSpec, SyncMode
from mpp_bus.errors import RetriableError
from mpp_bus.privacy import nik_problem

AGENCY_ID = "dpmptsp-3314"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def make_nik(i: int) -> str:
    """A valid NIK, distinct for each i below 10 million (Sragen region, women on odd i)."""
    day = 1 + i % 28 + (40 if i % 2 else 0)
    month = 1 + (i // 28) % 12
    year = (i // 336) % 100
    serial = 1 + (i // 33600) % 9999
    nik = f"331401{day:02d}{month:02d}{year:02d}{serial:04d}"
    assert nik_problem(nik) is None
    return nik


def application(
    i: int,
    *,
    status: str = "submitted",
    agency_status: str | None = None,
    at: datetime | None = None,
    nik: str | None = None,
    agency_id: str = AGENCY_ID,
) -> dict[str, Any]:
    """A valid application record as an adapter emits it (datetimes as ISO text, like a JSON payload)."""
    at = at or T0 + timedelta(minutes=i)
    return {
        "agency_id": agency_id,
        "application_id": f"PRM-{i:07d}",
        "service_code": f"SVC-{i % 7}",
        "applicant_nik": nik or make_nik(i),
        "status": status,
        "agency_status": agency_status or status.upper(),
        "status_at": at.isoformat(),
        "submitted_at": (T0 - timedelta(days=1)).isoformat(),
        "sla_due_date": "2025-03-20",
        "output_document": None,
        "source_updated_at": at.isoformat(),
    }


def service(code: str, *, name: str | None = None, fee: int = 0, agency_id: str = AGENCY_ID) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "code": code,
        "name": name or f"Layanan {code}",
        "category": "perizinan_usaha",
        "requirements": ["KTP_EL", "KK"],
        "sla_working_days": 5,
        "fee_idr": fee,
        "channels": ["direct", "electronic"],
        "locations": ["33.14"],
    }


class FakeConfig(AdapterConfig):
    page_size: int = 100


class FakeAgencyAdapter(Adapter[FakeConfig]):
    """Serves the records it is given, in pages; the cursor is the offset in that list.

    ``fail_after_pages`` makes ``read`` raise after that many pages (a crash between pages); ``gate`` makes it wait
    before its first page until the event is set (to hold a sync open); ``rejects`` are added to the first page.
    """

    name = "fake"
    version = "1.0.0"
    wraps = "an in-memory agency system"
    config_model = FakeConfig

    def __init__(self, instance: AgencyInstance, config: FakeConfig) -> None:
        super().__init__(instance, config)
        self.records: dict[str, list[dict[str, Any]]] = {StreamName.CATALOG: [], StreamName.APPLICATIONS: []}
        self.rejects: list[Reject] = []
        self.fail_after_pages: int | None = None
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.applications_mode = SyncMode.INCREMENTAL

    @classmethod
    def for_agency(cls, agency_id: str = AGENCY_ID, *, page_size: int = 100) -> FakeAgencyAdapter:
        instance = AgencyInstance(
            id=agency_id,
            adapter="fake",
            name="DPMPTSP Kabupaten Sragen",
            level=Level.KABUPATEN_KOTA,
            region_code="33.14",
        )
        return cls(instance, FakeConfig(page_size=page_size))

    def check(self) -> CheckResult:
        return CheckResult(ok=True, message="in memory")

    def streams(self) -> Sequence[StreamSpec]:
        return [
            StreamSpec(StreamName.CATALOG, SyncMode.FULL),
            StreamSpec(StreamName.APPLICATIONS, self.applications_mode, "source_updated_at"),
        ]

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        records = self.records[stream]
        size = self.config.page_size
        start = int(cursor["offset"]) if cursor else 0
        for n, offset in enumerate(range(start, len(records), size)):
            if self.fail_after_pages is not None and n >= self.fail_after_pages:
                raise RetriableError("the agency dropped the connection", agency=self.agency_id, stream=stream)
            rejects, self.rejects = self.rejects, []
            yield Page(records[offset : offset + size], {"offset": min(offset + size, len(records))}, rejects)
        if self.rejects:  # nothing left to read but rejects: one page of them
            rejects, self.rejects = self.rejects, []
            yield Page([], {"offset": len(records)}, rejects)
