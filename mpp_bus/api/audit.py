"""The audit log: every read of personal data, and every identity look-up, as who, what, when, why and how it ended.

Rows never hold a clear NIK: the data subject is kept as the store's keyed hash, the caller as the token's subject
(masked when it looks like a NIK). The log also backs the identity look-up's rate limits, so the limits hold across
API processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, func, insert, select

from mpp_bus.privacy import redact_text
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


class AuditLog:
    """Writes audit entries and counts recent ones; one instance per API app."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entry: AuditEntry, *, at: datetime | None = None) -> None:
        """Write one entry; a failure propagates so that an unaudited read is never answered."""
        with self.engine.begin() as conn:
            conn.execute(insert(audit_log).values(
                occurred_at=at or datetime.now(UTC),
                actor=entry.actor[:200],
                actor_role=entry.actor_role[:32],
                action=entry.action[:64],
                resource=entry.resource[:300],
                subject_nik_hash=entry.subject_nik_hash,
                purpose=_printable(entry.purpose)[:200],
                outcome=entry.outcome.value,
            ))

    def attempts(self, action: str, *, window: timedelta, actor: str | None = None,
                 subject_nik_hash: str | None = None, now: datetime | None = None) -> int:
        """How many ``action`` entries (rate-limited ones excluded) the actor or the subject had within ``window``."""
        since = (now or datetime.now(UTC)) - window
        query = select(func.count()).select_from(audit_log).where(
            audit_log.c.action == action,
            audit_log.c.occurred_at >= since,
            audit_log.c.outcome != Outcome.RATE_LIMITED.value,
        )
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        if subject_nik_hash is not None:
            query = query.where(audit_log.c.subject_nik_hash == subject_nik_hash)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def entries(self, *, limit: int = 100, action: str | None = None, subject_nik_hash: str | None = None,
                offset: int = 0) -> list[dict[str, object]]:
        """The newest entries first."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
        if action:
            query = query.where(audit_log.c.action == action)
        if subject_nik_hash:
            query = query.where(audit_log.c.subject_nik_hash == subject_nik_hash)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def _printable(text: str) -> str:
    # A purpose is free text from the caller: it must not smuggle a NIK into the log.
    return redact_text("".join(ch if ch.isprintable() else " " for ch in text)).strip() or "unspecified"
