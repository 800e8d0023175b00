"""What reconciliation compares on the store's side: each stored application's agency status and update time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, select

from mpp_bus.store.tables import applications

# Ids per IN list: well under every database's bound-parameter limit.
ID_CHUNK = 500


class StoredVersion(NamedTuple):
    application_id: str
    agency_status: str
    source_updated_at: datetime


def application_versions(conn: Connection, agency_id: str, start: datetime | None = None,
                         end: datetime | None = None) -> Iterator[StoredVersion]:
    """The agency's stored applications, optionally those updated in ``[start, end)``, streamed."""
    stmt = select(applications.c.application_id, applications.c.agency_status,
                  applications.c.source_updated_at).where(applications.c.agency_id == agency_id)
    if start is not None and end is not None:
        stmt = stmt.where(applications.c.source_updated_at >= start, applications.c.source_updated_at < end)
    for row in conn.execution_options(yield_per=5000).execute(stmt):
        yield StoredVersion(*row)


def application_versions_of(conn: Connection, agency_id: str, ids: Sequence[str]) -> list[StoredVersion]:
    """The stored versions of the given ids (those stored; unknown ids are left out)."""
    found: list[StoredVersion] = []
    for i in range(0, len(ids), ID_CHUNK):
        stmt = select(applications.c.application_id, applications.c.agency_status,
                      applications.c.source_updated_at).where(
            applications.c.agency_id == agency_id, applications.c.application_id.in_(list(ids[i:i + ID_CHUNK])))
        found.extend(StoredVersion(*r) for r in conn.execute(stmt))
    return found
