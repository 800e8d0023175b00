"""End-to-end reliability tests: the bus against the real mock agencies, with the store compared to their truth."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select

from mock_agencies import MockAgencies
from mpp_bus.bus import Bus
from mpp_bus.config import Settings, parse_agencies
from mpp_bus.store.tables import applications, quarantine, status_events

ADMIN = {"X-Admin-Token": "mock-admin"}
SECRET = "reliability-test-secret-of-32-bytes!"
CONNECTIONS: dict[str, dict[str, Any]] = {
    "mpp_dukcapil": {"login": "mpp-bus", "password": "dukcapil-rahasia"},
    "mpp_licensing": {"login": "mpp-bus", "password": "oss-rahasia"},
    "mpp_tax": {"password": "djp-rahasia"},
}
# agency id -> (mock server, dataset of /admin/truth)
DATASETS = {"dukcapil": ("dukcapil", ""), "oss": ("licensing", "oss"), "djp": ("tax", "")}
FAST_RETRY = {"attempts": 6, "max_seconds": 20, "initial_wait": 0.01, "max_wait": 0.2, "jitter": 0.01}


def agencies_doc(urls: Mapping[str, str], *, retry: Mapping[str, Any] | None = None, page_size: int = 100,
                 timeout: float = 5, breaker: Mapping[str, Any] | None = None) -> dict[str, Any]:
    defaults: dict[str, Any] = {"page_size": page_size, "timeout_seconds": timeout, "retry": dict(retry or FAST_RETRY)}
    if breaker:
        defaults["breaker"] = dict(breaker)
    return {
        "defaults": defaults,
        "agencies": [
            {"id": "dukcapil", "adapter": "dukcapil", "name": "Dukcapil", "level": "pusat",
             "connection_id": "mpp_dukcapil", "config": {"wsdl_url": f"{urls['dukcapil']}/ws/dukcapil?wsdl"}},
            {"id": "oss", "adapter": "licensing", "name": "OSS", "level": "pusat", "connection_id": "mpp_licensing",
             "config": {"base_url": urls["licensing"], "tenant": "oss"}},
            {"id": "djp", "adapter": "tax", "name": "DJP", "level": "pusat", "connection_id": "mpp_tax",
             "config": {"base_url": urls["tax"]}},
        ],
    }


def make_bus(url: str, doc: Mapping[str, Any]) -> Bus:
    settings = Settings(database_url=url, environment="test", nik_hmac_secret=SECRET)
    bus = Bus(settings, parse_agencies(doc), CONNECTIONS.get)
    bus.store.upgrade()
    return bus


@dataclass(frozen=True)
class Truth:
    records: dict[str, tuple[str, datetime]]  # id -> (raw status as text, update time)
    corrupted: set[str]
    niks: set[str]


def truth(mocks: MockAgencies, agency_id: str) -> Truth:
    server, dataset = DATASETS[agency_id]
    response = requests.get(f"{mocks.urls[server]}/admin/truth", params={"dataset": dataset}, headers=ADMIN,
                            timeout=30)
    response.raise_for_status()
    body = response.json()
    records = {r["id"]: (str(r["status"]), datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")))
               for r in body["records"]}
    return Truth(records, set(body["corrupted"]), {r["applicant_nik"] for r in body["records"]})


def set_fault(mocks: MockAgencies, agency_id: str, profile: str, **options: Any) -> None:
    server = DATASETS[agency_id][0]
    response = requests.post(f"{mocks.urls[server]}/admin/faults", json={"profile": profile, **options},
                             headers=ADMIN, timeout=10)
    response.raise_for_status()


def stored(url: str, agency_id: str) -> dict[str, tuple[str, datetime]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(applications.c.application_id, applications.c.agency_status,
                                       applications.c.source_updated_at)
                                .where(applications.c.agency_id == agency_id))
            return {r.application_id: (r.agency_status, r.source_updated_at) for r in rows}
    finally:
        engine.dispose()


def quarantined_ids(url: str, agency_id: str, run_ids: set[int] | None = None) -> set[str | None]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stmt = select(quarantine.c.record_id).where(quarantine.c.agency_id == agency_id)
            if run_ids is not None:
                stmt = stmt.where(quarantine.c.run_id.in_(run_ids))
            return {r.record_id for r in conn.execute(stmt)}
    finally:
        engine.dispose()


def duplicate_event_keys(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            dupes = (select(status_events.c.idempotency_key).group_by(status_events.c.idempotency_key)
                     .having(func.count() > 1))
            return len(conn.execute(dupes).all())
    finally:
        engine.dispose()


def assert_store_equals_truth(url: str, agency_id: str, expected: Truth) -> None:
    """Exact set equality of ids, and the same raw status and update time for each."""
    held = stored(url, agency_id)
    missing = expected.records.keys() - held.keys()
    extra = held.keys() - expected.records.keys()
    assert not missing and not extra, f"{agency_id}: {len(missing)} missing, {len(extra)} extra"
    wrong = [i for i, (status, updated) in expected.records.items()
             if held[i][0] != status or held[i][1] != updated]
    assert wrong == [], f"{agency_id}: {len(wrong)} records differ from the agency, e.g. {wrong[:3]}"


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=11, citizens=400, applications=600) as running:
        yield running


@pytest.fixture
def fault(mocks: MockAgencies) -> Iterator[Callable[..., None]]:
    """Switch a fault profile on an agency for one test; every profile is switched off afterwards."""
    touched: list[str] = []

    def switch(agency_id: str, profile: str, **options: Any) -> None:
        touched.append(agency_id)
        set_fault(mocks, agency_id, profile, **options)

    yield switch
    for agency_id in touched:
        set_fault(mocks, agency_id, "none")
