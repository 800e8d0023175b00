"""Mock Dukcapil (the Kemendagri population registry): SOAP 1.1 with WS-Security UsernameToken.

spyne describes the service (WSDL) and answers GetServiceCatalog and VerifyIdentity. The bulk operation
GetApplicationsChangedSince is answered by a hand-written serializer that writes exactly the XML spyne would, because
spyne's generic serializer is too slow for the volumes the bus syncs; a test keeps the two identical.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import os
import threading
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree
from spyne import Application, Boolean, ComplexModel, Date, DateTime, Integer, ServiceBase, Unicode, rpc
from spyne.model.complex import Array
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from mock_agencies.catalogs import DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES
from mock_agencies.datasets import App, Dataset, Key, Layout
from mock_agencies.faults import BAD_NIK, IMPOSSIBLE_DATE, MISSING_ID, UNKNOWN_STATUS, Faults
from mock_agencies.httpbase import AgencyServer, Request, Response, json_response
from mock_agencies.population import Population
from mock_agencies.timefmt import ISO_DAYS, UTC_SECONDS, iso_date, parse_rfc3339, rfc3339

NS = "urn:mpp:mock:dukcapil:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
                 "#PasswordText")
PATH = "/ws/dukcapil"
DATASET = "dukcapil"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


# --- the service as spyne describes it ------------------------------------------------------------------------------


class Layanan(ComplexModel):
    __namespace__ = NS
    _type_info = [
        ("Kode", Unicode(min_occurs=1)),
        ("Nama", Unicode),
        ("Deskripsi", Unicode),
        ("Kategori", Unicode),
        ("Persyaratan", Unicode(max_occurs="unbounded")),
        ("DokumenHasil", Unicode),
        ("SlaHariKerja", Integer),
        ("Biaya", Integer),
        ("DasarHukum", Unicode),
        ("Kanal", Unicode(max_occurs="unbounded")),
    ]


class Permohonan(ComplexModel):
    __namespace__ = NS
    _type_info = [
        ("NomorPermohonan", Unicode),
        ("KodeLayanan", Unicode),
        ("NikPemohon", Unicode),
        ("StatusKode", Unicode),
        ("WaktuStatus", DateTime),
        ("WaktuPengajuan", DateTime),
        ("BatasSla", Date),
        ("NomorDokumen", Unicode),
        ("DiperbaruiPada", DateTime),
    ]


class HasilPerubahan(ComplexModel):
    __namespace__ = NS
    _type_info = [("Items", Array(Permohonan)), ("NextPageToken", Unicode)]


class HasilVerifikasi(ComplexModel):
    __namespace__ = NS
    _type_info = [("NikDitemukan", Boolean), ("NamaCocok", Boolean), ("TanggalLahirCocok", Boolean)]


class Lampiran(ComplexModel):
    __namespace__ = NS
    _type_info = [("Jenis", Unicode(min_occurs=1)), ("TipeKonten", Unicode), ("IsiBase64", Unicode)]


class HasilPengajuan(ComplexModel):
    __namespace__ = NS
    _type_info = [("NomorPermohonan", Unicode), ("StatusKode", Unicode), ("WaktuPengajuan", DateTime),
                  ("BatasSla", Date)]


JENIS_PERUBAHAN = ("TAMBAH_ANGGOTA", "KURANGI_ANGGOTA", "UBAH_DATA", "PISAH_KK")


def _server(ctx: Any) -> DukcapilServer:
    return ctx.transport.req_env["mock.dukcapil"]  # type: ignore[no-any-return]


class DukcapilService(ServiceBase):
    @rpc(_returns=Array(Layanan))
    def GetServiceCatalog(ctx):  # noqa: N802,N805 - SOAP operation names are the agency's
        return [_layanan(s) for s in DUKCAPIL_SERVICES]

    @rpc(DateTime(min_occurs=1), Unicode, Integer, _returns=HasilPerubahan)
    def GetApplicationsChangedSince(ctx, Since, PageToken, PageSize):  # noqa: N802,N803,N805
        server = _server(ctx)
        try:
            rows, token = server.changes(_epoch(Since), PageToken, PageSize)
        except ValueError as exc:
            raise Fault("Client.InvalidArgument", str(exc)) from exc
        return HasilPerubahan(Items=[_permohonan(r, k) for r, k in rows], NextPageToken=token)

    @rpc(Unicode(min_occurs=1), Unicode, Unicode, Unicode, Array(Lampiran), _returns=HasilPengajuan)
    def AjukanPerubahanKK(ctx, IdPermintaan, Nik, JenisPerubahan, Keterangan, Lampiran):  # noqa: N802,N803,N805
        """A family card change. ``IdPermintaan`` de-duplicates: the same id and request answer the first result
        again; the same id with another request is a Client fault."""
        return _server(ctx).ajukan_kk(IdPermintaan or "", Nik or "", JenisPerubahan or "", Keterangan or "",
                                      list(Lampiran or []))

    @rpc(Unicode, Unicode, Date, _returns=HasilVerifikasi)
    def VerifyIdentity(ctx, Nik, NamaLengkap, TanggalLahir):  # noqa: N802,N803,N805
        return HasilVerifikasi(**_server(ctx).verify(Nik or "", NamaLengkap or "", TanggalLahir))


def _layanan(s: Any) -> Layanan:
    return Layanan(Kode=s.code, Nama=s.name, Deskripsi=s.description, Kategori=s.category,
                   Persyaratan=list(s.requirements), DokumenHasil=s.output_document, SlaHariKerja=s.sla_days,
                   Biaya=s.fee_idr, DasarHukum=s.legal_basis, Kanal=list(s.channels))


def _utc(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _epoch(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def _permohonan(record: App, corruption: int | None) -> Permohonan:
    fields = _fields(record, corruption)
    return Permohonan(
        NomorPermohonan=fields["id"], KodeLayanan=record.service.code, NikPemohon=fields["nik"],
        StatusKode=fields["status"], WaktuStatus=_utc(record.status_at), WaktuPengajuan=_utc(fields["submitted"]),
        BatasSla=dt.date(1970, 1, 1) + dt.timedelta(days=record.sla_due_day),
        NomorDokumen=record.document_number, DiperbaruiPada=_utc(record.updated_at))


def _fields(record: App, corruption: int | None) -> dict[str, Any]:
    """The fields a malformed-record fault may break. XML has to stay schema-valid, so an impossible date here is
    a submission time decades after the update time rather than a 30th of February."""
    nik, rid, status, submitted = record.nik, record.id, str(record.status), record.submitted_at
    if corruption == BAD_NIK:
        nik = nik[:6] + "000000" + nik[12:15]  # 15 digits and no birth date
    elif corruption == MISSING_ID:
        rid = None
    elif corruption == UNKNOWN_STATUS:
        status = "DITANGGUHKAN"
    elif corruption == IMPOSSIBLE_DATE:
        submitted = record.updated_at + 80 * 365 * 86400
    return {"nik": nik, "id": rid, "status": status, "submitted": submitted}


# --- the hand-written serializer for the bulk operation -------------------------------------------------------------

_OPEN = (f'<?xml version=\'1.0\' encoding=\'UTF-8\'?>\n<soap11env:Envelope xmlns:soap11env="{SOAP_ENV}" '
         f'xmlns:tns="{NS}"><soap11env:Body><tns:GetApplicationsChangedSinceResponse>'
         "<tns:GetApplicationsChangedSinceResult>")
_CLOSE = "</tns:GetApplicationsChangedSinceResult></tns:GetApplicationsChangedSinceResponse></soap11env:Body>" \
         "</soap11env:Envelope>"


def _xsd(epoch: int) -> str:
    """xsd:dateTime in UTC written the way spyne writes it."""
    return rfc3339(epoch)[:-1] + "+00:00"


LAYOUT = Layout("<tns:Permohonan><tns:NomorPermohonan>${id}</tns:NomorPermohonan><tns:KodeLayanan>${service}"
                "</tns:KodeLayanan><tns:NikPemohon>${nik}</tns:NikPemohon><tns:StatusKode>${status}</tns:StatusKode>"
                "<tns:WaktuStatus>${status_at}+00:00</tns:WaktuStatus>"
                "<tns:WaktuPengajuan>${submitted_at}+00:00</tns:WaktuPengajuan><tns:BatasSla>${sla_due}</tns:BatasSla>"
                "${document}<tns:DiperbaruiPada>${updated_at}+00:00</tns:DiperbaruiPada></tns:Permohonan>",
                status_at=UTC_SECONDS, submitted_at=UTC_SECONDS, sla_due=ISO_DAYS, updated_at=UTC_SECONDS,
                document=("<tns:NomorDokumen>%s</tns:NomorDokumen>", ""), quote=escape)


def _fast_item(record: App, corruption: int | None) -> str:
    if corruption is None:
        return LAYOUT.write(record)
    f = _fields(record, corruption)
    rid, nik, status, submitted = f["id"], f["nik"], f["status"], f["submitted"]
    doc = record.document_number
    return "".join((
        "<tns:Permohonan>",
        f"<tns:NomorPermohonan>{rid}</tns:NomorPermohonan>" if rid is not None else "",
        f"<tns:KodeLayanan>{record.service.code}</tns:KodeLayanan><tns:NikPemohon>{nik}</tns:NikPemohon>"
        f"<tns:StatusKode>{status}</tns:StatusKode><tns:WaktuStatus>{_xsd(record.status_at)}</tns:WaktuStatus>"
        f"<tns:WaktuPengajuan>{_xsd(submitted)}</tns:WaktuPengajuan>"
        f"<tns:BatasSla>{iso_date(record.sla_due_day)}</tns:BatasSla>",
        f"<tns:NomorDokumen>{escape(doc)}</tns:NomorDokumen>" if doc is not None else "",
        f"<tns:DiperbaruiPada>{_xsd(record.updated_at)}</tns:DiperbaruiPada></tns:Permohonan>",
    ))


def fast_changes_xml(rows: list[tuple[App, int | None]], token: str | None) -> bytes:
    return changes_xml([_fast_item(r, k) for r, k in rows], token)


def changes_xml(items: list[str], token: str | None) -> bytes:
    parts = [_OPEN]
    parts.append("<tns:Items>" + "".join(items) + "</tns:Items>" if items else "<tns:Items/>")
    if token:
        parts.append(f"<tns:NextPageToken>{token}</tns:NextPageToken>")
    parts.append(_CLOSE)
    return "".join(parts).encode()


# --- the server -----------------------------------------------------------------------------------------------------


class DukcapilServer(AgencyServer):
    agency = "dukcapil"

    def __init__(self, seed: int, population: Population, size: int, faults: Faults, *,
                 username: str | None = None, password: str | None = None, fast: bool = True) -> None:
        super().__init__(seed, population, size, faults)
        self.username = username or os.environ.get("MOCK_DUKCAPIL_USER", "mpp-bus")
        self.password = password or os.environ.get("MOCK_DUKCAPIL_PASSWORD", "dukcapil-rahasia")
        self.fast = fast
        self.data = Dataset(DATASET, seed, size, population, DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, "DKP")
        self._requests: dict[str, tuple[str, App]] = {}  # IdPermintaan -> (request digest, application)
        self._requests_lock = threading.Lock()
        self.wsgi = WsgiApplication(Application([DukcapilService], tns=NS, name="DukcapilService",
                                                in_protocol=Soap11(validator="lxml"), out_protocol=Soap11()))

    def dataset(self, name: str | None) -> Dataset | None:
        return self.data if name in (None, "", DATASET) else None

    def truth_row(self, record: App) -> dict[str, object]:
        return {**super().truth_row(record), "status": str(record.status)}

    # --- operations ------------------------------------------------------------------------------------------------

    def changes(self, since: int, token: str | None, size: int | None) -> tuple[list[tuple[App, int | None]],
                                                                               str | None]:
        key, size = _page_request(since, token, size)
        records = self.data.page(key, size + 1)
        more = len(records) > size
        records = records[:size]
        token_out = None
        if more:
            last = records[-2] if self.faults.profile == "duplicates" and len(records) > 1 else records[-1]
            token_out = _encode_token((last.updated_at, last.id))
        return self.shape_page(self.data, records), token_out

    def ajukan_kk(self, request_id: str, nik: str, kind: str, note: str, attachments: list[Any]) -> HasilPengajuan:
        digest = hashlib.sha256(json.dumps([nik, kind, note, [(a.Jenis, a.TipeKonten, a.IsiBase64)
                                                               for a in attachments]]).encode()).hexdigest()
        with self._requests_lock:
            held = self._requests.get(request_id)
            if held is not None:
                if held[0] != digest:
                    self.note_received(dataset=DATASET, reference=request_id, outcome="conflict")
                    raise Fault("Client.IdPermintaanDipakai", "IdPermintaan sudah dipakai untuk pengajuan lain.")
                self.note_received(dataset=DATASET, reference=request_id, outcome="replayed")
                return _hasil(held[1])
            problem = _kk_problem(nik, kind, note, attachments)
            if problem is not None:
                self.note_received(dataset=DATASET, reference=request_id, outcome="refused")
                raise Fault("Client.DataTidakValid", problem)
            record = self.data.submit("KK-UBAH", nik)
            self._requests[request_id] = (digest, record)
            self.note_received(dataset=DATASET, reference=request_id, outcome="created", id=record.id)
        return _hasil(record)

    def verify(self, nik: str, name: str, birth: dt.date | None) -> dict[str, bool]:
        index = self.population.by_nik.get(nik.strip())
        if index is None:
            return {"NikDitemukan": False, "NamaCocok": False, "TanggalLahirCocok": False}
        citizen = self.population.citizen(index)
        return {"NikDitemukan": True, "NamaCocok": _norm(name) == _norm(citizen.full_name),
                "TanggalLahirCocok": birth == citizen.birth_date}

    # --- HTTP ------------------------------------------------------------------------------------------------------

    def handle_data(self, request: Request) -> Response:
        if request.path != PATH:
            return json_response(404, {"error": f"no route {request.path}; the SOAP endpoint is {PATH}"})
        if request.method == "GET":
            if "wsdl" not in request.query:
                return json_response(405, {"error": f"POST SOAP envelopes to {PATH}; the WSDL is at {PATH}?wsdl"})
            return self._spyne(request)
        try:
            envelope = etree.fromstring(request.body, _PARSER)
        except etree.XMLSyntaxError:
            return self.fault("Client.MalformedRequest", "Permintaan bukan XML SOAP yang valid.")
        problem = self._check_security(envelope)
        if problem:
            return self.fault("Client.Authentication", problem)
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None:
            return self.fault("Client.MalformedRequest", "SOAP Body kosong.")
        if self.fast and operation.tag == f"{{{NS}}}GetApplicationsChangedSince":
            return self.with_faults(lambda: self._fast_changes(operation))
        return self.with_faults(lambda: self._spyne(request))

    def _check_security(self, envelope: Any) -> str | None:
        token = envelope.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if token is None:
            return "Header WS-Security UsernameToken tidak ada: setiap operasi memerlukan autentikasi."
        user = token.findtext(f"{{{WSSE}}}Username")
        password = token.find(f"{{{WSSE}}}Password")
        if password is None or password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
            return "UsernameToken harus memakai PasswordText."
        if user != self.username or (password.text or "") != self.password:
            return "Username atau password WS-Security salah."
        return None

    def _fast_changes(self, operation: Any) -> Response:
        since_text = operation.findtext(f"{{{NS}}}Since")
        token = operation.findtext(f"{{{NS}}}PageToken")
        size_text = operation.findtext(f"{{{NS}}}PageSize")
        try:
            if not since_text:
                raise ValueError("Since wajib diisi")
            size = int(size_text) if size_text else None
            if not self.faults.shapes_records:
                items, last = self.data.render(*_page_request(parse_rfc3339(since_text), token or None, size),
                                               LAYOUT)
                body = changes_xml(items, None if last is None else _encode_token(last))
            else:
                body = fast_changes_xml(*self.changes(parse_rfc3339(since_text), token or None, size))
        except ValueError as exc:
            return self.fault("Client.InvalidArgument", str(exc))
        return Response(200, body, "text/xml; charset=utf-8")

    def _spyne(self, request: Request) -> Response:
        host = request.headers.get("Host", "127.0.0.1")
        environ = {
            "REQUEST_METHOD": request.method, "PATH_INFO": request.path, "SCRIPT_NAME": "",
            "QUERY_STRING": "wsdl" if "wsdl" in request.query else "", "SERVER_NAME": host.split(":")[0],
            "SERVER_PORT": host.split(":")[1] if ":" in host else "80", "HTTP_HOST": host,
            "CONTENT_TYPE": request.headers.get("Content-Type", "text/xml"),
            "CONTENT_LENGTH": str(len(request.body)), "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(request.body), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "mock.dukcapil": self,
        }
        soap_action = request.headers.get("SOAPAction")
        if soap_action is not None:
            environ["HTTP_SOAPACTION"] = soap_action
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
            captured["status"], captured["headers"] = int(status.split()[0]), headers

        body = b"".join(self.wsgi(environ, start_response))
        headers = dict(captured["headers"])
        content_type = headers.pop("Content-Type", "text/xml; charset=utf-8")
        headers.pop("Content-Length", None)
        return Response(captured["status"], body, content_type, headers)

    def fault(self, code: str, message: str, status: int = 500) -> Response:
        xml = (f"<?xml version='1.0' encoding='UTF-8'?>\n<soap11env:Envelope xmlns:soap11env=\"{SOAP_ENV}\">"
               f"<soap11env:Body><soap11env:Fault><faultcode>soap11env:{code}</faultcode>"
               f"<faultstring>{escape(message)}</faultstring><faultactor></faultactor></soap11env:Fault>"
               "</soap11env:Body></soap11env:Envelope>")
        return Response(status, xml.encode(), "text/xml; charset=utf-8")

    def error(self, status: int, code: str, message: str, retry_after: int | None = None) -> Response:
        """Faults outside SOAP: a 500 is a SOAP Server fault; 429/502/503 come from the gateway in front, as text."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 500:
            response = self.fault("Server", message)
            response.headers.update(headers)
            return response
        return Response(status, f"{status} {message}\n".encode(), "text/plain; charset=utf-8", headers)


