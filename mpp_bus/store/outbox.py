"""The outbox: submissions on their way to an agency, their state machine, and the audit of every step.

    accepted --claim--> sending --receipt--> delivered
                           |  \\--refusal--> refused
                           |   \\--retriable failure--> retrying --claim--> sending ...
                           \\--too many attempts / hours--> dead      (accepted and retrying can die too)

``sending`` is written and committed BEFORE the agency is called, so a dispatcher killed mid-call leaves the row in
``sending``; the next dispatcher (one per agency at a time: the caller holds the agency's dispatch lock) treats such a
row as "may have reached the agency" and de-duplicates before sending again. Every change is a compare-and-set on the
current state, and is written to the audit log (subject: the NIK's keyed hash) in the same transaction. The sealed
personal data (clear NIK, form) is set NULL in the transaction that makes a submission delivered, refused or dead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, insert, or_, select, update

from mpp_bus.errors import IdempotencyConflictError, StoreError
from mpp_bus.store.reads.audit import AuditEntry, Outcome, record_audit
from mpp_bus.store.tables import submissions

DISPATCHER = "mpp-bus dispatcher"
MAX_TEXT = 1000


class SubmissionState(StrEnum):
    ACCEPTED = "accepted"
    SENDING = "sending"
    DELIVERED = "delivered"
    REFUSED = "refused"
    RETRYING = "retrying"
    DEAD = "dead"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({SubmissionState.DELIVERED, SubmissionState.REFUSED, SubmissionState.DEAD})
WAITING = frozenset({SubmissionState.ACCEPTED, SubmissionState.RETRYING, SubmissionState.SENDING})
TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    SubmissionState.ACCEPTED: frozenset({SubmissionState.SENDING, SubmissionState.DEAD}),
    # sending -> sending: a dispatcher found a row its crashed predecessor left mid-call and claims it again
    SubmissionState.SENDING: frozenset({SubmissionState.SENDING, SubmissionState.DELIVERED, SubmissionState.REFUSED,
                                        SubmissionState.RETRYING, SubmissionState.DEAD}),
    SubmissionState.RETRYING: frozenset({SubmissionState.SENDING, SubmissionState.DEAD}),
    SubmissionState.DELIVERED: frozenset(),
    SubmissionState.REFUSED: frozenset(),
    SubmissionState.DEAD: frozenset(),
}


def can_move(current: SubmissionState, new: SubmissionState) -> bool:
    return new in TRANSITIONS[current]


@dataclass(frozen=True)
class NewSubmission:
    """A submission to accept. ``sealed`` is the clear NIK and form, already sealed by the caller; ``request_digest``
    a keyed hash of what was asked (to tell a replay from a different submission under the same key);
    ``attachments`` what is attached, without personal data (requirement codes, document references, upload
    hashes)."""

    reference: str
    agency_id: str
    service_code: str
    client_key: str
    nik_hash: str
    nik_masked: str
    request_digest: str
    sealed: bytes = field(repr=False)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    actor: str = "portal"
    actor_role: str = "citizen"


@dataclass(frozen=True)
class SubmissionRecord:
    """One stored submission; ``sealed`` is None once it is finished (purged)."""

    id: int
    reference: str
    agency_id: str
    service_code: str
    client_key: str
    nik_hash: str
    nik_masked: str
    request_digest: str
    state: SubmissionState
    attempts: int
    in_doubt: bool
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    application_id: str | None
    agency_status: str | None
    accepted_by_agency_at: datetime | None
    refusal_reason: str | None
    last_error: str | None
    attachments: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    sealed: bytes | None = field(default=None, repr=False)


_COLUMNS = [c for c in submissions.columns]


def _record(row: Any) -> SubmissionRecord:
    values = dict(row._mapping)
    values["state"] = SubmissionState(values["state"])
    values["attachments"] = list(values["attachments"] or [])
    if values["sealed"] is not None:
        values["sealed"] = bytes(values["sealed"])
    return SubmissionRecord(**values)


def _audit(conn: Connection, record: SubmissionRecord | NewSubmission, action: str, outcome: Outcome, *,
           at: datetime, actor: str = DISPATCHER, role: str = "system") -> None:
    record_audit(conn, AuditEntry(actor=actor, actor_role=role, action=f"submission.{action}",
                                  resource=f"submission/{record.agency_id}/{record.reference}",
                                  subject_nik_hash=record.nik_hash, purpose="pengajuan permohonan",
                                  outcome=outcome), at=at)


def insert_submission(conn: Connection, new: NewSubmission, *, now: datetime) -> SubmissionRecord:
    """Insert ``new`` as accepted (and audit it); ``IntegrityError`` when its (citizen, key) is taken."""
    conn.execute(insert(submissions).values(
        reference=new.reference, agency_id=new.agency_id, service_code=new.service_code, client_key=new.client_key,
        nik_hash=new.nik_hash, nik_masked=new.nik_masked, request_digest=new.request_digest,
        state=SubmissionState.ACCEPTED.value, attempts=0, in_doubt=False, next_attempt_at=now,
        attachments=new.attachments, sealed=new.sealed, created_at=now, updated_at=now))
    _audit(conn, new, "accepted", Outcome.ALLOWED, at=now, actor=new.actor, role=new.actor_role)
    created = submission_by_key(conn, new.nik_hash, new.client_key)
    assert created is not None
    return created


def replayed(existing: SubmissionRecord, new: NewSubmission) -> SubmissionRecord:
    """``existing`` if ``new`` asks the same thing under its key (a replay), else ``IdempotencyConflictError``."""
    if existing.request_digest != new.request_digest or existing.agency_id != new.agency_id:
        raise IdempotencyConflictError(
            f"the idempotency key names another submission ({existing.reference}) of this citizen; use a new key "
            "for a new submission")
    return existing


def submission(conn: Connection, submission_id: int) -> SubmissionRecord | None:
    row = conn.execute(select(*_COLUMNS).where(submissions.c.id == submission_id)).one_or_none()
    return None if row is None else _record(row)


def submission_by_reference(conn: Connection, reference: str) -> SubmissionRecord | None:
    row = conn.execute(select(*_COLUMNS).where(submissions.c.reference == reference)).one_or_none()
    return None if row is None else _record(row)


def submission_by_key(conn: Connection, nik_hash: str, client_key: str) -> SubmissionRecord | None:
    row = conn.execute(select(*_COLUMNS).where(submissions.c.nik_hash == nik_hash,
                                               submissions.c.client_key == client_key)).one_or_none()
    return None if row is None else _record(row)


def citizen_submissions(conn: Connection, nik_hash: str, *, limit: int = 200) -> list[SubmissionRecord]:
    """A citizen's submissions, newest first (for the tracking page: the delivery state of each)."""
    rows = conn.execute(select(*_COLUMNS).where(submissions.c.nik_hash == nik_hash)
                        .order_by(submissions.c.created_at.desc(), submissions.c.id.desc()).limit(limit))
    return [_record(r) for r in rows]


