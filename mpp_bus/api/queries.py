"""Read queries beyond the store's own read functions: the catalog search and agency health.

Channels and locations are JSON lists of codes from closed vocabularies, so a quoted code never occurs inside another
one; matching on the JSON text works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, case, cast, func, literal, or_, select, type_coerce

from mpp_bus.store import FAILED, SUCCEEDED, search
from mpp_bus.store.tables import agencies, services, sync_runs
from mpp_bus.store.types import UtcDateTime


@dataclass(frozen=True)
class CatalogFilter:
    text: str | None = None
    category: str | None = None
    region: str | None = None
    channel: str | None = None
    agency_id: str | None = None


def search_services(conn: Connection, where: CatalogFilter, *, limit: int, offset: int) -> tuple[int, list[Any]]:
    """Services on offer (not withdrawn) matching ``where``, with the total count: best match first when there is
    text to search for (see ``mpp_bus.store.search``), otherwise ordered by agency and code."""
    conditions = _conditions(where)
    joined = services.join(agencies, agencies.c.id == services.c.agency_id)
    stmt = _service_select()
    order: list[Any] = [services.c.agency_id, services.c.code]
    hits = search.ranked(conn, where.text) if where.text else None
    if hits is not None:
        on = and_(hits.c.agency_id == services.c.agency_id, hits.c.code == services.c.code)
        joined = joined.join(hits, on)
        stmt = stmt.join(hits, on)
        order.insert(0, hits.c.score.desc())
    total = conn.execute(select(func.count()).select_from(joined).where(*conditions)).scalar_one()
    rows = conn.execute(stmt.where(*conditions).order_by(*order).limit(limit).offset(offset)).all()
    return int(total), list(rows)


def service_detail(conn: Connection, agency_id: str, code: str) -> Any | None:
    return conn.execute(
        _service_select().where(services.c.agency_id == agency_id, services.c.code == code,
                                services.c.withdrawn_at.is_(None))
    ).one_or_none()


def categories(conn: Connection) -> list[tuple[str, int]]:
    """Categories of the services on offer, with how many services each has."""
    stmt = (
        select(services.c.category, func.count())
        .where(services.c.withdrawn_at.is_(None))
        .group_by(services.c.category)
        .order_by(services.c.category)
    )
    return [(c, int(n)) for c, n in conn.execute(stmt)]


def _service_select() -> Any:
    return select(
        services,
        agencies.c.name.label("agency_name"),
        agencies.c.level.label("agency_level"),
        agencies.c.region_code.label("agency_region_code"),
    ).join(agencies, agencies.c.id == services.c.agency_id)


def _conditions(where: CatalogFilter) -> list[Any]:
    conditions: list[Any] = [services.c.withdrawn_at.is_(None)]
    if where.category:
        conditions.append(func.lower(services.c.category) == where.category.lower())
    if where.channel:
        conditions.append(cast(services.c.channels, Text).contains(f'"{where.channel}"', autoescape=True))
    if where.agency_id:
        conditions.append(services.c.agency_id == where.agency_id)
    if where.region:
        conditions.append(_offered_in(where.region))
    return conditions


def _offered_in(region: str) -> Any:
    """Offered in ``region``: a listed location is the region, inside it or around it; with no locations listed,
    the agency's own area (everywhere for a national agency) is."""
    parts = region.split(".")
    around = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    locations = cast(services.c.locations, Text)
    listed = or_(
        *(locations.contains(f'"{code}"', autoescape=True) for code in around),
        locations.contains(f'"{region}.', autoescape=True),
    )
    home = agencies.c.region_code
    agency_area = or_(home.is_(None), home.in_(around), home.startswith(f"{region}.", autoescape=True))
    no_locations = func.replace(locations, literal(" "), literal("")) == "[]"
    return or_(listed, and_(no_locations, agency_area))


@dataclass(frozen=True)
class HealthRow:
    agency_id: str
    name: str
    level: str
    region_code: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    latest_status: str | None
    breaker_state: str | None


def agency_health(conn: Connection) -> list[HealthRow]:
    """Per agency: last successful and failed run, the latest failure's error, the latest run's breaker state."""
    ended = func.coalesce(sync_runs.c.finished_at, sync_runs.c.started_at)
    times = (
        select(
            sync_runs.c.agency_id,
            _latest(ended, sync_runs.c.status == SUCCEEDED).label("last_success_at"),
            _latest(ended, sync_runs.c.status == FAILED).label("last_failure_at"),
            func.max(sync_runs.c.id).label("latest_id"),
            func.max(case((sync_runs.c.status == FAILED, sync_runs.c.id))).label("failed_id"),
        )
        .group_by(sync_runs.c.agency_id)
        .subquery()
    )
    latest = sync_runs.alias("latest")
    failed = sync_runs.alias("failed")
    stmt = (
        select(
            agencies.c.id, agencies.c.name, agencies.c.level, agencies.c.region_code,
            times.c.last_success_at, times.c.last_failure_at,
            failed.c.error.label("last_error"), latest.c.status.label("latest_status"),
            latest.c.breaker_state,
        )
        .outerjoin(times, times.c.agency_id == agencies.c.id)
        .outerjoin(latest, latest.c.id == times.c.latest_id)
        .outerjoin(failed, failed.c.id == times.c.failed_id)
        .order_by(agencies.c.id)
    )
    return [
        HealthRow(r.id, r.name, r.level, r.region_code, r.last_success_at, r.last_failure_at, r.last_error,
                  r.latest_status, r.breaker_state)
        for r in conn.execute(stmt)
    ]


def _latest(moment: Any, when: Any) -> Any:
    # max() over a CASE loses the column type on SQLite; coercing keeps the values timezone-aware.
    return type_coerce(func.max(case((when, moment))), UtcDateTime())
