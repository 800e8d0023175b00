"""Honest tracking on both stores: decisions stop the SLA clock, revisions pause it; /lacak filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mpp_bus.canonical import Level
from mpp_bus.contract import StreamName
from mpp_bus.engine import SyncEngine
from tests.api.seed import BUDI, SITI, T0, ScriptedAgency, application
from tests.api.test_pages import sign_in


def test_a_rejection_after_work_stopped_is_not_overdue_and_a_revision_pauses(client, seeded):
    budi = {(a["agency"]["id"], a["application_id"]): a
            for a in client.get("/api/v1/me/applications", headers=seeded.headers("budi", nik=BUDI)).json()}
    assert budi["dpmptsp-3314", "PRM-2"]["overdue"] is False  # rejected: the clock stopped
    assert budi["djp", "DJP-2"]["overdue"] is False  # cancelled

    # DJP-1 (due 6 March, in process) goes back to the citizen for a revision: the clock pauses.
    djp = ScriptedAgency.of("djp", "Direktorat Jenderal Pajak", Level.PUSAT, None)
    later = datetime.now(UTC) - timedelta(days=1)
    djp.records[StreamName.APPLICATIONS] = [application("djp", "DJP-1", "NPWP-OP", SITI, "needs_revision", later,
                                                        T0 + timedelta(days=2), date(2025, 3, 6))]
    SyncEngine(seeded.store, seeded.hasher).sync(djp, StreamName.APPLICATIONS, full_refresh=True)
    siti = {a["application_id"]: a
            for a in client.get("/api/v1/me/applications", headers=seeded.headers("siti", nik=SITI)).json()}
    assert siti["DJP-1"]["sla_paused"] is True and siti["DJP-1"]["overdue"] is True  # late before the pause


def test_lacak_filters_by_status_agency_and_number(client, seeded):
    sign_in(client, seeded.token("budi", nik=BUDI))
    page = client.get("/lacak").text
    assert all(f"permohonan-{a}" in page for a in ("dpmptsp-3314-PRM-2", "dpmptsp-3314-PRM-3", "djp-DJP-2"))
    by_status = client.get("/lacak", params={"status": "rejected"}).text
    assert "permohonan-dpmptsp-3314-PRM-2" in by_status and "permohonan-djp-DJP-2" not in by_status
    by_agency = client.get("/lacak", params={"instansi": "djp"}).text
    assert "permohonan-djp-DJP-2" in by_agency and "permohonan-dpmptsp-3314-PRM-3" not in by_agency
    by_number = client.get("/lacak", params={"nomor": "prm-3"}).text
    assert "permohonan-dpmptsp-3314-PRM-3" in by_number and "permohonan-dpmptsp-3314-PRM-2" not in by_number
    none = client.get("/lacak", params={"nomor": "TIDAK-ADA"}).text
    assert "Tidak ada permohonan yang sesuai" in none
