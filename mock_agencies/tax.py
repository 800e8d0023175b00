"""Mock tax office (DJP style): REST JSON with an API key, page numbers, integer status codes and local WIB times."""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from typing import Any

from mock_agencies.catalogs import TAX_LIFECYCLE, TAX_SERVICES
from mock_agencies.datasets import App, Dataset, Layout
from mock_agencies.faults import BAD_NIK, IMPOSSIBLE_DATE, MISSING_ID, UNKNOWN_STATUS, Faults
from mock_agencies.httpbase import AgencyServer, Request, Response, json_response
from mock_agencies.population import Population
from mock_agencies.timefmt import SLASH_DAYS, WIB_MINUTES, WIB_SECONDS, parse_wib, slash_date, wib_minutes, wib_seconds

DATASET = "tax"
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


class TaxServer(AgencyServer):
    agency = "tax"

    def __init__(self, seed: int, population: Population, size: int, faults: Faults, *,
                 api_key: str | None = None) -> None:
        super().__init__(seed, population, size, faults)
        self.api_key = api_key or os.environ.get("MOCK_TAX_API_KEY", "djp-rahasia")
        self.data = Dataset(DATASET, seed, size, population, TAX_LIFECYCLE, TAX_SERVICES, "PMH-")
        data = [{"kode_layanan": s.code, "nama_layanan": s.name, "keterangan": s.description, "kategori": s.category,
                 "syarat": list(s.requirements), "keluaran": s.output_document, "sla_hari": s.sla_days,
                 "tarif": s.fee_idr, "dasar_hukum": s.legal_basis, "kanal": list(s.channels)} for s in TAX_SERVICES]
        self.catalog = json.dumps({"layanan": data}, ensure_ascii=False).encode()
        self.etag = '"' + hashlib.sha256(self.catalog).hexdigest()[:20] + '"'
        self._references: dict[str, list[str]] = {}  # referensi_klien -> application numbers, in order
        self._references_lock = threading.Lock()

    def dataset(self, name: str | None) -> Dataset | None:
        return self.data if name in (None, "", DATASET) else None

    def handle_data(self, request: Request) -> Response:
        by_reference = request.path.startswith(_BY_REFERENCE)
        if request.path not in ("/v2/layanan", "/v2/permohonan") and not by_reference:
            return self.error(404, "TIDAK_DITEMUKAN", f"Tidak ada rute {request.path}.")
        if request.headers.get("X-DJP-Key") != self.api_key:
            return self.error(403, "AKSES_DITOLAK", "Header X-DJP-Key tidak ada atau tidak valid.")
        if request.path == "/v2/layanan":
            return self.with_faults(lambda: self._catalog(request))
        if by_reference:
            return self.with_faults(lambda: self._by_reference(request.path[len(_BY_REFERENCE):]))
        if request.method == "POST":
            return self.with_faults(lambda: self._ajukan(request))
        return self.with_faults(lambda: self._permohonan(request.query))

    def _ajukan(self, request: Request) -> Response:
        """POST a new application. There is NO idempotency here, as in many real systems: every POST creates an
        application, so a client that resends must first look its reference up (GET /v2/permohonan/referensi/...)."""
        try:
            body = json.loads(request.body or b"null")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self.error(400, "PERMINTAAN_TIDAK_VALID", "Badan permintaan harus objek JSON.")
        reference = str(body.get("referensi_klien") or "")
        problem = _form_problem(body)
        if problem is not None:
            self.note_received(dataset=DATASET, reference=reference, outcome="refused")
            return self.error(422, "DATA_TIDAK_VALID", problem)
        record = self.data.submit(str(body["kode_layanan"]), str(body["nik"]))
        if reference:
            with self._references_lock:
                self._references.setdefault(reference, []).append(record.id)
        self.note_received(dataset=DATASET, reference=reference, outcome="created", id=record.id)
        return json_response(201, _receipt(record, reference))

    def _by_reference(self, reference: str) -> Response:
        with self._references_lock:
            ids = list(self._references.get(reference, ()))
        found = {r.id: r for r in self.data.submitted() if r.id in ids}
        return json_response(200, {"hasil": [_receipt(found[i], reference) for i in ids if i in found]})

    def _catalog(self, request: Request) -> Response:
        match = request.headers.get("If-None-Match")
        if match and self.etag in [m.strip() for m in match.split(",")]:
            return Response(304, b"", "application/json", {"ETag": self.etag})
        return Response(200, self.catalog, "application/json", {"ETag": self.etag,
                                                                  "Cache-Control": "max-age=300"})

    def _permohonan(self, query: dict[str, str]) -> Response:
        try:
            since = parse_wib(query["sejak"]) if query.get("sejak") else 0
            page = int(query.get("halaman", "1"))
            per_page = int(query.get("per_halaman", DEFAULT_PER_PAGE))
            if page < 1:
                raise ValueError("halaman dimulai dari 1")
            if not 1 <= per_page <= MAX_PER_PAGE:
                raise ValueError(f"per_halaman harus antara 1 dan {MAX_PER_PAGE}")
        except ValueError as exc:
            return self.error(400, "PARAMETER_TIDAK_VALID", f"Parameter tidak valid: {exc}. Format sejak: "
                              "DD-MM-YYYY HH:MM:SS (WIB).")
        total = self.data.count_since(since)
        offset = (page - 1) * per_page
        if not self.faults.shapes_records:
            items = ",".join(self.data.render((since, None), per_page, LAYOUT, offset)[0])
        else:
            if self.faults.profile == "duplicates" and offset > 0:  # repeats the last record of the page before
                records = self.data.page((since, None), per_page + 1, offset - 1)
            else:
                records = self.data.page((since, None), per_page, offset)
            items = ",".join(_item(r, k) for r, k in self.shape_page(self.data, records))
        pages = math.ceil(total / per_page)
        return Response(200, f'{{"hasil":[{items}],"halaman":{page},"total_halaman":{pages},'
                             f'"total_data":{total}}}'.encode())

    def error(self, status: int, code: str, message: str, retry_after: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return json_response(status, {"kode": code, "pesan": message}, headers)


# What the tax office writes beside status 25 (perlu perbaikan): what the taxpayer must fix.
CATATAN_PERBAIKAN = ("Formulir permohonan belum ditandatangani dan NPWP pada surat permohonan tidak sesuai. "
                     "Perbaiki formulir lalu unggah kembali melalui layanan daring atau serahkan di KPP.")


def _kode_status(status: str | int) -> str:
    """The status code as the office writes it, with the note of what to fix when it asks for a revision."""
    return f'{status},"catatan_perbaikan":{json.dumps(CATATAN_PERBAIKAN)}' if status == 25 else str(status)


_BY_REFERENCE = "/v2/permohonan/referensi/"


def _form_problem(body: dict[str, Any]) -> str | None:
    """Why the tax office refuses an application, in its own words; None when it accepts it."""
    if body.get("kode_layanan") not in {s.code for s in TAX_SERVICES}:
        return f"Kode layanan {body.get('kode_layanan')!r} tidak dikenal."
    nik = str(body.get("nik") or "")
    if len(nik) != 16 or not nik.isdigit():
        return "NIK harus 16 digit."
    data = body.get("data")
    if not isinstance(data, dict):
        return "Data permohonan tidak ada."
    if data.get("jenis_wajib_pajak") not in ("orang_pribadi", "badan"):
        return "Jenis wajib pajak harus orang pribadi atau badan."
    if len(str(data.get("alamat") or "").strip()) < 10:
        return "Alamat wajib diisi lengkap sesuai domisili."
    return None


def _receipt(record: App, reference: str) -> dict[str, Any]:
    return {"no_permohonan": record.id, "kode_status": record.status, "tgl_pengajuan": wib_minutes(record.submitted_at),
            "jatuh_tempo": slash_date(record.sla_due_day), "referensi_klien": reference or None}


LAYOUT = Layout('{"no_permohonan":"${id}","kode_layanan":"${service}","npwp_or_nik":"${nik}","kode_status":${status},'
                '"tgl_status":"${status_at}","tgl_pengajuan":"${submitted_at}","jatuh_tempo":"${sla_due}",'
                '"no_dokumen":${document},"terakhir_diubah":"${updated_at}"}',
                status_at=WIB_MINUTES, submitted_at=WIB_MINUTES, sla_due=SLASH_DAYS, updated_at=WIB_SECONDS,
                document=('"%s"', "null"), status_text=_kode_status)


def _item(r: App, corruption: int | None) -> str:
    if corruption is None:
        return LAYOUT.write(r)
    item: dict[str, Any] = {"no_permohonan": r.id, "kode_layanan": r.service.code, "npwp_or_nik": r.nik,
                            "kode_status": r.status, "tgl_status": wib_minutes(r.status_at),
                            "tgl_pengajuan": wib_minutes(r.submitted_at), "jatuh_tempo": slash_date(r.sla_due_day),
                            "no_dokumen": r.document_number, "terakhir_diubah": wib_seconds(r.updated_at)}
    if r.status == 25:
        item["catatan_perbaikan"] = CATATAN_PERBAIKAN
    if corruption == BAD_NIK:
        item["npwp_or_nik"] = r.nik[:10]
    elif corruption == MISSING_ID:
        del item["no_permohonan"]
    elif corruption == UNKNOWN_STATUS:
        item["kode_status"] = 77
    elif corruption == IMPOSSIBLE_DATE:
        item["tgl_pengajuan"] = "31/02/" + item["tgl_pengajuan"][6:]
    return json.dumps(item, separators=(",", ":"))
