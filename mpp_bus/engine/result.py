"""What a sync reports: progress after each page, and the result of the run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunProgress:
    """Totals so far, reported after each committed page."""

    run_id: int
    agency_id: str
    stream: str
    pages: int
    read: int
    stored: int
    unchanged: int
    stale: int
    quarantined: int
    elapsed_s: float


@dataclass(frozen=True)
class RunResult:
    """The outcome of one sync run (also kept in the ``sync_runs`` table)."""

    run_id: int
    agency_id: str
    stream: str
    mode: str
    status: str
    read: int
    stored: int
    unchanged: int
    stale: int
    quarantined: int
    withdrawn: int
    duration_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"
