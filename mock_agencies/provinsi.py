"""Mock provincial licensing office (DPMPTSP Provinsi Jawa Tengah): an XML API with the quirks of a regional system.

- XML over REST, HTTP Basic auth (``mpp-bus`` / ``MOCK_PROVINSI_PASSWORD``, default ``jateng-rahasia``);
- the catalog answers ``If-None-Match`` / ``If-Modified-Since`` with 304;
- applications: ``GET /api/v1/permohonan?diubah_setelah=DD-MM-YYYY HH:MM&offset=N&limit=M``; the filter is
  exclusive and compares whole minutes ("changed after 08:14" starts at 08:15:00), records come in the order they
  changed, and the next page is a ``Link: <...offset=...>; rel="next"`` header carrying the offset;
- times are ``DD-MM-YYYY HH:MM`` in WIB without an offset, dates ``DD-MM-YYYY``;
- status codes arrive in inconsistent case and spacing (``" Dalam  Proses"``, ``"izin_terbit"``), and a status the
  documentation does not list (``DITANGGUHKAN``) shows up rarely, and only deep in the data (record 300 and after).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from mock_agencies.catalogs import PROVINSI_LIFECYCLE, PROVINSI_RARE_STATUS, PROVINSI_SERVICES
from mock_agencies.datasets import App, Dataset
from mock_agencies.faults import BAD_NIK, IMPOSSIBLE_DATE, MISSING_ID, UNKNOWN_STATUS, Faults
from mock_agencies.httpbase import AgencyServer, Request, Response
from mock_agencies.population import Population, mix64
from mock_agencies.timefmt import WIB, rfc3339

DATASET = "provinsi"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
USERNAME = "mpp-bus"
# Deep in the data: from record 300 on, one record in 250 carries the undocumented status.
RARE_FROM, RARE_EVERY, RARE_AT = 300, 250, 123


def minutes(epoch: int) -> str:
    """DD-MM-YYYY HH:MM in WIB."""
    return dt.datetime.fromtimestamp(epoch, WIB).strftime("%d-%m-%Y %H:%M")


def day(day_number: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day_number)).strftime("%d-%m-%Y")


def parse_minutes(text: str) -> int:
    return int(dt.datetime.strptime(text.strip(), "%d-%m-%Y %H:%M").replace(tzinfo=WIB).timestamp())


def is_rare(index: int) -> bool:
    return index >= RARE_FROM and index % RARE_EVERY == RARE_AT


def spelled(status: str, index: int) -> str:
    """The office's staff type statuses by hand: one code, many spellings."""
    variant = mix64(index * 7919 + len(status)) % 6
    if variant == 1:
        return status.title()
    if variant == 2:
        return " " + status.lower()
    if variant == 3:
        return status.replace(" ", "  ") + " "
    if variant == 4:
        return status.replace(" ", "_").lower()
    return status


