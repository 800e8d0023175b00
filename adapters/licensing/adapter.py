"""Business licensing (OSS and the regional DPMPTSP offices that run the same system): REST/JSON, OAuth2 client
credentials, one server for many tenants (``/api/v1/{tenant}/...``).

Applications: ``GET /api/v1/{tenant}/applications?updated_since=<RFC 3339>&cursor=<opaque>&limit=<=1000``, ordered
by ``(updated_at, id)``, with ``next_cursor`` null on the last page.

Submissions: ``POST /api/v1/{tenant}/applications`` as ``multipart/form-data`` (a JSON part ``application``, one
file part per upload) with an ``Idempotency-Key`` header (the submission's reference):
the agency answers a resend with the first application again, so resending is safe. An invalid form is refused with
422 ``validation_failed`` and a reason in Indonesian.

Applications cursor: ``{"updated": <ISO UTC of the last record seen>, "id": <its id>, "next_cursor": <the agency's
cursor or null>}``. Mid-run ``next_cursor`` resumes at the next page; after the last page it is null and
``updated``/``id`` are the high-water mark for the next incremental run (``updated_since`` is inclusive, so the
record at the mark is skipped when it comes back).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, NotRequired

import orjson
import requests
from pydantic import SecretStr, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from mpp_bus.canonical import Application
from mpp_bus.canonical.records import CanonicalRecords, mapped_record_type
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
from mpp_bus.errors import FatalError, SubmissionRefused
from mpp_bus.privacy import redact_text
from mpp_bus.transport import (
    NO_RETRY,
    AgencyAdapter,
    CursorPaginator,
    HttpClient,
    Keyset,
    OAuth2ClientCredentials,
    Vocabulary,
    checked_nik,
    checked_record_times,
    checked_times,
    describe,
    format_datetime,
    keyset_read,
    map_items,
    note,
    parse_datetime,
    parse_json,
)

HERE = Path(__file__).parent
MAX_LIMIT = 1000


class LicensingConfig(AdapterConfig):
    base_url: str
    tenant: str
    client_id: str = "mpp-bus"
    client_secret: SecretStr
    connection_fields: ClassVar[dict[str, str]] = {"login": "client_id", "password": "client_secret"}


class LicensingAdapter(AgencyAdapter[LicensingConfig]):
    name = "licensing"
    version = "1.1.0"
    wraps = "OSS-style business licensing REST API v1 (multi-tenant), OAuth2 client credentials"
    config_model = LicensingConfig
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
    vocabulary = Vocabulary.load(HERE / "vocabulary.yaml")
    stream_specs = (StreamSpec(StreamName.CATALOG, SyncMode.FULL),
                    StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "updated_at"))
    forms = FormSchemas.load(HERE / "forms")
    resend_safe = True  # the Idempotency-Key makes a resend answer with the first application

    def __init__(self, instance: Any, config: LicensingConfig, *, session: requests.Session | None = None) -> None:
        super().__init__(instance, config, session=session)
        base = config.base_url.rstrip("/")
        auth = OAuth2ClientCredentials(f"{base}/oauth/token", config.client_id, config.client_secret,
                                       agency=instance.id, timeout=instance.timeout_seconds, session=self.session)
        self.http = self.uses(HttpClient.for_instance(instance, base, auth=auth, session=self.session))
        self.prefix = f"/api/v1/{config.tenant}"

    def probe(self) -> object:
        return self.http.get_json(f"{self.prefix}/services", retry=NO_RETRY)

    def read_catalog(self, cursor: Cursor | None) -> Iterator[Page]:
        paginator = CursorPaginator("next_cursor", agency=self.agency_id)
        params: dict[str, str] = {}
        while True:
            body = self.http.get_json(f"{self.prefix}/services", params)
            records, rejects = map_items(body.get("data") or [], self._service, lambda s: s.get("code"))
            token = paginator.next_token(body)
            yield Page(records, None, rejects)
            if token is None:
                return
            params = {"cursor": token}

    def _service(self, s: dict[str, Any]) -> dict[str, Any]:
        requirements, other = self.vocabulary.requirements(s.get("requirements") or [])
        return {
            "agency_id": self.agency_id, "code": s["code"], "name": s["name"],
            "description": describe(s.get("description") or "", other),
            "category": self.vocabulary.category_of(s.get("category")),
            "requirements": requirements, "output_document": s.get("output_document") or "",
            "sla_working_days": int(s["sla_days"]), "fee_idr": int(s.get("fee_idr") or 0),
            "legal_basis": s.get("legal_basis") or "", "channels": self.vocabulary.channels_of(s.get("channels") or []),
        }

    def read_applications(self, cursor: Cursor | None) -> Iterator[Page]:
        return keyset_read(cursor, agency=self.agency_id, token_key="next_cursor", fetch=self._applications_page,
                           paginator=CursorPaginator("next_cursor", agency=self.agency_id),
                           record_id=_application_id, updated=_updated, build=self._application,
                           check=checked_record_times)

    def _applications_page(self, position: Keyset | None, token: str | None) -> tuple[list[Any], Any]:
        params: dict[str, Any] = {"limit": min(self.instance.page_size, MAX_LIMIT)}
        if token:
            params["cursor"] = token
        elif position is not None:
            params["updated_since"] = format_datetime(position.updated)
        path = f"{self.prefix}/applications"
        return self.http.get_parsed(path, lambda content: self._parse_page(content, path), params)

    def _parse_page(self, content: bytes, path: str) -> tuple[list[Any], Any]:
        """A page validated from its bytes into canonical records in one pass; a page that does not validate whole
        is read item by item (``_application``), so each bad record is rejected with its own reason."""
        try:
            page = _page_validator(type(self)).validate_json(content)
        except ValidationError:
            body = parse_json(content, agency=self.agency_id, path=path)
            return body.get("data") or [], body
        return CanonicalRecords(page["data"], Application), page

    def _application(self, a: dict[str, Any], updated: datetime) -> dict[str, Any]:
        submitted, status_at = parse_datetime(a["submitted_at"]), parse_datetime(a["status_at"])
        checked_times(submitted, status_at, updated)
        due = a.get("sla_due_date")
        return {
            "agency_id": self.agency_id, "application_id": a["id"], "service_code": a["service_code"],
            "applicant_nik": checked_nik(a.get("applicant_nik")), "status": self.status_mapping(a["status"]),
            "agency_status": a["status"], "status_at": status_at, "submitted_at": submitted,
            "sla_due_date": date.fromisoformat(due) if due else None, "output_document": a.get("document_number"),
            "revision_note": note(a.get("revision_note")), "source_updated_at": updated,
        }


    # --- submissions -----------------------------------------------------------------------------------------------

    def submit(self, submission: Submission) -> Receipt:
        path = f"{self.prefix}/applications"
        application = {
            "service_code": submission.service_code, "applicant_nik": submission.applicant_nik,
            "client_reference": submission.reference, "form": dict(submission.form),
            "documents": [{"type": d.requirement, "agency_id": d.agency_id, "application_id": d.application_id,
                           "number": d.document_number} for d in submission.documents],
        }
        # multipart/form-data: the application as a JSON part, then each upload as a file part named by its
        # requirement. Retried within the call as any request: the key makes every resend safe.
        files = [("application", (None, orjson.dumps(application), "application/json")),
                 *((u.requirement, (u.filename, u.content, u.media_type)) for u in submission.uploads)]
        response = self.http.request("POST", path, files=files, headers={"Idempotency-Key": submission.reference},
                                     ok=(200, 201, 422))
        data = response.json(agency=self.agency_id, path=path)
        if response.status == 422:
            if data.get("error") == "validation_failed":
                raise SubmissionRefused(redact_text(str(data.get("error_description") or "ditolak"))[:500],
                                        agency=self.agency_id)
            raise FatalError(f"POST {path}: the agency refused the request ({data.get('error')}); report it to the "
                             "adapter's maintainers", agency=self.agency_id)
        due = data.get("sla_due_date")
        return Receipt(str(data["id"]), parse_datetime(data["submitted_at"]), str(data["status"]),
                       date.fromisoformat(due) if due else None)



@cache
def _page_validator(adapter: type[LicensingAdapter]) -> TypeAdapter[Any]:
    """The applications page, from the agency's bytes to canonical records: its field names as aliases, its status
    codes through the mapping table (a code only the table's normalising aliases know fails here, and the page is
    then read item by item)."""
    record = mapped_record_type(Application, converters={"status": adapter.status_mapping.table.get,
                                                            "revision_note": note}, aliases={
        "application_id": "id", "agency_status": "status", "output_document": "document_number",
        "source_updated_at": "updated_at"})
    # Built at run time from the adapter's own mapping table: a type to pydantic, a value to the type checker.
    typed_dict: Any = TypedDict
    items: Any = list
    return TypeAdapter(typed_dict("LicensingApplicationsPage",
                                  {"data": items[record], "next_cursor": NotRequired[str | None]}))


def _application_id(a: Any) -> object:
    return a.get("id") if isinstance(a, dict) else None


def _updated(a: dict[str, Any]) -> datetime:
    return parse_datetime(a["updated_at"])
