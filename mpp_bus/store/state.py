"""Sync bookkeeping on an open connection: agencies, runs, cursors, quarantine and the service catalog.

Every function here runs inside the caller's transaction, so the engine can commit a page's records, its
quarantine and the cursor after it together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypedDict

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mpp_bus.canonical.entities import Agency
from mpp_bus.store.runs import RunCounts, RunRecord, RunStatus
from mpp_bus.store.tables import agencies, quarantine, services, sync_cursors, sync_runs


@dataclass(frozen=True)
class CursorState:
    cursor: dict[str, Any] | None
    generation: int
    full_read_open: bool


class QuarantineRow(TypedDict):
    """A rejected record as the engine hands it over; ``payload`` already redacted."""

    run_id: int
    agency_id: str
    stream: str
    record_id: str | None
    reason: str
    payload: Any
    created_at: datetime


class StoredService(NamedTuple):
    """What the store holds of a catalog service, to tell a changed service from a merely seen one."""

    content_hash: str
    withdrawn: bool


def upsert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], *, columns: Sequence[str]
) -> None:
    """Insert ``rows`` or update ``columns`` of the rows already there (matched on ``keys``)."""
    if not rows:
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, list(rows))


def register_agency(conn: Connection, agency: Agency, *, adapter: str | None, now: datetime) -> None:
    row = {**agency.model_dump(mode="json"), "adapter": adapter, "updated_at": now}
    upsert(conn, agencies, [row], ["id"], columns=["name", "level", "region_code", "adapter", "updated_at"])


def open_run(conn: Connection, agency_id: str, stream: str, mode: str, *, now: datetime) -> int:
    """Start a run row; earlier runs of this agency stream still marked running lost their process (the caller holds
    the writer lock, so nobody else is running) and become abandoned."""
    conn.execute(
        update(sync_runs)
        .where(
            sync_runs.c.agency_id == agency_id,
            sync_runs.c.stream == stream,
            sync_runs.c.status == RunStatus.RUNNING,
        )
        .values(
            status=RunStatus.ABANDONED,
            finished_at=now,
            error="the process running this sync stopped before it finished; the next run resumed from its cursor",
        )
    )
    values = {"agency_id": agency_id, "stream": stream, "mode": mode, "status": RunStatus.RUNNING, "started_at": now}
    result = conn.execute(sync_runs.insert().values(**values, **asdict(RunCounts())).returning(sync_runs.c.id))
    return int(result.scalar_one())


def record_progress(conn: Connection, run_id: int, counts: RunCounts) -> None:
    conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**asdict(counts)))


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: RunStatus,
    counts: RunCounts,
    duration_s: float,
    now: datetime,
    error: str | None = None,
    breaker_state: str | None = None,
) -> RunRecord:
    """Close a run with its outcome; returns the finished record."""
    row = conn.execute(
        update(sync_runs)
        .where(sync_runs.c.id == run_id)
        .values(
            status=status,
            finished_at=now,
            duration_s=duration_s,
            error=error,
            breaker_state=breaker_state,
            **asdict(counts),
        )
        .returning(*sync_runs.c)
    ).one()
    return RunRecord.from_row(row)


def load_cursor(conn: Connection, agency_id: str, stream: str) -> CursorState | None:
    row = conn.execute(
        select(sync_cursors.c.cursor, sync_cursors.c.generation, sync_cursors.c.full_read_open).where(
            sync_cursors.c.agency_id == agency_id, sync_cursors.c.stream == stream
        )
    ).one_or_none()
    return None if row is None else CursorState(row.cursor, row.generation, bool(row.full_read_open))


def save_cursor(conn: Connection, agency_id: str, stream: str, state: CursorState, *, now: datetime) -> None:
    row = {"agency_id": agency_id, "stream": stream, "updated_at": now, **asdict(state)}
    upsert(
        conn,
        sync_cursors,
        [row],
        ["agency_id", "stream"],
        columns=["cursor", "generation", "full_read_open", "updated_at"],
    )


def add_quarantine(conn: Connection, rows: Sequence[QuarantineRow]) -> None:
    """Keep rejected records; payloads must already be redacted."""
    if rows:
        conn.execute(quarantine.insert(), list(rows))


# How an open quarantine row was closed: its record stored later, or a newer row quarantined the record again.
STORED, SUPERSEDED = "stored", "superseded"
_RESOLVE_CHUNK = 1000


def has_open_quarantine(conn: Connection, agency_id: str, stream: str) -> bool:
    """True when a record of this agency stream waits in quarantine (the engine skips resolving when none does)."""
    stmt = select(quarantine.c.id).where(quarantine.c.agency_id == agency_id, quarantine.c.stream == stream,
                                         quarantine.c.resolved_at.is_(None)).limit(1)
    return conn.execute(stmt).first() is not None


def resolve_quarantine(conn: Connection, agency_id: str, stream: str, record_ids: Collection[str], *,
                       resolution: str, run_id: int, now: datetime) -> int:
    """Close the open quarantine rows of these records, set-based; returns how many closed."""
    ids = sorted({i for i in record_ids if i})
    closed = 0
    for start in range(0, len(ids), _RESOLVE_CHUNK):
        stmt = (update(quarantine)
                .where(quarantine.c.agency_id == agency_id, quarantine.c.stream == stream,
                       quarantine.c.resolved_at.is_(None),
                       quarantine.c.record_id.in_(ids[start:start + _RESOLVE_CHUNK]))
                .values(resolved_at=now, resolution=resolution, resolved_run_id=run_id))
        closed += conn.execute(stmt).rowcount or 0
    return closed


# --- the service catalog ---------------------------------------------------------------------------------------


def current_services(conn: Connection, agency_id: str, codes: Collection[str]) -> dict[str, StoredService]:
    """What the store holds of the services ``codes`` of one agency."""
    if not codes:
        return {}
    rows = conn.execute(
        select(services.c.code, services.c.content_hash, services.c.withdrawn_at).where(
            services.c.agency_id == agency_id, services.c.code.in_(list(codes))
        )
    )
    return {r.code: StoredService(r.content_hash, r.withdrawn_at is not None) for r in rows}


_SERVICE_UPDATE = [c.name for c in services.columns if c.name not in ("agency_id", "code")]


def upsert_services(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    upsert(conn, services, rows, ["agency_id", "code"], columns=_SERVICE_UPDATE)


def mark_seen(conn: Connection, agency_id: str, codes: Collection[str], generation: int) -> None:
    """Unchanged services were seen in this generation too: they must not be withdrawn at its end."""
    if codes:
        conn.execute(
            update(services)
            .where(services.c.agency_id == agency_id, services.c.code == bindparam("b_code"))
            .values(seen_generation=generation),
            [{"b_code": code} for code in codes],
        )


def withdraw_unseen(conn: Connection, agency_id: str, generation: int, *, now: datetime) -> int:
    """Withdraw (never delete) the services a complete read of ``generation`` did not return."""
    result = conn.execute(
        update(services)
        .where(
            services.c.agency_id == agency_id,
            services.c.withdrawn_at.is_(None),
            services.c.seen_generation < generation,
        )
        .values(withdrawn_at=now, synced_at=now)
    )
    return int(result.rowcount)
