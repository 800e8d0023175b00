"""The tax office (Direktorat Jenderal Pajak), wired declaratively: everything specific to the agency is in
``spec.yaml`` (with ``statuses.yaml`` and ``vocabulary.yaml``); this class only names the type and ships the spec,
so the ``tax`` entry point keeps working for existing agency instances (``config: {base_url: ...}``).

Submissions (code: the write direction is not declarative yet): ``POST /v2/permohonan`` with ``referensi_klien``.
The tax office does NOT de-duplicate: a resend creates a second application. So a POST is never retried within the
call, ``resend_safe`` is False, and before any resend the dispatcher looks the reference up
(``GET /v2/permohonan/referensi/{referensi_klien}``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from mpp_bus.contract import FormSchemas, Receipt, StatusMapping, Submission
from mpp_bus.declarative import RestAdapter, RestConfig
from mpp_bus.errors import FatalError, SubmissionRefused
from mpp_bus.privacy import redact_text
from mpp_bus.transport import NO_RETRY, parse_date, parse_datetime

HERE = Path(__file__).parent

TaxConfig = RestConfig


class TaxAdapter(RestAdapter):
    name = "tax"
    version = "2.0.0"
    wraps = "DJP-style tax services REST API v2, API key header (declarative spec)"
    spec_path = HERE / "spec.yaml"
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
    forms = FormSchemas.load(HERE / "forms")
    resend_safe = False  # a resend creates a second application: look the reference up first

    def submit(self, submission: Submission) -> Receipt:
        path = "/v2/permohonan"
        body = {
            "kode_layanan": submission.service_code, "nik": submission.applicant_nik,
            "referensi_klien": submission.reference, "data": dict(submission.form),
            "dokumen": [{"jenis": d.requirement, "instansi": d.agency_id, "no_permohonan": d.application_id,
                         "nomor": d.document_number} for d in submission.documents],
            "lampiran": [{"jenis": u.requirement, "tipe": u.media_type, "hash": u.content_hash}
                         for u in submission.uploads],
        }
        response = self.http.request("POST", path, json=body, ok=(201, 422), retry=NO_RETRY)
        data = response.json(agency=self.agency_id, path=path)
        if response.status == 422:
            if data.get("kode") == "DATA_TIDAK_VALID":
                raise SubmissionRefused(redact_text(str(data.get("pesan") or "ditolak"))[:500], agency=self.agency_id)
            raise FatalError(f"POST {path}: the agency refused the request ({data.get('kode')}); report it to the "
                             "adapter's maintainers", agency=self.agency_id)
        return _receipt(data)

    def find_submission(self, submission: Submission) -> Receipt | None:
        data = self.http.get_json(f"/v2/permohonan/referensi/{quote(submission.reference, safe='')}")
        found = data.get("hasil") or []
        # Should two exist (a resend before this look-up was in place), the first one is the application.
        return _receipt(found[0]) if found else None


def _receipt(data: dict[str, Any]) -> Receipt:
    due = data.get("jatuh_tempo")
    accepted = parse_datetime(data["tgl_pengajuan"], "DD/MM/YYYY HH:mm", "Asia/Jakarta")
    return Receipt(str(data["no_permohonan"]), accepted, str(data["kode_status"]),
                   parse_date(due, "DD/MM/YYYY") if due else None)
