"""A small portal store filled through the real sync engine from an in-memory agency, shared by the API and
report tests: two agencies, four services, two citizens with applications at both, status history, a failed run and
a quarantined record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mpp_bus.api import ApiSettings, issue_token
from mpp_bus.api.settings import DEFAULT_PURPOSES
from mpp_bus.canonical import Level
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import Adapter, AdapterConfig, CheckResult, Cursor, Page, Reject, StreamName, StreamSpec, SyncMode
from mpp_bus.engine import SyncEngine
from mpp_bus.errors import RetriableError
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store

SECRET = b"api-tests-nik-hmac-key-0123456789"
JWT_SECRET = "api-tests-jwt-secret-0123456789abcdef"
SITI = "3314014507900001"  # a woman born 5 July 1990, registered in Sragen
BUDI = "3273011203850002"  # a man born 12 March 1985, registered in Bandung
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 08.00 WIB


class ScriptConfig(AdapterConfig):
    pass


class ScriptedAgency(Adapter[ScriptConfig]):
    """Serves whatever records the test sets, one page per stream; ``fail`` makes the next read fail."""

    name = "scripted"
    version = "1.0.0"
    wraps = "an in-memory agency system"
    config_model = ScriptConfig

    def __init__(self, instance: AgencyInstance, config: ScriptConfig) -> None:
        super().__init__(instance, config)
        self.records: dict[str, list[dict[str, Any]]] = {StreamName.CATALOG: [], StreamName.APPLICATIONS: []}
        self.rejects: list[Reject] = []
        self.fail = False

    @classmethod
    def of(cls, agency_id: str, name: str, level: Level, region_code: str | None) -> ScriptedAgency:
        return cls(AgencyInstance(id=agency_id, adapter="scripted", name=name, level=level, region_code=region_code),
                   ScriptConfig())

    def check(self) -> CheckResult:
        return CheckResult(ok=True, message="in memory")

    def streams(self) -> Sequence[StreamSpec]:
        return [StreamSpec(StreamName.CATALOG, SyncMode.FULL),
                StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "source_updated_at")]

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        if self.fail:
            raise RetriableError("the agency timed out", agency=self.agency_id, stream=stream)
        rejects, self.rejects = self.rejects, []
        yield Page(list(self.records[stream]), {"n": len(self.records[stream])}, rejects)


def service(agency_id: str, code: str, name: str, category: str, requirements: list[str], channels: list[str],
            locations: list[str], sla: int = 10, fee: int = 0) -> dict[str, Any]:
    return {"agency_id": agency_id, "code": code, "name": name, "description": f"Layanan {name.lower()}.",
            "category": category, "requirements": requirements, "output_document": f"Dokumen {code}",
            "sla_working_days": sla, "fee_idr": fee, "legal_basis": "Peraturan Daerah", "channels": channels,
            "locations": locations}


def application(agency_id: str, app_id: str, service_code: str, nik: str, status: str, at: datetime,
                submitted: datetime, due: date | None) -> dict[str, Any]:
    return {"agency_id": agency_id, "application_id": app_id, "service_code": service_code, "applicant_nik": nik,
            "status": status, "agency_status": status.upper(), "status_at": at.isoformat(),
            "submitted_at": submitted.isoformat(), "sla_due_date": due.isoformat() if due else None,
            "output_document": None, "source_updated_at": at.isoformat()}


@dataclass
class Seeded:
    store: Store
    hasher: NikHasher
    settings: ApiSettings

    def token(self, subject: str, *, nik: str | None = None, roles: Sequence[str] = (), lifetime_s: int = 3600) -> str:
        return issue_token(self.settings, "test", subject=subject, nik=nik, roles=roles, lifetime_s=lifetime_s)

    def headers(self, subject: str, *, nik: str | None = None, roles: Sequence[str] = ()) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, nik=nik, roles=roles)}"}


def api_settings(**overrides: Any) -> ApiSettings:
    # The purpose vocabulary of the tests: the defaults, plus a term holding a NIK, so that the audit log's masking
    # of a configured purpose is still checked now that free text is refused.
    overrides.setdefault("purposes", [*DEFAULT_PURPOSES, f"lookup {SITI}"])
    return ApiSettings(jwt_secret=JWT_SECRET, **overrides)  # type: ignore[arg-type]


def seed(store: Store, settings: ApiSettings | None = None) -> Seeded:
    """Fill ``store`` (already migrated) through the sync engine."""
    hasher = NikHasher(SECRET)
    engine = SyncEngine(store, hasher)
    sragen = ScriptedAgency.of("dpmptsp-3314", "DPMPTSP Kabupaten Sragen", Level.KABUPATEN_KOTA, "33.14")
    djp = ScriptedAgency.of("djp", "Direktorat Jenderal Pajak", Level.PUSAT, None)
    sragen.records[StreamName.CATALOG] = [
        service("dpmptsp-3314", "PBG", "Persetujuan Bangunan Gedung", "perizinan_bangunan",
                ["KTP_EL", "SERTIFIKAT_TANAH", "GAMBAR_TEKNIS"], ["direct", "electronic"], ["33.14"]),
        service("dpmptsp-3314", "SIP", "Surat Izin Praktik Dokter", "kesehatan", ["STR", "IJAZAH"], ["direct"], [],
                sla=5),
    ]
    djp.records[StreamName.CATALOG] = [
        service("djp", "NPWP-OP", "Pendaftaran NPWP Orang Pribadi", "perpajakan", ["KTP_EL"],
                ["electronic", "mobile"], [], sla=1),
        service("djp", "EFIN", "Aktivasi EFIN", "perpajakan", ["KTP_EL", "NPWP"], ["direct"], ["32.73"], sla=1),
    ]
    for agency in (sragen, djp):
        engine.sync(agency, StreamName.CATALOG)

    d = timedelta(days=1)
    # Each step is one sync: the engine turns the status changes into history.
    steps: list[tuple[ScriptedAgency, list[dict[str, Any]]]] = [
        (sragen, [application("dpmptsp-3314", "PRM-1", "PBG", SITI, "submitted", T0, T0, date(2025, 3, 17)),
                  application("dpmptsp-3314", "PRM-2", "PBG", BUDI, "submitted", T0, T0, date(2025, 3, 17)),
                  application("dpmptsp-3314", "PRM-3", "SIP", BUDI, "submitted", T0, T0, None)]),
        (sragen, [application("dpmptsp-3314", "PRM-1", "PBG", SITI, "verified", T0 + d, T0, date(2025, 3, 17)),
                  application("dpmptsp-3314", "PRM-2", "PBG", BUDI, "rejected", T0 + 20 * d, T0, date(2025, 3, 17))]),
        (sragen, [application("dpmptsp-3314", "PRM-1", "PBG", SITI, "completed", T0 + 4 * d, T0,
                              date(2025, 3, 17))]),
        (djp, [application("djp", "DJP-1", "NPWP-OP", SITI, "submitted", T0 + 2 * d, T0 + 2 * d, date(2025, 3, 6))]),
        (djp, [application("djp", "DJP-1", "NPWP-OP", SITI, "in_process", T0 + 3 * d, T0 + 2 * d, date(2025, 3, 6)),
               application("djp", "DJP-2", "NPWP-OP", BUDI, "cancelled", T0 + 3 * d, T0 + 2 * d, None)]),
    ]
    for agency, records in steps:
        agency.records[StreamName.APPLICATIONS] = records
        engine.sync(agency, StreamName.APPLICATIONS, full_refresh=True)

    sragen.records[StreamName.APPLICATIONS] = []
    sragen.rejects = [Reject("status code 'XX' is not in the mapping table", "PRM-9",
                             {"nomor": "PRM-9", "nik": SITI, "nama": "Siti Rahayu", "status": "XX"})]
    engine.sync(sragen, StreamName.APPLICATIONS)
    djp.fail = True
    with contextlib.suppress(RetriableError):  # recorded as a failed run, which the health view must show
        engine.sync(djp, StreamName.APPLICATIONS)
    return Seeded(store, hasher, settings or api_settings())
