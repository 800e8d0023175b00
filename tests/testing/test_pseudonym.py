"""Pseudonymising a recording: valid stand-ins, the same one everywhere a value occurs, nothing personal left."""

from __future__ import annotations

import json

from mpp_bus.privacy import nik_problem
from mpp_bus.testing.pseudonym import pseudonymise

NIK = "3374015708900002"
OTHER = "3201014101850003"


def test_a_nik_becomes_the_same_valid_stand_in_in_keys_headers_and_bodies() -> None:
    body = json.dumps({"data": [{"applicant_nik": NIK, "nama_pemohon": "Siti Aminah", "telp": "081234567890",
                                 "note": "hubungi siti@example.id atau 0812-3456-7890", "fee": 150000,
                                 "service_code": "SIP-DOKTER"}]})
    out = pseudonymise({f"GET /warga/{NIK}? -": [{"status": 200, "text": body,
                                                  "headers": {"Content-Type": "application/json",
                                                              "Link": f"</warga/{NIK}?page=2>; rel=next"}}]})
    [(key, [entry])] = out.items()
    text = json.dumps(out)
    stand_in = json.loads(entry["text"])["data"][0]["applicant_nik"]
    assert nik_problem(stand_in) is None and stand_in != NIK
    assert key == f"GET /warga/{stand_in}? -" and stand_in in entry["headers"]["Link"]
    record = json.loads(entry["text"])["data"][0]
    assert record["nama_pemohon"] == "Disamarkan-1" and record["telp"] == "Disamarkan-2"
    assert record["fee"] == 150000 and record["service_code"] == "SIP-DOKTER"
    for clear in (NIK, "Siti", "siti@example.id", "0812-3456-7890", "081234567890"):
        assert clear not in text, clear


def test_xml_elements_and_attributes_named_like_personal_data_are_replaced() -> None:
    body = (f'<?xml version="1.0"?><daftar><permohonan no="JTG/1" layanan="IZ-A"><pemohon nik="{NIK}" '
            f'nama="Budi Santoso"/><alamat>Jl. Mawar 3</alamat><nopol>H 1234 AB</nopol><status>LUNAS</status>'
            f'</permohonan><permohonan no="JTG/2"><pemohon nik="{OTHER}" nama="Budi Santoso"/></permohonan>'
            '</daftar>')
    [[entry]] = pseudonymise({"GET /p? -": [{"status": 200, "text": body,
                                             "headers": {"Content-Type": "application/xml"}}]}).values()
    text = entry["text"]
    for clear in (NIK, OTHER, "Budi", "Mawar", "1234"):
        assert clear not in text, clear
    assert text.count('nama="Disamarkan-1"') == 2, "the same name gets the same stand-in"
    assert 'no="JTG/1"' in text and "<status>LUNAS</status>" in text
    niks = [part.split('"')[1] for part in text.split('nik=')[1:]]
    assert len(set(niks)) == 2 and all(nik_problem(n) is None for n in niks)
