"""Dukcapil (Direktorat Jenderal Kependudukan dan Pencatatan Sipil): the population registry, over SOAP 1.1.

Operations: ``GetServiceCatalog``; ``GetApplicationsChangedSince(Since, PageToken, PageSize)`` ordered by
``(DiperbaruiPada, NomorPermohonan)`` with an opaque ``NextPageToken``; and ``VerifyIdentity`` for the portal's
live look-up (identity data is verified, never bulk-copied).

Submissions: ``AjukanPerubahanKK(IdPermintaan, Nik, JenisPerubahan, Keterangan, Lampiran[])`` (a family card change,
service ``KK-UBAH``; attachments base64). The registry de-duplicates by ``IdPermintaan`` (the submission's
reference), so a resend is safe; an invalid request is the fault ``Client.DataTidakValid`` with its reason.

Applications cursor: ``{"updated": <ISO UTC of the last record seen>, "id": <its NomorPermohonan>,
"page_token": <NextPageToken or null>}``. Mid-run the token resumes at the next page; after the last page the
token is null and ``updated``/``id`` are the high-water mark. ``Since`` is inclusive, so the record at the mark comes
back on the next run and is skipped here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, ClassVar

import requests
from pydantic import SecretStr, TypeAdapter, ValidationError

from mpp_bus.canonical import Application
from mpp_bus.canonical.records import CanonicalRecords, mapped_record_type
from mpp_bus.config.agencies import RetryConfig
from mpp_bus.contract import (
    AdapterConfig,
    Cursor,
    FormSchemas,
    Page,
    Receipt,
    StatusMapping,
    StreamName,
    StreamSpec,
    Submission,
    SyncMode,
)
from mpp_bus.errors import AdapterError, FatalError, RateLimitedError, SkippableError, SubmissionRefused
from mpp_bus.privacy import nik_problem, redact_text
from mpp_bus.transport import (
    NO_RETRY,
    AgencyAdapter,
    CursorPaginator,
    Keyset,
    SoapClient,
    Vocabulary,
    checked_nik,
    checked_record_times,
    checked_times,
    describe,
    keyset_read,
    map_items,
)

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


class DukcapilAdapter(AgencyAdapter[DukcapilConfig]):
    name = "dukcapil"
    version = "1.1.0"
    wraps = "Dukcapil population registry SOAP service (urn:mpp:mock:dukcapil:v1), WS-Security UsernameToken"
    config_model = DukcapilConfig
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
    vocabulary = Vocabulary.load(HERE / "vocabulary.yaml")
    forms = FormSchemas.load(HERE / "forms")
    resend_safe = True  # IdPermintaan de-duplicates
    stream_specs = (StreamSpec(StreamName.CATALOG, SyncMode.FULL),
                    StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "DiperbaruiPada"))

    def __init__(self, instance: Any, config: DukcapilConfig, *, session: requests.Session | None = None) -> None:
        super().__init__(instance, config, session=session)
        self.soap = self.uses(SoapClient.for_instance(instance, config.wsdl_url, username=config.username,
                                                      password=config.password, session=self.session))

    def probe(self) -> object:
        return self.soap.call("GetServiceCatalog", retry=NO_RETRY)

    def read_catalog(self, cursor: Cursor | None) -> Iterator[Page]:
        items = self.soap.call("GetServiceCatalog") or []
        records, rejects = map_items(items, self._service, lambda s: getattr(s, "Kode", None), _payload)
        yield Page(records, None, rejects)

    def _service(self, s: Any) -> dict[str, Any]:
        if not s.Kode:
            raise SkippableError("service without Kode")
        requirements, other = self.vocabulary.requirements(s.Persyaratan or [])
        return {
            "agency_id": self.agency_id, "code": s.Kode, "name": s.Nama,
            "description": describe(s.Deskripsi or "", other),
            "category": self.vocabulary.category_of(s.Kategori), "requirements": requirements,
            "output_document": s.DokumenHasil or "",
            "sla_working_days": int(s.SlaHariKerja), "fee_idr": int(s.Biaya or 0), "legal_basis": s.DasarHukum or "",
            "channels": self.vocabulary.channels_of(s.Kanal or []),
        }

    def read_applications(self, cursor: Cursor | None) -> Iterator[Page]:
        start = Keyset.from_cursor(cursor, agency=self.agency_id)
        # Every request of a read asks from where the read started; the page token carries the rest of the way.
        since = start.updated if start else EPOCH
        yield from keyset_read(cursor, agency=self.agency_id, token_key="page_token",
                               fetch=lambda position, token: self._applications_page(since, token),
                               paginator=CursorPaginator("NextPageToken", agency=self.agency_id),
                               record_id=_application_id, updated=_updated, build=self._application,
                               check=checked_record_times)

    def _applications_page(self, since: datetime, token: str | None) -> tuple[list[Any], Any]:
        # The bulk read walks the XML itself: zeep's objects cost ten times the parsing (see SoapClient.call_xml).
        response = self.soap.call_xml("GetApplicationsChangedSince", Since=since, PageToken=token,
                                      PageSize=min(self.instance.page_size, MAX_PAGE_SIZE))
        result = _child(response, "GetApplicationsChangedSinceResult")
        items = _child(result, "Items")
        next_token = _child(result, "NextPageToken")
        following = {"NextPageToken": None if next_token is None else next_token.text}
        # A comment or processing instruction among the items has no string tag: it is no record.
        elements = [element for element in (items if items is not None else ()) if isinstance(element.tag, str)]
        if elements:
            # One pydantic-core pass from the elements, keyed by their tags as lxml gives them ({namespace}Name), to
            # canonical records; a page that does not validate whole is mapped item by item (``_application``), so
            # each bad record is rejected with its own reason.
            namespace = items.tag[:items.tag.find("}") + 1]
            try:
                validated = _items_validator(type(self), namespace).validate_python(
                    [{child.tag: child.text for child in element} for element in elements])
                return CanonicalRecords(validated, Application), following
            except ValidationError:
                pass
        records = [{_local(child.tag): child.text for child in element if isinstance(child.tag, str)}
                   for element in elements]
        return records, following

    def _application(self, p: dict[str, str | None], updated: datetime) -> dict[str, Any]:
        submitted, status_at = _datetime(p["WaktuPengajuan"]), _datetime(p["WaktuStatus"])
        checked_times(submitted, status_at, updated)
        due = p.get("BatasSla")
        return {
            "agency_id": self.agency_id, "application_id": p["NomorPermohonan"], "service_code": p["KodeLayanan"],
            "applicant_nik": checked_nik(p.get("NikPemohon")), "status": self.status_mapping(p["StatusKode"]),
            "agency_status": p["StatusKode"], "status_at": status_at, "submitted_at": submitted,
            "sla_due_date": date.fromisoformat(due) if due else None, "output_document": p.get("NomorDokumen"),
            "source_updated_at": updated,
        }

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


    # --- submissions -----------------------------------------------------------------------------------------------

    def submit(self, submission: Submission) -> Receipt:
        if submission.service_code != "KK-UBAH":
            raise FatalError(f"the registry takes only KK-UBAH electronically, not {submission.service_code}",
                             agency=self.agency_id)
        form = submission.form
        attachments = [{"Jenis": u.requirement, "TipeKonten": u.media_type,
                        "IsiBase64": base64.b64encode(u.content).decode()} for u in submission.uploads]
        try:
            answer = self.soap.call("AjukanPerubahanKK", IdPermintaan=submission.reference,
                                    Nik=submission.applicant_nik, JenisPerubahan=form.get("jenis_perubahan"),
                                    Keterangan=form.get("keterangan"), Lampiran={"Lampiran": attachments})
        except FatalError as exc:
            reason = _refusal(exc)
            if reason is not None:
                raise SubmissionRefused(reason, agency=self.agency_id) from None
            raise
        due = answer.BatasSla
        return Receipt(str(answer.NomorPermohonan), answer.WaktuPengajuan, str(answer.StatusKode),
                       due if isinstance(due, date) else None)


def _refusal(exc: FatalError) -> str | None:
    """The registry's reason when ``exc`` is its refusal of the request (fault ``Client.DataTidakValid``)."""
    cause = exc.__cause__
    code = str(getattr(cause, "code", "") or "")
    if code.rsplit(":", 1)[-1] != "Client.DataTidakValid":
        return None
    return redact_text(str(getattr(cause, "message", "") or "ditolak"))[:500]



