"""A citizen's applications: own only, with history and freshness; everyone else's answer 404; every read audited."""

from __future__ import annotations

from sqlalchemy import select

from mpp_bus.store.tables import audit_log
from tests.api.seed import BUDI, SITI


def test_a_citizen_sees_only_their_own_applications_across_agencies(client, seeded):
    response = client.get("/api/v1/me/applications", headers=seeded.headers("siti", nik=SITI))
    assert response.status_code == 200
    apps = {(a["agency"]["id"], a["application_id"]): a for a in response.json()}
    assert set(apps) == {("dpmptsp-3314", "PRM-1"), ("djp", "DJP-1")}
    pbg = apps["dpmptsp-3314", "PRM-1"]
    assert pbg["status"] == "completed" and pbg["status_label"] == "selesai"
    assert [h["status"] for h in pbg["history"]] == ["submitted", "verified", "completed"]
    assert pbg["sla_due_date"] == "2025-03-17" and pbg["overdue"] is False
    assert pbg["freshness"]["last_synced_at"] is not None and pbg["freshness"]["stale"] is False
    assert pbg["applicant_nik_masked"] == "33************01"
    assert apps["djp", "DJP-1"]["overdue"] is True  # in process and past its due date
    assert SITI not in response.text


def test_another_citizens_application_answers_404(client, seeded):
    siti = seeded.headers("siti", nik=SITI)
    assert client.get("/api/v1/me/applications/dpmptsp-3314/PRM-1", headers=siti).status_code == 200
    for other in ("/api/v1/me/applications/dpmptsp-3314/PRM-2", "/api/v1/me/applications/djp/DJP-2"):
        denied = client.get(other, headers=siti)
        assert denied.status_code == 404
        # Same answer as for an application that does not exist: nothing is confirmed.
        assert denied.json() == client.get("/api/v1/me/applications/djp/NOPE", headers=siti).json()
    budi = client.get("/api/v1/me/applications", headers=seeded.headers("budi", nik=BUDI)).json()
    assert {a["application_id"] for a in budi} == {"PRM-2", "PRM-3", "DJP-2"}


def test_tracking_needs_a_citizen_token(client, seeded):
    assert client.get("/api/v1/me/applications").status_code == 401
    admin = client.get("/api/v1/me/applications", headers=seeded.headers("ops", roles=["admin"]))
    assert admin.status_code == 403


def test_every_read_is_audited_without_the_clear_nik(client, seeded):
    siti = seeded.headers("siti", nik=SITI)
    client.get("/api/v1/me/applications", headers={**siti, "X-Purpose": "cek status"})
    client.get("/api/v1/me/applications/dpmptsp-3314/PRM-2", headers=siti)
    with seeded.store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]
    assert [(r["action"], r["outcome"]) for r in rows] == [("applications.list", "allowed"),
                                                           ("applications.read", "not_found")]
    assert all(r["actor"] == "siti" and r["actor_role"] == "citizen" for r in rows)
    assert all(r["subject_nik_hash"] == seeded.hasher.hash(SITI) for r in rows)
    assert rows[0]["purpose"] == "cek status"
    assert rows[1]["resource"] == "application:dpmptsp-3314/PRM-2"
    assert SITI not in repr(rows)


def test_a_nik_as_subject_or_purpose_is_masked_in_the_audit_log(client, seeded):
    client.get("/api/v1/me/applications",
               headers={**seeded.headers(SITI, nik=SITI), "X-Purpose": f"lookup {SITI}"})
    with seeded.store.engine.connect() as conn:
        row = conn.execute(select(audit_log)).one()
    assert SITI not in row.actor and SITI not in row.purpose
    assert row.actor == "33************01"
