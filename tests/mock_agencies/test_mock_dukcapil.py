from __future__ import annotations

import datetime as dt
from email.message import Message
from typing import TYPE_CHECKING

import pytest
import requests
import zeep
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from mock_agencies import MockAgencies
from mock_agencies.dukcapil import DukcapilServer
from mock_agencies.faults import Faults
from mock_agencies.httpbase import Request
from mock_agencies.population import Population

if TYPE_CHECKING:
    from tests.mock_agencies.conftest import Admin


EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def client(mocks: MockAgencies, password: str = "dukcapil-rahasia") -> zeep.Client:
    return zeep.Client(f"{mocks.urls['dukcapil']}/ws/dukcapil?wsdl", wsse=UsernameToken("mpp-bus", password))


def test_wsdl_loads_and_the_catalog_answers_with_ws_security(mocks: MockAgencies) -> None:
    catalog = client(mocks).service.GetServiceCatalog()
    codes = {layanan.Kode for layanan in catalog}
    assert {"KTPEL-BARU", "KK-BARU", "AKTA-LAHIR", "KIA"} <= codes and len(codes) == 8
    ktp = next(layanan for layanan in catalog if layanan.Kode == "KTPEL-BARU")
    assert ktp.Biaya == 0 and ktp.SlaHariKerja > 0 and "KK" in ktp.Persyaratan
    assert set(ktp.Kanal) == {"langsung", "mobile", "mandiri", "elektronik"}


@pytest.mark.parametrize("password", ["salah", None])
def test_bad_or_missing_credentials_answer_a_client_fault(mocks: MockAgencies, password: str | None) -> None:
    if password is None:
        service = zeep.Client(f"{mocks.urls['dukcapil']}/ws/dukcapil?wsdl").service
    else:
        service = client(mocks, password).service
    with pytest.raises(Fault) as caught:
        service.GetServiceCatalog()
    assert "Client" in (caught.value.code or "")
    assert "WS-Security" in caught.value.message


def test_paging_covers_every_record_once_and_matches_the_truth(mocks: MockAgencies, admin: Admin) -> None:
    service = client(mocks).service
    seen, token = [], None
    while True:
        result = service.GetApplicationsChangedSince(Since=EPOCH, PageToken=token, PageSize=150)
        seen.extend(result.Items.Permohonan if result.Items else [])
        token = result.NextPageToken
        if not token:
            break
    assert len(seen) == mocks.applications
    expected = {r["id"]: r for r in admin.truth("dukcapil", "dukcapil")["records"]}
    assert {p.NomorPermohonan for p in seen} == set(expected)
    keys = [(p.DiperbaruiPada, p.NomorPermohonan) for p in seen]
    assert keys == sorted(keys)
    for p in seen[:50]:
        assert p.StatusKode == expected[p.NomorPermohonan]["status"]
        assert p.DiperbaruiPada.tzinfo is not None and p.WaktuPengajuan <= p.DiperbaruiPada


def test_changed_since_starts_at_the_given_time(mocks: MockAgencies, admin: Admin) -> None:
    rows = admin.truth("dukcapil", "dukcapil")["records"]
    since = dt.datetime.fromisoformat(rows[100]["updated_at"].replace("Z", "+00:00"))
    result = client(mocks).service.GetApplicationsChangedSince(Since=since, PageSize=5)
    assert [p.NomorPermohonan for p in result.Items.Permohonan] == [r["id"] for r in rows[100:105]]


def test_verify_identity_never_returns_personal_data(mocks: MockAgencies, admin: Admin) -> None:
    citizen = admin.citizens(3, 1)[0]
    service = client(mocks).service
    birth = dt.date.fromisoformat(citizen["tanggal_lahir"])
    name = "  " + citizen["nama_lengkap"].upper().replace(" ", "   ") + " "
    ok = service.VerifyIdentity(Nik=citizen["nik"], NamaLengkap=name, TanggalLahir=birth)
    assert (ok.NikDitemukan, ok.NamaCocok, ok.TanggalLahirCocok) == (True, True, True)
    wrong = service.VerifyIdentity(Nik=citizen["nik"], NamaLengkap="Orang Lain", TanggalLahir=dt.date(1990, 1, 1))
    assert (wrong.NikDitemukan, wrong.NamaCocok, wrong.TanggalLahirCocok) == (True, False, False)
    missing = service.VerifyIdentity(Nik="3314050101900001", NamaLengkap="x", TanggalLahir=birth)
    assert missing.NikDitemukan is False
    assert set(zeep.helpers.serialize_object(ok)) == {"NikDitemukan", "NamaCocok", "TanggalLahirCocok"}


def test_the_fast_serializer_writes_what_spyne_writes() -> None:
    population = Population(3, 300)
    faults = Faults(3, "malformed", rate=0.2)
    fast, slow = (DukcapilServer(3, population, 120, faults, fast=flag) for flag in (True, False))
    for server in (fast, slow):
        server.data.advance(15, clock=lambda: 1_900_000_000)
    headers = Message()
    headers["Host"] = "127.0.0.1:1"
    for since, token in [("2000-01-01T00:00:00Z", ""), ("2025-01-03T10:00:00+07:00", ""),
                         ("2030-01-01T00:00:00Z", ""), ("2000-01-01T00:00:00", "<d:PageToken>djF8MTczNTc4"
                                                                               "OTYwMHxES1AwMDAwMDAwMjY</d:PageToken>")]:
        body = ENVELOPE % (f"<d:GetApplicationsChangedSince><d:Since>{since}</d:Since>{token}"
                           "<d:PageSize>200</d:PageSize></d:GetApplicationsChangedSince>")
        answers = [server.handle(Request("POST", "/ws/dukcapil", {}, headers, body.encode())) for server in
                   (fast, slow)]
        assert answers[0].status == answers[1].status == 200
        assert answers[0].body == answers[1].body


ENVELOPE = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:d="urn:mpp:mock:dukcapil:v1">'
    '<s:Header><w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0'
    '.xsd"><w:UsernameToken><w:Username>mpp-bus</w:Username><w:Password>dukcapil-rahasia</w:Password>'
    "</w:UsernameToken></w:Security></s:Header><s:Body>%s</s:Body></s:Envelope>"
)


def test_entities_in_a_request_are_not_expanded(mocks: MockAgencies) -> None:
    hostile = ('<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               + ENVELOPE % "<d:GetServiceCatalog>&x;</d:GetServiceCatalog>")
    response = requests.post(f"{mocks.urls['dukcapil']}/ws/dukcapil", data=hostile.encode(),
                             headers={"Content-Type": "text/xml"}, timeout=5)
    assert b"root:" not in response.content
