"""The report DAG's work, without Airflow: it refreshes the performance snapshot the API serves and judges every
configured agency's freshness from the store's one health query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mpp_bus import reports
from mpp_bus.airflow.report import run_report
from mpp_bus.config import AgencyInstance
from mpp_bus.store import create_store
from tests.api.seed import seed

INSTANCES = [
    AgencyInstance(id="dpmptsp-3314", adapter="licensing", name="DPMPTSP Sragen", level="kabupaten_kota",
                   region_code="33.14", schedule="@hourly"),
    AgencyInstance(id="baru", adapter="licensing", name="Never synced", level="pusat", schedule="@daily"),
]


@pytest.fixture
def seeded(db_url):
    store = create_store(db_url, upgrade=True)
    try:
        yield seed(store)
    finally:
        store.dispose()


def test_report_refreshes_the_performance_snapshot_and_judges_freshness(seeded):
    store = seeded.store
    assert reports.latest(store) is None
    now = datetime.now(UTC)
    summary = run_report(store, INSTANCES, now=now)

    snapshot = reports.latest(store)
    assert snapshot is not None
    stamp, rows = snapshot
    assert stamp == now and rows == reports.performance(store, as_of=now)
    assert summary.services == len(rows) > 0
    assert summary.overdue_applications == sum(r.overdue_backlog for r in rows)

    fresh = {f.agency_id: f for f in summary.freshness}
    assert set(fresh) == {"dpmptsp-3314", "baru"}
    sragen = fresh["dpmptsp-3314"]
    assert sragen.last_catalog_sync_at and sragen.last_applications_sync_at and not sragen.stale
    assert sragen.expected_interval_s == 3600.0 and sragen.freshness_s is not None
    assert fresh["baru"].stale and fresh["baru"].last_applications_sync_at is None
    assert summary.stale == ["baru"]

    later = run_report(store, INSTANCES, now=now + timedelta(hours=3))
    assert later.stale == ["baru", "dpmptsp-3314"]
