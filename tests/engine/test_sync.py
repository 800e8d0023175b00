"""The sync engine against both databases, with an in-memory agency."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from mpp_bus.contract import Reject, StreamName, SyncMode
from mpp_bus.errors import RetriableError, SyncLockedError
from mpp_bus.store import ABANDONED, FAILED, RUNNING, SUCCEEDED
from mpp_bus.store.tables import quarantine, services, status_events, sync_runs

from .fake_agency import AGENCY_ID, T0, FakeAgencyAdapter, application, make_nik, service
from .readback import NIK_RUN, app_rows, count, dump, event_rows, rows


def test_first_sync_stores_every_record_with_history(engine, store, agency, hasher):
    agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(25)]
    seen = []
    result = engine.sync(agency, "applications", progress=seen.append)
    assert (result.status, result.read, result.stored, result.unchanged, result.stale, result.quarantined) == (
        SUCCEEDED,
        25,
        25,
        0,
        0,
        0,
    )
    assert [p.pages for p in seen] == [1, 2, 3] and seen[-1].read == 25
    stored = app_rows(store)
    assert len(stored) == 25 and count(store, status_events) == 25
    first = stored[0]
    nik = make_nik(0)
    assert first["nik_hash"] == hasher.hash(nik) and first["nik_masked"] == nik[:2] + "*" * 12 + nik[-2:]
    assert first["status_at"] == T0 and first["status_at"].tzinfo is not None
    (run,) = store.recent_runs()
    assert (run.status, run.read, run.stored, run.mode) == (SUCCEEDED, 25, 25, "incremental")
    assert run.duration_s is not None and run.finished_at is not None


def test_rerun_changes_nothing(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(25)]
    engine.sync(agency, "applications")
    before_apps, before_events = app_rows(store), event_rows(store)

    again = engine.sync(agency, "applications")  # incremental: the cursor is at the end
    assert (again.read, again.stored) == (0, 0)
    full = engine.sync(agency, "applications", full_refresh=True)  # everything re-read
    assert (full.read, full.stored, full.unchanged, full.stale, full.quarantined) == (25, 0, 25, 0, 0)

    after = app_rows(store)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "synced_at"} for r in rs]  # noqa: E731
    assert strip(after) == strip(before_apps)
    assert [r["synced_at"] for r in after] == [r["synced_at"] for r in before_apps]  # not even touched
    assert event_rows(store) == before_events


def test_new_records_after_the_cursor_are_read_incrementally(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(15)]
    engine.sync(agency, "applications")
    agency.records[StreamName.APPLICATIONS].append(application(3, status="verified", at=T0 + timedelta(days=1)))
    result = engine.sync(agency, "applications")
    assert (result.read, result.stored) == (1, 1)
    assert {r["application_id"]: r["status"] for r in app_rows(store)}["PRM-0000003"] == "verified"
    history = store.status_history(AGENCY_ID, "PRM-0000003")
    assert [(h.status.value, h.applied) for h in history] == [("submitted", True), ("verified", True)]


def test_stale_record_never_regresses_and_is_kept_in_history(engine, store, agency):
    later, earlier = T0 + timedelta(hours=5), T0 + timedelta(hours=1)
    agency.records[StreamName.APPLICATIONS] = [application(1, status="in_process", at=later)]
    engine.sync(agency, "applications")
    agency.records[StreamName.APPLICATIONS].append(application(1, status="verified", at=earlier))
    result = engine.sync(agency, "applications")
    assert (result.read, result.stored, result.stale) == (1, 0, 1)
    (row,) = app_rows(store)
    assert row["status"] == "in_process" and row["source_updated_at"] == later
    history = store.status_history(AGENCY_ID, "PRM-0000001")
    assert [(h.status.value, h.applied) for h in history] == [("verified", False), ("in_process", True)]
    rerun = engine.sync(agency, "applications", full_refresh=True)
    assert (rerun.unchanged, rerun.stale) == (1, 1)
    assert len(store.status_history(AGENCY_ID, "PRM-0000001")) == 2


def test_duplicates_in_a_page_the_newest_wins(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [
        application(7, status="in_process", at=T0 + timedelta(hours=2)),
        application(7, status="submitted", at=T0),
        application(7, status="in_process", at=T0 + timedelta(hours=2)),  # exact duplicate
        application(7, status="verified", at=T0 + timedelta(hours=1)),
    ]
    result = engine.sync(agency, "applications")
    assert (result.read, result.stored, result.unchanged, result.stale) == (4, 1, 1, 2)
    (row,) = app_rows(store)
    assert row["status"] == "in_process"
    history = [(h.status.value, h.applied) for h in store.status_history(AGENCY_ID, "PRM-0000007")]
    assert history == [("submitted", True), ("verified", True), ("in_process", True)]


def test_terminal_stays_terminal(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [application(2, status="completed", at=T0)]
    engine.sync(agency, "applications")
    agency.records[StreamName.APPLICATIONS].append(application(2, status="in_process", at=T0 + timedelta(days=2)))
    result = engine.sync(agency, "applications")
    assert (result.read, result.stored, result.quarantined) == (1, 0, 1)
    (row,) = app_rows(store)
    assert row["status"] == "completed"
    (item,) = store.quarantine_items()
    assert item.record_id == "PRM-0000002" and item.run_id == result.run_id
    assert "status in_process cannot follow terminal completed" in item.reason
    assert item.payload["applicant_nik"] == "[redacted]"
    assert [h.status.value for h in store.status_history(AGENCY_ID, "PRM-0000002")] == ["completed"]


def test_bad_records_are_quarantined_and_the_rest_of_the_page_stored(engine, store, agency):
    bad_nik = application(1, nik="3314010101010000")  # serial 0000
    unknown_status = application(2)
    unknown_status["status"] = "lost_in_mail"
    missing = application(3)
    del missing["service_code"]
    other_agency = application(4, agency_id="dpmptsp-3301")
    records = [application(0), bad_nik, unknown_status, missing, other_agency, application(5)]
    agency.records[StreamName.APPLICATIONS] = records
    agency.rejects = [Reject("unknown agency code ZZ", record_id="PRM-0000009", payload={"nik": make_nik(9), "x": 1})]
    result = engine.sync(agency, "applications")
    assert (result.read, result.stored, result.quarantined) == (7, 2, 5)
    assert [r["application_id"] for r in app_rows(store)] == ["PRM-0000000", "PRM-0000005"]

    items = {i.record_id: i for i in store.quarantine_items(run_id=result.run_id)}
    assert set(items) == {"PRM-0000001", "PRM-0000002", "PRM-0000003", "PRM-0000004", "PRM-0000009"}
    assert "applicant_nik" in items["PRM-0000001"].reason and "serial" in items["PRM-0000001"].reason
    assert "status" in items["PRM-0000002"].reason
    assert "service_code" in items["PRM-0000003"].reason and "required" in items["PRM-0000003"].reason.lower()
    assert "another agency" in items["PRM-0000004"].reason
    assert items["PRM-0000009"].reason == "unknown agency code ZZ"
    assert items["PRM-0000009"].payload == {"nik": "[redacted]", "x": 1}
    assert items["PRM-0000002"].payload["applicant_nik"] == "[redacted]"
    assert items["PRM-0000002"].payload["status"] == "lost_in_mail"
    assert store.quarantine_item(items["PRM-0000003"].id) == items["PRM-0000003"]


def test_a_whole_page_of_bad_records(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [{"application_id": "X1"}, "not a record", {}]
    result = engine.sync(agency, "applications")
    assert (result.read, result.stored, result.quarantined) == (3, 0, 3)
    assert count(store, quarantine) == 3


def test_crash_between_pages_resumes_without_loss_or_duplicates(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(45)]
    agency.fail_after_pages = 2
    with pytest.raises(RetriableError):
        engine.sync(agency, "applications")
    failed = store.recent_runs()[0]
    assert failed.status == FAILED and failed.read == 20 and failed.stored == 20
    assert "dropped the connection" in failed.error and AGENCY_ID in failed.error
    assert count(store, status_events) == 20

    agency.fail_after_pages = None
    resumed = engine.sync(agency, "applications")  # the lock was released by the failed run
    assert (resumed.read, resumed.stored, resumed.unchanged) == (25, 25, 0)
    assert [r["application_id"] for r in app_rows(store)] == [f"PRM-{i:07d}" for i in range(45)]
    assert count(store, status_events) == 45


def test_other_exceptions_are_recorded_redacted(engine, store, agency, monkeypatch):
    def broken(stream, cursor):
        raise ValueError(f"cannot parse row for {make_nik(3)}")
        yield  # pragma: no cover

    monkeypatch.setattr(agency, "read", broken)
    with pytest.raises(ValueError):
        engine.sync(agency, "applications")
    (run,) = store.recent_runs()
    assert run.status == FAILED and run.error.startswith("ValueError: cannot parse row for 33")
    assert make_nik(3) not in run.error


def test_catalog_withdrawal_and_reappearance(engine, store, agency):
    agency.records[StreamName.CATALOG] = [service(f"S{i}") for i in range(25)]
    first = engine.sync(agency, "catalog")
    assert (first.mode, first.read, first.stored, first.withdrawn) == ("full", 25, 25, 0)

    agency.records[StreamName.CATALOG] = [service(f"S{i}") for i in range(25) if i not in (3, 17)]
    agency.records[StreamName.CATALOG][0] = service("S0", fee=50_000)
    second = engine.sync(agency, "catalog")
    assert (second.read, second.stored, second.unchanged, second.withdrawn) == (23, 1, 22, 2)
    by_code = {r["code"]: r for r in rows(store, services, services.c.code)}
    assert len(by_code) == 25  # withdrawn, never deleted
    assert {c for c, r in by_code.items() if r["withdrawn_at"] is not None} == {"S3", "S17"}
    assert by_code["S0"]["fee_idr"] == 50_000
    (summary,) = store.agency_summaries()
    assert (summary.active_services, summary.withdrawn_services) == (23, 2)

    agency.records[StreamName.CATALOG].append(service("S3"))
    third = engine.sync(agency, "catalog")
    assert (third.stored, third.unchanged, third.withdrawn) == (1, 23, 0)
    by_code = {r["code"]: r for r in rows(store, services, services.c.code)}
    assert by_code["S3"]["withdrawn_at"] is None and by_code["S17"]["withdrawn_at"] is not None


def test_interrupted_catalog_read_resumes_its_generation(engine, store, agency):
    agency.records[StreamName.CATALOG] = [service(f"S{i:02d}") for i in range(30)]
    engine.sync(agency, "catalog")
    agency.fail_after_pages = 2
    with pytest.raises(RetriableError):
        engine.sync(agency, "catalog")
    agency.fail_after_pages = None
    resumed = engine.sync(agency, "catalog")
    # only the last page is read again, and nothing seen before the crash is withdrawn
    assert (resumed.read, resumed.withdrawn) == (10, 0)
    assert all(r["withdrawn_at"] is None for r in rows(store, services, services.c.code))


def test_full_mode_application_streams_restart_each_run(engine, store, agency):
    agency.applications_mode = SyncMode.FULL
    agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(12)]
    engine.sync(agency, "applications")
    again = engine.sync(agency, "applications")
    assert (again.read, again.unchanged, again.withdrawn) == (12, 12, 0)


def test_a_second_concurrent_sync_is_refused(engine, store, agency):
    agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(5)]
    agency.gate = threading.Event()
    outcome = {}
    first = threading.Thread(target=lambda: outcome.setdefault("r", engine.sync(agency, "applications")))
    first.start()
    try:
        assert agency.started.wait(10)
        other = FakeAgencyAdapter.for_agency()
        with pytest.raises(SyncLockedError) as caught:
            engine.sync(other, StreamName.APPLICATIONS)
        assert AGENCY_ID in str(caught.value) and "applications" in str(caught.value)
        engine.sync(other, StreamName.CATALOG)  # another stream of the same agency is free
    finally:
        agency.gate.set()
        first.join(20)
    assert outcome["r"].stored == 5
    assert engine.sync(agency, "applications").status == SUCCEEDED  # free again


def test_a_sync_can_wait_for_the_lock(store, hasher, agency):
    from mpp_bus.engine import SyncEngine

    agency.records[StreamName.APPLICATIONS] = [application(1)]
    lock = store.lock(AGENCY_ID, "applications")
    lock.acquire()
    timer = threading.Timer(0.5, lock.release)
    timer.start()
    try:
        result = SyncEngine(store, hasher, lock_wait=10).sync(agency, "applications")
    finally:
        timer.join()
    assert result.stored == 1


def test_runs_left_running_by_a_dead_process_are_abandoned(engine, store, agency):
    store.register_agency(agency.instance.agency, adapter="fake")
    with store.engine.begin() as conn:
        conn.execute(
            sync_runs.insert().values(
                agency_id=AGENCY_ID,
                stream="applications",
                mode="incremental",
                status=RUNNING,
                started_at=T0,
                read=0,
                stored=0,
                unchanged=0,
                stale=0,
                quarantined=0,
                withdrawn=0,
            )
        )
    result = engine.sync(agency, "applications")
    runs = store.recent_runs()
    assert [r.status for r in runs] == [SUCCEEDED, ABANDONED] and runs[0].id == result.run_id
    assert runs[1].finished_at is not None


def test_no_nik_in_the_database_or_the_logs(engine, store, agency, caplog):
    caplog.set_level(logging.DEBUG)
    niks = [make_nik(i) for i in range(30)]
    records = [application(i) for i in range(30)]
    records[4]["status"] = "bogus"
    records[5]["applicant_nik"] = "3314010101019999x"
    records[6]["note"] = f"pemohon {niks[6]}"
    records.append(application(31, status="in_process", at=T0 - timedelta(days=3), nik=niks[0]))
    agency.records[StreamName.APPLICATIONS] = records
    bad_service = service("S2")
    bad_service["sla_working_days"] = int(niks[1])  # a NIK in the wrong field: out of range, quarantined, masked
    agency.records[StreamName.CATALOG] = [service("S1"), bad_service]
    engine.sync(agency, "catalog")
    agency.rejects = [Reject(f"bad row {niks[2]}", record_id=niks[3], payload={"no": niks[7], "deep": [niks[8]]})]
    result = engine.sync(agency, "applications")
    assert result.stored == 28 and result.quarantined == 4

    everything = dump(store)
    assert "PRM-0000000" in everything  # the dump did read the data
    assert not NIK_RUN.search(everything)
    assert not any(n in everything for n in niks)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "read=" in logged and not NIK_RUN.search(logged)
    assert not any(n in logged for n in niks)


def test_history_rows_carry_the_documented_idempotency_key(engine, store, agency):
    from mpp_bus.engine.applications import idempotency_key

    agency.records[StreamName.APPLICATIONS] = [application(1, status="verified", agency_status="VERIFIKASI")]
    engine.sync(agency, "applications")
    (event,) = event_rows(store)
    assert event["idempotency_key"] == idempotency_key(
        AGENCY_ID, "PRM-0000001", "VERIFIKASI", T0 + timedelta(minutes=1)
    )
    assert event["occurred_at"] == T0 + timedelta(minutes=1) and event["applied"] is True


def test_a_same_second_change_forward_is_applied_and_never_flips_back(engine, store, agency):
    # Agencies stamp update times to the second: a record can change twice within one. The lifecycle decides.
    agency.records[StreamName.APPLICATIONS] = [application(3, status="submitted", at=T0)]
    engine.sync(agency, "applications")
    agency.records[StreamName.APPLICATIONS] = [application(3, status="verified", at=T0)]
    forward = engine.sync(agency, "applications", full_refresh=True)
    assert (forward.stored, forward.stale) == (1, 0)
    agency.records[StreamName.APPLICATIONS] = [application(3, status="submitted", at=T0)]
    back = engine.sync(agency, "applications", full_refresh=True)
    assert (back.stored, back.stale) == (0, 1)
    (row,) = app_rows(store)
    assert row["status"] == "verified"
    # submitted <-> needs_revision can go both ways; at equal times the one further along wins, once.
    agency.records[StreamName.APPLICATIONS] = [application(4, status="needs_revision", at=T0)]
    engine.sync(agency, "applications", full_refresh=True)
    agency.records[StreamName.APPLICATIONS] = [application(4, status="submitted", at=T0)]
    cycle = engine.sync(agency, "applications", full_refresh=True)
    assert (cycle.stored, cycle.stale) == (0, 1)