def list_submissions(conn: Connection, *, agency_id: str | None = None,
                     states: Collection[SubmissionState] | None = None, limit: int = 100) -> list[SubmissionRecord]:
    """Submissions for an admin, newest first (never the sealed data)."""
    query = select(*[c for c in _COLUMNS if c.name != "sealed"])
    conditions = []
    if agency_id:
        conditions.append(submissions.c.agency_id == agency_id)
    if states:
        conditions.append(submissions.c.state.in_([s.value for s in states]))
    rows = conn.execute(query.where(*conditions).order_by(submissions.c.id.desc()).limit(limit))
    return [_record_without_seal(r) for r in rows]


def _record_without_seal(row: Any) -> SubmissionRecord:
    values = dict(row._mapping)
    values["sealed"] = None
    values["state"] = SubmissionState(values["state"])
    values["attachments"] = list(values["attachments"] or [])
    return SubmissionRecord(**values)


def due_submissions(conn: Connection, agency_id: str, *, now: datetime, limit: int) -> list[SubmissionRecord]:
    """The agency's submissions to (re)send now, oldest due first: accepted or retrying whose time has come, and
    any left in ``sending`` (the caller holds the dispatch lock, so whoever left them there is gone)."""
    waiting = or_(
        submissions.c.state == SubmissionState.SENDING.value,
        and_(submissions.c.state.in_([SubmissionState.ACCEPTED.value, SubmissionState.RETRYING.value]),
             submissions.c.next_attempt_at <= now),
    )
    rows = conn.execute(select(*_COLUMNS).where(submissions.c.agency_id == agency_id, waiting)
                        .order_by(submissions.c.next_attempt_at, submissions.c.id).limit(limit))
    return [_record(r) for r in rows]


