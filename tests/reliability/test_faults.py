"""Every fault profile of the mock agencies, end to end through ``Bus.sync`` into the store: afterwards the store
equals the agency's truth, and every bad record is quarantined with its reason and counted in the run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, select

from mock_agencies import MockAgencies
from mpp_bus.errors import RateLimitedError, RetriableError
from mpp_bus.store import FAILED, SUCCEEDED
from mpp_bus.store.tables import quarantine

from .conftest import agencies_doc, assert_store_equals_truth, duplicate_event_keys, make_bus, truth

AGENCIES = ["dukcapil", "oss", "djp"]
# Profiles the transport absorbs by retrying: the run succeeds and nothing is quarantined.
TRANSIENT = ["flaky", "rate_limit", "drop", "truncated"]


def sync(url: str, mocks: MockAgencies, agency_id: str, **doc_options: object):  # noqa: ANN201
    bus = make_bus(url, agencies_doc(mocks.urls, **doc_options))  # type: ignore[arg-type]
    try:
        return bus.sync(agency_id, "applications")
    finally:
        bus.store.dispose()


@pytest.mark.parametrize("agency_id", AGENCIES)
@pytest.mark.parametrize("profile", TRANSIENT)
def test_transient_faults_are_retried_until_the_store_equals_the_truth(
    profile: str, agency_id: str, sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    # A high rate so that every short sync meets the fault more than once.
    fault(agency_id, profile, **({} if profile == "rate_limit" else {"rate": 0.3}))
    result = sync(sqlite_url, mocks, agency_id)
    assert result.status == SUCCEEDED and result.quarantined == 0
    assert result.stored == result.read
    assert_store_equals_truth(sqlite_url, agency_id, truth(mocks, agency_id))


@pytest.mark.parametrize("agency_id", AGENCIES)
def test_malformed_records_are_quarantined_with_a_reason_and_counted(
    agency_id: str, sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    fault(agency_id, "malformed", rate=0.05)
    result = sync(sqlite_url, mocks, agency_id)
    expected = truth(mocks, agency_id)
    assert result.status == SUCCEEDED and expected.corrupted
    assert_store_equals_truth(sqlite_url, agency_id, expected)
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine).where(quarantine.c.run_id == result.run_id)).all()
    engine.dispose()
    assert result.quarantined == len(rows) == len(expected.corrupted)
    assert all(r.reason.strip() for r in rows)
    by_id = {r.record_id for r in rows}
    without_id = sum(1 for r in rows if r.record_id is None)
    # A record whose id itself was broken is quarantined without one; every other corrupted id is named.
    assert len(expected.corrupted - by_id) == without_id


@pytest.mark.parametrize("agency_id", AGENCIES)
def test_duplicate_records_are_stored_once(
    agency_id: str, sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    fault(agency_id, "duplicates", rate=0.2)
    result = sync(sqlite_url, mocks, agency_id)
    expected = truth(mocks, agency_id)
    assert result.status == SUCCEEDED and result.quarantined == 0
    assert result.read > len(expected.records) and result.stored == len(expected.records)
    assert_store_equals_truth(sqlite_url, agency_id, expected)
    assert duplicate_event_keys(sqlite_url) == 0


@pytest.mark.parametrize("agency_id", AGENCIES)
def test_an_older_status_arriving_late_never_regresses_the_store(
    agency_id: str, sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    fault(agency_id, "out_of_order", rate=0.2)
    result = sync(sqlite_url, mocks, agency_id)
    assert result.status == SUCCEEDED and result.quarantined == 0
    assert result.stale > 0, "the out-of-order copies must be seen and counted as stale"
    assert_store_equals_truth(sqlite_url, agency_id, truth(mocks, agency_id))


@pytest.mark.parametrize("agency_id", AGENCIES)
def test_a_maintenance_window_fails_the_run_quickly_and_the_next_run_catches_up(
    agency_id: str, sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    fault(agency_id, "maintenance")
    # Retry-After: 60 is past the policy's time bound, so the run stops at once instead of waiting.
    with pytest.raises(RetriableError) as raised:
        sync(sqlite_url, mocks, agency_id)
    assert isinstance(raised.value, RateLimitedError) and raised.value.retry_after == 60
    bus = make_bus(sqlite_url, agencies_doc(mocks.urls))
    [failed] = bus.store.recent_runs(agency_id=agency_id, limit=1)
    assert failed.status == FAILED and "503" in (failed.error or "") and failed.breaker_state == "closed"
    fault(agency_id, "none")
    result = bus.sync(agency_id, "applications")
    assert result.status == SUCCEEDED
    assert_store_equals_truth(sqlite_url, agency_id, truth(mocks, agency_id))


@pytest.mark.parametrize("agency_id", ["oss", "djp"])
def test_a_timeout_on_every_call_fails_the_run_bounded_by_the_policy(
    agency_id: str, sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    fault(agency_id, "slow", delay=1.0)
    retry = {"attempts": 2, "max_seconds": 5, "initial_wait": 0, "max_wait": 0, "jitter": 0}
    with pytest.raises(RetriableError, match="timed out"):
        sync(sqlite_url, mocks, agency_id, retry=retry, timeout=0.3)
    fault(agency_id, "none")
    assert sync(sqlite_url, mocks, agency_id).status == SUCCEEDED
    assert_store_equals_truth(sqlite_url, agency_id, truth(mocks, agency_id))
