"""The store's answers to the questions other packages ask, one function per question.

Each module takes an open connection and returns plain typed values (frozen dataclasses or named tuples defined
here), never rows; ``Store`` wraps them with a connection of its own, and that is how the rest of the bus calls them.
"""

from __future__ import annotations

from mpp_bus.store.reads.audit import AuditEntry, AuditRecord, Outcome
from mpp_bus.store.reads.catalog import CatalogFilter, CatalogService
from mpp_bus.store.reads.content import ContentCounts
from mpp_bus.store.reads.health import AgencySummary
from mpp_bus.store.reads.performance import ApplicationTiming, ServicePerformance
from mpp_bus.store.reads.reconcile import StoredVersion

__all__ = [
    "AgencySummary",
    "ApplicationTiming",
    "AuditEntry",
    "AuditRecord",
    "CatalogFilter",
    "CatalogService",
    "ContentCounts",
    "Outcome",
    "ServicePerformance",
    "StoredVersion",
]
