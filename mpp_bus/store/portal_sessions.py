"""The citizen pages' server-side sessions in the portal store.

A row is found by the hash of the cookie's random id, never by the id itself; the store holds the NIK only as its
keyed hash and masked form, and whatever else a session needs (the ID token for logout, a sign-in's PKCE verifier)
only sealed with a key the store does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, select, update

from mpp_bus.store.tables import portal_sessions


@dataclass(frozen=True)
class SessionRow:
    """One session (``kind="session"``) or sign-in under way (``kind="sign_in"``)."""

    id_hash: str
    kind: str
    sealed: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    subject: str | None = None
    roles: tuple[str, ...] = ()
    nik_hash: str | None = None
    nik_masked: str | None = None


class SessionTable:
    """Reads and writes of ``portal_sessions``; each call is its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, row: SessionRow) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(portal_sessions).values(
                id_hash=row.id_hash, kind=row.kind, subject=row.subject, roles=" ".join(row.roles),
                nik_hash=row.nik_hash, nik_masked=row.nik_masked, sealed=row.sealed, created_at=row.created_at,
                last_seen_at=row.last_seen_at, expires_at=row.expires_at))

    def get(self, id_hash: str) -> SessionRow | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(portal_sessions).where(portal_sessions.c.id_hash == id_hash)).mappings().first()
        if found is None:
            return None
        return SessionRow(id_hash=found["id_hash"], kind=found["kind"], sealed=found["sealed"],
                          created_at=found["created_at"], last_seen_at=found["last_seen_at"],
                          expires_at=found["expires_at"], subject=found["subject"],
                          roles=tuple((found["roles"] or "").split()), nik_hash=found["nik_hash"],
                          nik_masked=found["nik_masked"])

    def take(self, id_hash: str) -> SessionRow | None:
        """Read and delete in one go: a sign-in is finished once, even by two racing requests."""
        row = self.get(id_hash)
        if row is None or not self.delete(id_hash):
            return None  # another request took it first
        return row

    def touch(self, id_hash: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(portal_sessions).where(portal_sessions.c.id_hash == id_hash).values(last_seen_at=at))

    def delete(self, id_hash: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(portal_sessions).where(portal_sessions.c.id_hash == id_hash)).rowcount > 0

    def purge(self, now: datetime) -> int:
        """Drop what has passed its absolute end; idle sessions are refused at use and dropped then."""
        with self.engine.begin() as conn:
            return conn.execute(delete(portal_sessions).where(portal_sessions.c.expires_at <= now)).rowcount

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(portal_sessions)).scalar_one())
