"""Circuit breaker states kept in the portal store, so every process that syncs an agency (CLI runs, Airflow tasks
on any worker) sees the same breaker.

The state is a value type of the store (it is what the ``agency_breakers`` table holds); the breaker itself, which
decides when to open and close, is the engine's (``mpp_bus.engine.breaker``) and the store never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, select

from mpp_bus.store.state import upsert
from mpp_bus.store.tables import agency_breakers


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerStatus:
    """What the breaker of one agency knows: its state, consecutive failures, when it opened, the last error."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: datetime | None = None
    last_error: str | None = None


CLOSED = BreakerStatus()


class StoreBreakerStates:
    """``BreakerStates`` on the ``agency_breakers`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, agency_id: str) -> BreakerStatus | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(agency_breakers).where(agency_breakers.c.agency_id == agency_id)).one_or_none()
        if row is None:
            return None
        return BreakerStatus(BreakerState(row.state), row.failures, row.opened_at, row.last_error)

    def save(self, agency_id: str, status: BreakerStatus, *, now: datetime) -> None:
        row = {"agency_id": agency_id, "state": status.state.value, "failures": status.failures,
               "opened_at": status.opened_at, "last_error": status.last_error, "updated_at": now}
        with self.engine.begin() as conn:
            upsert(conn, agency_breakers, [row], ["agency_id"],
                   columns=["state", "failures", "opened_at", "last_error", "updated_at"])

    def all(self) -> dict[str, BreakerStatus]:
        """Every agency's breaker (agencies never synced have none: closed)."""
        with self.engine.connect() as conn:
            return {r.agency_id: BreakerStatus(BreakerState(r.state), r.failures, r.opened_at, r.last_error)
                    for r in conn.execute(select(agency_breakers))}
