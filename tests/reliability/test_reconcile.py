"""``mpp-bus reconcile``: zero differences after a clean sync, exactly the difference after one is forced, and
``--fix`` re-reads only the windows that differ."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, delete, insert, select, update

from mock_agencies import MockAgencies
from mpp_bus.cli import main
from mpp_bus.reconcile import compare
from mpp_bus.store.tables import applications

from .conftest import CONNECTIONS, SECRET, agencies_doc, assert_store_equals_truth, make_bus, truth


@pytest.mark.parametrize("agency_id", ["dukcapil", "oss", "djp"])
def test_reconcile_finds_nothing_after_a_clean_sync_and_exactly_what_was_forced(
    agency_id: str, db_url: str, mocks: MockAgencies
) -> None:
    bus = make_bus(db_url, agencies_doc(mocks.urls))
    bus.sync(agency_id, "applications")
    with bus.adapter(agency_id) as adapter:
        clean = compare(bus.store, adapter)
    assert clean.ok and clean.differences == [] and clean.windows_agreeing == clean.windows_compared > 10
    assert clean.store_records == clean.agency_records == len(truth(mocks, agency_id).records)

    ids = sorted(truth(mocks, agency_id).records)
    gone, old, ghost = ids[10], ids[200], "GHOST-000000001"
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(delete(applications).where(applications.c.agency_id == agency_id,
                                                applications.c.application_id == gone))
        row = conn.execute(select(applications).where(applications.c.agency_id == agency_id,
                                                      applications.c.application_id == old)).one()._asdict()
        # As if an update had been missed: an older time and another raw status.
        conn.execute(update(applications).where(applications.c.agency_id == agency_id,
                                                applications.c.application_id == old)
                     .values(source_updated_at=row["source_updated_at"] - timedelta(hours=1),
                             agency_status="STALE"))
        conn.execute(insert(applications).values({**row, "application_id": ghost}))
    engine.dispose()

    with bus.adapter(agency_id) as adapter:
        forced = compare(bus.store, adapter)
    assert (forced.missing, forced.different, forced.extra) == ([gone], [old], [ghost])
    assert forced.windows_agreeing >= forced.windows_compared - 3


def test_reconcile_cli_reports_then_fixes_only_the_differing_windows(
    sqlite_url: str, mocks: MockAgencies, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MPP_LICENSING", json.dumps(CONNECTIONS["mpp_licensing"]))
    monkeypatch.setenv("MPP_NIK_HMAC_SECRET", SECRET)
    doc = agencies_doc(mocks.urls)
    agencies = tmp_path / "agencies.yaml"
    agencies.write_text(yaml.safe_dump(doc), encoding="utf-8")
    base = ["--agencies", str(agencies), "--database-url", sqlite_url]
    assert main([*base, "sync", "oss", "--stream", "applications", "--no-progress"]) == 0
    assert main([*base, "reconcile", "oss"]) == 0
    assert "no differences" in capsys.readouterr().out

    ids = sorted(truth(mocks, "oss").records)
    lost = [ids[5], ids[6], ids[300]]
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(delete(applications).where(applications.c.agency_id == "oss",
                                                applications.c.application_id.in_(lost)))
    engine.dispose()

    assert main([*base, "reconcile", "oss"]) == 1
    out = capsys.readouterr().out
    assert "missing 3, extra 0, different 0" in out and all(i in out for i in lost)

    assert main([*base, "reconcile", "oss", "--fix"]) == 0
    out = capsys.readouterr().out
    assert "after the fix" in out and "no differences" in out
    assert_store_equals_truth(sqlite_url, "oss", truth(mocks, "oss"))
    bus = make_bus(sqlite_url, doc)
    fix_run = bus.store.recent_runs(agency_id="oss", limit=1)[0]
    # Only the differing windows were re-read: a few days of a 300-day dataset, not all of it.
    assert fix_run.status == "succeeded" and fix_run.stored == 3
    assert 3 <= fix_run.read < len(ids) / 10
