"""Quarantine rows are open until their record stores (or a newer row quarantines it again), set-based per page."""

from __future__ import annotations

from mpp_bus.contract import Reject, StreamName

from .fake_agency import application, service


def _open(store) -> dict[str, str]:
    return {i.record_id: i.reason for i in store.quarantine_items(open_only=True)}


def test_a_record_that_stores_later_resolves_its_quarantine_rows(engine, store, agency):
    bad = application(2, status="lost_in_mail")
    agency.records[StreamName.APPLICATIONS] = [application(1), bad]
    first = engine.sync(agency, "applications")
    assert (first.stored, first.quarantined) == (1, 1), first
    assert set(_open(store)) == {"PRM-0000002"}
    assert store.open_quarantine_counts() == {("dpmptsp-3314", "applications"): 1}

    # The agency serves it again (a full refresh), still bad: the new row supersedes the old, one stays open.
    agency.records[StreamName.APPLICATIONS] = [application(1), bad, application(3)]
    again = engine.sync(agency, "applications", full_refresh=True)
    assert again.quarantined == 1, again
    rows = sorted((i for i in store.quarantine_items() if i.record_id == "PRM-0000002"), key=lambda i: i.id)
    assert [(i.resolution, i.resolved_run_id) for i in rows] == [("superseded", again.run_id), (None, None)]

    # Now good (a later update, read incrementally): every row of the record closes as stored.
    agency.records[StreamName.APPLICATIONS] = [application(1), bad, application(3), application(2, status="verified")]
    fixed = engine.sync(agency, "applications")
    assert fixed.stored == 1, fixed
    assert _open(store) == {}
    closed = [i for i in store.quarantine_items() if i.record_id == "PRM-0000002"]
    assert [i.resolution for i in closed].count("stored") == 1 and all(not i.open for i in closed)
    assert store.open_quarantine_counts() == {}


def test_a_full_refresh_resolves_rows_of_records_now_stored(engine, store, agency):
    agency.records[StreamName.CATALOG] = [service("A"), service("B")]
    agency.rejects = [Reject("unknown channel code KIOS", record_id="C", payload={"kanal": "KIOS"})]
    assert engine.sync(agency, "catalog").quarantined == 1
    agency.records[StreamName.CATALOG] = [service("A"), service("B"), service("C")]
    result = engine.sync(agency, "catalog", full_refresh=True)
    assert result.stored == 1, result
    assert _open(store) == {}
    [row] = store.quarantine_items()
    assert (row.resolution, row.resolved_run_id) == ("stored", result.run_id)


def test_rows_of_other_agencies_and_streams_stay_open(engine, store, agency):
    agency.rejects = [Reject("unknown agency code ZZ", record_id="PRM-0000001", payload={})]
    agency.records[StreamName.APPLICATIONS] = []
    engine.sync(agency, "applications")
    agency.records[StreamName.CATALOG] = [service("PRM-0000001")]  # the same id, in another stream
    engine.sync(agency, "catalog")
    assert set(_open(store)) == {"PRM-0000001"}
