"""The documented CeleryExecutor set-up (deploy/celery-cluster.sh): Redis broker, PostgreSQL metadata database and
portal store, two workers. Two agencies' sync DAGs are triggered; their tasks must run on the workers and land in the
store. Then a citizen's submission is accepted into the outbox: the outbox watcher's run must start that agency's
dispatch DAG alone, which delivers it. Everything runs on free ports, in fresh databases and its own AIRFLOW_HOME,
and is stopped by PID."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import create_engine, select, text

from mock_agencies import MockAgencies
from mock_agencies.launcher import free_port
from mpp_bus.bus import Bus
from mpp_bus.config import Settings
from mpp_bus.engine.outbox import SubmissionRequest
from mpp_bus.store import SubmissionState
from mpp_bus.store.tables import sync_runs

from .conftest import BIN, ROOT, agencies_doc, airflow_env, run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
SCRIPT = str(ROOT / "deploy" / "celery-cluster.sh")
AGENCIES = ("oss", "dpmptsp-3314")
# A regional instance, as the generated national file has them: its task goes to the island group's Celery queue.
REGIONAL = {"dpmptsp-3314": "jawa"}
OUTBOX_KEY = "Zm9yLXRlc3RzLW9ubHktb3V0Ym94LWtleS0zMi1ieXQ="  # base64 of 32 bytes, tests only
IUMK = {"nama_usaha": "Warung Makan Sari Rasa", "alamat_usaha": "Jl. Raya Sukowati No. 12, Sragen",
        "modal_usaha": 25_000_000}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed; the Celery set-up needs it as the broker")
    suffix = uuid.uuid4().hex[:10]
    meta_db, store_db = f"mpp_test_meta_{suffix}", f"mpp_test_store_{suffix}"
    with MockAgencies(seed=3, citizens=200, applications=120) as mocks:
        doc = agencies_doc(mocks.urls)
        doc["defaults"]["schedule"] = None  # only the runs the test triggers
        for agency in doc["agencies"]:
            if agency["id"] in REGIONAL:
                agency["queue"] = REGIONAL[agency["id"]]
        agencies = tmp_path / "agencies.yaml"
        agencies.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        home = tmp_path / "home"
        env = airflow_env(home, agencies, f"{SERVER}/{store_db}", CELERY_AIRFLOW_HOME=str(home),
                          META_DB=meta_db, STORE_DB=store_db, PG_SERVER=SERVER, REDIS_PORT=str(free_port()),
                          API_PORT=str(free_port()), AIRFLOW__CELERY__WORKER_LOG_SERVER_PORT=str(free_port()),
                          AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False", MPP_OUTBOX_KEY=OUTBOX_KEY)
        env.pop("MPP_DATABASE_URL")
        try:
            started = run([SCRIPT, "up"], env, timeout=240)
            assert started.returncode == 0, started.stdout[-4000:]
            # With CELERY_QUEUES unset the workers serve every queue the agencies file names, and warn of none.
            assert "celery workers serve the queues default,jawa" in started.stdout, started.stdout[-4000:]
            assert "WARNING: queue" not in started.stdout
            yield {**env, "MPP_DATABASE_URL": f"{SERVER}/{store_db}", "STORE_DB": store_db,
                   "DUKCAPIL_URL": mocks.urls["dukcapil"]}
        finally:
            stopped = run([SCRIPT, "down"], env, timeout=120)
            _drop(meta_db, store_db)
            assert stopped.returncode == 0, stopped.stdout[-2000:]


def _drop(*names: str) -> None:
    engine = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def _airflow(env: dict[str, str], *args: str) -> str:
    celery_env = {**env, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{SERVER}/{env['META_DB']}",
                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"{SERVER}/{env['META_DB']}"}
    result = run([str(BIN / "airflow"), *args], celery_env, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def _run_states(env: dict[str, str], dag_id: str) -> list[str]:
    out = _airflow(env, "dags", "list-runs", dag_id, "-o", "json")
    # The JSON document is the last line; warnings may come before it.
    lines = [line for line in out.splitlines() if line.startswith(("[{", "[]"))]
    return [r["state"] for r in json.loads(lines[-1])] if lines else []


def _wait_for_runs(env: dict[str, str], dag_ids: tuple[str, ...], seconds: float) -> dict[str, list[str]]:
    """Each DAG's run states once every one has a finished newest run (or the time is up)."""
    deadline = time.monotonic() + seconds
    states: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        states = {d: _run_states(env, d) for d in dag_ids}
        if all(s and s[0] in ("success", "failed") for s in states.values()):
            break
        time.sleep(3)
    return states


