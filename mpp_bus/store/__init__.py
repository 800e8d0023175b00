"""The portal store: tables, migrations, the writer lock, bulk writers and read queries.

Example::

    from mpp_bus.store import create_store

    store = create_store("sqlite:///var/mpp-bus.db", upgrade=True)
    print(store.agency_summaries())
"""

from __future__ import annotations

from mpp_bus.store.database import make_engine
from mpp_bus.store.limits import Limit, RateCounters, Refusal, Ticket
from mpp_bus.store.locks import SyncLock
from mpp_bus.store.migrate import upgrade
from mpp_bus.store.outbox import NewSubmission, SubmissionRecord, SubmissionState
from mpp_bus.store.portal_sessions import SessionRow, SessionTable
from mpp_bus.store.queries import CitizenApplication, HistoryEntry, OpenRecord, QuarantineItem
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
from mpp_bus.store.reads.requirements import HeldDocument, RequirementState
from mpp_bus.store.runs import ABANDONED, FAILED, RUNNING, SUCCEEDED, RunCounts, RunRecord, RunStatus
from mpp_bus.store.session import PageTransaction, SyncSession
from mpp_bus.store.state import STORED, SUPERSEDED, CursorState, QuarantineRow, StoredService
from mpp_bus.store.store import Store, create_store
from mpp_bus.store.writers import ApplicationPage, ApplicationRow, ApplicationWriter, Current, StatusEventRow

__all__ = [
    "ABANDONED",
    "FAILED",
    "RUNNING",
    "STORED",
    "SUCCEEDED",
    "SUPERSEDED",
    "AgencySummary",
    "ApplicationPage",
    "ApplicationRow",
    "ApplicationTiming",
    "ApplicationWriter",
    "AuditEntry",
    "AuditRecord",
    "CatalogFilter",
    "CatalogService",
    "CitizenApplication",
    "ContentCounts",
    "Current",
    "CursorState",
    "HistoryEntry",
    "Limit",
    "NewSubmission",
    "OpenRecord",
    "Outcome",
    "PageTransaction",
    "QuarantineItem",
    "QuarantineRow",
    "RateCounters",
    "Refusal",
    "RunCounts",
    "RunRecord",
    "RunStatus",
    "ServicePerformance",
    "SessionRow",
    "SessionTable",
    "StatusEventRow",
    "Store",
    "StoredService",
    "StoredVersion",
    "SubmissionRecord",
    "HeldDocument",
    "RequirementState",
    "SubmissionState",
    "SyncLock",
    "SyncSession",
    "Ticket",
    "create_store",
    "make_engine",
    "upgrade",
]
