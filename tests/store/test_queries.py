"""The read queries, on data written through the store's own write path."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from mpp_bus.canonical import Agency, Level, Status
from mpp_bus.store import FAILED, SUCCEEDED, RunCounts, create_store
from mpp_bus.store import state as st

T0 = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
CITIZEN, OTHER = "a" * 64, "b" * 64


@pytest.fixture
def store(db_url):
    store = create_store(db_url, upgrade=True)
    yield store
    store.dispose()


def _app(store, conn, agency_id, app_id, nik_hash, status, at):
    w = store.writer
    row = (
        agency_id,
        app_id,
        "IMB",
        nik_hash,
        "33************01",
        status,
        status.upper(),
        w.time(at),
        w.time(T0),
        w.date(None),
        None,
        w.time(at),
        "h" * 32,
        w.time(at),
        None,  # revision_note
    )
    key = hashlib.sha256(f"{agency_id}|{app_id}|{status}|{at}".encode()).hexdigest()
    return row, (agency_id, app_id, status, status.upper(), w.time(at), key, True, w.time(at))


def _populate(store):
    with store.engine.connect() as conn:
        store.writer.prepare(conn)
        with conn.begin():
            for aid, name in (("dpmptsp-3314", "DPMPTSP Sragen"), ("djp", "Direktorat Jenderal Pajak")):
                level = Level.KABUPATEN_KOTA if aid != "djp" else Level.PUSAT
                st.register_agency(conn, Agency(id=aid, name=name, level=level), adapter="x", now=T0)
            ok = st.open_run(conn, "dpmptsp-3314", "applications", "incremental", now=T0)
            st.finish_run(
                conn,
                ok,
                status=SUCCEEDED,
                counts=RunCounts(read=3, stored=3),
                duration_s=1.5,
                now=T0 + timedelta(minutes=1),
            )
            bad = st.open_run(conn, "djp", "applications", "incremental", now=T0)
            st.add_quarantine(
                conn,
                [
                    {
                        "run_id": bad,
                        "agency_id": "djp",
                        "stream": "applications",
                        "record_id": f"R{i}",
                        "reason": "status: Input should be ...",
                        "payload": {"applicant_nik": "[redacted]"},
                        "created_at": T0,
                    }
                    for i in range(2)
                ],
            )
            st.finish_run(
                conn,
                bad,
                status=FAILED,
                counts=RunCounts(read=2, quarantined=2),
                duration_s=0.5,
                now=T0 + timedelta(minutes=2),
                error="RetriableError: timed out",
            )
            st.upsert_services(
                conn,
                [
                    {
                        "agency_id": "dpmptsp-3314",
                        "code": code,
                        "name": f"Izin {code}",
                        "description": "",
                        "category": "izin",
                        "requirements": ["KTP_EL"],
                        "output_document": "",
                        "sla_working_days": 3,
                        "fee_idr": 0,
                        "legal_basis": "",
                        "channels": [],
                        "locations": [],
                        "content_hash": code,
                        "seen_generation": 1,
                        "withdrawn_at": T0 if code == "OLD" else None,
                        "source_updated_at": None,
                        "synced_at": T0,
                    }
                    for code in ("IMB", "OLD")
                ],
            )
        with conn.begin():
            made = [
                _app(store, conn, "dpmptsp-3314", "P1", CITIZEN, "in_process", T0 + timedelta(hours=2)),
                _app(store, conn, "dpmptsp-3314", "P2", OTHER, "submitted", T0),
                _app(store, conn, "djp", "T1", CITIZEN, "completed", T0 + timedelta(hours=1)),
            ]
            store.writer.upsert(conn, [r for r, _ in made])
            early = _app(store, conn, "dpmptsp-3314", "P1", CITIZEN, "submitted", T0)[1]
            store.writer.add_events(conn, [e for _, e in made] + [early])
        with conn.begin():
            store.writer.add_events(conn, [early])  # the idempotency key keeps it single


def test_recent_runs_newest_first_and_filtered(store):
    _populate(store)
    runs = store.recent_runs()
    assert [(r.agency_id, r.status) for r in runs] == [("djp", FAILED), ("dpmptsp-3314", SUCCEEDED)]
    assert runs[0].error == "RetriableError: timed out" and runs[0].quarantined == 2
    assert [r.agency_id for r in store.recent_runs(status=SUCCEEDED)] == ["dpmptsp-3314"]
    assert store.recent_runs(agency_id="djp", stream="catalog") == []
    assert len(store.recent_runs(limit=1)) == 1


def test_quarantine_list_and_item(store):
    _populate(store)
    items = store.quarantine_items(agency_id="djp")
    assert [i.record_id for i in items] == ["R1", "R0"]
    assert items[0].payload == {"applicant_nik": "[redacted]"}
    assert store.quarantine_item(items[0].id) == items[0]
    assert store.quarantine_item(10_000) is None
    assert store.quarantine_items(agency_id="dpmptsp-3314") == []


def test_agency_summaries(store):
    _populate(store)
    summaries = {s.agency_id: s for s in store.agency_summaries()}
    sragen, djp = summaries["dpmptsp-3314"], summaries["djp"]
    assert (sragen.active_services, sragen.withdrawn_services) == (1, 1)
    assert sragen.applications_by_status == {"in_process": 1, "submitted": 1} and sragen.applications == 2
    assert (sragen.last_run_status, sragen.last_run_duration_s) == (SUCCEEDED, 1.5)
    assert sragen.last_run_finished_at == T0 + timedelta(minutes=1)
    assert (djp.quarantined, djp.last_run_status, djp.applications_by_status) == (2, FAILED, {"completed": 1})
    (only,) = store.agency_summaries("djp")
    assert only == djp


def test_citizen_applications_with_freshness(store):
    _populate(store)
    apps = store.citizen_applications(CITIZEN)
    assert [(a.agency_id, a.application_id) for a in apps] == [("dpmptsp-3314", "P1"), ("djp", "T1")]
    sragen, djp = apps
    assert sragen.agency_name == "DPMPTSP Sragen" and sragen.service_name == "Izin IMB"
    assert sragen.status is Status.IN_PROCESS and sragen.status_label == "diproses"
    assert sragen.freshness == T0 + timedelta(minutes=1)
    assert djp.freshness is None and djp.service_name is None  # no successful sync, no catalog entry
    assert store.citizen_applications("c" * 64) == []


def test_status_history(store):
    _populate(store)
    history = store.status_history("dpmptsp-3314", "P1")
    assert [(h.status, h.applied) for h in history] == [(Status.SUBMITTED, True), (Status.IN_PROCESS, True)]
    assert history[0].occurred_at == T0
    assert store.status_history("dpmptsp-3314", "nope") == []
