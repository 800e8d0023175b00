from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

import requests

from mock_agencies import MockAgencies
from mock_agencies.catalogs import LICENSING_LIFECYCLE

if TYPE_CHECKING:
    from tests.mock_agencies.conftest import Admin


def page_all(session: requests.Session, url: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": limit, **params}
    while True:
        response = session.get(url, params=query, timeout=5)
        response.raise_for_status()
        body = response.json()
        out.extend(body["data"])
        if body["next_cursor"] is None:
            return out
        query = {"limit": limit, "cursor": body["next_cursor"]}


def test_tenants_have_their_own_catalogs(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    base = f"{mocks.urls['licensing']}/api/v1"
    oss = session.get(f"{base}/oss/services", timeout=5).json()
    sragen = session.get(f"{base}/dpmptsp-3314/services", timeout=5).json()
    assert oss["next_cursor"] is None and len(oss["data"]) == 10
    assert {"NIB", "PB-UMKU"} <= {s["code"] for s in oss["data"]}
    assert 6 <= len(sragen["data"]) <= 8 and "PBG" in {s["code"] for s in sragen["data"]}
    assert set(sragen["data"][0]) == {"code", "name", "description", "category", "requirements",
                                      "output_document", "sla_days", "fee_idr", "legal_basis", "channels"}
    # A province's office, as the generated agencies file names it, is a tenant too.
    province = session.get(f"{base}/dpmptsp-33/services", timeout=5).json()
    assert 6 <= len(province["data"]) <= 8
    assert any(s["legal_basis"].endswith("Provinsi Jawa Tengah") for s in province["data"])
    for tenant in ("dpmptsp-9999", "dpmptsp-99", "kemenkes", "dpmptsp-33.14"):
        missing = session.get(f"{base}/{tenant}/services", timeout=5)
        assert missing.status_code == 404 and missing.json()["error"] == "unknown_tenant"


def test_paging_covers_every_record_once_and_matches_the_truth(mocks: MockAgencies, admin: Admin) -> None:
    records = page_all(admin.licensing(), f"{mocks.urls['licensing']}/api/v1/dpmptsp-3314/applications", 33)
    truth = {r["id"]: r for r in admin.truth("licensing", "dpmptsp-3314")["records"]}
    assert len(records) == len(truth) == mocks.applications
    assert {r["id"] for r in records} == set(truth)
    assert [(r["updated_at"], r["id"]) for r in records] == sorted((r["updated_at"], r["id"]) for r in records)
    for r in records:
        assert (r["status"], r["updated_at"]) == (truth[r["id"]]["status"], truth[r["id"]]["updated_at"])
        assert r["status"] in LICENSING_LIFECYCLE.statuses and r["updated_at"].endswith("Z")
    since = records[250]["updated_at"]
    later = page_all(admin.licensing(), f"{mocks.urls['licensing']}/api/v1/dpmptsp-3314/applications", 1000,
                     updated_since=since)
    assert later == records[250:]


def test_one_citizen_has_applications_at_several_agencies(mocks: MockAgencies, admin: Admin) -> None:
    nik = admin.citizens(10, 1)[0]["nik"]
    for agency, dataset in [("dukcapil", "dukcapil"), ("licensing", "oss"), ("licensing", "dpmptsp-3201"),
                            ("tax", "tax")]:
        assert nik in {r["applicant_nik"] for r in admin.truth(agency, dataset)["records"]}


def test_advance_moves_status_forward_and_serves_it_last(mocks: MockAgencies, admin: Admin) -> None:
    url = f"{mocks.urls['licensing']}/api/v1/dpmptsp-3521/applications"
    before = {r["id"]: r for r in page_all(admin.licensing(), url, 1000)}
    advanced = admin.advance("licensing", "dpmptsp-3521", 12)
    assert len(advanced) == 12
    after = page_all(admin.licensing(), url, 1000)
    assert len(after) == len(before)
    assert {r["id"] for r in after[-12:]} == set(advanced)
    for r in after[-12:]:
        old = before[r["id"]]
        assert r["status"] in LICENSING_LIFECYCLE.transitions[old["status"]]
        assert r["updated_at"] > old["updated_at"]
    newest = before[max(before, key=lambda k: before[k]["updated_at"])]["updated_at"]
    changed = page_all(admin.licensing(), url, 5, updated_since=min(r["updated_at"] for r in after[-12:]))
    assert {r["id"] for r in changed} == set(advanced) and newest < changed[0]["updated_at"]


def test_bad_tokens_and_bad_clients_are_refused(mocks: MockAgencies) -> None:
    url = mocks.urls["licensing"]
    assert requests.get(f"{url}/api/v1/oss/applications", timeout=5).status_code == 401
    bad = requests.get(f"{url}/api/v1/oss/applications", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"
    client = requests.post(f"{url}/oauth/token", data={"grant_type": "client_credentials", "client_id": "mpp-bus",
                                                       "client_secret": "salah"}, timeout=5)
    assert client.status_code == 401 and client.json()["error"] == "invalid_client"


def test_tokens_expire_and_the_bucket_answers_429_with_retry_after() -> None:
    with MockAgencies(seed=1, citizens=50, applications=20, token_ttl=1, rate_limit=4) as mocks:
        url = mocks.urls["licensing"]
        token = requests.post(f"{url}/oauth/token", data={"grant_type": "client_credentials",
                                                          "client_id": "mpp-bus", "client_secret": "oss-rahasia"},
                              timeout=5).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 1
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        codes = [requests.get(f"{url}/api/v1/oss/services", headers=headers, timeout=5) for _ in range(8)]
        limited = [r for r in codes if r.status_code == 429]
        assert codes[0].status_code == 200 and limited
        assert int(limited[0].headers["Retry-After"]) >= 1
        time.sleep(1.1)
        expired = requests.get(f"{url}/api/v1/oss/services", headers=headers, timeout=5)
        assert expired.status_code == 401


def test_multipart_applications_keep_each_file_and_honour_the_idempotency_key(mocks: MockAgencies,
                                                                              admin: Admin) -> None:
    session = admin.licensing()
    url = f"{mocks.urls['licensing']}/api/v1/dpmptsp-3314/applications"
    nik = admin.citizens(0, 1)[0]["nik"]
    application = {"service_code": "IUMK", "applicant_nik": nik, "client_reference": "ref-multipart-1",
                   "form": {"nama_usaha": "Toko Maju Jaya", "alamat_usaha": "Jl. Pemuda No. 3, Sragen",
                            "modal_usaha": 10_000_000}}
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

    def post(content: bytes) -> requests.Response:
        files = [("application", (None, json.dumps(application).encode(), "application/json")),
                 ("DENAH_LOKASI", ("denah.png", content, "image/png"))]
        return session.post(url, files=files, headers={"Idempotency-Key": "key-multipart-1"}, timeout=5)

    first = post(png)
    assert first.status_code == 201
    replay = post(png)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    other = post(png + b"x")  # the same key with another file is another application
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    received = requests.get(f"{mocks.urls['licensing']}/admin/submissions", params={"dataset": "dpmptsp-3314"},
                            headers={"X-Admin-Token": "mock-admin"}, timeout=5).json()["received"]
    mine = [e for e in received if e["reference"] == "ref-multipart-1"]
    assert [e["outcome"] for e in mine] == ["created", "replayed", "conflict"]
    assert mine[0]["files"] == [{"name": "DENAH_LOKASI", "filename": "denah.png", "content_type": "image/png",
                                 "sha256": hashlib.sha256(png).hexdigest(), "size": len(png)}]
