"""The outbox watcher's task, as the factory builds it, run against a real store holding submissions that are due,
not yet due, finished, and waiting for agencies without a dispatch DAG: which outbox assets get an event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from airflow.sdk.execution_time.context import OutletEventAccessors

from mpp_bus.airflow.assets import OUTBOX_ALIAS, outbox_alias, outbox_asset
from mpp_bus.airflow.factory import DagSettings, build_outbox_watch_dag
from mpp_bus.store import Store, SubmissionRecord, SubmissionState, create_store
from mpp_bus.store.outbox import NewSubmission

ROOT = Path(__file__).resolve().parents[2]
S = SubmissionState
_numbers = count(1)


@pytest.fixture
def store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("MPP_DATABASE_URL", db_url)
    store = create_store(db_url, upgrade=True)
    yield store
    store.dispose()


def accepted(store: Store, agency_id: str, now: datetime) -> SubmissionRecord:
    n = next(_numbers)
    record, created = store.accept_submission(NewSubmission(
        reference=f"SUB-WATCH-{n:06d}", agency_id=agency_id, service_code="SVC-01", client_key=f"key-{n}",
        nik_hash=f"hash-{n}", nik_masked="3314********0001", request_digest=f"digest-{n}", sealed=b"sealed"),
        now=now)
    assert created
    return record


def sending(store: Store, agency_id: str, now: datetime) -> SubmissionRecord:
    record = accepted(store, agency_id, now)
    moved = store.move_submission(record, S.SENDING, now=now, attempts=1, in_doubt=True)
    assert moved is not None
    return moved


def retrying(store: Store, agency_id: str, now: datetime, next_attempt_at: datetime) -> None:
    moved = store.move_submission(sending(store, agency_id, now), S.RETRYING, now=now,
                                  next_attempt_at=next_attempt_at, in_doubt=False, last_error="HTTP 503")
    assert moved is not None


Events = dict[tuple[str, str], dict[str, object]]


def run_watcher(agencies: Path = ROOT / "agencies.yaml") -> tuple[dict[str, object], Events]:
    """Run the watcher's task as the factory builds it; the events it added, by asset name and URI."""
    dag = build_outbox_watch_dag(agencies, DagSettings())
    task = dag.get_task("watch_outbox")
    events = OutletEventAccessors()
    result = task.execute({"outlet_events": events})
    added = events[outbox_alias()].asset_alias_events
    assert all(e.source_alias_name == OUTBOX_ALIAS for e in added)
    return result, {(e.dest_asset_key.name, e.dest_asset_key.uri): e.extra for e in added}


def key(agency_id: str) -> tuple[str, str]:
    """The outbox asset the agency's dispatch DAG is scheduled on: an event must name it exactly."""
    asset = outbox_asset(agency_id)
    return asset.name, asset.uri


def test_only_agencies_with_due_submissions_and_a_dispatch_dag_get_an_event(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC) - timedelta(seconds=5)
    accepted(store, "oss", now)
    accepted(store, "oss", now)
    retrying(store, "dukcapil", now, next_attempt_at=now)  # its retry is due
    sending(store, "dukcapil", now)  # a dispatcher died mid-delivery: due again
    retrying(store, "djp", now, next_attempt_at=now + timedelta(hours=1))  # not yet
    delivered = store.move_submission(sending(store, "dpmptsp-3314", now), S.DELIVERED, now=now,
                                      application_id="APP-1")
    assert delivered is not None  # finished: nothing to do
    accepted(store, "dpmptsp-jateng", now)  # its adapter takes no submissions: no dispatch DAG
    accepted(store, "closed-agency", now)  # no longer in the agencies file

    result, events = run_watcher()

    assert events == {key("dukcapil"): {"waiting": 2}, key("oss"): {"waiting": 2}}
    assert result == {"agencies": 2, "submissions": 4, "stranded_agencies": 2}
    out = capsys.readouterr().out
    assert "outbox: 4 submission(s) due for 2 agencies; their dispatch DAGs are started: dukcapil=2, oss=2" in out
    stranded = [line for line in out.splitlines() if "without a dispatch DAG" in line]
    assert len(stranded) == 1 and "closed-agency=1, dpmptsp-jateng=1" in stranded[0]
    assert "3314********0001" not in out and "SUB-WATCH" not in out


def test_nothing_due_adds_no_event(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    retrying(store, "djp", now, next_attempt_at=now + timedelta(minutes=10))

    result, events = run_watcher()

    assert events == {}
    assert result == {"agencies": 0, "submissions": 0, "stranded_agencies": 0}
    out = capsys.readouterr().out
    assert "outbox: 0 submission(s) due for 0 agencies; their dispatch DAGs are started: none" in out
    assert "without a dispatch DAG" not in out


def test_an_agency_with_an_unknown_adapter_type_does_not_stop_the_others(
        store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agencies = tmp_path / "agencies.yaml"
    agencies.write_text((ROOT / "agencies.yaml").read_text(encoding="utf-8") + """
  - id: dpmptsp-typo
    adapter: licensng
    name: An agency whose adapter type is misspelled
    level: kabupaten_kota
    config: {base_url: "http://127.0.0.1:9", tenant: dpmptsp-3314}
""", encoding="utf-8")
    now = datetime.now(UTC) - timedelta(seconds=5)
    accepted(store, "oss", now)
    accepted(store, "dpmptsp-typo", now)

    result, events = run_watcher(agencies)

    assert events == {key("oss"): {"waiting": 1}}
    assert result == {"agencies": 1, "submissions": 1, "stranded_agencies": 1}
    out = capsys.readouterr().out + capsys.readouterr().err
    assert "dpmptsp-typo=1" in out
