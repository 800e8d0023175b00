"""Inserting a page optimistically decides exactly what looking every id up first decides.

Two agencies start from the same stored state; the same page (new ids, newer versions, a stale one, an unchanged
one, a refused one and in-page duplicates) is written for one with ``optimistic=True`` and for the other without.
Outcomes and the stored rows and history must be the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import select

from mpp_bus.canonical.records import ApplicationRecord
from mpp_bus.engine.applications import prepare_applications, write_applications
from mpp_bus.store import create_store
from mpp_bus.store.tables import applications, status_events

from .fake_agency import T0, application

NOW = datetime(2025, 3, 2, tzinfo=UTC)
_VALIDATE = TypeAdapter(list[ApplicationRecord])


def _page(agency_id: str, records: list[dict[str, Any]]) -> Any:
    return list(enumerate(_VALIDATE.validate_python([{**r, "agency_id": agency_id} for r in records])))


def _held() -> list[dict[str, Any]]:
    return [application(i, status=s) for i, s in enumerate(["submitted", "submitted", "completed", "in_process"])]


def _next() -> list[dict[str, Any]]:
    later = T0 + timedelta(days=1)
    return [
        application(0, status="verified", at=later),  # stored, moves on
        application(1, status="submitted", at=T0 - timedelta(days=1)),  # stored, older: stale
        application(2, status="in_process", at=later),  # after a terminal status: refused
        application(3, status="in_process"),  # stored as it is: unchanged
        application(10), application(11),  # new
        application(11, status="verified", at=T0 + timedelta(hours=5)),  # new, changed again within the page
    ]


def _write(store: Any, hasher: Any, agency_id: str, records: list[dict[str, Any]], optimistic: bool) -> Any:
    with store.session() as session:
        session.prepare_applications()
        with session.transaction() as tx:
            prepared = prepare_applications(store.writer, hasher, agency_id, _page(agency_id, records), NOW)
            return write_applications(tx, agency_id, prepared, optimistic=optimistic)


def _stored(store: Any, agency_id: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        apps = conn.execute(select(applications).where(applications.c.agency_id == agency_id)).all()
        events = conn.execute(select(status_events).where(status_events.c.agency_id == agency_id)).all()
    strip = {"agency_id", "id", "idempotency_key"}  # the key hashes the agency id
    rows = sorted(tuple(v for k, v in r._mapping.items() if k not in strip) for r in apps)
    history = sorted(tuple(v for k, v in r._mapping.items() if k not in strip) for r in events)
    return rows, history


@pytest.mark.postgres
def test_optimistic_and_looked_up_pages_decide_alike(postgres_url: str, hasher: Any) -> None:
    store = create_store(postgres_url, upgrade=True)
    try:
        assert store.writer.optimistic
        for agency_id in ("agency-a", "agency-b"):
            _write(store, hasher, agency_id, _held(), optimistic=False)
        a = _write(store, hasher, "agency-a", _next(), optimistic=True)
        b = _write(store, hasher, "agency-b", _next(), optimistic=False)
        assert (a.counts, sorted(a.refused), a.new_ids, a.ids) == (b.counts, sorted(b.refused), b.new_ids, b.ids)
        assert (a.counts.stored, a.counts.stale, a.counts.unchanged, len(a.refused)) == (3, 2, 1, 1)
        assert (a.new_ids, a.ids) == (2, 6)
        assert not a.mostly_new
        assert _stored(store, "agency-a") == _stored(store, "agency-b")
    finally:
        store.dispose()
