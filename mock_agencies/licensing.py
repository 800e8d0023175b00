"""Mock business licensing (OSS style): REST JSON behind OAuth2 client credentials, one server for many tenants.

Tenants are the national OSS system (`oss`) and any regional licensing office: `dpmptsp-PPKK` whose PP.KK is
a regency code, or a province's `dpmptsp-PP`. Pages are written from a string template (LAYOUT): generic dict
building and json.dumps would cost several times as much per record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import secrets
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from mock_agencies.catalogs import LICENSING_LIFECYCLE, OSS_SERVICES, Service, regional_services
from mock_agencies.datasets import App, Dataset, Key, Layout
from mock_agencies.faults import BAD_NIK, IMPOSSIBLE_DATE, MISSING_ID, UNKNOWN_STATUS, Faults
from mock_agencies.httpbase import AgencyServer, Request, Response, json_response
from mock_agencies.population import Population, regions
from mock_agencies.timefmt import ISO_DAYS, UTC_SECONDS, iso_date, parse_rfc3339, rfc3339

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_API = "/api/v1/"


class TokenBucket:
    """Requests per second per client, with a burst of one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may go, else the seconds to wait."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class LicensingServer(AgencyServer):
    agency = "licensing"

    def __init__(self, seed: int, population: Population, size: int, faults: Faults, *,
                 client_id: str | None = None, client_secret: str | None = None, token_ttl: int = 3600,
                 rate_limit: float | None = None) -> None:
        super().__init__(seed, population, size, faults)
        self.client_id = client_id or os.environ.get("MOCK_LICENSING_CLIENT_ID", "mpp-bus")
        self.client_secret = client_secret or os.environ.get("MOCK_LICENSING_CLIENT_SECRET", "oss-rahasia")
        self.token_ttl = token_ttl
        self.rate_limit = rate_limit or float(os.environ.get("MOCK_LICENSING_RATE_LIMIT", "200"))
        self._tokens: dict[str, tuple[str, float]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._datasets: dict[str, Dataset] = {}
        self._catalogs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        # (tenant, Idempotency-Key) -> (request digest, status, body): a resend gets the first answer again
        self._idempotent: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self._submit_lock = threading.Lock()

    # --- tenants ---------------------------------------------------------------------------------------------------

    def dataset(self, name: str | None) -> Dataset | None:
        if not name:
            return None
        with self._lock:
            found = self._datasets.get(name)
            if found is None:
                services = self._services(name)
                if services is None:
                    return None
                prefix = "OSS-" if name == "oss" else f"{name.removeprefix('dpmptsp-')}-"
                found = Dataset(name, self.seed, self.size, self.population, LICENSING_LIFECYCLE, services, prefix)
                self._datasets[name] = found
            return found

    @staticmethod
    def _services(tenant: str) -> tuple[Service, ...] | None:
        if tenant == "oss":
            return OSS_SERVICES
        digits = tenant.removeprefix("dpmptsp-")
        if digits == tenant or not digits.isdigit():
            return None
        # A regency's office (dpmptsp-3314) or a province's (dpmptsp-33), as the generated agencies file names them.
        if len(digits) == 4:
            name = regions().regencies.get(f"{digits[:2]}.{digits[2:]}")
        elif len(digits) == 2:
            province = regions().provinces.get(digits)
            name = None if province is None else f"Provinsi {province}"
        else:
            return None
        return None if name is None else regional_services(tenant, name)

    # --- HTTP ------------------------------------------------------------------------------------------------------

    def handle_data(self, request: Request) -> Response:
        if request.path == "/oauth/token":
            return self._token(request) if request.method == "POST" else self.error(405, "method_not_allowed",
                                                                                    "POST to /oauth/token")
        if not request.path.startswith(_API):
            return self.error(404, "not_found", f"no route {request.path}")
        client = self._authenticate(request)
        if client is None:
            return self.error(401, "invalid_token", "the access token is missing, unknown or expired",
                              extra={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        wait = self._bucket(client).take()
        if wait:
            return self.error(429, "rate_limited", f"more than {self.rate_limit:g} requests/s",
                              retry_after=max(1, math.ceil(wait)))
        parts = request.path[len(_API):].split("/")
        if len(parts) != 2 or parts[1] not in ("services", "applications"):
            return self.error(404, "not_found", f"no route {request.path}")
        dataset = self.dataset(parts[0])
        if dataset is None:
            return self.error(404, "unknown_tenant", f"unknown tenant {parts[0]!r}: use 'oss', 'dpmptsp-PPKK' "
                              "with a regency code or 'dpmptsp-PP' with a province code")
        if parts[1] == "services":
            return self.with_faults(lambda: self._catalog(dataset))
        if request.method == "POST":
            return self.with_faults(lambda: self._submit(dataset, request))
        return self.with_faults(lambda: self._applications(dataset, request.query))

    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):  # RFC 6749 also allows the client to authenticate with HTTP Basic
            try:
                cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
                form["client_id"], form["client_secret"] = cid, secret
            except (binascii.Error, UnicodeDecodeError):
                pass
        if form.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "only grant_type=client_credentials is supported"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return json_response(401, {"error": "invalid_client", "error_description": "unknown client or bad "
                                       "secret"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.time()
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (form["client_id"], now + self.token_ttl)
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl},
                             {"Cache-Control": "no-store"})

    def _authenticate(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        found = self._tokens.get(header[7:].strip())
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    def _bucket(self, client: str) -> TokenBucket:
        bucket = self._buckets.get(client)
        if bucket is None:
            with self._lock:
                bucket = self._buckets.setdefault(client, TokenBucket(self.rate_limit))
        return bucket

    def _catalog(self, dataset: Dataset) -> Response:
        body = self._catalogs.get(dataset.name)
        if body is None:
            data = [{"code": s.code, "name": s.name, "description": s.description, "category": s.category,
                     "requirements": list(s.requirements), "output_document": s.output_document,
                     "sla_days": s.sla_days, "fee_idr": s.fee_idr, "legal_basis": s.legal_basis,
                     "channels": list(s.channels)} for s in dataset.services]
            body = json.dumps({"data": data, "next_cursor": None}, ensure_ascii=False).encode()
            self._catalogs[dataset.name] = body
        return Response(200, body)

    def _applications(self, dataset: Dataset, query: dict[str, str]) -> Response:
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
            cursor = query.get("cursor")
            if cursor:
                key = _decode_cursor(cursor)
            else:
                since = query.get("updated_since")
                key = (parse_rfc3339(since) if since else 0, None)
        except ValueError as exc:
            return self.error(400, "invalid_request", str(exc))
        if not self.faults.shapes_records:
            items, last = dataset.render(key, limit, LAYOUT)
            return _page(",".join(items), last)
        records = dataset.page(key, limit + 1)
        more = len(records) > limit
        records = records[:limit]
        last = None
        if more:
            end = records[-2] if self.faults.profile == "duplicates" and len(records) > 1 else records[-1]
            last = (end.updated_at, end.id)
        return _page(",".join(_item(r, k) for r, k in self.shape_page(dataset, records)), last)

    def _submit(self, dataset: Dataset, request: Request) -> Response:
        """POST an application, as ``multipart/form-data`` (a JSON part ``application``, then one part per file
        with its filename and content type) or, without files, as a JSON body. ``Idempotency-Key``: the same key
        with the same application and files gets the same answer again (``Idempotent-Replayed: true``); the same key
        with anything else is refused (422 ``idempotency_key_reused``).
        An invalid form is refused with a reason in Indonesian (422 ``validation_failed``)."""
        try:
            body, files = _application_body(request)
        except ValueError as exc:
            return self.error(400, "invalid_request", str(exc))
        key = request.headers.get("Idempotency-Key")
        # The same key is a replay only with the same application and the same files, byte for byte.
        digest = hashlib.sha256(json.dumps([body, files], sort_keys=True).encode()).hexdigest()
        reference = str(body.get("client_reference") or "")
        with self._submit_lock:
            held = self._idempotent.get((dataset.name, key)) if key else None
            if held is not None:
                if held[0] != digest:
                    self.note_received(dataset=dataset.name, reference=reference, key=key, outcome="conflict")
                    return self.error(422, "idempotency_key_reused", "Idempotency-Key sudah dipakai untuk "
                                      "permohonan lain.")
                self.note_received(dataset=dataset.name, reference=reference, key=key, outcome="replayed")
                return Response(held[1], held[2], headers={"Idempotent-Replayed": "true"})
            problem = _form_problem(dataset, body)
            if problem is not None:
                response = self.error(422, "validation_failed", problem)
                self.note_received(dataset=dataset.name, reference=reference, key=key, outcome="refused")
            else:
                record = dataset.submit(str(body["service_code"]), str(body["applicant_nik"]))
                response = json_response(201, {"id": record.id, "status": record.status,
                                               "submitted_at": rfc3339(record.submitted_at),
                                               "sla_due_date": iso_date(record.sla_due_day),
                                               "client_reference": reference or None})
                self.note_received(dataset=dataset.name, reference=reference, key=key, outcome="created",
                                   id=record.id, files=files)
            if key:
                self._idempotent[(dataset.name, key)] = (digest, response.status, response.body)
        return response

    def error(self, status: int, code: str, message: str, retry_after: int | None = None,
              extra: dict[str, str] | None = None) -> Response:
        headers = dict(extra or {})
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return json_response(status, {"error": code, "error_description": message}, headers)


def _application_body(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The application and what is known of each file sent with it (part name, filename, content type, sha256,
    size: what the tests check arrived, without keeping the files)."""
    content_type = request.headers.get("Content-Type") or ""
    files: list[dict[str, Any]] = []
    if content_type.lower().startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + request.body)
        if not message.is_multipart():
            raise ValueError("the multipart body could not be read")
        raw: bytes | None = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            content = part.get_payload(decode=True)
            if not isinstance(content, bytes):
                content = b""
            if name == "application" and part.get_filename() is None:
                raw = content
                continue
            files.append({"name": name, "filename": part.get_filename(), "content_type": part.get_content_type(),
                          "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)})
        if raw is None:
            raise ValueError("the multipart body has no 'application' part")
    else:
        raw = request.body or b"null"
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("the application must be a JSON object")
    return body, files


# What the office writes beside REVISION_REQUIRED: what the applicant must fix, in the applicant's language.
REVISION_NOTE = ("Dokumen persyaratan belum lengkap atau tidak terbaca. Unggah ulang pindaian yang jelas dari "
                 "dokumen yang diminta, lalu ajukan kembali.")


def _status_json(status: str | int) -> str:
    """The status as the office writes it, with its revision note when it asks the applicant to fix something."""
    text = json.dumps(status)
    return f'{text},"revision_note":{json.dumps(REVISION_NOTE)}' if status == "REVISION_REQUIRED" else text


# A business's capital above this is not micro or small (PP 7/2021): an IUMK is refused.
MAX_IUMK_CAPITAL = 5_000_000_000


def _form_problem(dataset: Dataset, body: dict[str, Any]) -> str | None:
    """Why the licensing office refuses an application, in its own words; None when it accepts it."""
    code = body.get("service_code")
    if code not in {s.code for s in dataset.services}:
        return f"Layanan {code!r} tidak tersedia di kantor ini."
    nik = str(body.get("applicant_nik") or "")
    if len(nik) != 16 or not nik.isdigit():
        return "NIK pemohon harus 16 digit."
    form = body.get("form")
    if not isinstance(form, dict):
        return "Data formulir tidak ada."
    name = str(form.get("nama_usaha") or "").strip()
    if len(name) < 3:
        return "Nama usaha wajib diisi (paling sedikit 3 karakter)."
    if len(str(form.get("alamat_usaha") or "").strip()) < 10:
        return "Alamat usaha wajib diisi lengkap."
    capital = form.get("modal_usaha")
    if not isinstance(capital, int) or capital < 0:
        return "Modal usaha wajib diisi dalam rupiah."
    if code == "IUMK" and capital > MAX_IUMK_CAPITAL:
        return ("Modal usaha melebihi batas usaha mikro dan kecil (paling banyak Rp5.000.000.000 di luar tanah dan "
                "bangunan); ajukan perizinan berusaha berbasis risiko melalui OSS.")
    return None


LAYOUT = Layout('{"id":"${id}","service_code":"${service}","applicant_nik":"${nik}","status":${status},'
                '"status_at":"${status_at}Z","submitted_at":"${submitted_at}Z","sla_due_date":"${sla_due}",'
                '"document_number":${document},"updated_at":"${updated_at}Z"}',
                status_at=UTC_SECONDS, submitted_at=UTC_SECONDS, sla_due=ISO_DAYS, updated_at=UTC_SECONDS,
                document=('"%s"', "null"), status_text=_status_json)


def _page(items: str, last: tuple[int, str] | None) -> Response:
    next_cursor = "null" if last is None else f'"{_encode_cursor(last)}"'
    return Response(200, f'{{"data":[{items}],"next_cursor":{next_cursor}}}'.encode())


def _item(r: App, corruption: int | None) -> str:
    if corruption is None:
        return LAYOUT.write(r)
    item: dict[str, Any] = {"id": r.id, "service_code": r.service.code, "applicant_nik": r.nik, "status": r.status,
                            "status_at": rfc3339(r.status_at), "submitted_at": rfc3339(r.submitted_at),
                            "sla_due_date": iso_date(r.sla_due_day), "document_number": r.document_number,
                            "updated_at": rfc3339(r.updated_at)}
    if r.status == "REVISION_REQUIRED":
        item["revision_note"] = REVISION_NOTE
    if corruption == BAD_NIK:
        item["applicant_nik"] = r.nik[:6] + "XX" + r.nik[8:]
    elif corruption == MISSING_ID:
        del item["id"]
    elif corruption == UNKNOWN_STATUS:
        item["status"] = "ON_HOLD"
    elif corruption == IMPOSSIBLE_DATE:
        item["submitted_at"] = item["submitted_at"][:5] + "02-30" + item["submitted_at"][10:]
    return json.dumps(item, separators=(",", ":"))


def _encode_cursor(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> Key:
    try:
        updated, _, record_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        if not record_id:
            raise ValueError
        return int(updated), record_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("the cursor is not one this server issued") from exc
