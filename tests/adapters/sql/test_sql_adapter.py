"""The ``sql`` adapter type against a mock regional licensing system's database: a table behind a view, seeded here,
on the MariaDB and the PostgreSQL of the machine (CI starts both)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from adapters.sql import SqlAdapter
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName, registry
from mpp_bus.engine import SyncEngine
from mpp_bus.errors import ConfigError
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store, create_store
from mpp_bus.store.tables import applications, quarantine, services
from tests.adapters.sql.conftest import NIK, SPEC, add_services, put


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = create_store(sqlite_url, upgrade=True)
    yield store
    store.dispose()


def instance(**config: Any) -> AgencyInstance:
    return AgencyInstance(id="dpmptsp-3372", adapter="sql", name="DPMPTSP Kota Surakarta", level="kabupaten_kota",
                          connection_id="surakarta_db", page_size=2, timeout_seconds=5,
                          config={"spec": SPEC, **config})


def adapter_for(db: Engine) -> SqlAdapter:
    url = db.url.render_as_string(hide_password=False)
    return SqlAdapter.from_instance(instance(), {"conn_type": None, "extra": {"url": url}})


def stored(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(applications.c.application_id, applications.c.agency_status)).all())


def test_the_sql_type_is_registered_by_entry_point():
    assert registry.adapter_type("sql") is SqlAdapter


def test_credentials_in_the_agencies_file_are_refused(agency_db: Engine):
    url = agency_db.url.render_as_string(hide_password=False)
    with pytest.raises(ConfigError, match="credentials belong in the Airflow Connection `surakarta_db`"):
        SqlAdapter.from_instance(instance(url=url))


def test_check_reads_every_view(agency_db: Engine):
    with adapter_for(agency_db) as adapter:
        assert adapter.check().ok
    with agency_db.begin() as conn:
        conn.execute(text("DROP VIEW v_layanan"))
    with adapter_for(agency_db) as adapter:
        result = adapter.check()
    assert not result.ok and "view or query of the spec" in result.message, result.message


def test_full_then_incremental_sync_including_same_second_changes_with_lower_ids(agency_db: Engine, store: Store):
    add_services(agency_db, "IMB")
    for nomor in ("P-01", "P-02", "P-03", "P-04", "P-05"):
        put(agency_db, nomor, "BARU", "2025-03-01 09:00:00")
    put(agency_db, "P-06", "BARU", "2025-03-01 09:00:07")
    engine = SyncEngine(store, NikHasher(b"sql-adapter-tests-secret-0123456789"))

    with adapter_for(agency_db) as adapter:
        first = engine.sync(adapter, StreamName.APPLICATIONS)
    assert (first.read, first.stored, first.quarantined) == (6, 6, 0), first

    # Within the last second read, P-02 (a lower id than P-06) changes, P-00 appears, P-06 changes too; the
    # office's clock keeps second resolution, so their update times do not move past the cursor.
    put(agency_db, "P-02", "DIPROSES", "2025-03-01 09:00:07")
    put(agency_db, "P-00", "BARU", "2025-03-01 09:00:07")
    put(agency_db, "P-06", " diproses", "2025-03-01 09:00:07")
    with adapter_for(agency_db) as adapter:
        second = engine.sync(adapter, StreamName.APPLICATIONS)
    assert second.stored == 3, second
    assert stored(store) == {"P-00": "BARU", "P-01": "BARU", "P-02": "DIPROSES", "P-03": "BARU", "P-04": "BARU",
                             "P-05": "BARU", "P-06": "diproses"}

    # Nothing changed: the boundary second is read again and every replay is recognised.
    with adapter_for(agency_db) as adapter:
        third = engine.sync(adapter, StreamName.APPLICATIONS)
    assert (third.stored, third.unchanged) == (0, 0), third

    put(agency_db, "P-01", "TERBIT", "2025-03-01 11:30:00")
    with adapter_for(agency_db) as adapter:
        fourth = engine.sync(adapter, StreamName.APPLICATIONS)
    assert (fourth.read, fourth.stored) == (1, 1), fourth
    assert stored(store)["P-01"] == "TERBIT"


def test_an_unmapped_status_is_quarantined_without_the_nik(agency_db: Engine, store: Store):
    put(agency_db, "P-01", "BARU", "2025-03-01 09:00:00")
    put(agency_db, "P-02", "DITANGGUHKAN", "2025-03-01 09:00:01")
    engine = SyncEngine(store, NikHasher(b"sql-adapter-tests-secret-0123456789"))
    with adapter_for(agency_db) as adapter:
        result = engine.sync(adapter, StreamName.APPLICATIONS)
    assert (result.stored, result.quarantined) == (1, 1), result
    with store.engine.connect() as conn:
        row = conn.execute(select(quarantine)).one()._mapping
    assert row["record_id"] == "P-02" and "unknown agency status code 'DITANGGUHKAN'" in row["reason"]
    assert NIK not in str(row["payload"]) and "rahasia" not in str(row["payload"])


def test_a_full_catalog_refresh_withdraws_what_the_view_no_longer_shows(agency_db: Engine, store: Store):
    add_services(agency_db, "IMB", "SIUP", "TDP")
    engine = SyncEngine(store, NikHasher(b"sql-adapter-tests-secret-0123456789"))
    with adapter_for(agency_db) as adapter:
        assert engine.sync(adapter, StreamName.CATALOG).stored == 3
    with agency_db.begin() as conn:
        conn.execute(text("UPDATE layanan SET aktif = 0 WHERE kode = 'SIUP'"))
    with adapter_for(agency_db) as adapter:
        result = engine.sync(adapter, StreamName.CATALOG)
    assert result.withdrawn == 1, result
    with store.engine.connect() as conn:
        withdrawn = dict(conn.execute(select(services.c.code, services.c.withdrawn_at)).all())
    assert withdrawn["SIUP"] is not None and withdrawn["IMB"] is None and withdrawn["TDP"] is None
