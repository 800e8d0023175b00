"""`airflow dags test` (``dag.test()``) of the sync DAGs against the mock agencies, into PostgreSQL.

Each module run gets its own AIRFLOW_HOME (a SQLite metadata database is enough for ``dags test``); the portal store
is a throw-away PostgreSQL database. The failure path points one agency at a port nobody listens on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select

from mock_agencies import MockAgencies
from mock_agencies.launcher import free_port
from mpp_bus.reports import latest
from mpp_bus.store import create_store
from mpp_bus.store.tables import applications, sync_runs

from .conftest import BIN, airflow_env, run, write_agencies

pytestmark = pytest.mark.postgres
NIK_RUN = re.compile(r"(?<!\d)\d{16}(?!\d)")


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=5, citizens=300, applications=250) as running:
        yield running


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("airflow-home")


@pytest.fixture
def env(home: Path, mocks: MockAgencies, postgres_url: str) -> dict[str, str]:
    # djp points at a closed port: the agency that is down.
    urls = {**mocks.urls, "tax": f"http://127.0.0.1:{free_port()}"}
    agencies = write_agencies(home / "agencies.yaml", urls)
    env = airflow_env(home, agencies, postgres_url, MPP_AIRFLOW_RETRIES="1", MPP_AIRFLOW_RETRY_DELAY_SECONDS="1")
    if not (home / "airflow.db").exists():
        migrated = run([str(BIN / "airflow"), "db", "migrate"], env)
        assert migrated.returncode == 0, migrated.stdout[-3000:]
    upgraded = run([str(BIN / "mpp-bus"), "db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stdout[-3000:]
    return env


def dags_test(dag_id: str, env: dict[str, str]) -> str:
    result = run([str(BIN / "airflow"), "dags", "test", dag_id], env, timeout=240)
    return result.stdout


def truth_niks(mocks: MockAgencies) -> set[str]:
    response = requests.get(f"{mocks.urls['licensing']}/admin/truth", params={"dataset": "oss"},
                            headers={"X-Admin-Token": "mock-admin"}, timeout=10)
    response.raise_for_status()
    return {row["applicant_nik"] for row in response.json()["records"]}


def test_sync_dag_runs_against_the_mocks_into_postgres(env: dict[str, str], mocks: MockAgencies,
                                                       postgres_url: str) -> None:
    out = dags_test("mpp_sync__oss", env)
    assert "dag_id=mpp_sync__oss" in out and "state=success" in out, out[-4000:]
    assert "status=succeeded read=250 stored=250" in out

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(select(sync_runs.c.stream, sync_runs.c.status).where(sync_runs.c.agency_id == "oss"))
            assert sorted(runs.all()) == [("applications", "succeeded"), ("catalog", "succeeded")]
            stored = conn.execute(select(applications.c.application_id).where(applications.c.agency_id == "oss"))
            assert len(stored.all()) == 250

        # The log (what an admin reads in the UI) never holds a NIK.
        niks = truth_niks(mocks)
        assert niks and not any(nik in out for nik in niks)
        assert not NIK_RUN.search(out)

        report_out = dags_test("mpp_report", env)
        assert "dag_id=mpp_report" in report_out and "state=success" in report_out, report_out[-4000:]
        # The report refreshed the performance snapshot the API serves, and logged which agencies are stale.
        store = create_store(postgres_url)
        try:
            snapshot = latest(store)
        finally:
            store.dispose()
        assert snapshot is not None
        oss = [r for r in snapshot[1] if r.agency_id == "oss"]
        assert oss and sum(r.applications for r in oss) == 250
        assert sum(r.backlog + r.finished for r in oss) <= 250
        stale = re.search(r"stale agencies: ([^\n]*)", report_out)
        assert stale is not None, report_out[-4000:]
        named = set(re.findall(r"[\w-]+", stale.group(1)))
        assert "djp" in named and "oss" not in named
    finally:
        engine.dispose()


def test_an_agency_that_is_down_fails_clearly_and_others_are_unaffected(env: dict[str, str],
                                                                        postgres_url: str) -> None:
    out = dags_test("mpp_sync__djp", env)
    assert "dag_id=mpp_sync__djp" in out and "state=failed" in out, out[-4000:]
    assert "agency djp (Direktorat Jenderal Pajak) failed its check" in out
    assert "What to do" in out
    # Tried twice (one retry), then failed; the sync tasks never ran.
    assert out.count("AgencyCheckFailed: agency djp") == 2 and "new_state=up_for_retry" in out, out[-4000:]
    # The check stopped the run: no stream was synced.
    assert "stream=catalog" not in out and "stream=applications" not in out

    other = dags_test("mpp_sync__dpmptsp-3314", env)
    assert "dag_id=mpp_sync__dpmptsp-3314" in other and "state=success" in other, other[-4000:]
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sync_runs.c.agency_id, sync_runs.c.stream, sync_runs.c.status)).all()
    finally:
        engine.dispose()
    assert ("dpmptsp-3314", "applications", "succeeded") in rows
    # djp's failed checks are recorded as runs (one per attempt), so the health view sees the outage; no sync ran.
    assert [(stream, status) for agency, stream, status in rows if agency == "djp"] == [("check", "failed")] * 2
