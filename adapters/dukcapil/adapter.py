"""Dukcapil (Direktorat Jenderal Kependudukan dan Pencatatan Sipil): the population registry, over SOAP 1.1.

Operations: ``GetServiceCatalog``; ``GetApplicationsChangedSince(Since, PageToken, PageSize)`` ordered by
``(DiperbaruiPada, NomorPermohonan)`` with an opaque ``NextPageToken``; and ``VerifyIdentity`` for the portal's
live look-up (identity data is verified, never bulk-copied).

Applications cursor: ``{"updated": <ISO UTC of the last record seen>, "id": <its NomorPermohonan>,
"page_token": <NextPageToken or null>}``. Mid-run the token resumes at the next page; after the last page the
token is null and ``updated``/``id`` are the high-water mark. ``Since`` is inclusive, so the record at the mark comes
back on the next run and is skipped here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from adapters._shared import Vocabulary, checked_nik, checked_times, describe, reject, run_check
from mpp_bus.config.agencies import RetryConfig
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
from mpp_bus.errors import AdapterError, RateLimitedError, SkippableError
from mpp_bus.privacy import nik_problem
from mpp_bus.transport import NO_RETRY, CursorPaginator, Keyset, SoapClient

HERE = Path(__file__).parent
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 1000
# A person waits on a look-up: one quick second try, never a long backoff.
LOOKUP_RETRY = RetryConfig(attempts=2, max_seconds=5, initial_wait=0.2, max_wait=1)


class DukcapilConfig(AdapterConfig):
    wsdl_url: str
    username: str = "mpp-bus"
    password: SecretStr
    connection_fields: ClassVar[dict[str, str]] = {"login": "username", "password": "password"}


@dataclass(frozen=True)
class IdentityMatch:
    """The registry's answer to "is this the person": three booleans, never the data itself."""

    nik_found: bool
    name_matches: bool
    birth_date_matches: bool

    @property
    def matches(self) -> bool:
        return self.nik_found and self.name_matches and self.birth_date_matches


