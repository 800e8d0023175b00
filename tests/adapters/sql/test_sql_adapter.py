"""The ``sql`` adapter type against a mock regional licensing system's database: a table behind a view, seeded here,
on the MariaDB and the PostgreSQL of the machine (CI starts both)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url

from adapters.sql import SqlAdapter
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName, registry
from mpp_bus.engine import SyncEngine
from mpp_bus.errors import ConfigError
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store, create_store
from mpp_bus.store.tables import applications, quarantine, services
from tests.conftest import DEFAULT_POSTGRES_URL

DEFAULT_MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
NIK = "3314014501900001"

SPEC: dict[str, Any] = {
    "statuses": {"version": 1, "normalise": True,
                 "statuses": {"BARU": "submitted", "DIPROSES": "in_process", "TERBIT": "completed"}},
    "vocabulary": {"documents": {"KTP": "KTP_EL"}, "channels": {"LOKET": "direct"}},
    "streams": {
        "catalog": {"view": "v_layanan", "id": "kode",
                    "fields": {"code": "kode", "name": "nama", "category": "kategori",
                               "sla_working_days": {"from": "sla_hari", "as": "int"},
                               "fee_idr": {"from": "tarif", "as": "int", "default": 0}}},
        "applications": {
            "view": "v_permohonan", "mode": "incremental", "id": "nomor",
            "incremental": {"field": "diubah_pada", "as": "datetime@Asia/Jakarta"},
            "fields": {"application_id": "nomor", "service_code": "kode_layanan",
                       "applicant_nik": {"from": "nik_pemohon", "as": "nik"},
                       "status": {"from": "status", "as": "status"}, "agency_status": "status",
                       "status_at": {"from": "diubah_pada", "as": "datetime@Asia/Jakarta"},
                       "submitted_at": {"from": "diajukan_pada", "as": "datetime@Asia/Jakarta"}}},
    },
}

SCHEMA = [
    "CREATE TABLE layanan (kode VARCHAR(20) PRIMARY KEY, nama VARCHAR(200) NOT NULL, kategori VARCHAR(50) NOT NULL,"
    " sla_hari INTEGER NOT NULL, tarif INTEGER, aktif INTEGER NOT NULL DEFAULT 1)",
    "CREATE TABLE permohonan (nomor VARCHAR(20) PRIMARY KEY, kode_layanan VARCHAR(20) NOT NULL,"
    " nik_pemohon VARCHAR(16) NOT NULL, status VARCHAR(20) NOT NULL, diajukan_pada TIMESTAMP NOT NULL,"
    " diubah_pada TIMESTAMP NOT NULL, catatan_internal VARCHAR(200))",
    # What the office grants the bus: only active services, and no internal notes.
    "CREATE VIEW v_layanan AS SELECT kode, nama, kategori, sla_hari, tarif FROM layanan WHERE aktif = 1",
    "CREATE VIEW v_permohonan AS SELECT nomor, kode_layanan, nik_pemohon, status, diajukan_pada, diubah_pada"
    " FROM permohonan",
]


def _database(server_url: str, kind: str) -> Iterator[str]:
    server = make_url(server_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"mpp_sql_{uuid.uuid4().hex[:10]}"
    quoted = f"`{name}`" if kind == "mariadb" else f'"{name}"'
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {quoted}"))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"{kind} is unreachable: {type(exc).__name__}")
        pytest.skip(f"{kind} is unreachable: {type(exc).__name__}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = "" if kind == "mariadb" else " WITH (FORCE)"
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
        admin.dispose()


@pytest.fixture(params=["mariadb", pytest.param("postgres", marks=pytest.mark.postgres)])
def agency_db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The regional system's database, its schema created and empty."""
    kind = request.param
    server = os.environ.get("MPP_TEST_MARIADB_URL", DEFAULT_MARIADB_URL) if kind == "mariadb" else \
        os.environ.get("MPP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    for url in _database(server, kind):
        engine = create_engine(url)
        with engine.begin() as conn:
            for statement in SCHEMA:
                conn.execute(text(statement))
        yield engine
        engine.dispose()


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


def wib(text_: str) -> datetime:
    return datetime.fromisoformat(text_)  # the office's clock, WIB, stored without a zone


def add_services(db: Engine, *codes: str) -> None:
    with db.begin() as conn:
        for code in codes:
            conn.execute(text("INSERT INTO layanan (kode, nama, kategori, sla_hari, tarif) "
                              "VALUES (:k, :n, 'perizinan', 5, 0)"), {"k": code, "n": f"Izin {code}"})


def put(db: Engine, nomor: str, status: str, at: str, *, submitted: str = "2025-03-01 08:00:00") -> None:
    with db.begin() as conn:
        changed = conn.execute(text("UPDATE permohonan SET status = :s, diubah_pada = :t WHERE nomor = :n"),
                               {"s": status, "t": wib(at), "n": nomor}).rowcount
        if not changed:
            conn.execute(text("INSERT INTO permohonan VALUES (:n, 'IMB', :nik, :s, :sub, :t, 'rahasia')"),
                         {"n": nomor, "nik": NIK, "s": status, "sub": wib(submitted), "t": wib(at)})


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
