"""The tax office (Direktorat Jenderal Pajak): REST/JSON with an ``X-DJP-Key`` header, integer status codes, 1-based
page numbers, and local WIB times (UTC+7) written without an offset, converted here to aware UTC datetimes.

Catalog (FULL): ``GET /v2/layanan`` with an ETag. The adapter remembers the ETag and the body it came with in memory
only, so a second read in the same process may get 304 and re-serve that body; a FULL read always yields the whole
catalog (an empty answer would make the engine withdraw every service). Across processes nothing is kept.

Applications (INCREMENTAL): ``GET /v2/permohonan?sejak=<DD-MM-YYYY HH:MM:SS WIB>&halaman=<n>&per_halaman=<n>``,
ordered by ``(terakhir_diubah, no_permohonan)``. Page numbers shift when records change between two requests, so
the adapter does not walk ``halaman`` 1, 2, 3: after every page it asks again for page 1 ``sejak`` the last
``terakhir_diubah`` it saw, and skips the records at that second it already delivered. It moves to the next page
number only when a whole page sat at one second (more records than ``per_halaman`` changed within it).

Applications cursor: ``{"updated": <ISO UTC of the last record seen>, "id": <its no_permohonan>, "halaman": <page
number to ask next at that time, normally 1>}``; after the last page it is the high-water mark of the next run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from adapters._shared import Vocabulary, checked_nik, checked_times, describe, reject, run_check
from mpp_bus.contract import (
    Adapter,
    AdapterConfig,
    CheckResult,
    Cursor,
    Page,
    Reject,
    StatusMapping,
    StreamName,
    StreamSpec,
    SyncMode,
)
from mpp_bus.errors import AdapterError, FatalError, SkippableError
from mpp_bus.transport import NO_RETRY, ApiKeyAuth, HttpClient, Keyset, parse_json

HERE = Path(__file__).parent
MAX_PER_PAGE = 1000
WIB = timedelta(hours=7)


class TaxConfig(AdapterConfig):
    base_url: str
    api_key: SecretStr
    key_header: str = "X-DJP-Key"
    connection_fields: ClassVar[dict[str, str]] = {"password": "api_key"}


class TaxAdapter(Adapter[TaxConfig]):
    name = "tax"
    version = "1.0.0"
    wraps = "DJP-style tax services REST API v2, API key header"
    config_model = TaxConfig
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
    vocabulary = Vocabulary.load(HERE / "vocabulary.yaml")

    def __init__(self, instance: Any, config: TaxConfig) -> None:
        super().__init__(instance, config)
        self.http = HttpClient.for_instance(instance, config.base_url, auth=ApiKeyAuth(config.key_header,
                                                                                        config.api_key))
        self._catalog_etag: str | None = None
        self._catalog_body: bytes = b""

    def streams(self) -> Sequence[StreamSpec]:
        return [
            StreamSpec(StreamName.CATALOG, SyncMode.FULL),
            StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "terakhir_diubah"),
        ]

    def check(self) -> CheckResult:
        # Page 1 of one record: the cheapest call that needs the key.
        return run_check(self.agency_id, lambda: self.http.get_json(
            "/v2/permohonan", {"halaman": 1, "per_halaman": 1}, retry=NO_RETRY))

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        self.stream(stream)
        try:
            yield from (self._catalog() if stream == StreamName.CATALOG else self._applications(cursor))
        except AdapterError as exc:
            raise exc.located(agency=self.agency_id, stream=stream)

    def close(self) -> None:
        self.http.close()

    # --- catalog ---------------------------------------------------------------------------------------------------

    def _catalog(self) -> Iterator[Page]:
        headers = {"If-None-Match": self._catalog_etag} if self._catalog_etag else None
        resp = self.http.get("/v2/layanan", headers=headers, ok=(200, 304))
        if resp.status == 200:
            self._catalog_etag, self._catalog_body = resp.headers.get("ETag"), resp.content
        body = parse_json(self._catalog_body, agency=self.agency_id, path="/v2/layanan")
        records, rejects = [], []
        for item in body.get("layanan") or []:
            try:
                records.append(self._service(item))
            except (SkippableError, KeyError, ValueError, TypeError, AttributeError) as exc:
                rejects.append(reject(exc, item.get("kode_layanan") if isinstance(item, dict) else None, item))
        yield Page(records, None, rejects)

    def _service(self, s: dict[str, Any]) -> dict[str, Any]:
        requirements, other = self.vocabulary.requirements(s.get("syarat") or [])
        return {
            "agency_id": self.agency_id, "code": s["kode_layanan"], "name": s["nama_layanan"],
            "description": describe(s.get("keterangan") or "", other), "category": s["kategori"],
            "requirements": requirements, "output_document": s.get("keluaran") or "",
            "sla_working_days": int(s["sla_hari"]), "fee_idr": int(s.get("tarif") or 0),
            "legal_basis": s.get("dasar_hukum") or "", "channels": self.vocabulary.channels_of(s.get("kanal") or []),
        }

    # --- applications ----------------------------------------------------------------------------------------------

    def _applications(self, cursor: Cursor | None) -> Iterator[Page]:
        position = Keyset.from_cursor(cursor, agency=self.agency_id)
        halaman = int((cursor or {}).get("halaman") or 1)
        per_page = min(self.instance.page_size, MAX_PER_PAGE)
        while True:
            params: dict[str, Any] = {"halaman": halaman, "per_halaman": per_page}
            if position is not None:
                params["sejak"] = wib_text(position.updated)
            body = self.http.get_json("/v2/permohonan", params)
            records: list[dict[str, Any]] = []
            rejects: list[Reject] = []
            start = position
            hasil = body.get("hasil") or []
            for item in hasil:
                position = self._one(item, start, position, records, rejects)
            last = int(body.get("halaman") or halaman) >= int(body.get("total_halaman") or 0)
            if not last and position == start:
                halaman += 1  # a whole page at one second: step past it by page number
                if halaman > 10_000:
                    raise FatalError("more than 10,000 pages changed within one second: the agency's paging looks "
                                     "broken; report it to the agency", agency=self.agency_id)
            else:
                halaman = 1
            yield Page(records, {**(position.to_cursor() if position else {}), "halaman": halaman}, rejects)
            if last or not hasil:
                return

    def _one(self, a: dict[str, Any], start: Keyset | None, position: Keyset | None,
             records: list[dict[str, Any]], rejects: list[Reject]) -> Keyset | None:
        record_id = a.get("no_permohonan") if isinstance(a, dict) else None
        updated: datetime | None = None
        try:
            if not record_id:
                raise SkippableError("application without no_permohonan")
            updated = wib_datetime(a["terakhir_diubah"])
            if start is not None and start.replays(updated, record_id):
                return position  # already delivered: sejak is inclusive
            submitted, status_at = wib_datetime(a["tgl_pengajuan"]), wib_datetime(a["tgl_status"])
            checked_times(submitted, status_at, updated)
            code = a["kode_status"]
            due = a.get("jatuh_tempo")
            records.append({
                "agency_id": self.agency_id, "application_id": record_id, "service_code": a["kode_layanan"],
                "applicant_nik": checked_nik(a.get("npwp_or_nik")), "status": self.status_mapping(code).value,
                "agency_status": str(code), "status_at": status_at, "submitted_at": submitted,
                "sla_due_date": slash_date(due) if due else None, "output_document": a.get("no_dokumen"),
                "source_updated_at": updated,
            })
        except (SkippableError, KeyError, ValueError, TypeError, AttributeError) as exc:
            rejects.append(reject(exc, record_id, a if isinstance(a, dict) else {"value": a}))
        if updated is None or not record_id:
            return position
        return Keyset(updated, record_id) if position is None else position.advance(updated, record_id)


# --- WIB times -------------------------------------------------------------------------------------------------------
# Sliced by position rather than strptime: several times per record, at thousands of records a second.


def wib_datetime(text: str) -> datetime:
    """``DD-MM-YYYY HH:MM:SS`` or ``DD/MM/YYYY HH:MM`` in WIB to an aware UTC datetime."""
    if len(text) not in (16, 19) or text[2] != text[5] or text[2] not in "-/" or text[10] != " " or text[13] != ":":
        raise ValueError("time is not DD-MM-YYYY HH:MM[:SS]")
    second = int(text[17:19]) if len(text) == 19 else 0
    local = datetime(int(text[6:10]), int(text[3:5]), int(text[0:2]), int(text[11:13]), int(text[14:16]), second)
    return (local - WIB).replace(tzinfo=UTC)


def wib_text(moment: datetime) -> str:
    """An aware datetime as the agency's ``DD-MM-YYYY HH:MM:SS`` in WIB."""
    return (moment.astimezone(UTC) + WIB).strftime("%d-%m-%Y %H:%M:%S")


def slash_date(text: str) -> date:
    """``DD/MM/YYYY`` to a date (a calendar date: no time zone)."""
    if len(text) != 10 or text[2] != "/" or text[5] != "/":
        raise ValueError("date is not DD/MM/YYYY")
    return date(int(text[6:10]), int(text[3:5]), int(text[0:2]))
