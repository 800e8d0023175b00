"""Admin views: runs, quarantine, health and the audit log need the admin role."""

from __future__ import annotations

import pytest

from tests.api.seed import SITI

ADMIN_PATHS = ["/api/v1/admin/runs", "/api/v1/admin/quarantine", "/api/v1/admin/quarantine/1",
               "/api/v1/admin/health", "/api/v1/admin/audit"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_admin_endpoints_deny_citizens_and_anonymous_callers(client, seeded, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers=seeded.headers("siti", nik=SITI)).status_code == 403
    verifier = client.get(path, headers=seeded.headers("portal", roles=["identity_verifier"]))
    assert verifier.status_code == 403
    assert "'admin' role" in verifier.json()["detail"]


def test_runs_newest_first_and_filtered(client, seeded):
    admin = seeded.headers("ops", roles=["admin"])
    runs = client.get("/api/v1/admin/runs", headers=admin).json()
    assert [r["id"] for r in runs] == sorted((r["id"] for r in runs), reverse=True)
    failed = client.get("/api/v1/admin/runs", params={"status": "failed"}, headers=admin).json()
    assert [(r["agency_id"], r["stream"]) for r in failed] == [("djp", "applications")]
    assert "timed out" in failed[0]["error"]
    catalog = client.get("/api/v1/admin/runs", params={"stream": "catalog", "agency": "djp"}, headers=admin).json()
    assert len(catalog) == 1 and catalog[0]["stored"] == 2


def test_quarantine_list_and_item_with_the_payload_redacted(client, seeded):
    admin = seeded.headers("ops", roles=["admin"])
    items = client.get("/api/v1/admin/quarantine", headers=admin).json()
    assert [(i["agency_id"], i["record_id"]) for i in items] == [("dpmptsp-3314", "PRM-9")]
    item = client.get(f"/api/v1/admin/quarantine/{items[0]['id']}", headers=admin)
    assert item.status_code == 200
    assert item.json()["payload"]["status"] == "XX"
    assert SITI not in item.text and "Siti" not in item.text
    assert client.get("/api/v1/admin/quarantine/999", headers=admin).status_code == 404
    audit = client.get("/api/v1/admin/audit", params={"action": "quarantine.read"}, headers=admin).json()
    assert [(a["resource"], a["outcome"]) for a in audit] == [("quarantine:999", "not_found"),
                                                              (f"quarantine:{items[0]['id']}", "allowed")]


def test_health_shows_last_success_failure_lag_and_breaker(client, seeded):
    health = {h["agency"]["id"]: h for h in
              client.get("/api/v1/admin/health", headers=seeded.headers("ops", roles=["admin"])).json()}
    assert set(health) == {"djp", "dpmptsp-3314"}
    djp, sragen = health["djp"], health["dpmptsp-3314"]
    assert djp["latest_run_status"] == "failed" and djp["last_failure_at"] and djp["last_success_at"]
    assert "timed out" in djp["last_error"]
    assert sragen["last_failure_at"] is None and sragen["latest_run_status"] == "succeeded"
    assert sragen["lag_seconds"] >= 0
    assert "breaker_state" in sragen
