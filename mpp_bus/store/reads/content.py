"""Whole-store looks for the conformance kit: how much is stored, and every stored value as text (to prove that no
clear personal data was kept)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, MetaData, func, select

from mpp_bus.store.tables import applications, services, status_events


class ContentCounts(NamedTuple):
    services: int
    applications: int
    status_events: int


def content_counts(conn: Connection) -> ContentCounts:
    return ContentCounts(*(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                           for t in (services, applications, status_events)))


def stored_text(conn: Connection) -> str:
    """Every value of every table in the database (reflected, so a table the code does not declare is read too), one
    per line."""
    meta = MetaData()
    meta.reflect(conn)
    out: list[str] = []
    for table in meta.sorted_tables:
        for row in conn.execute(select(table)):
            out.extend(str(v) for v in row)
    return "\n".join(out)
