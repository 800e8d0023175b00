"""Business licensing (OSS and the regional DPMPTSP offices that run the same system): REST/JSON, OAuth2 client
credentials, one server for many tenants (``/api/v1/{tenant}/...``).

Applications: ``GET /api/v1/{tenant}/applications?updated_since=<RFC 3339>&cursor=<opaque>&limit=<=1000``, ordered
by ``(updated_at, id)``, with ``next_cursor`` null on the last page.

Applications cursor: ``{"updated": <ISO UTC of the last record seen>, "id": <its id>, "next_cursor": <the agency's
cursor or null>}``. Mid-run ``next_cursor`` resumes at the next page; after the last page it is null and
``updated``/``id`` are the high-water mark for the next incremental run (``updated_since`` is inclusive, so the
record at the mark is skipped when it comes back).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
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
from mpp_bus.errors import AdapterError, SkippableError
from mpp_bus.transport import NO_RETRY, CursorPaginator, HttpClient, Keyset, OAuth2ClientCredentials

HERE = Path(__file__).parent
MAX_LIMIT = 1000


class LicensingConfig(AdapterConfig):
    base_url: str
    tenant: str
    client_id: str = "mpp-bus"
    client_secret: SecretStr
    connection_fields: ClassVar[dict[str, str]] = {"login": "client_id", "password": "client_secret"}


class LicensingAdapter(Adapter[LicensingConfig]):
    name = "licensing"
    version = "1.0.0"
    wraps = "OSS-style business licensing REST API v1 (multi-tenant), OAuth2 client credentials"
    config_model = LicensingConfig
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
    vocabulary = Vocabulary.load(HERE / "vocabulary.yaml")

    def __init__(self, instance: Any, config: LicensingConfig) -> None:
        super().__init__(instance, config)
        base = config.base_url.rstrip("/")
        auth = OAuth2ClientCredentials(f"{base}/oauth/token", config.client_id, config.client_secret,
                                       agency=instance.id, timeout=instance.timeout_seconds)
        self.http = HttpClient.for_instance(instance, base, auth=auth)
        self.prefix = f"/api/v1/{config.tenant}"

    def streams(self) -> Sequence[StreamSpec]:
        return [
            StreamSpec(StreamName.CATALOG, SyncMode.FULL),
            StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "updated_at"),
        ]

    def check(self) -> CheckResult:
        return run_check(self.agency_id, lambda: self.http.get_json(f"{self.prefix}/services", retry=NO_RETRY))

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
        paginator = CursorPaginator("next_cursor", agency=self.agency_id)
        params: dict[str, str] = {}
        while True:
            body = self.http.get_json(f"{self.prefix}/services", params)
            records, rejects = [], []
            for item in body.get("data") or []:
                try:
                    records.append(self._service(item))
                except (SkippableError, KeyError, ValueError, TypeError, AttributeError) as exc:
                    rejects.append(reject(exc, item.get("code") if isinstance(item, dict) else None, item))
            next_cursor = paginator.next_token(body)
            yield Page(records, None, rejects)
            if next_cursor is None:
                return
            params = {"cursor": next_cursor}

    def _service(self, s: dict[str, Any]) -> dict[str, Any]:
        requirements, other = self.vocabulary.requirements(s.get("requirements") or [])
        return {
            "agency_id": self.agency_id, "code": s["code"], "name": s["name"],
            "description": describe(s.get("description") or "", other), "category": s["category"],
            "requirements": requirements, "output_document": s.get("output_document") or "",
            "sla_working_days": int(s["sla_days"]), "fee_idr": int(s.get("fee_idr") or 0),
            "legal_basis": s.get("legal_basis") or "", "channels": self.vocabulary.channels_of(s.get("channels") or []),
        }

    # --- applications ----------------------------------------------------------------------------------------------

    def _applications(self, cursor: Cursor | None) -> Iterator[Page]:
        position = Keyset.from_cursor(cursor, agency=self.agency_id)
        agency_cursor = (cursor or {}).get("next_cursor") or None
        paginator = CursorPaginator("next_cursor", agency=self.agency_id)
        if agency_cursor:
            paginator.seen(agency_cursor)
        limit = min(self.instance.page_size, MAX_LIMIT)
        while True:
            params: dict[str, Any] = {"limit": limit}
            if agency_cursor:
                params["cursor"] = agency_cursor
            elif position is not None:
                params["updated_since"] = position.updated.astimezone(UTC).isoformat().replace("+00:00", "Z")
            body = self.http.get_json(f"{self.prefix}/applications", params)
            records: list[dict[str, Any]] = []
            rejects: list[Reject] = []
            start = position
            for item in body.get("data") or []:
                position = self._one(item, start, position, records, rejects)
            agency_cursor = paginator.next_token(body)
            yield Page(records, {**(position.to_cursor() if position else {}), "next_cursor": agency_cursor}, rejects)
            if agency_cursor is None:
                return

    def _one(self, a: dict[str, Any], start: Keyset | None, position: Keyset | None,
             records: list[dict[str, Any]], rejects: list[Reject]) -> Keyset | None:
        record_id = a.get("id") if isinstance(a, dict) else None
        updated: datetime | None = None
        try:
            if not record_id:
                raise SkippableError("application without id")
            updated = _utc(a["updated_at"])
            if start is not None and start.replays(updated, record_id):
                return position  # already delivered: updated_since is inclusive
            submitted, status_at = _utc(a["submitted_at"]), _utc(a["status_at"])
            checked_times(submitted, status_at, updated)
            due = a.get("sla_due_date")
            records.append({
                "agency_id": self.agency_id, "application_id": record_id, "service_code": a["service_code"],
                "applicant_nik": checked_nik(a.get("applicant_nik")), "status": self.status_mapping(a["status"]).value,
                "agency_status": a["status"], "status_at": status_at, "submitted_at": submitted,
                "sla_due_date": date.fromisoformat(due) if due else None, "output_document": a.get("document_number"),
                "source_updated_at": updated,
            })
        except (SkippableError, KeyError, ValueError, TypeError, AttributeError) as exc:
            rejects.append(reject(exc, record_id, a if isinstance(a, dict) else {"value": a}))
        if updated is None or not record_id:
            return position
        return Keyset(updated, record_id) if position is None else position.advance(updated, record_id)


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise SkippableError("a time without a UTC offset; the API promises RFC 3339")
    return value
