"""Reading the store back in engine tests."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import column, func, inspect, select, table

from mpp_bus.store import Store
from mpp_bus.store.tables import TABLES, applications, status_events

# 16 digits standing alone: inside a hex digest (a hash, an idempotency key) such a run is chance, not a NIK.
NIK_RUN = re.compile(r"(?<![0-9a-fA-F])\d{16}(?![0-9a-fA-F])")


def rows(store: Store, tbl: Any, *order: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(tbl).order_by(*order))]


def app_rows(store: Store) -> list[dict[str, Any]]:
    return rows(store, applications, applications.c.application_id)


def event_rows(store: Store) -> list[dict[str, Any]]:
    """History without its surrogate id and insertion time, for comparisons across runs."""
    return [
        {k: v for k, v in r.items() if k not in ("id", "recorded_at")}
        for r in rows(store, status_events, status_events.c.idempotency_key)
    ]


def count(store: Store, tbl: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tbl)).scalar_one())


def dump(store: Store) -> str:
    """Every value of every column of every table (including tables a later migration adds), as one string."""
    out: list[str] = []
    with store.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        assert {t.name for t in TABLES} <= set(names)
        for name in names:
            cols = [column(c["name"]) for c in inspect(conn).get_columns(name)]
            for row in conn.execute(select(*cols).select_from(table(name))):
                # floats are durations: their 16+ decimals are no NIK (none is stored as a float)
                out.extend(str(v) for v in row if not isinstance(v, float))
    return "\n".join(out)