def _accept_submission(env: dict[str, str], agency_id: str) -> str:
    """What the portal's API does when a citizen applies: the submission goes into the outbox, nothing else."""
    citizens = requests.get(f"{env['DUKCAPIL_URL']}/admin/citizens", params={"start": 0, "limit": 1},
                            headers={"X-Admin-Token": "mock-admin"}, timeout=10)
    citizens.raise_for_status()
    nik = citizens.json()["citizens"][0]["nik"]
    settings = Settings(database_url=env["MPP_DATABASE_URL"], agencies_file=Path(env["MPP_AGENCIES_FILE"]),
                        environment="test", nik_hmac_secret=env["MPP_NIK_HMAC_SECRET"], outbox_key=OUTBOX_KEY)
    bus = Bus.from_settings(settings)
    try:
        record, created = bus.outbox.accept(SubmissionRequest(agency_id, "IUMK", uuid.uuid4().hex, nik, IUMK))
    finally:
        bus.store.dispose()
    assert created
    return record.reference


def _submission_state(env: dict[str, str], reference: str) -> SubmissionState | None:
    bus = Bus.from_settings(Settings(database_url=env["MPP_DATABASE_URL"],
                                     agencies_file=Path(env["MPP_AGENCIES_FILE"]), environment="development"))
    try:
        record = bus.store.submission_by_reference(reference)
    finally:
        bus.store.dispose()
    return record.state if record is not None else None


def test_two_agencies_sync_on_celery_workers_into_postgres(cluster: dict[str, str]) -> None:
    home = Path(cluster["AIRFLOW_HOME"])
    deadline = time.monotonic() + 90
    # The DAG processor registers the DAGs shortly after start.
    while time.monotonic() < deadline:
        listed = _airflow(cluster, "dags", "list", "-o", "plain")
        if all(f"mpp_sync__{a}" in listed for a in AGENCIES):
            break
        time.sleep(2)
    for agency in AGENCIES:
        _airflow(cluster, "dags", "trigger", f"mpp_sync__{agency}")

    states = _wait_for_runs(cluster, tuple(f"mpp_sync__{a}" for a in AGENCIES), 120)
    assert all(s == ["success"] for s in states.values()), states

    # The tasks ran on the Celery workers, not in the scheduler.
    worker_logs = "".join((home / "process-logs" / f"worker{n}.log").read_text() for n in (1, 2))
    for agency in AGENCIES:
        assert f"mpp_sync__{agency}" in worker_logs
    scheduler_log = (home / "process-logs" / "scheduler.log").read_text()
    assert "CeleryExecutor" in scheduler_log or "celery" in scheduler_log.lower()
    # The regional instance's task was sent to its queue, and a worker served it there.
    meta = create_engine(f"{SERVER}/{cluster['META_DB']}")
    try:
        with meta.connect() as conn:
            queues = dict(conn.execute(text("SELECT dag_id, queue FROM task_instance")).all())
    finally:
        meta.dispose()
    assert queues["mpp_sync__dpmptsp-3314"] == "jawa" and queues["mpp_sync__oss"] == "default", queues

    engine = create_engine(cluster["MPP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sync_runs.c.agency_id, sync_runs.c.stream, sync_runs.c.status)).all()
    finally:
        engine.dispose()
    for agency in AGENCIES:
        assert (agency, "applications", "succeeded") in rows and (agency, "catalog", "succeeded") in rows

    # The write direction: a submission accepted for one agency; the watcher's run (triggered here rather than
    # waited for on its schedule) updates that agency's outbox asset, the scheduler starts its dispatch DAG, and the
    # workers deliver it. No other agency's dispatch DAG runs.
    reference = _accept_submission(cluster, "dpmptsp-3314")
    _airflow(cluster, "dags", "trigger", "mpp_outbox_watch")
    dispatched = _wait_for_runs(cluster, ("mpp_outbox_watch", "mpp_dispatch__dpmptsp-3314"), 150)
    assert dispatched["mpp_outbox_watch"][0] == "success" and dispatched["mpp_dispatch__dpmptsp-3314"] == ["success"], \
        dispatched
    assert _submission_state(cluster, reference) is SubmissionState.DELIVERED
    assert _run_states(cluster, "mpp_dispatch__oss") == []
