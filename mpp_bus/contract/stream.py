"""What an adapter's ``read`` yields: stream declarations, pages, rejects and check results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Cursor = dict[str, Any]
"""An adapter's resumable position in a stream: JSON-serialisable, opaque to the engine, stored with the page."""


class StreamName(StrEnum):
    CATALOG = "catalog"
    APPLICATIONS = "applications"


class SyncMode(StrEnum):
    FULL = "full"  # every read returns the whole stream; missing records are withdrawn
    INCREMENTAL = "incremental"  # reads return what changed after the cursor


# The canonical entity each stream carries (a key of mpp_bus.canonical.ENTITIES).
STREAM_ENTITY: dict[str, str] = {StreamName.CATALOG: "service", StreamName.APPLICATIONS: "application"}


@dataclass(frozen=True)
class StreamSpec:
    """How one canonical stream syncs from an agency."""

    name: StreamName
    mode: SyncMode
    cursor_field: str | None = None

    @property
    def entity(self) -> str:
        return STREAM_ENTITY[self.name]


@dataclass(frozen=True)
class Reject:
    """A record the adapter could not map. The engine redacts ``payload`` before it is kept."""

    reason: str
    record_id: str | None = None
    payload: Mapping[str, Any] | None = None


@dataclass
class Page:
    """One page of canonical records and the cursor to resume after it.

    ``records`` are plain dicts shaped like the stream's canonical entity (``Service`` or ``Application``);
    the engine validates them as a batch. ``cursor`` is stored in the same transaction as the records.
    """

    records: list[dict[str, Any]]
    cursor: Cursor | None
    rejects: list[Reject] = field(default_factory=list)
    # Full streams only. ``not_modified``: the agency answered "unchanged since the last read" (HTTP 304 to
    # If-None-Match / If-Modified-Since); the engine keeps what is stored and withdraws nothing. ``validators``: what
    # to send next time (``{"etag": ..., "last_modified": ...}``); see ``CONDITIONAL``.
    not_modified: bool = False
    validators: Mapping[str, str] | None = None

    def __len__(self) -> int:
        return len(self.records) + len(self.rejects)


CONDITIONAL = "conditional"
"""The cursor key under which a full read receives the validators of the last complete read: the engine keeps a
full stream's last ``Page.validators`` when the read ends and hands them to the next full read as its cursor
``{"conditional": {...}}``, so an adapter can ask "changed since?" without a cache of its own. A full refresh, and
an adapter that never sets validators, start with no cursor as before."""


def conditional_cursor(validators: Mapping[str, str] | None) -> Cursor | None:
    """The cursor a full read starts from when the last complete read left ``validators``."""
    return {CONDITIONAL: dict(validators)} if validators else None


@dataclass(frozen=True)
class CheckResult:
    """The answer of ``Adapter.check()``: can we reach the agency with these credentials."""

    ok: bool
    message: str
    latency_ms: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
