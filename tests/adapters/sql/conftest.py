"""A mock regional licensing system's database (a table behind a view), on the machine's MariaDB and PostgreSQL,
created empty for each test, and helpers to change its data as the office's own application would."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import DEFAULT_POSTGRES_URL

DEFAULT_MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
NIK = "3314014501900001"

SPEC: dict[str, Any] = {
    "statuses": {"version": 1, "normalise": True,
                 "statuses": {"BARU": "submitted", "DIPROSES": "in_process", "TERBIT": "completed"}},
    "vocabulary": {"documents": {"KTP": "KTP_EL"}, "channels": {"LOKET": "direct"},
                   "categories": {"perizinan": "perizinan_usaha"}},
    "streams": {
        "catalog": {"view": "v_layanan", "id": "kode",
                    "fields": {"code": "kode", "name": "nama", "category": {"from": "kategori", "as": "category"},
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