def next_due(conn: Connection, agency_id: str) -> datetime | None:
    """When the agency's next waiting submission is due (None when nothing waits)."""
    return conn.execute(select(func.min(submissions.c.next_attempt_at)).where(
        submissions.c.agency_id == agency_id,
        submissions.c.state.in_([s.value for s in WAITING]))).scalar_one_or_none()


def agencies_waiting(conn: Connection, *, now: datetime | None = None) -> dict[str, int]:
    """Agencies with submissions waiting (due by ``now`` when given), and how many."""
    condition: ColumnElement[bool] = submissions.c.state.in_([s.value for s in WAITING])
    if now is not None:
        condition = and_(condition, or_(submissions.c.state == SubmissionState.SENDING.value,
                                        submissions.c.next_attempt_at <= now))
    rows = conn.execute(select(submissions.c.agency_id, func.count()).where(condition)
                        .group_by(submissions.c.agency_id))
    return {agency: int(count) for agency, count in rows}


def outbox_counts(conn: Connection, agency_id: str | None = None) -> dict[tuple[str, SubmissionState], int]:
    """How many submissions each agency has in each state."""
    query = select(submissions.c.agency_id, submissions.c.state, func.count())
    if agency_id:
        query = query.where(submissions.c.agency_id == agency_id)
    rows = conn.execute(query.group_by(submissions.c.agency_id, submissions.c.state))
    return {(agency, SubmissionState(state)): int(count) for agency, state, count in rows}


def move(conn: Connection, record: SubmissionRecord, new: SubmissionState, *, now: datetime,
         outcome: Outcome = Outcome.ALLOWED, **values: Any) -> SubmissionRecord | None:
    """Move ``record`` to ``new`` if it is still in the state it was read in (compare-and-set); None when someone
    else moved it first. ``values`` are other columns to set; a finished state purges the sealed data."""
    if not can_move(record.state, new):
        raise StoreError(f"submission {record.reference}: {record.state.value} cannot become {new.value}")
    for name in ("refusal_reason", "last_error"):
        if values.get(name) is not None:
            values[name] = str(values[name])[:MAX_TEXT]
    changes: dict[str, Any] = {"state": new.value, "updated_at": now, **values}
    if new.finished:
        changes.update(sealed=None, finished_at=now, next_attempt_at=None)
    result = conn.execute(update(submissions).where(submissions.c.id == record.id,
                                                    submissions.c.state == record.state.value,
                                                    submissions.c.attempts == record.attempts).values(**changes))
    if result.rowcount != 1:
        return None
    moved = submission(conn, record.id)
    assert moved is not None
    _audit(conn, moved, new.value, outcome, at=now)
    return moved


def purge_finished(conn: Connection) -> int:
    """Set NULL any sealed data left on a finished submission (a safety net; ``move`` already purges)."""
    result = conn.execute(update(submissions).where(
        submissions.c.state.in_([s.value for s in FINISHED]), submissions.c.sealed.is_not(None)).values(sealed=None))
    return int(result.rowcount)


def sealed_count(conn: Connection, states: Sequence[SubmissionState] = tuple(FINISHED)) -> int:
    """How many submissions in ``states`` still hold sealed personal data (0 for finished ones, always)."""
    return int(conn.execute(select(func.count()).where(submissions.c.state.in_([s.value for s in states]),
                                                       submissions.c.sealed.is_not(None))).scalar_one())
