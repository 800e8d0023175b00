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
from datetime import UTC, datetime, timedelta
from typing import Any

from mpp_bus.canonical.status import Status, can_follow, is_later
from mpp_bus.engine.result import StageTimes
from mpp_bus.privacy import NikHasher, mask, redact_text
from mpp_bus.store import ApplicationRow, ApplicationWriter, Current, PageTransaction, RunCounts, StatusEventRow

_STATUS = {s.value: s for s in Status}


# A prepared record is a plain tuple (cheaper to build than an object, once per record), private to this module:
# (page index, status, source_updated_at as the writer encodes it, content_hash, application row, partial event:
# the StatusEventRow fields up to idempotency_key, completed once the decision tells whether it applied)
_Record = tuple[int, Status, Any, str, ApplicationRow, tuple[Any, ...]]
_UPDATED = 2
Prepared = dict[str, list[_Record]]
"""A page ready to decide: application id -> its records in page order."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class PageOutcome:
    counts: RunCounts = field(default_factory=RunCounts)
    # (page index, reason) of valid records the lifecycle refuses
    refused: list[tuple[int, str]] = field(default_factory=list)
    # How many of the page's application ids the store did not hold yet, of how many
    new_ids: int = 0
    ids: int = 0

    @property
    def mostly_new(self) -> bool:
        """True when most ids were new: the next page is then worth inserting optimistically."""
        return self.new_ids * 2 >= self.ids


def idempotency_key(agency_id: str, application_id: str, agency_status: str, status_at: datetime) -> str:
    """sha256 of agency|application|agency_status|status_at (UTC): one history row per reported status."""
    text = f"{agency_id}|{application_id}|{agency_status}|{status_at.astimezone(UTC).isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def write_applications(
    tx: PageTransaction,
    agency_id: str,
    prepared: Prepared,
    *,
    optimistic: bool = False,
    stages: StageTimes | None = None,
) -> PageOutcome:
    """Decide and write one prepared page; ``stages`` gets the time (``write``: deciding needs the stored state).

    ``optimistic`` (for a writer that can): first insert each id's page winner as if the store held nothing
    (``insert_new``), then look up and decide only the ids already stored. A first load thus never reads the store
    back; a page of mostly stored ids is cheaper looked up first (``PageOutcome.mostly_new`` tells which)."""
    clock = time.perf_counter
    started = clock()
    writer = tx.writer
    outcome = PageOutcome(ids=len(prepared))
    decided: dict[str, _Decided] = {}
    pending = prepared
    if optimistic and writer.optimistic:
        fresh = {app_id: _decide(group, None) for app_id, group in prepared.items()}
        inserted = tx.insert_new_applications([d[0] for d in fresh.values() if d[0] is not None])
        decided = {app_id: fresh[app_id] for app_id in inserted}
        pending = {app_id: group for app_id, group in prepared.items() if app_id not in inserted}
        outcome.new_ids = len(inserted)
    current = tx.current_applications(agency_id, pending.keys())
    outcome.new_ids += len(pending) - len(current)
    rows: list[ApplicationRow] = []
    for app_id, group in pending.items():
        held = current.get(app_id)
        result = decided[app_id] = _decide(group, held)
        if result[0] is not None:
            rows.append(result[0])
    events: list[StatusEventRow] = []
    counts = outcome.counts
    for winner, page_events, stale, unchanged, refused in decided.values():
        events.extend(page_events)
        counts.stored += winner is not None
        counts.stale += stale
        counts.unchanged += unchanged
        outcome.refused.extend(refused)
    tx.write_applications(rows, events)
    if stages is not None:
        stages.write += clock() - started
    return outcome


# What the page does to one application: (row to write or None, history rows, stale, unchanged, refused records)
_Decided = tuple[ApplicationRow | None, list[StatusEventRow], int, int, list[tuple[int, str]]]


def _decide(group: list[_Record], held: Current | None) -> _Decided:
    """One application's records in source-time order, from what the store holds of it."""
    if len(group) > 1:
        group.sort(key=lambda r: r[_UPDATED])  # stable: page order among equal times
    # (status, source_updated_at, content_hash) as the decision goes along
    state = None if held is None else (_STATUS[held.status], held.source_updated_at, held.content_hash)
    winner: ApplicationRow | None = None  # the row of the last applied record
    events: list[StatusEventRow] = []
    new_event = tuple.__new__  # a NamedTuple's own constructor is a Python call; this one is not (once per record)
    refused: list[tuple[int, str]] = []
    stale = unchanged = 0
    for index, status, updated, content_hash, row, event in group:
        if state is None or updated > state[1] or (updated == state[1] and is_later(state[0], status)):
            if state is not None and not can_follow(state[0], status):
                refused.append((index, _refusal(status, state[0])))
                continue
            if winner is not None:
                stale += 1
            winner = row
            state = (status, updated, content_hash)
            events.append(new_event(StatusEventRow, (*event, True, row.synced_at)))
        elif updated == state[1] and content_hash == state[2]:
            unchanged += 1
        else:
            stale += 1
            events.append(new_event(StatusEventRow, (*event, False, row.synced_at)))
    return winner, events, stale, unchanged, refused


