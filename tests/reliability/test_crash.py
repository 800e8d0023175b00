"""Crash safety: a large sync killed with SIGKILL at 20 random moments, resumed each time, ends with the store
exactly equal to the agency's truth; two syncs of one agency at once never both write."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import create_engine, select

from mock_agencies import MockAgencies
from mpp_bus.store import ABANDONED, RUNNING, SUCCEEDED
from mpp_bus.store.tables import sync_runs

from .conftest import ADMIN, CONNECTIONS, SECRET, agencies_doc, assert_store_equals_truth, duplicate_event_keys, truth

pytestmark = pytest.mark.slow

MPP_BUS = str(Path(sys.executable).parent / "mpp-bus")
KILLS = 20
APPLICATIONS = 60_000
ADVANCE = 10_000  # new work after a run that finished before its kill, so the next run is long enough to be killed


@pytest.fixture(scope="module")
def big_mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=23, citizens=2000, applications=APPLICATIONS) as running:
        yield running


def environment(tmp_path: Path, mocks: MockAgencies, url: str) -> dict[str, str]:
    agencies = tmp_path / "agencies.yaml"
    agencies.write_text(yaml.safe_dump(agencies_doc(mocks.urls, page_size=100)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "AIRFLOW_CONN_"))}
    env.update({"MPP_AGENCIES_FILE": str(agencies), "MPP_DATABASE_URL": url, "MPP_ENVIRONMENT": "test",
                "MPP_NIK_HMAC_SECRET": SECRET,
                "AIRFLOW_CONN_MPP_LICENSING": json.dumps(CONNECTIONS["mpp_licensing"])})
    return env


def start_sync(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([MPP_BUS, "sync", "oss", "--stream", "applications", "--no-progress"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def runs(url: str) -> list[tuple[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(r.status, r.stored) for r in conn.execute(select(sync_runs.c.status, sync_runs.c.stored)
                                                                .where(sync_runs.c.agency_id == "oss")
                                                                .order_by(sync_runs.c.id))]
    finally:
        engine.dispose()


def test_sigkill_at_20_random_moments_loses_doubles_and_regresses_nothing(
    db_url: str, big_mocks: MockAgencies, tmp_path: Path
) -> None:
    env = environment(tmp_path, big_mocks, db_url)
    assert subprocess.run([MPP_BUS, "db", "upgrade"], env=env, capture_output=True, timeout=60).returncode == 0
    rng = random.Random(20240617)
    log = tmp_path / "sync.log"
    kills = finished = 0
    while kills < KILLS:
        opened = len(runs(db_url))
        process = start_sync(env, log)
        try:
            # Once the run has begun (its row is open), at a random moment between two pages or within one.
            while len(runs(db_url)) == opened and process.poll() is None:
                time.sleep(0.02)
            process.wait(timeout=rng.uniform(0.02, 0.4))
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        # The kill may land after the sync committed its last page (while the process exits): only a run still
        # open when the process died counts as killed.
        if runs(db_url)[-1][0] == RUNNING:
            assert process.returncode == -signal.SIGKILL
            kills += 1
        else:
            finished += 1  # it finished first: give the next run new work, as an agency would
            requests.post(f"{big_mocks.urls['licensing']}/admin/advance", json={"dataset": "oss", "count": ADVANCE},
                          headers=ADMIN, timeout=10).raise_for_status()
        # A guard that kills still land (the engine got faster, so some runs finish first), not the check itself.
        assert finished <= 3 * KILLS, "the sync finishes too fast for the kills to land; raise APPLICATIONS"
    requests.post(f"{big_mocks.urls['licensing']}/admin/advance", json={"dataset": "oss", "count": 300},
                  headers=ADMIN, timeout=10).raise_for_status()
    final = subprocess.run([MPP_BUS, "sync", "oss", "--stream", "applications", "--no-progress"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stdout[-3000:] + log.read_text()[-3000:]

    assert_store_equals_truth(db_url, "oss", truth(big_mocks, "oss"))
    assert duplicate_event_keys(db_url) == 0
    statuses = [status for status, _ in runs(db_url)]
    print(f"kills={kills} finished_before_kill={finished} abandoned={statuses.count(ABANDONED)}")
    assert RUNNING not in statuses
    assert statuses.count(SUCCEEDED) == finished + 1
    # Every killed run was marked abandoned by the next one.
    assert statuses.count(ABANDONED) == kills


def test_two_syncs_of_one_agency_at_once_one_refuses_and_nothing_is_corrupted(
    db_url: str, big_mocks: MockAgencies, tmp_path: Path
) -> None:
    env = environment(tmp_path, big_mocks, db_url)
    assert subprocess.run([MPP_BUS, "db", "upgrade"], env=env, capture_output=True, timeout=60).returncode == 0
    first = start_sync(env, tmp_path / "first.log")
    try:
        deadline = time.monotonic() + 60
        while not any(status == RUNNING for status, _ in runs(db_url)):
            assert first.poll() is None and time.monotonic() < deadline, "the first sync never started"
            time.sleep(0.05)
        second = subprocess.run([MPP_BUS, "sync", "oss", "--stream", "applications", "--no-progress"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first sync ended before the second tried: nothing was tested"
        assert second.returncode == 1 and "already being synced" in second.stdout + second.stderr
        assert first.wait(timeout=300) == 0
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
    assert_store_equals_truth(db_url, "oss", truth(big_mocks, "oss"))
    assert duplicate_event_keys(db_url) == 0
    assert [status for status, _ in runs(db_url)] == [SUCCEEDED]
