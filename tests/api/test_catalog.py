"""The catalog: search by text, category, region and channel; one service's requirements and locations."""

from __future__ import annotations

import pytest

from tests.api.seed import SITI


def codes(client, headers, **params):
    response = client.get("/api/v1/catalog/services", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["items"])
    return [f"{s['agency']['id']}/{s['code']}" for s in body["items"]]


@pytest.fixture
def citizen(seeded):
    return seeded.headers("siti", nik=SITI)


def test_search_by_text_category_channel_and_agency(client, citizen):
    assert codes(client, citizen) == ["djp/EFIN", "djp/NPWP-OP", "dpmptsp-3314/PBG", "dpmptsp-3314/SIP"]
    assert codes(client, citizen, q="bangunan") == ["dpmptsp-3314/PBG"]
    assert codes(client, citizen, q="PAJAK") == ["djp/EFIN", "djp/NPWP-OP"]  # the agency's name matches too
    assert codes(client, citizen, q="100%_") == []
    assert codes(client, citizen, category="kesehatan") == ["dpmptsp-3314/SIP"]
    assert codes(client, citizen, channel="mobile") == ["djp/NPWP-OP"]
    assert codes(client, citizen, agency="djp", channel="direct") == ["djp/EFIN"]


def test_search_by_region(client, citizen):
    # Sragen: its own agency's services, and national ones with no location list; not EFIN, offered in Bandung only.
    assert codes(client, citizen, region="33.14") == ["djp/NPWP-OP", "dpmptsp-3314/PBG", "dpmptsp-3314/SIP"]
    assert codes(client, citizen, region="33") == ["djp/NPWP-OP", "dpmptsp-3314/PBG", "dpmptsp-3314/SIP"]
    assert codes(client, citizen, region="33.14.05") == ["djp/NPWP-OP", "dpmptsp-3314/PBG", "dpmptsp-3314/SIP"]
    assert codes(client, citizen, region="32.73") == ["djp/EFIN", "djp/NPWP-OP"]


def test_paging(client, citizen):
    first = client.get("/api/v1/catalog/services", params={"limit": 3}, headers=citizen).json()
    second = client.get("/api/v1/catalog/services", params={"limit": 3, "offset": 3}, headers=citizen).json()
    assert first["total"] == second["total"] == 4
    assert len(first["items"]) == 3 and len(second["items"]) == 1


@pytest.mark.parametrize("params", [{"region": "Sragen"}, {"channel": "fax"}, {"limit": 0}, {"limit": 101}])
def test_bad_filters_answer_422(client, citizen, params):
    assert client.get("/api/v1/catalog/services", params=params, headers=citizen).status_code == 422


def test_service_detail_with_requirements_and_locations(client, citizen):
    detail = client.get("/api/v1/catalog/services/dpmptsp-3314/PBG", headers=citizen).json()
    assert [r["label"] for r in detail["requirements"]] == ["KTP elektronik", "Sertifikat tanah",
                                                            "Gambar teknis bangunan"]
    assert detail["locations"] == [{"code": "33.14", "name": "Kabupaten Sragen"}]
    assert {c["label"] for c in detail["channels"]} == {"layanan langsung", "layanan elektronik"}
    assert detail["sla_working_days"] == 10 and detail["agency"]["name"] == "DPMPTSP Kabupaten Sragen"
    assert client.get("/api/v1/catalog/services/dpmptsp-3314/NOPE", headers=citizen).status_code == 404


def test_catalog_is_public_and_lists_categories(client):
    assert client.get("/api/v1/catalog/services").status_code == 200  # public information: no sign-in
    assert client.get("/api/v1/catalog/services/djp/EFIN").status_code == 200
    categories = client.get("/api/v1/catalog/categories").json()
    assert [c["code"] for c in categories] == ["kesehatan", "perizinan_bangunan", "perpajakan"]
