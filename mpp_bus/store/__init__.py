"""The portal store: tables, migrations, the writer lock, bulk writers and read queries.

Example::

    from mpp_bus.store import create_store

    store = create_store("sqlite:///var/mpp-bus.db", upgrade=True)
    print(store.agency_summaries())
"""

from __future__ import annotations

from mpp_bus.store.database import make_engine
from mpp_bus.store.locks import SyncLock
from mpp_bus.store.migrate import upgrade
from mpp_bus.store.queries import CitizenApplication, HistoryEntry, OpenRecord, QuarantineItem, RunRecord
from mpp_bus.store.reads import (
    AgencySummary,
    ApplicationTiming,
    AuditEntry,
    AuditRecord,
    CatalogFilter,
    CatalogService,
    ContentCounts,
    Outcome,
    ServicePerformance,
    StoredVersion,
)
from mpp_bus.store.state import ABANDONED, FAILED, RUNNING, SUCCEEDED, CursorState, RunCounts
from mpp_bus.store.store import Store, create_store
from mpp_bus.store.writers import ApplicationWriter

__all__ = [
    "ABANDONED",
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "AgencySummary",
    "ApplicationTiming",
    "ApplicationWriter",
    "AuditEntry",
    "AuditRecord",
    "CatalogFilter",
    "CatalogService",
    "CitizenApplication",
    "ContentCounts",
    "CursorState",
    "HistoryEntry",
    "OpenRecord",
    "Outcome",
    "QuarantineItem",
    "RunCounts",
    "RunRecord",
    "ServicePerformance",
    "Store",
    "StoredVersion",
    "SyncLock",
    "create_store",
    "make_engine",
    "upgrade",
]
