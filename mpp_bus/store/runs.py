"""A sync run as the store keeps it: its status, its counts and its record. Declared here once; the engine's
result, the CLI, the read API and Airflow map from these rather than declaring their own."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Where a sync run stands; abandoned: its process stopped before it finished, and a later run found it open."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


# The members under the names the store exported before the enum, which callers and tests still import.
RUNNING, SUCCEEDED, FAILED, ABANDONED = RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABANDONED


@dataclass
class RunCounts:
    """What a run did with the records it read. ``read`` = stored + unchanged + stale + quarantined."""

    read: int = 0
    stored: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0
    withdrawn: int = 0

    def add(self, other: RunCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class RunRecord:
    """One row of the ``sync_runs`` table."""

    id: int
    agency_id: str
    stream: str
    mode: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    read: int
    stored: int
    unchanged: int
    stale: int
    quarantined: int
    withdrawn: int
    duration_s: float | None
    error: str | None
    breaker_state: str | None

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        """From a ``sync_runs`` row as SQLAlchemy returns it (the status column is plain text)."""
        values = row._asdict()
        values["status"] = RunStatus(values["status"])
        return cls(**values)
