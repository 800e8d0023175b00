"""The SLA clock of an application, told honestly: it stops at a decision, pauses while the citizen must fix
something, and counts calendar days in WIB (a date does not flip at 07.00 WIB, when UTC's does).

Example::

    clock = sla_clock(date(2025, 3, 17), [(Status.SUBMITTED, t0), (Status.APPROVED, t1)], now)
    clock.overdue   # False: approved, so the agency's clock stopped
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from mpp_bus.canonical.status import Status

WIB = timezone(timedelta(hours=7), "WIB")

# A decision ends the agency's part: approved (even before the document is issued), rejected, completed, cancelled.
DECISIONS = frozenset({Status.APPROVED, Status.REJECTED, Status.COMPLETED, Status.CANCELLED})
# While the citizen must fix something, the agency cannot work on it: its clock pauses.
PAUSES = frozenset({Status.NEEDS_REVISION})


def wib_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in Western Indonesia (UTC+7)."""
    return moment.astimezone(WIB).date()


@dataclass(frozen=True)
class SlaClock:
    due: date | None  # the agency's due date, moved later by the days the clock was paused
    decided_on: date | None  # WIB date of the first decision; the clock stopped then
    paused: bool  # waiting for the citizen right now
    paused_days: int
    overdue: bool  # no decision, and the clock's day (today in WIB, or the day a running pause began) is past due


def sla_clock(due: date | None, history: Iterable[tuple[Status, datetime]], now: datetime) -> SlaClock:
    """The clock of an application with SLA date ``due`` and its applied status changes ``history``."""
    events = sorted(history, key=lambda e: e[1])
    decided_on: date | None = None
    paused_days = 0
    paused_since: date | None = None
    for status, at in events:
        day = wib_date(at)
        if paused_since is not None and status not in PAUSES:
            paused_days += (day - paused_since).days
            paused_since = None
        if status in DECISIONS:
            decided_on = day
            break
        if status in PAUSES and paused_since is None:
            paused_since = day
    today = wib_date(now)
    # While paused the clock reads the day the pause began: an agency already late when it asked for a revision
    # stays late, one that was on time is not blamed for the citizen's days.
    clock_day = paused_since or today
    overdue = due is not None and decided_on is None and clock_day > due + timedelta(days=paused_days)
    if paused_since is not None:
        paused_days += (today - paused_since).days
    moved = due + timedelta(days=paused_days) if due is not None else None
    return SlaClock(moved, decided_on, paused_since is not None, paused_days, overdue)
