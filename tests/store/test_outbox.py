"""The outbox's state machine on its own: which moves it allows and refuses, compare-and-set against a concurrent
move, giving up as dead after the attempts or hours, and the purge of sealed personal data on every finished state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from mpp_bus.engine.dispatch import RetryPlan
from mpp_bus.errors import StoreError
from mpp_bus.store import Store, SubmissionRecord, SubmissionState, create_store
from mpp_bus.store.outbox import FINISHED, TRANSITIONS, NewSubmission, can_move

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = SubmissionState
_numbers = count(1)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = create_store(db_url, upgrade=True)
    yield store
    store.dispose()


def accepted(store: Store, *, now: datetime = T0) -> SubmissionRecord:
    n = next(_numbers)
    record, created = store.accept_submission(NewSubmission(
        reference=f"SUB-TEST-{n:06d}", agency_id="djp", service_code="NPWP-01", client_key=f"key-{n}",
        nik_hash=f"hash-{n}", nik_masked="3314********0001", request_digest=f"digest-{n}", sealed=b"sealed bytes"),
        now=now)
    assert created and record.state is S.ACCEPTED and record.sealed == b"sealed bytes"
    return record


def claimed(store: Store, record: SubmissionRecord, *, now: datetime = T0) -> SubmissionRecord:
    moved = store.move_submission(record, S.SENDING, now=now, attempts=record.attempts + 1, in_doubt=True)
    assert moved is not None and moved.state is S.SENDING
    return moved


ALLOWED = {(S.ACCEPTED, S.SENDING), (S.ACCEPTED, S.DEAD), (S.SENDING, S.SENDING), (S.SENDING, S.DELIVERED),
           (S.SENDING, S.REFUSED), (S.SENDING, S.RETRYING), (S.SENDING, S.DEAD), (S.RETRYING, S.SENDING),
           (S.RETRYING, S.DEAD)}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("new", list(S))
def test_the_declared_transitions_and_no_others(current: SubmissionState, new: SubmissionState) -> None:
    assert can_move(current, new) is ((current, new) in ALLOWED)


def test_finished_states_are_terminal() -> None:
    assert set(FINISHED) == {S.DELIVERED, S.REFUSED, S.DEAD}
    assert all(TRANSITIONS[state] == frozenset() for state in FINISHED)


def test_a_refused_move_raises_and_changes_nothing(store: Store) -> None:
    record = accepted(store)
    for new in (S.DELIVERED, S.REFUSED, S.RETRYING, S.ACCEPTED):
        with pytest.raises(StoreError, match="accepted cannot become"):
            store.move_submission(record, new, now=T0)
    delivered = store.move_submission(claimed(store, record), S.DELIVERED, now=T0, application_id="APP-1")
    assert delivered is not None
    for new in S:
        with pytest.raises(StoreError, match="delivered cannot become"):
            store.move_submission(delivered, new, now=T0)
    after = store.submission_by_reference(record.reference)
    assert after is not None and after.state is S.DELIVERED and after.application_id == "APP-1"


def test_compare_and_set_loses_to_a_move_made_since_the_read(store: Store) -> None:
    record = accepted(store)
    first = claimed(store, record)
    # A second dispatcher holding the same stale read (state accepted) claims it too: refused, nothing written.
    assert store.move_submission(record, S.SENDING, now=T0, attempts=1) is None
    # A stale read of the same state but fewer attempts is refused as well: re-claims are told apart by attempts.
    again = claimed(store, first)
    assert again.attempts == 2
    assert store.move_submission(first, S.DELIVERED, now=T0, application_id="X") is None
    current = store.submission_by_reference(record.reference)
    assert current is not None and current.state is S.SENDING and current.attempts == 2
    assert current.application_id is None


@pytest.mark.parametrize("final", [S.DELIVERED, S.REFUSED, S.DEAD])
def test_every_finished_state_purges_the_sealed_data(store: Store, final: SubmissionState) -> None:
    record = claimed(store, accepted(store))
    later = T0 + timedelta(minutes=5)
    moved = store.move_submission(record, final, now=later, last_error="x" * 5000)
    assert moved is not None and moved.state is final
    assert moved.sealed is None and moved.finished_at is not None and moved.next_attempt_at is None
    assert moved.last_error is not None and len(moved.last_error) == 1000  # bounded
    stored = store.submission_by_reference(record.reference)
    assert stored is not None and stored.sealed is None
    assert store.sealed_finished_submissions() == 0
    assert store.agencies_waiting() == {}


def test_retrying_keeps_the_sealed_data_and_waits_for_its_time(store: Store) -> None:
    record = claimed(store, accepted(store))
    moved = store.move_submission(record, S.RETRYING, now=T0, next_attempt_at=T0 + timedelta(seconds=30),
                                  in_doubt=False, last_error="HTTP 503")
    assert moved is not None and moved.sealed == b"sealed bytes"
    assert store.due_submissions("djp", now=T0 + timedelta(seconds=29)) == []
    assert [r.reference for r in store.due_submissions("djp", now=T0 + timedelta(seconds=30))] == [record.reference]


def test_a_row_left_in_sending_is_due_at_once(store: Store) -> None:
    record = claimed(store, accepted(store))  # as a killed dispatcher leaves it
    due = store.due_submissions("djp", now=T0 - timedelta(days=1))
    assert [(r.reference, r.state, r.in_doubt) for r in due] == [(record.reference, S.SENDING, True)]


def test_accepted_and_retrying_can_die_without_being_sent(store: Store) -> None:
    dead = store.move_submission(accepted(store), S.DEAD, now=T0, last_error="given up")
    assert dead is not None and dead.sealed is None
    retrying = store.move_submission(claimed(store, accepted(store)), S.RETRYING, now=T0,
                                     next_attempt_at=T0 + timedelta(hours=1))
    assert retrying is not None
    dead = store.move_submission(retrying, S.DEAD, now=T0, last_error="given up")
    assert dead is not None and dead.state is S.DEAD and dead.sealed is None


def test_the_plan_gives_up_after_its_attempts_or_its_hours(store: Store) -> None:
    plan = RetryPlan(max_attempts=3, max_age=timedelta(hours=2))
    record = accepted(store)
    assert not plan.gives_up(record, T0)
    for _ in range(3):
        record = claimed(store, record)
    assert plan.gives_up(record, T0)  # three attempts made
    young = accepted(store)
    assert not plan.gives_up(young, T0 + timedelta(hours=2) - timedelta(seconds=1))
    assert plan.gives_up(young, T0 + timedelta(hours=2))


def test_the_wait_grows_is_capped_and_honours_retry_after() -> None:
    plan = RetryPlan(initial_wait=1.0, max_wait=8.0, jitter=0.0)
    assert [plan.wait(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert plan.wait(1, retry_after=20.0) == 20.0
