"""The SLA clock: stops at a decision, pauses while the citizen fixes something, counts days in WIB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mpp_bus.canonical import Status
from mpp_bus.canonical.sla import sla_clock, wib_date

DUE = date(2025, 3, 17)
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 08.00 WIB
D = timedelta(days=1)


def test_a_decision_before_the_due_date_stops_the_clock():
    for decision in (Status.APPROVED, Status.REJECTED, Status.COMPLETED, Status.CANCELLED):
        clock = sla_clock(DUE, [(Status.SUBMITTED, T0), (decision, T0 + 5 * D)], T0 + 60 * D)
        assert not clock.overdue and clock.decided_on == date(2025, 3, 8), decision


def test_an_open_application_past_its_due_date_is_overdue():
    assert sla_clock(DUE, [(Status.IN_PROCESS, T0)], datetime(2025, 3, 18, 0, 0, tzinfo=UTC)).overdue
    assert not sla_clock(DUE, [(Status.IN_PROCESS, T0)], datetime(2025, 3, 17, 16, 0, tzinfo=UTC)).overdue
    assert not sla_clock(None, [(Status.IN_PROCESS, T0)], T0 + 99 * D).overdue


def test_days_count_in_wib_not_utc():
    # 17 March 23.30 WIB is still the due date in Jakarta, though UTC says 17 March 16.30: not overdue.
    # 18 March 00.30 WIB is 17 March 17.30 UTC: already the next day in WIB, so overdue.
    assert not sla_clock(DUE, [(Status.IN_PROCESS, T0)], datetime(2025, 3, 17, 16, 30, tzinfo=UTC)).overdue
    assert sla_clock(DUE, [(Status.IN_PROCESS, T0)], datetime(2025, 3, 17, 17, 30, tzinfo=UTC)).overdue
    assert wib_date(datetime(2025, 3, 17, 17, 30, tzinfo=UTC)) == date(2025, 3, 18)


def test_waiting_for_the_citizen_pauses_the_clock_and_moves_the_due_date():
    history = [(Status.SUBMITTED, T0), (Status.NEEDS_REVISION, T0 + 2 * D)]
    waiting = sla_clock(DUE, history, T0 + 30 * D)
    assert waiting.paused and not waiting.overdue and waiting.paused_days == 28
    resumed = sla_clock(DUE, [*history, (Status.VERIFIED, T0 + 12 * D)], T0 + 20 * D)
    assert not resumed.paused and resumed.paused_days == 10 and resumed.due == DUE + 10 * D
    assert not resumed.overdue  # 23 March is before 27 March
    assert sla_clock(DUE, [*history, (Status.VERIFIED, T0 + 12 * D)], T0 + 25 * D).overdue
    # Already late when it asked for the revision: the pause does not excuse the agency.
    late = sla_clock(DUE, [(Status.SUBMITTED, T0), (Status.NEEDS_REVISION, T0 + 20 * D)], T0 + 22 * D)
    assert late.paused and late.overdue
