"""The audit log: every read of personal data, and every identity look-up, as who, what, when, why and how it ended.

Rows never hold a clear NIK: the data subject is kept as the store's keyed hash, the caller as the token's subject
(masked when it looks like a NIK). The log also backs the identity look-up's rate limits, so the limits hold across
API processes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mpp_bus.privacy import redact_text
from mpp_bus.store import AuditEntry, AuditRecord, Outcome, Store

__all__ = ["AuditEntry", "AuditLog", "Outcome"]


class AuditLog:
    """Writes audit entries and counts recent ones; one instance per API app."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, entry: AuditEntry, *, at: datetime | None = None) -> None:
        """Write one entry; a failure propagates so that an unaudited read is never answered."""
        self.store.record_audit(replace(entry, purpose=_printable(entry.purpose)), at=at or datetime.now(UTC))

    def attempts(self, action: str, *, window: timedelta, actor: str | None = None,
                 subject_nik_hash: str | None = None, now: datetime | None = None) -> int:
        """How many ``action`` entries (rate-limited ones excluded) the actor or the subject had within ``window``."""
        since = (now or datetime.now(UTC)) - window
        return self.store.audit_attempts(action, since=since, actor=actor, subject_nik_hash=subject_nik_hash)

    def entries(self, *, limit: int = 100, action: str | None = None, subject_nik_hash: str | None = None,
                offset: int = 0) -> list[AuditRecord]:
        """The newest entries first."""
        return self.store.audit_entries(limit=limit, action=action, subject_nik_hash=subject_nik_hash, offset=offset)


def _printable(text: str) -> str:
    # A purpose is free text from the caller: it must not smuggle a NIK into the log.
    return redact_text("".join(ch if ch.isprintable() else " " for ch in text)).strip() or "unspecified"
