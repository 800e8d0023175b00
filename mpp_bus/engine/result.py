"""What a sync reports: progress after each page, and the result of the run."""

from __future__ import annotations

from dataclasses import dataclass

from mpp_bus.store import RunRecord


@dataclass
class StageTimes:
    """Seconds a run spent in each stage (measured per page, never per record).

    ``fetch`` is the engine waiting for the next page (with read-ahead, only the part not hidden behind writing);
    ``validate`` the whole-page validation; ``map`` NIK hashing and building rows; ``write`` the decisions against
    the stored state, the store's statements and commits. ``validate`` and ``map`` run in the read-ahead thread, so
    with read-ahead they overlap ``write`` and the stages add up to more than the run's time. The adapter's own
    HTTP, parsing and mapping are inside ``fetch``.
    """

    fetch: float = 0.0
    validate: float = 0.0
    map: float = 0.0
    write: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"fetch": self.fetch, "validate": self.validate, "map": self.map, "write": self.write}


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
class RunResult(RunRecord):
    """The outcome of one sync run: the store's record of it, with where its time went."""

    stages: StageTimes | None = None

    @property
    def run_id(self) -> int:
        return self.id