class ProvinsiServer(AgencyServer):
    agency = "provinsi"

    def __init__(self, seed: int, population: Population, size: int, faults: Faults, *,
                 password: str | None = None) -> None:
        super().__init__(seed, population, size, faults)
        password = password or os.environ.get("MOCK_PROVINSI_PASSWORD", "jateng-rahasia")
        self.authorization = "Basic " + base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
        self.data = Dataset(DATASET, seed, size, population, PROVINSI_LIFECYCLE, PROVINSI_SERVICES, "JTG/")
        self.catalog = _catalog_xml()
        self.etag = '"' + hashlib.sha256(self.catalog).hexdigest()[:16] + '"'
        # the catalog last changed at the start of the timeline
        start = dt.datetime.fromtimestamp(self.data.start, dt.UTC)
        self.last_modified = start.strftime("%a, %d %b %Y %H:%M:%S GMT")

    def dataset(self, name: str | None) -> Dataset | None:
        return self.data if name in (None, "", DATASET) else None

    def truth_row(self, record: App) -> dict[str, object]:
        row = super().truth_row(record)
        row["status"] = PROVINSI_RARE_STATUS if is_rare(record.index) else record.status
        row["updated_at"] = rfc3339(record.updated_at // 60 * 60)  # the office shows whole minutes
        return row

    def handle_data(self, request: Request) -> Response:
        if request.path not in ("/api/v1/layanan", "/api/v1/permohonan"):
            return self.error(404, "TIDAK_DITEMUKAN", f"Tidak ada rute {request.path}.")
        if request.headers.get("Authorization") != self.authorization:
            response = self.error(401, "TIDAK_BERWENANG", "Nama pengguna atau kata sandi salah.")
            response.headers["WWW-Authenticate"] = 'Basic realm="dpmptsp-jateng"'
            return response
        if request.path == "/api/v1/layanan":
            return self.with_faults(lambda: self._catalog(request))
        return self.with_faults(lambda: self._permohonan(request))

    def _catalog(self, request: Request) -> Response:
        headers = {"ETag": self.etag, "Last-Modified": self.last_modified}
        match = request.headers.get("If-None-Match")
        if match and self.etag in [m.strip() for m in match.split(",")]:
            return Response(304, b"", "application/xml", headers)
        if not match and request.headers.get("If-Modified-Since") == self.last_modified:
            return Response(304, b"", "application/xml", headers)
        return Response(200, self.catalog, "application/xml; charset=utf-8", headers)

    def _permohonan(self, request: Request) -> Response:
        query = request.query
        try:
            after = parse_minutes(query["diubah_setelah"]) if query.get("diubah_setelah") else None
            offset = int(query.get("offset", "0"))
            limit = int(query.get("limit", DEFAULT_LIMIT))
            if offset < 0 or not 1 <= limit <= MAX_LIMIT:
                raise ValueError(f"offset >= 0, limit 1..{MAX_LIMIT}")
        except ValueError as exc:
            return self.error(400, "PARAMETER_SALAH", f"Parameter tidak valid: {exc}. Format diubah_setelah: "
                              "DD-MM-YYYY HH:MM (WIB).")
        # exclusive, by whole minutes: "after 08:14" is from 08:15:00
        since = 0 if after is None else after + 60
        records = self.data.page((since, None), limit + 1, offset)
        more = len(records) > limit
        records = records[:limit]
        shaped = self.shape_page(self.data, records) if self.faults.shapes_records else [(r, None) for r in records]
        body = "".join(self._item(r, k) for r, k in shaped)
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<daftar_permohonan offset="{offset}" '
               f'jumlah="{len(records)}">{body}</daftar_permohonan>').encode()
        headers = {}
        if more:
            following = {k: v for k, v in query.items() if k in ("diubah_setelah", "limit")}
            following["offset"] = str(offset + limit)
            headers["Link"] = f'<http://{request.headers.get("Host")}{request.path}?{urlencode(following)}>; ' \
                              'rel="next"'
        return Response(200, xml, "application/xml; charset=utf-8", headers)

    def _item(self, r: App, corruption: int | None) -> str:
        status = PROVINSI_RARE_STATUS if is_rare(r.index) else str(r.status)
        nik, record_id, submitted = r.nik, r.id, minutes(r.submitted_at)
        if corruption == BAD_NIK:
            nik = nik[:10]
        elif corruption == UNKNOWN_STATUS:
            status = "STATUS_X"
        elif corruption == IMPOSSIBLE_DATE:
            submitted = "31-02-" + submitted[6:]
        no = "" if corruption == MISSING_ID else f" no={quoteattr(record_id)}"
        izin = f"<no_izin>{escape(r.document_number)}</no_izin>" if r.document_number else ""
        return (f"<permohonan{no} layanan={quoteattr(r.service.code)}><pemohon nik=\"{nik}\"/>"
                f"<status>{escape(spelled(status, r.index))}</status><tgl_status>{minutes(r.status_at)}</tgl_status>"
                f"<tgl_ajuan>{submitted}</tgl_ajuan><jatuh_tempo>{day(r.sla_due_day)}</jatuh_tempo>{izin}"
                f"<diubah>{minutes(r.updated_at)}</diubah></permohonan>")

    def error(self, status: int, code: str, message: str, retry_after: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<galat kode="{code}">{escape(message)}</galat>'
        return Response(status, body.encode(), "application/xml; charset=utf-8", headers)


def _catalog_xml() -> bytes:
    items = []
    for s in PROVINSI_SERVICES:
        syarat = "".join(f"<dokumen>{escape(d)}</dokumen>" for d in s.requirements)
        kanal = "".join(f"<kanal>{escape(c)}</kanal>" for c in s.channels)
        items.append(f"<layanan kode={quoteattr(s.code)} kategori={quoteattr(s.category)}>"
                     f"<nama>{escape(s.name)}</nama><uraian>{escape(s.description)}</uraian>"
                     f"<syarat>{syarat}</syarat><produk>{escape(s.output_document)}</produk>"
                     f"<waktu hari=\"{s.sla_days}\"/><biaya rupiah=\"{s.fee_idr}\" dasar={quoteattr(s.legal_basis)}/>"
                     f"<saluran>{kanal}</saluran></layanan>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<katalog instansi="DPMPTSP Provinsi Jawa Tengah">'
            + "".join(items) + "</katalog>").encode()


