"""The circuit breaker: opens after repeated failed runs, refuses at once while open, half-opens after its wait,
closes on success; kept in the store so separate processes share it; one agency down never delays another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from mock_agencies import MockAgencies
from mpp_bus.cli import main
from mpp_bus.config.agencies import BreakerConfig
from mpp_bus.engine.breaker import BreakerState, CircuitBreaker, MemoryBreakerStates
from mpp_bus.errors import CircuitOpenError, FatalError, RetriableError, SkippableError
from mpp_bus.store import FAILED, SUCCEEDED
from mpp_bus.store.breakers import StoreBreakerStates

from .conftest import agencies_doc, assert_store_equals_truth, make_bus, truth


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_breaker_opens_after_the_threshold_refuses_then_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("oss", BreakerConfig(failure_threshold=3, reset_seconds=60), MemoryBreakerStates(),
                             clock=clock)
    down = RetriableError("HTTP 503", agency="oss")
    assert breaker.allow() is BreakerState.CLOSED
    assert [breaker.failed(down) for _ in range(3)] == [BreakerState.CLOSED, BreakerState.CLOSED, BreakerState.OPEN]
    with pytest.raises(CircuitOpenError, match="agency=oss.*60 s"):
        breaker.allow()
    clock.now += timedelta(seconds=61)
    assert breaker.allow() is BreakerState.HALF_OPEN
    assert breaker.failed(down) is BreakerState.OPEN  # a failed trial opens it again at once
    with pytest.raises(CircuitOpenError):
        breaker.allow()
    clock.now += timedelta(seconds=61)
    assert breaker.allow() is BreakerState.HALF_OPEN
    assert breaker.succeeded() is BreakerState.CLOSED
    assert breaker.status().failures == 0


def test_only_agency_failures_count() -> None:
    breaker = CircuitBreaker("oss", BreakerConfig(failure_threshold=1), MemoryBreakerStates())
    for harmless in (SkippableError("one bad record"), ValueError("a bug in the bus"), CircuitOpenError("oss", 5)):
        assert breaker.failed(harmless) is BreakerState.CLOSED
    assert breaker.failed(FatalError("HTTP 404", agency="oss")) is BreakerState.OPEN


def test_a_success_between_failures_resets_the_count() -> None:
    breaker = CircuitBreaker("oss", BreakerConfig(failure_threshold=2), MemoryBreakerStates())
    breaker.failed(RetriableError("timeout"))
    breaker.succeeded()
    assert breaker.failed(RetriableError("timeout")) is BreakerState.CLOSED


def test_breaker_state_is_shared_through_the_store_and_shown_in_runs_and_the_cli(
    db_url: str, mocks: MockAgencies, fault: Callable[..., None], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = agencies_doc(mocks.urls, retry={"attempts": 1, "max_seconds": 5},
                       breaker={"failure_threshold": 2, "reset_seconds": 0.5})
    fault("oss", "flaky", rate=1.0)
    for expected in ("closed", "open"):
        bus = make_bus(db_url, doc)  # a new bus each time: as separate processes would be
        with pytest.raises(RetriableError):
            bus.sync("oss", "applications")
        assert bus.store.recent_runs(agency_id="oss", limit=1)[0].breaker_state == expected
        bus.store.dispose()

    bus = make_bus(db_url, doc)
    reopened_at = StoreBreakerStates(bus.store.engine).load("oss")
    assert reopened_at is not None and reopened_at.state is BreakerState.OPEN and reopened_at.failures == 2
    with pytest.raises(CircuitOpenError):
        bus.sync("oss", "applications")
    refused = bus.store.recent_runs(agency_id="oss", limit=1)[0]
    assert refused.status == FAILED and refused.read == 0 and refused.breaker_state == "open"
    assert "circuit breaker is open" in (refused.error or "")

    agencies = tmp_path / "agencies.yaml"
    agencies.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["--agencies", str(agencies), "--database-url", db_url, "agencies"]) == 0
    listing = capsys.readouterr().out
    assert "open until" in listing and "(2 failed)" in listing
    assert main(["--agencies", str(agencies), "--database-url", db_url, "runs", "--agency", "oss"]) == 0
    assert "open" in capsys.readouterr().out

    # After reset_seconds the next run is a trial; the agency is back, so the breaker closes by itself.
    fault("oss", "none")
    time.sleep(0.6)
    result = bus.sync("oss", "applications")
    assert result.status == SUCCEEDED and result.breaker_state == "closed"
    assert StoreBreakerStates(bus.store.engine).load("oss").state is BreakerState.CLOSED  # type: ignore[union-attr]
    assert_store_equals_truth(db_url, "oss", truth(mocks, "oss"))


def test_one_agency_down_never_delays_another(
    sqlite_url: str, mocks: MockAgencies, fault: Callable[..., None]
) -> None:
    # djp is down (every call slower than the timeout) with a generous retry policy; oss is healthy.
    doc = agencies_doc(mocks.urls, timeout=0.5,
                       retry={"attempts": 4, "max_seconds": 30, "initial_wait": 0.2, "max_wait": 0.5, "jitter": 0})
    fault("djp", "slow", delay=2.0)
    bus = make_bus(sqlite_url, doc)
    finished: list[str] = []
    errors: dict[str, BaseException] = {}

    def run(agency_id: str) -> None:
        try:
            bus.sync(agency_id, "applications")
        except BaseException as exc:  # noqa: BLE001 - kept for the assertions
            errors[agency_id] = exc
        finished.append(agency_id)

    threads = [threading.Thread(target=run, args=(a,)) for a in ("djp", "oss")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # djp spends its four timed-out attempts and backoff; oss, started after it, is done long before.
    assert finished == ["oss", "djp"]
    assert "oss" not in errors and isinstance(errors["djp"], RetriableError)
    assert_store_equals_truth(sqlite_url, "oss", truth(mocks, "oss"))
    runs = {r.agency_id: r for r in bus.store.recent_runs(limit=2)}
    assert runs["oss"].status == SUCCEEDED and runs["djp"].status == FAILED
