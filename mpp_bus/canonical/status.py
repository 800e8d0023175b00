"""The canonical application lifecycle shared by every agency.

Agencies keep their own status codes; adapters map them onto these eight through a mapping table. Transitions are
declared here once so the engine, the portal and the reports agree on what "forward" means.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class Status(StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    NEEDS_REVISION = "needs_revision"
    IN_PROCESS = "in_process"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The Indonesian label a citizen reads."""
        return LABELS[self]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


LABELS: dict[Status, str] = {
    Status.SUBMITTED: "diajukan",
    Status.VERIFIED: "diverifikasi",
    Status.NEEDS_REVISION: "perlu perbaikan",
    Status.IN_PROCESS: "diproses",
    Status.APPROVED: "disetujui",
    Status.REJECTED: "ditolak",
    Status.COMPLETED: "selesai",
    Status.CANCELLED: "dibatalkan",
}

TERMINAL: frozenset[Status] = frozenset({Status.REJECTED, Status.COMPLETED, Status.CANCELLED})

# One step at a time as an agency would record it. A sync may see several steps at once (the intermediate ones
# happened between two syncs), so the engine checks reachability, not adjacency.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset(
        {Status.VERIFIED, Status.NEEDS_REVISION, Status.IN_PROCESS, Status.REJECTED, Status.CANCELLED}
    ),
    Status.VERIFIED: frozenset(
        {Status.IN_PROCESS, Status.NEEDS_REVISION, Status.APPROVED, Status.REJECTED, Status.CANCELLED}
    ),
    Status.NEEDS_REVISION: frozenset({Status.SUBMITTED, Status.VERIFIED, Status.REJECTED, Status.CANCELLED}),
    Status.IN_PROCESS: frozenset(
        {Status.NEEDS_REVISION, Status.APPROVED, Status.REJECTED, Status.COMPLETED, Status.CANCELLED}
    ),
    Status.APPROVED: frozenset({Status.COMPLETED}),
    Status.REJECTED: frozenset(),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
}


# How far along the usual path a status is. Transitions may loop (a revision goes back to submitted), so
# reachability alone cannot order two statuses stamped with the same time; this rank can.
PROGRESS: dict[Status, int] = {
    Status.SUBMITTED: 0,
    Status.NEEDS_REVISION: 1,
    Status.VERIFIED: 2,
    Status.IN_PROCESS: 3,
    Status.APPROVED: 4,
    Status.REJECTED: 5,
    Status.COMPLETED: 5,
    Status.CANCELLED: 5,
}


@cache
def reachable(start: Status) -> frozenset[Status]:
    """Every status that can follow ``start`` through declared transitions (``start`` itself excluded)."""
    seen: set[Status] = set()
    todo = list(TRANSITIONS[start])
    while todo:
        nxt = todo.pop()
        if nxt not in seen:
            seen.add(nxt)
            todo.extend(TRANSITIONS[nxt])
    seen.discard(start)
    return frozenset(seen)


def is_later(current: Status, new: Status) -> bool:
    """``new`` can follow ``current`` and is further along: how to order two statuses with the same time."""
    return can_follow(current, new) and PROGRESS[new] > PROGRESS[current]


def can_follow(current: Status, new: Status) -> bool:
    """True when ``new`` may replace ``current``: the same status, or one reachable from it. Terminal stays terminal."""
    return new == current or new in reachable(current)
