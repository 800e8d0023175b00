"""A large run leaves the planner's statistics fresh, so the next look-ups by id use the key index."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mpp_bus.contract import StreamName
from mpp_bus.engine import SyncEngine
from mpp_bus.engine import sync as engine_sync
from mpp_bus.store import create_store

from .fake_agency import FakeAgencyAdapter, application

# ANALYZE sets the row estimate in the catalog; a table never analyzed (or vacuumed) shows -1.
ESTIMATES = "SELECT relname, reltuples FROM pg_class WHERE relname IN ('applications', 'status_events')"


@pytest.mark.postgres
def test_a_large_run_analyzes_the_application_tables(postgres_url, hasher, monkeypatch):
    store = create_store(postgres_url, upgrade=True)
    try:
        engine = SyncEngine(store, hasher)
        agency = FakeAgencyAdapter.for_agency(page_size=10)
        agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(25)]
        monkeypatch.setattr(engine_sync, "ANALYZE_AFTER", 26)
        assert engine.sync(agency, "applications").stored == 25  # below the threshold
        with store.engine.connect() as conn:
            assert dict(conn.execute(text(ESTIMATES)).all()) == {"applications": -1, "status_events": -1}
        monkeypatch.setattr(engine_sync, "ANALYZE_AFTER", 20)
        agency.records[StreamName.APPLICATIONS] = [application(i) for i in range(50)]
        assert engine.sync(agency, "applications", full_refresh=True).stored == 25
        with store.engine.connect() as conn:
            assert dict(conn.execute(text(ESTIMATES)).all()) == {"applications": 50, "status_events": 50}
    finally:
        store.dispose()