def _hasil(record: App) -> HasilPengajuan:
    return HasilPengajuan(NomorPermohonan=record.id, StatusKode=str(record.status),
                          WaktuPengajuan=_utc(record.submitted_at),
                          BatasSla=dt.date(1970, 1, 1) + dt.timedelta(days=record.sla_due_day))


def _kk_problem(nik: str, kind: str, note: str, attachments: list[Any]) -> str | None:
    """Why the registry refuses a family card change, in its words; None when it accepts it."""
    if len(nik) != 16 or not nik.isdigit():
        return "NIK pemohon harus 16 digit."
    if kind not in JENIS_PERUBAHAN:
        return "Jenis perubahan tidak dikenal."
    if len(note.strip()) < 5:
        return "Keterangan perubahan wajib diisi."
    for a in attachments:
        try:
            base64.b64decode(a.IsiBase64 or "", validate=True)
        except (binascii.Error, ValueError):
            return f"Lampiran {a.Jenis} rusak (bukan base64)."
    return None


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _page_request(since: int, token: str | None, size: int | None) -> tuple[Key, int]:
    """The key to page from and the page size, checked."""
    size = DEFAULT_PAGE_SIZE if size is None else size
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"PageSize harus antara 1 dan {MAX_PAGE_SIZE}")
    return (_decode_token(token) if token else (since, None)), size


def _encode_token(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"v1|{key[0]}|{key[1]}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        version, updated, record_id = raw.split("|")
        if version != "v1":
            raise ValueError
        return int(updated), record_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("PageToken tidak valid") from exc
