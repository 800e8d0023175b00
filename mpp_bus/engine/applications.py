"""One page of applications: pseudonymise, decide against the stored state, write set-based.

The decision for an application id follows its records in source-time order, starting from what the store holds:
- newer and allowed by the lifecycle: applied (its event kept with ``applied=True``);
- newer but not allowed (e.g. after a terminal status): quarantined;
- same source time and same content: unchanged;
- same source time and a status further along (``is_later``): applied -- agencies that stamp times to the second
  can change a record twice within one; the lifecycle, not the clock, tells which came last;
- older, or same time with other content: stale (kept in history with ``applied=False``, never applied).
Only the last applied record of a page is written; those it superseded in the same page count as stale.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from mpp_bus.canonical.entities import Application
from mpp_bus.canonical.status import Status, can_follow, is_later
from mpp_bus.engine.result import StageTimes
from mpp_bus.privacy import NikHasher, mask
from mpp_bus.store import ApplicationWriter, RunCounts

_STATUS = {s.value: s for s in Status}


# A prepared record is a plain tuple (cheaper to build than an object, once per record):
# (page index, status, source_updated_at as the writer encodes it, content_hash, application row, event row)
_Record = tuple[int, Status, Any, str, tuple[Any, ...], tuple[Any, ...]]
_UPDATED = 2


@dataclass
class PageOutcome:
    counts: RunCounts = field(default_factory=RunCounts)
    # (page index, reason) of valid records the lifecycle refuses
    refused: list[tuple[int, str]] = field(default_factory=list)


def idempotency_key(agency_id: str, application_id: str, agency_status: str, status_at: datetime) -> str:
    """sha256 of agency|application|agency_status|status_at (UTC): one history row per reported status."""
    text = f"{agency_id}|{application_id}|{agency_status}|{status_at.astimezone(UTC).isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def write_applications(
    conn: Connection,
    writer: ApplicationWriter,
    hasher: NikHasher,
    agency_id: str,
    models: list[tuple[int, Application]],
    *,
    now: datetime,
    stages: StageTimes | None = None,
) -> PageOutcome:
    """Decide and write one page; ``stages`` gets the time spent mapping (``map``) and in the store (``write``)."""
    clock = time.perf_counter
    started = clock()
    outcome = PageOutcome()
    by_id = _prepare(writer, hasher, agency_id, models, now)
    mapped = clock()
    current = writer.current(conn, agency_id, by_id.keys())
    decided = clock()
    rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    counts = outcome.counts
    for app_id, group in by_id.items():
        held = current.get(app_id)
        state = None if held is None else (_STATUS[held[0]], held[1], held[2])
        if len(group) > 1:
            group.sort(key=lambda r: r[_UPDATED])  # stable: page order among equal times
        winner: tuple[Any, ...] | None = None  # the row of the last applied record
        for rec in group:
            index, status, updated, content_hash, row, event = rec
            if state is None or updated > state[1] or (updated == state[1] and is_later(state[0], status)):
                if state is not None and not can_follow(state[0], status):
                    outcome.refused.append((index, _refusal(status, state[0])))
                    continue
                if winner is not None:
                    counts.stale += 1
                winner = row
                state = (status, updated, content_hash)
                events.append((*event, True, row[-1]))
            elif updated == state[1] and content_hash == state[2]:
                counts.unchanged += 1
            else:
                counts.stale += 1
                events.append((*event, False, row[-1]))
        if winner is not None:
            counts.stored += 1
            rows.append(winner)
    written = clock()
    writer.write_page(conn, rows, events)
    if stages is not None:
        stages.map += (mapped - started) + (written - decided)
        stages.write += (decided - mapped) + (clock() - written)
    return outcome


def _prepare(
    writer: ApplicationWriter, hasher: NikHasher, agency_id: str, models: list[tuple[int, Application]], now: datetime
) -> dict[str, list[_Record]]:
    """Rows and events of a page, the NIK replaced by its keyed hash and mask as early as possible."""
    enc = writer.time
    enc_date = writer.date
    now_enc = enc(now)
    nik_hash = hasher.hash
    sha256 = hashlib.sha256
    blake2b = hashlib.blake2b
    by_id: dict[str, list[_Record]] = {}
    for index, m in models:
        app_id, nik, status, agency_status = m.application_id, m.applicant_nik, m.status, m.agency_status
        status_at = m.status_at.astimezone(UTC)
        status_at_enc = enc(status_at)
        source_updated_at = enc(m.source_updated_at)
        content = (
            m.service_code,
            nik_hash(nik),
            mask(nik),
            status.value,
            agency_status,
            status_at_enc,
            enc(m.submitted_at),
            enc_date(m.sla_due_date),
            m.output_document,
            source_updated_at,
        )
        content_hash = blake2b(repr(content).encode(), digest_size=16).hexdigest()
        # idempotency_key() inlined: this loop runs once per record
        key = sha256(f"{agency_id}|{app_id}|{agency_status}|{status_at.isoformat()}".encode()).hexdigest()
        rec = (index, status, source_updated_at, content_hash, (agency_id, app_id, *content, content_hash, now_enc),
               (agency_id, app_id, content[3], agency_status, status_at_enc, key))
        group = by_id.get(app_id)
        if group is None:
            by_id[app_id] = [rec]
        else:
            group.append(rec)
    return by_id


def _refusal(new: Status, current: Status) -> str:
    if current.is_terminal:
        return (
            f"status {new.value} cannot follow terminal {current.value}: a terminal status stays terminal; ask the "
            "agency to check the record, or its status mapping"
        )
    return (
        f"status {new.value} cannot follow {current.value} in the canonical lifecycle; check the agency's status "
        "mapping"
    )
