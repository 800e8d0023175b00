"""The keyset position end to end: a change made in the same second as the last record read is never lost.

The mock agencies stamp advanced applications with the current second, so two advances within one second, with a
sync between them, put new changes at the stored mark's second; many have an id below the mark's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from mock_agencies import MockAgencies
from mpp_bus.contract import Adapter
from mpp_bus.engine import SyncEngine
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store, create_store
from mpp_bus.store.tables import applications
from tests.adapters.conftest import ADMIN, DATASET, GOOD, TYPES, instance

ATTEMPTS = 5  # a slow machine may not fit "advance, sync, advance" into one second every time
BATCH = 20


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=23, citizens=200, applications=120) as running:
        yield running


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[SyncEngine]:
    store = create_store(f"sqlite:///{tmp_path / 'keyset.db'}", upgrade=True)
    yield SyncEngine(store, NikHasher(b"keyset-test-nik-secret-0123456789abcdef"))
    store.dispose()


def _admin(mocks: MockAgencies, agency: str, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, mocks.urls[agency] + path, headers=ADMIN, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


def _stored(store: Store, agency_id: str) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(applications.c.application_id, applications.c.agency_status)
                            .where(applications.c.agency_id == agency_id))
        return {r.application_id: r.agency_status for r in rows}


def _next_second() -> None:
    """Sleep to the start of the next wall-clock second, so what follows has most of a second to itself."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


@pytest.mark.parametrize("agency", ["licensing", "dukcapil", "tax"])
def test_changes_in_the_second_of_the_mark_reach_the_store(mocks: MockAgencies, engine: SyncEngine,
                                                           agency: str) -> None:
    build: Callable[[], Adapter[Any]] = lambda: TYPES[agency].from_instance(  # noqa: E731
        instance(agency, mocks.urls[agency]), GOOD[agency])
    dataset = DATASET[agency]
    assert engine.sync(build(), "applications").ok

    def advance() -> list[str]:
        return list(_admin(mocks, agency, "POST", "/admin/advance", json={"dataset": dataset, "count": BATCH})
                    ["advanced"])

    for _ in range(ATTEMPTS):
        middle, last = build(), build()  # built (WSDL fetched) outside the timed second
        _next_second()
        started = time.time()
        first = advance()
        assert engine.sync(middle, "applications").ok  # the mark is now (that second, the largest id of `first`)
        second = advance()
        if int(time.time()) == int(started):
            break
    else:
        pytest.fail(f"could not advance, sync and advance again within one second in {ATTEMPTS} attempts")
    at_mark = [i for i in second if i not in first]  # an id advanced twice is stamped a second later
    assert any(i < max(first) for i in at_mark), "the scenario must put changes below the mark's id"

    result = engine.sync(last, "applications")
    assert result.ok and result.stored == len(second), result

    truth = {r["id"]: str(r["status"]) for r in _admin(mocks, agency, "GET", "/admin/truth",
                                                       params={"dataset": dataset})["records"]}
    stored = _stored(engine.store, instance(agency, "").id)
    lost = sorted(i for i in second if stored.get(i) != truth[i])
    assert lost == [], f"{len(lost)} of {len(second)} changes made in the mark's second never reached the store"
    assert stored == truth
