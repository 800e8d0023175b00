"""The portal store's public face: one object for migrations, the writer lock and the read queries."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from mpp_bus.canonical.entities import Agency
from mpp_bus.store import queries, state
from mpp_bus.store.database import make_engine
from mpp_bus.store.locks import SyncLock
from mpp_bus.store.migrate import current_revision, head_revision, upgrade
from mpp_bus.store.sessions import SessionTable
from mpp_bus.store.writers import ApplicationWriter, writer_for


class Store:
    """The unified portal store (SQLite or PostgreSQL).

    Example::

        store = create_store("sqlite:///var/mpp-bus.db")
        store.upgrade()
        for run in store.recent_runs(limit=5):
            print(run.agency_id, run.stream, run.status, run.read)
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @cached_property
    def writer(self) -> ApplicationWriter:
        """The bulk writer of applications for this database."""
        return writer_for(self.engine)

    @cached_property
    def sessions(self) -> SessionTable:
        """The citizen pages' server-side sessions."""
        return SessionTable(self.engine)

    def upgrade(self, revision: str = "head") -> None:
        """Apply the schema migrations up to ``revision``."""
        upgrade(self.engine, revision)

    def is_current(self) -> bool:
        """True when the schema is at the newest migration."""
        return current_revision(self.engine) == head_revision()

    def lock(self, agency_id: str, stream: str, *, wait: float = 0.0) -> SyncLock:
        """The writer lock of one agency stream (a context manager); raises ``SyncLockedError`` when it is taken
        and not freed within ``wait`` seconds."""
        return SyncLock(self.engine, agency_id, stream, wait=wait)

    def register_agency(self, agency: Agency, *, adapter: str | None = None) -> None:
        with self.engine.begin() as conn:
            state.register_agency(conn, agency, adapter=adapter, now=datetime.now(UTC))

    # --- read queries -------------------------------------------------------------------------------------------

    def recent_runs(
        self, *, agency_id: str | None = None, stream: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[queries.RunRecord]:
        with self.engine.connect() as conn:
            return queries.recent_runs(conn, agency_id=agency_id, stream=stream, status=status, limit=limit)

    def quarantine_items(
        self, *, agency_id: str | None = None, run_id: int | None = None, limit: int = 100
    ) -> list[queries.QuarantineItem]:
        with self.engine.connect() as conn:
            return queries.quarantine_items(conn, agency_id=agency_id, run_id=run_id, limit=limit)

    def quarantine_item(self, item_id: int) -> queries.QuarantineItem | None:
        with self.engine.connect() as conn:
            return queries.quarantine_item(conn, item_id)

    def agency_summaries(self, agency_id: str | None = None) -> list[queries.AgencySummary]:
        with self.engine.connect() as conn:
            return queries.agency_summaries(conn, agency_id)

    def citizen_applications(self, nik_hash: str) -> list[queries.CitizenApplication]:
        with self.engine.connect() as conn:
            return queries.citizen_applications(conn, nik_hash)

    def widest_citizen(self) -> str | None:
        with self.engine.connect() as conn:
            return queries.widest_citizen(conn)

    def status_history(self, agency_id: str, application_id: str) -> list[queries.HistoryEntry]:
        with self.engine.connect() as conn:
            return queries.status_history(conn, agency_id, application_id)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def create_store(url: str | URL, *, upgrade: bool = False) -> Store:
    """A store on ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``); ``upgrade=True`` migrates it too."""
    store = Store(make_engine(url))
    if upgrade:
        store.upgrade()
    return store
