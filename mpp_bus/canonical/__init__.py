"""The canonical model: entities, the status lifecycle, shared vocabularies and their JSON Schemas."""

from __future__ import annotations

from mpp_bus.canonical.entities import ENTITIES, Agency, Application, Level, Service, StatusEvent
from mpp_bus.canonical.status import LABELS, PROGRESS, TERMINAL, TRANSITIONS, Status, can_follow, is_later, reachable
from mpp_bus.canonical.vocabulary import Category, Channel, Document, category_label

__all__ = [
    "ENTITIES",
    "LABELS",
    "PROGRESS",
    "TERMINAL",
    "TRANSITIONS",
    "Agency",
    "Application",
    "Category",
    "Channel",
    "Document",
    "Level",
    "Service",
    "Status",
    "StatusEvent",
    "can_follow",
    "category_label",
    "is_later",
    "reachable",
]
