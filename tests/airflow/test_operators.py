"""The one task of a sync DAG (``MppSyncAgencyOperator``) against a fake bus: what it logs, returns and raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from mpp_bus.airflow import operators
from mpp_bus.airflow.alerts import error_class_of, failure_alert
from mpp_bus.airflow.factory import stream_asset
from mpp_bus.airflow.operators import (
    AgencyCheckFailed,
    FatalCheckFailed,
    MppSyncAgencyOperator,
    QuarantineThresholdExceeded,
    SyncRunFailed,
)
from mpp_bus.contract.stream import CheckResult
from mpp_bus.errors import AuthError


@dataclass
class FakeStore:
    failed_checks: list[str] = field(default_factory=list)
    resolved: list[tuple[str, str]] = field(default_factory=list)

    def record_failed_check(self, agency: Any, **kwargs: Any) -> int:
        self.failed_checks.append(kwargs["error"])
        return len(self.failed_checks)

    def resolve_alert(self, agency_id: str, kind: str, *, now: Any) -> bool:
        self.resolved.append((agency_id, kind))
        return True

    def open_quarantine_counts(self, *, agency_id: str) -> dict[tuple[str, str], int]:
        return {}

    def dispose(self) -> None:
        pass


class FakeBus:
    """Answers the check and each stream's sync as told: a dict of counts, or an exception to raise."""

    def __init__(self, check: CheckResult, runs: dict[str, dict[str, Any] | Exception]) -> None:
        self.store = FakeStore()
        self._check = check
        self._runs = runs
        self.synced: list[str] = []

    def instance(self, agency_id: str) -> Any:
        return SimpleNamespace(id=agency_id, name="DPMPTSP Kabupaten Sragen", connection_id="mpp_licensing",
                               agency=None, adapter="licensing")

    def check(self, agency_id: str) -> CheckResult:
        return self._check

    def streams_of(self, agency_id: str) -> list[str]:
        return list(self._runs)

    def sync(self, agency_id: str, stream: str, *, full_refresh: bool) -> Any:
        self.synced.append(stream)
        outcome = self._runs[stream]
        if isinstance(outcome, Exception):
            raise outcome
        counts = {"read": 100, "stored": 100, "unchanged": 0, "stale": 0, "quarantined": 0, "withdrawn": 0,
                  "status": "succeeded", **outcome}
        return SimpleNamespace(run_id=len(self.synced), agency_id=agency_id, stream=stream, mode="incremental",
                               duration_s=0.5, ok=counts["status"] == "succeeded", error="agency answered 500",
                               **counts)


OK = CheckResult(ok=True, message="ok", latency_ms=3.0)


class Outlets(dict):  # type: ignore[type-arg]
    def __missing__(self, key: Any) -> Any:
        self[key] = SimpleNamespace(extra=None)
        return self[key]


def run(bus: FakeBus, monkeypatch: pytest.MonkeyPatch, ratio: float | None = None) -> tuple[Any, Outlets]:
    monkeypatch.setattr(operators, "build_bus", lambda agencies_file=None: bus)
    task = MppSyncAgencyOperator(task_id="sync", agency_id="dpmptsp-3314", quarantine_fail_ratio=ratio,
                                 outlets=[stream_asset("dpmptsp-3314", "catalog"),
                                          stream_asset("dpmptsp-3314", "applications")])
    events = Outlets()
    return task.execute({"outlet_events": events}), events


def test_a_clean_run_returns_and_logs_counts_per_stream(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bus = FakeBus(OK, {"catalog": {"read": 12, "stored": 0, "unchanged": 12}, "applications": {}})
    result, events = run(bus, monkeypatch)
    assert bus.synced == ["catalog", "applications"]
    assert result["streams"]["catalog"]["unchanged"] == 12 and result["streams"]["applications"]["stored"] == 100
    assert "summary catalog: succeeded read=12 stored=0 unchanged=12 quarantined=0" in capsys.readouterr().out
    assert events[stream_asset("dpmptsp-3314", "catalog")].extra["read"] == 12
    assert bus.store.resolved == [("dpmptsp-3314", "failure")]


def test_quarantined_records_warn_and_above_the_ratio_fail_without_retry(monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bus = FakeBus(OK, {"catalog": {}, "applications": {"read": 2000, "stored": 1936, "quarantined": 64}})
    run(bus, monkeypatch)
    warnings = [line for line in capsys.readouterr().out.splitlines() if "[warning" in line]
    assert any("64 of 2000 records (3.2%) quarantined" in line for line in warnings)

    with pytest.raises(QuarantineThresholdExceeded) as raised:
        run(FakeBus(OK, {"catalog": {}, "applications": {"read": 2000, "quarantined": 64}}), monkeypatch,
            ratio=0.01)
    assert isinstance(raised.value, AirflowFailException)
    assert raised.value.stream == "applications"
    assert error_class_of(raised.value) == "QuarantineThresholdExceeded"


def test_a_failed_stream_does_not_stop_the_next_and_the_task_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    bus = FakeBus(OK, {"catalog": {"status": "failed"}, "applications": {}})
    with pytest.raises(SyncRunFailed) as raised:
        run(bus, monkeypatch)
    assert bus.synced == ["catalog", "applications"]
    assert not isinstance(raised.value, AirflowFailException)
    alert = failure_alert("dpmptsp-3314", "DPMPTSP Kabupaten Sragen",
                          {"ti": SimpleNamespace(task_id="sync"), "exception": raised.value})
    assert alert.stream == "catalog"
    assert bus.store.resolved == []


def test_refused_credentials_fail_at_once_naming_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    bus = FakeBus(OK, {"catalog": AuthError("the agency answered 403"), "applications": {}})
    with pytest.raises(AirflowFailException) as raised:
        run(bus, monkeypatch)
    alert = failure_alert("dpmptsp-3314", "DPMPTSP Kabupaten Sragen",
                          {"ti": SimpleNamespace(task_id="sync"), "exception": raised.value})
    assert (alert.stream, alert.error_class) == ("catalog", "AuthError")


@pytest.mark.parametrize(("retriable", "expected"), [(True, AgencyCheckFailed), (False, FatalCheckFailed)])
def test_a_failed_check_is_recorded_and_nothing_syncs(retriable: bool, expected: type[Exception],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    check = CheckResult(ok=False, message="connection refused",
                        details={"error_class": "RetriableError" if retriable else "AuthError",
                                 "retriable": retriable})
    bus = FakeBus(check, {"catalog": {}, "applications": {}})
    with pytest.raises(expected) as raised:
        run(bus, monkeypatch)
    assert bus.synced == [] and len(bus.store.failed_checks) == 1
    assert "airflow tasks test mpp_sync__dpmptsp-3314 sync" in str(raised.value)
    assert isinstance(raised.value, AirflowFailException) is (not retriable)