def prepare_applications(
    writer: ApplicationWriter, hasher: NikHasher, agency_id: str, records: list[tuple[int, dict[str, Any]]],
    now: datetime,
) -> Prepared:
    """Rows and events of a page, the NIK replaced by its keyed hash and mask as early as possible. Needs no store,
    so it runs while the page before is being written.

    This loop runs once per record of every sync: names are bound locally and nothing is computed twice."""
    enc = writer.time
    enc_date = writer.date
    now_enc = enc(now)
    nik_hash = hasher.hash
    sha256 = hashlib.sha256
    blake2b = hashlib.blake2b
    utc = UTC
    epoch, micro = _EPOCH, _MICROSECOND
    masked = mask("0" * 16)[2:-2]  # privacy.mask() inlined: the stars between the kept digits
    new_row = tuple.__new__  # a NamedTuple's own constructor is a Python call; this one is not
    by_id: Prepared = {}
    for index, r in records:
        app_id, nik, status, agency_status = r["application_id"], r["applicant_nik"], r["status"], r["agency_status"]
        value = status.value  # an enum's .value is a Python-level descriptor: read it once
        status_at = r["status_at"]
        if status_at.tzinfo is not utc:
            status_at = status_at.astimezone(utc)
        updated = r["source_updated_at"]
        submitted = r["submitted_at"]
        due = r.get("sla_due_date")
        document = r.get("output_document")
        note = r.get("revision_note")
        if note:  # agency free text: it may name a NIK, a phone or an e-mail, which the store never keeps
            note = redact_text(note)
        service = r["service_code"]
        hashed = nik_hash(nik)
        # What "the same content" means at an equal source time: every stored field, times as microseconds since
        # the epoch (formatting an aware datetime as text costs several times more).
        content_hash = blake2b(
            f"{service}|{hashed}|{value}|{agency_status}|{(status_at - epoch) // micro}|{(submitted - epoch) // micro}|"
            f"{due and due.toordinal()}|{document}|{(updated - epoch) // micro}{f'|{note}' if note else ''}".encode(),
            digest_size=16,
        ).hexdigest()
        updated_enc = enc(updated)
        status_at_enc = enc(status_at)
        # idempotency_key() inlined
        key = sha256(f"{agency_id}|{app_id}|{agency_status}|{status_at.isoformat()}".encode()).hexdigest()
        rec = (
            index, status, updated_enc, content_hash,
            new_row(ApplicationRow, (agency_id, app_id, service, hashed, nik[:2] + masked + nik[-2:], value,
                                     agency_status, status_at_enc, enc(submitted), enc_date(due), document,
                                     updated_enc, content_hash, now_enc, note)),
            (agency_id, app_id, value, agency_status, status_at_enc, key),
        )
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
