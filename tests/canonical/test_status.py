from __future__ import annotations

import pytest

from mpp_bus.canonical import LABELS, TERMINAL, TRANSITIONS, Status, can_follow, is_later, reachable


def test_every_status_has_an_indonesian_label_and_declared_transitions() -> None:
    assert set(LABELS) == set(Status) == set(TRANSITIONS)
    assert Status.NEEDS_REVISION.label == "perlu perbaikan"
    assert Status.COMPLETED.label == "selesai"


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_states_stay_terminal(terminal: Status) -> None:
    assert terminal.is_terminal
    assert reachable(terminal) == frozenset()
    assert all(not can_follow(terminal, other) for other in Status if other != terminal)
    assert can_follow(terminal, terminal)


def test_skipped_steps_are_forward_moves() -> None:
    # A sync can miss intermediate steps: submitted -> completed happened through in_process.
    assert can_follow(Status.SUBMITTED, Status.COMPLETED)
    assert can_follow(Status.NEEDS_REVISION, Status.SUBMITTED)


def test_approved_cannot_go_back_to_processing() -> None:
    assert not can_follow(Status.APPROVED, Status.IN_PROCESS)
    assert can_follow(Status.APPROVED, Status.COMPLETED)


def test_every_status_can_end_somewhere_terminal() -> None:
    for status in Status:
        assert status.is_terminal or reachable(status) & TERMINAL


def test_is_later_orders_statuses_with_the_same_time_without_cycles() -> None:
    assert is_later(Status.SUBMITTED, Status.VERIFIED)
    assert not is_later(Status.VERIFIED, Status.SUBMITTED)
    assert is_later(Status.SUBMITTED, Status.NEEDS_REVISION)
    assert not is_later(Status.NEEDS_REVISION, Status.SUBMITTED)  # a loop: the one further along wins
    assert not is_later(Status.COMPLETED, Status.CANCELLED)
    assert all(not (is_later(a, b) and is_later(b, a)) for a in Status for b in Status)