@cache
def _items_validator(adapter: type[DukcapilAdapter], namespace: str) -> TypeAdapter[Any]:
    """The items' elements (``{namespace}Name`` -> text) to canonical records, the status codes through the mapping
    table (a code only its normalising aliases know fails here, and the page is then mapped item by item)."""
    fields = {"application_id": "NomorPermohonan", "service_code": "KodeLayanan", "applicant_nik": "NikPemohon",
              "status": "StatusKode", "agency_status": "StatusKode", "status_at": "WaktuStatus",
              "submitted_at": "WaktuPengajuan", "sla_due_date": "BatasSla", "output_document": "NomorDokumen",
              "source_updated_at": "DiperbaruiPada"}
    record = mapped_record_type(Application, converters={"status": adapter.status_mapping.table.get},
                                aliases={field: namespace + name for field, name in fields.items()})
    items: Any = list  # built at run time from the adapter's own mapping table: a value to the type checker
    return TypeAdapter(items[record])


def _application_id(p: dict[str, str | None]) -> str | None:
    return p.get("NomorPermohonan")


def _updated(p: dict[str, str | None]) -> datetime:
    return _datetime(p["DiperbaruiPada"])


def _child(element: Any, name: str) -> Any:
    """The first child element of ``element`` named ``name`` (any namespace), or None."""
    if element is None:
        return None
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) == name:
            return child
    return None


@lru_cache(maxsize=512)
def _local(tag: str) -> str:
    """The local part of an element's ``{namespace}name``: a page repeats a dozen names a thousand times, and a cached
    look-up costs a fraction of building an ``etree.QName`` for each."""
    return tag.rpartition("}")[2]


def _datetime(text: str | None) -> datetime:
    """An xsd:dateTime as an aware datetime (``Z`` or an offset; without one it stays naive, and the record's
    time checks reject it as zeep's reading did)."""
    if not text:
        raise SkippableError("a required time is missing")
    return datetime.fromisoformat(text.strip())


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