class DukcapilAdapter(Adapter[DukcapilConfig]):
    name = "dukcapil"
    version = "1.0.0"
    wraps = "Dukcapil population registry SOAP service (urn:mpp:mock:dukcapil:v1), WS-Security UsernameToken"
    config_model = DukcapilConfig
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
    vocabulary = Vocabulary.load(HERE / "vocabulary.yaml")

    def __init__(self, instance: Any, config: DukcapilConfig) -> None:
        super().__init__(instance, config)
        self.soap = SoapClient.for_instance(instance, config.wsdl_url, username=config.username,
                                            password=config.password)

    def streams(self) -> Sequence[StreamSpec]:
        return [
            StreamSpec(StreamName.CATALOG, SyncMode.FULL),
            StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "DiperbaruiPada"),
        ]

    def check(self) -> CheckResult:
        return run_check(self.agency_id, lambda: self.soap.call("GetServiceCatalog", retry=NO_RETRY))

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        self.stream(stream)
        try:
            if stream == StreamName.CATALOG:
                yield self._catalog()
            else:
                yield from self._applications(cursor)
        except AdapterError as exc:
            raise exc.located(agency=self.agency_id, stream=stream)

    def close(self) -> None:
        self.soap.close()

    # --- catalog ---------------------------------------------------------------------------------------------------

    def _catalog(self) -> Page:
        records, rejects = [], []
        for item in self.soap.call("GetServiceCatalog") or []:
            try:
                records.append(self._service(item))
            except (SkippableError, ValueError, TypeError, AttributeError) as exc:
                rejects.append(reject(exc, getattr(item, "Kode", None), _payload(item)))
        return Page(records, None, rejects)

    def _service(self, s: Any) -> dict[str, Any]:
        if not s.Kode:
            raise SkippableError("service without Kode")
        requirements, other = self.vocabulary.requirements(s.Persyaratan or [])
        return {
            "agency_id": self.agency_id, "code": s.Kode, "name": s.Nama,
            "description": describe(s.Deskripsi or "", other),
            "category": s.Kategori, "requirements": requirements, "output_document": s.DokumenHasil or "",
            "sla_working_days": int(s.SlaHariKerja), "fee_idr": int(s.Biaya or 0), "legal_basis": s.DasarHukum or "",
            "channels": self.vocabulary.channels_of(s.Kanal or []),
        }

    # --- applications ----------------------------------------------------------------------------------------------

    def _applications(self, cursor: Cursor | None) -> Iterator[Page]:
        position = Keyset.from_cursor(cursor, agency=self.agency_id)
        token = (cursor or {}).get("page_token") or None
        size = min(self.instance.page_size, MAX_PAGE_SIZE)
        since = position.updated if position else EPOCH
        paginator = CursorPaginator("NextPageToken", agency=self.agency_id)
        if token:
            paginator.seen(token)
        while True:
            result = self.soap.call("GetApplicationsChangedSince", Since=since, PageToken=token, PageSize=size)
            records: list[dict[str, Any]] = []
            rejects: list[Reject] = []
            start = position
            for item in (result.Items.Permohonan if result.Items is not None else None) or []:
                position = self._one(item, start, position, records, rejects)
            token = paginator.next_token(result)
            page_cursor = {**(position.to_cursor() if position else {}), "page_token": token}
            yield Page(records, page_cursor, rejects)
            if token is None:
                return

    def _one(self, p: Any, start: Keyset | None, position: Keyset | None, records: list[dict[str, Any]],
             rejects: list[Reject]) -> Keyset | None:
        record_id = p.NomorPermohonan
        updated: datetime | None = None
        try:
            if not record_id:
                raise SkippableError("application without NomorPermohonan")
            updated = p.DiperbaruiPada
            if start is not None and start.replays(updated, record_id):
                return position  # already delivered: Since is inclusive
            submitted, status_at = p.WaktuPengajuan, p.WaktuStatus
            checked_times(submitted, status_at, updated)
            records.append({
                "agency_id": self.agency_id, "application_id": record_id, "service_code": p.KodeLayanan,
                "applicant_nik": checked_nik(p.NikPemohon), "status": self.status_mapping(p.StatusKode).value,
                "agency_status": p.StatusKode, "status_at": status_at, "submitted_at": submitted,
                "sla_due_date": p.BatasSla, "output_document": p.NomorDokumen, "source_updated_at": updated,
            })
        except (SkippableError, ValueError, TypeError, AttributeError) as exc:
            rejects.append(reject(exc, record_id, _payload(p)))
        if updated is None or not record_id:
            return position
        return Keyset(updated, record_id) if position is None else position.advance(updated, record_id)

    # --- live look-up ----------------------------------------------------------------------------------------------

    def verify_identity(self, nik: str, name: str, birth_date: date) -> IdentityMatch:
        """Ask the registry whether a NIK, a full name and a birth date belong together.

        The NIK and the name never appear in a log line or an error message: a failure says only what failed.

        Example::

            match = adapter.verify_identity("3314014507900001", "Siti Rahayu", date(1990, 7, 5))
            if not match.matches: ...
        """
        if nik_problem(nik):
            return IdentityMatch(False, False, False)  # not a NIK, so the registry cannot know it
        try:
            answer = self.soap.call("VerifyIdentity", Nik=nik, NamaLengkap=name, TanggalLahir=birth_date,
                                    retry=LOOKUP_RETRY)
        except AdapterError as exc:
            raise _anonymous(exc, self.agency_id) from None
        return IdentityMatch(bool(answer.NikDitemukan), bool(answer.NamaCocok), bool(answer.TanggalLahirCocok))


def _payload(value: Any) -> dict[str, Any]:
    """A zeep object as a plain dict, for a reject (only built for the few bad records)."""
    try:
        return {key: value[key] for key in value}
    except TypeError:
        return {"value": str(value)}


def _anonymous(exc: AdapterError, agency: str) -> AdapterError:
    """The same error type without the agency's text, which might echo what we sent."""
    message = f"VerifyIdentity failed ({type(exc).__name__}); the registry could not answer, try again later"
    if isinstance(exc, RateLimitedError):
        return RateLimitedError(message, retry_after=exc.retry_after, agency=agency)
    return type(exc)(message, agency=agency)
