"""The audit log's rows: writing one entry, counting recent attempts (the identity look-up's rate limits) and listing
entries for admins. The subject is only ever the keyed NIK hash; what the caller sends is cleaned before it gets here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, func, insert, select

from mpp_bus.store.tables import audit_log


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    actor_role: str
    action: str
    resource: str
    subject_nik_hash: str | None
    purpose: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored entry."""

    id: int
    occurred_at: datetime
    actor: str
    actor_role: str
    action: str
    resource: str
    subject_nik_hash: str | None
    purpose: str
    outcome: str


def record_audit(conn: Connection, entry: AuditEntry, *, at: datetime) -> None:
    """Append one entry, cut to the columns' sizes."""
    conn.execute(insert(audit_log).values(
        occurred_at=at,
        actor=entry.actor[:200],
        actor_role=entry.actor_role[:32],
        action=entry.action[:64],
        resource=entry.resource[:300],
        subject_nik_hash=entry.subject_nik_hash,
        purpose=entry.purpose[:200],
        outcome=entry.outcome.value,
    ))


def audit_attempts(conn: Connection, action: str, *, since: datetime, actor: str | None = None,
                   subject_nik_hash: str | None = None) -> int:
    """How many ``action`` entries (rate-limited ones excluded) the actor or the subject had since ``since``."""
    query = select(func.count()).select_from(audit_log).where(
        audit_log.c.action == action,
        audit_log.c.occurred_at >= since,
        audit_log.c.outcome != Outcome.RATE_LIMITED.value,
    )
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if subject_nik_hash is not None:
        query = query.where(audit_log.c.subject_nik_hash == subject_nik_hash)
    return int(conn.execute(query).scalar_one())


def audit_entries(conn: Connection, *, limit: int = 100, action: str | None = None,
                  subject_nik_hash: str | None = None, offset: int = 0) -> list[AuditRecord]:
    """The newest entries first."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(audit_log.c.action == action)
    if subject_nik_hash:
        query = query.where(audit_log.c.subject_nik_hash == subject_nik_hash)
    return [AuditRecord(**row._asdict()) for row in conn.execute(query)]
