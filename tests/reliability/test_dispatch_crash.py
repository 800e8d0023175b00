"""Crash safety of the write path: a few hundred submissions to all three mock agencies, their fault profiles on, the
dispatcher (``mpp-bus dispatch``) SIGKILLed at 20 random moments and resumed until nothing waits; afterwards each
submission exists exactly once at its agency, is ``delivered`` in the store, and the outbox holds no clear NIK nor
form data."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from pydantic import SecretStr
from sqlalchemy import create_engine, func, select

from mock_agencies import MockAgencies
from mpp_bus.bus import Bus
from mpp_bus.config import Settings, parse_agencies
from mpp_bus.engine.outbox import SubmissionRequest
from mpp_bus.store import SubmissionState
from mpp_bus.store.tables import submissions

from .conftest import ADMIN, CONNECTIONS, SECRET

pytestmark = pytest.mark.slow

MPP_BUS = str(Path(sys.executable).parent / "mpp-bus")
KEY = "Zm9yLXRlc3RzLW9ubHktb3V0Ym94LWtleS0zMi1ieXQ="  # base64 of 32 bytes, tests only
KILLS = 20
PER_AGENCY = 80  # 240 submissions in all
TOP_UP = 12  # new submissions when a run drained the outbox before its kill, so the next run has work to be killed in
# agency id -> (mock server, dataset of /admin/submissions, service)
AGENCIES = {"dukcapil": ("dukcapil", "dukcapil", "KK-UBAH"), "dpmptsp-3314": ("licensing", "dpmptsp-3314", "IUMK"),
            "djp": ("tax", "tax", "NPWP-01")}
# The faults a resumed dispatcher meets, one drawn per server per run: 5xx, 429 with Retry-After, a connection cut
# after the agency created the application, a body cut short, latency.
FAULTS: list[dict[str, Any]] = [{"profile": "flaky", "rate": 0.3}, {"profile": "rate_limit"},
                                {"profile": "drop", "rate": 0.3}, {"profile": "truncated", "rate": 0.3},
                                {"profile": "slow", "delay": 0.05}, {"profile": "none"}]


def agencies_doc(urls: Mapping[str, str]) -> dict[str, Any]:
    retry = {"attempts": 3, "max_seconds": 10, "initial_wait": 0.01, "max_wait": 0.05, "jitter": 0.01}
    return {
        # A breaker that opens under the faults but closes again soon, so resumed runs get through.
        "defaults": {"page_size": 100, "timeout_seconds": 5, "retry": retry,
                     "breaker": {"failure_threshold": 10, "reset_seconds": 0.3}},
        "agencies": [
            {"id": "dukcapil", "adapter": "dukcapil", "name": "Dukcapil", "level": "pusat",
             "connection_id": "mpp_dukcapil", "config": {"wsdl_url": f"{urls['dukcapil']}/ws/dukcapil?wsdl"}},
            {"id": "dpmptsp-3314", "adapter": "licensing", "name": "DPMPTSP Kabupaten Sragen",
             "level": "kabupaten_kota", "region_code": "33.14", "connection_id": "mpp_licensing",
             "config": {"base_url": urls["licensing"], "tenant": "dpmptsp-3314"}},
            {"id": "djp", "adapter": "tax", "name": "DJP", "level": "pusat", "connection_id": "mpp_tax",
             "config": {"base_url": urls["tax"]}},
        ],
    }


def form(agency_id: str, n: int) -> dict[str, Any]:
    """A valid form whose text is unique to submission ``n``, so the outbox can be searched for it afterwards."""
    if agency_id == "dukcapil":
        return {"jenis_perubahan": "TAMBAH_ANGGOTA", "keterangan": f"Kelahiran anak nomor {n:05d}"}
    if agency_id == "djp":
        return {"jenis_wajib_pajak": "orang_pribadi", "alamat": f"Jl. Merdeka Nomor {n:05d}, Sragen"}
    return {"nama_usaha": f"Warung Makan Nomor {n:05d}", "alamat_usaha": "Jl. Raya Sukowati No. 12, Sragen",
            "modal_usaha": 25_000_000}


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=31, citizens=600, applications=40) as running:
        yield running


@pytest.fixture(scope="module")
def citizens(mocks: MockAgencies) -> list[str]:
    response = requests.get(f"{mocks.urls['dukcapil']}/admin/citizens", params={"start": 0, "limit": 600},
                            headers=ADMIN, timeout=10)
    response.raise_for_status()
    return [c["nik"] for c in response.json()["citizens"]]


@pytest.fixture
def no_faults(mocks: MockAgencies) -> Iterator[None]:
    yield
    for url in mocks.urls.values():
        requests.post(f"{url}/admin/faults", json={"profile": "none"}, headers=ADMIN, timeout=5)


def environment(tmp_path: Path, mocks: MockAgencies, url: str) -> dict[str, str]:
    agencies = tmp_path / "agencies.yaml"
    agencies.write_text(yaml.safe_dump(agencies_doc(mocks.urls)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "AIRFLOW_CONN_"))}
    env.update({"MPP_AGENCIES_FILE": str(agencies), "MPP_DATABASE_URL": url, "MPP_ENVIRONMENT": "test",
                "MPP_NIK_HMAC_SECRET": SECRET, "MPP_OUTBOX_KEY": KEY,
                # every kill counts as an attempt: allow for them beside the faults' own
                "MPP_OUTBOX_MAX_ATTEMPTS": "60"})
    env.update({f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in CONNECTIONS.items()})
    return env


def attempts_made(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(submissions.c.attempts), 0))).scalar_one())
    finally:
        engine.dispose()


def outbox_rows(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(submissions))]
    finally:
        engine.dispose()


def created_per_reference(mocks: MockAgencies, agency_id: str) -> dict[str, int]:
    server, dataset, _ = AGENCIES[agency_id]
    response = requests.get(f"{mocks.urls[server]}/admin/submissions", params={"dataset": dataset}, headers=ADMIN,
                            timeout=10)
    response.raise_for_status()
    counts: dict[str, int] = {}
    for entry in response.json()["received"]:
        if entry["outcome"] == "created":
            counts[entry["reference"]] = counts.get(entry["reference"], 0) + 1
    return counts


def set_faults(mocks: MockAgencies, rng: random.Random) -> None:
    for server in ("dukcapil", "licensing", "tax"):
        requests.post(f"{mocks.urls[server]}/admin/faults", json=rng.choice(FAULTS), headers=ADMIN,
                      timeout=5).raise_for_status()


def start_dispatch(env: dict[str, str], rng: random.Random, log: Path) -> subprocess.Popen[bytes]:
    agencies = list(AGENCIES)
    rng.shuffle(agencies)  # so the kills land on every agency's deliveries, not mostly on the first one's
    with log.open("ab") as out:
        return subprocess.Popen([MPP_BUS, "dispatch", *agencies], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def test_dispatcher_sigkilled_at_20_random_moments_delivers_each_submission_exactly_once(
    db_url: str, mocks: MockAgencies, citizens: list[str], tmp_path: Path, no_faults: None
) -> None:
    env = environment(tmp_path, mocks, db_url)
    settings = Settings(database_url=db_url, environment="test", nik_hmac_secret=SecretStr(SECRET),
                        outbox_key=SecretStr(KEY))
    bus = Bus(settings, parse_agencies(agencies_doc(mocks.urls)), CONNECTIONS.get)
    bus.store.upgrade()
    # The mocks serve both stores' runs (module scope): what an agency received before this run is not ours.
    earlier = {agency_id: set(created_per_reference(mocks, agency_id)) for agency_id in AGENCIES}
    unused = iter(citizens)
    forms: list[dict[str, Any]] = []
    schemas: dict[str, Any] = {}
    for agency_id, (_, _, service) in AGENCIES.items():
        with bus.adapter(agency_id) as adapter:
            schemas[agency_id] = adapter.form_schema(service)

    def accept(agency_id: str, count: int) -> None:
        for _ in range(count):
            forms.append(form(agency_id, len(forms)))
            request = SubmissionRequest(agency_id, AGENCIES[agency_id][2], uuid.uuid4().hex, next(unused), forms[-1])
            _, created = bus.outbox.accept(request, schema=schemas[agency_id])
            assert created

    try:
        for agency_id in AGENCIES:
            accept(agency_id, PER_AGENCY)
        rng = random.Random(20261203)
        log = tmp_path / "dispatch.log"
        kills = finished = 0
        while kills < KILLS:
            set_faults(mocks, rng)
            before = attempts_made(db_url)
            process = start_dispatch(env, rng, log)
            try:
                # Once it has claimed a submission (interpreter and adapters up), at a random moment: between a
                # claim and its send, mid-request, or between the agency's answer and the receipt's commit.
                deadline = time.monotonic() + 60
                while attempts_made(db_url) == before and process.poll() is None:
                    assert time.monotonic() < deadline, "the dispatcher never claimed a submission"
                    time.sleep(0.01)
                process.wait(timeout=rng.uniform(0.0, 0.5))
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            if process.returncode == -signal.SIGKILL:
                kills += 1
            else:
                finished += 1
                if not bus.store.agencies_waiting():
                    agency_id = rng.choice(list(AGENCIES))  # it drained the outbox: new work for the next kill
                    accept(agency_id, TOP_UP)
            assert finished <= 3 * KILLS, "the dispatcher finishes too fast for the kills to land"
        # Resumed, faults still on, until nothing waits (a Retry-After or a backoff may ask for a pause).
        deadline = time.monotonic() + 120
        runs = 0
        while bus.store.agencies_waiting():
            assert time.monotonic() < deadline, f"still waiting: {bus.store.agencies_waiting()}"
            set_faults(mocks, rng)
            subprocess.run([MPP_BUS, "dispatch"], env=env, capture_output=True, timeout=120)
            runs += 1
            if bus.store.agencies_waiting(now=bus.dispatcher.clock()) == {}:
                time.sleep(0.3)
        print(f"submissions={len(forms)} kills={kills} finished_before_kill={finished} resumed_runs={runs}")

        rows = outbox_rows(db_url)
        assert len(rows) == len(forms)
        not_delivered = [(r["agency_id"], r["state"], r["last_error"]) for r in rows
                         if r["state"] != SubmissionState.DELIVERED.value]
        assert not_delivered == [], log.read_text()[-3000:]
        for agency_id in AGENCIES:
            ours = sorted(r["reference"] for r in rows if r["agency_id"] == agency_id)
            at_agency = {ref: n for ref, n in created_per_reference(mocks, agency_id).items()
                         if ref not in earlier[agency_id]}
            doubled = {ref: n for ref, n in at_agency.items() if n != 1}
            assert doubled == {}, f"{agency_id}: created more than once: {doubled}"
            assert sorted(at_agency) == ours, f"{agency_id}: the agency's applications differ from the outbox's"
        # No clear NIK nor form text anywhere in the outbox: every column of every row, bytes included.
        assert all(r["sealed"] is None for r in rows)
        stored = "\n".join(repr(value) for row in rows for value in row.values())
        leaked_niks = [nik for nik in citizens if nik in stored]
        assert leaked_niks == [], f"{len(leaked_niks)} clear NIKs in the outbox"
        leaked_form = [text for f in forms for text in f.values() if isinstance(text, str) and "Nomor" in text
                       and text in stored]
        assert leaked_form == []
    finally:
        bus.store.dispose()
