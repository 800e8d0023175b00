from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import requests

from mock_agencies import MockAgencies

if TYPE_CHECKING:
    from tests.mock_agencies.conftest import Admin

WIB = dt.timezone(dt.timedelta(hours=7))


def pages(session: requests.Session, url: str, per_page: int, **params: Any) -> list[dict[str, Any]]:
    first = session.get(url, params={"per_halaman": per_page, "halaman": 1, **params}, timeout=5).json()
    out = list(first["hasil"])
    for page in range(2, first["total_halaman"] + 1):
        body = session.get(url, params={"per_halaman": per_page, "halaman": page, **params}, timeout=5).json()
        assert body["halaman"] == page and body["total_data"] == first["total_data"]
        out.extend(body["hasil"])
    assert len(out) == first["total_data"]
    return out


def to_utc(local: str) -> str:
    value = dt.datetime.strptime(local, "%d-%m-%Y %H:%M:%S").replace(tzinfo=WIB).astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_api_key_is_required(mocks: MockAgencies) -> None:
    for headers in ({}, {"X-DJP-Key": "salah"}):
        response = requests.get(f"{mocks.urls['tax']}/v2/permohonan", headers=headers, timeout=5)
        assert response.status_code == 403 and response.json()["kode"] == "AKSES_DITOLAK"


def test_catalog_has_an_etag_and_answers_304(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.tax()
    first = session.get(f"{mocks.urls['tax']}/v2/layanan", timeout=5)
    assert first.status_code == 200 and len(first.json()["layanan"]) == 6
    assert {"kode_layanan", "nama_layanan", "syarat", "sla_hari", "tarif", "kanal"} <= set(first.json()["layanan"][0])
    again = session.get(f"{mocks.urls['tax']}/v2/layanan", headers={"If-None-Match": first.headers["ETag"]},
                        timeout=5)
    assert again.status_code == 304 and again.content == b""


def test_pages_cover_every_record_once_in_wib(mocks: MockAgencies, admin: Admin) -> None:
    records = pages(admin.tax(), f"{mocks.urls['tax']}/v2/permohonan", 64)
    truth = {r["id"]: r for r in admin.truth("tax", "tax")["records"]}
    assert len(records) == mocks.applications and {r["no_permohonan"] for r in records} == set(truth)
    for r in records:
        assert to_utc(r["terakhir_diubah"]) == truth[r["no_permohonan"]]["updated_at"]
        assert r["kode_status"] == truth[r["no_permohonan"]]["status"]
        assert r["kode_status"] in (10, 20, 25, 30, 40, 50, 60, 90)
        assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", r["tgl_status"])
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", r["jatuh_tempo"])
        assert (r["no_dokumen"] is not None) == (r["kode_status"] == 60)
    since = records[300]["terakhir_diubah"]
    assert pages(admin.tax(), f"{mocks.urls['tax']}/v2/permohonan", 1000, sejak=since) == records[300:]


def test_bad_parameters_are_a_400(mocks: MockAgencies, admin: Admin) -> None:
    for params in ({"sejak": "2025-01-01T00:00:00Z"}, {"per_halaman": 5000}, {"halaman": 0}):
        response = admin.tax().get(f"{mocks.urls['tax']}/v2/permohonan", params=params, timeout=5)
        assert response.status_code == 400 and response.json()["kode"] == "PARAMETER_TIDAK_VALID"
