"""The service catalog: search by text, category, region, channel and agency; one service; the categories.

Channels and locations are JSON lists of codes from closed vocabularies, so a quoted code never occurs inside another
one; matching on the JSON text works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, cast, func, literal, or_, select

from mpp_bus.store.search import ranked
from mpp_bus.store.tables import agencies, services


@dataclass(frozen=True)
class CatalogFilter:
    text: str | None = None
    category: str | None = None
    region: str | None = None
    channel: str | None = None
    agency_id: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogService:
    """A service on offer, with its agency."""

    agency_id: str
    agency_name: str
    agency_level: str
    agency_region_code: str | None
    code: str
    name: str
    description: str
    category: str
    requirements: list[str]
    output_document: str
    sla_working_days: int
    fee_idr: int
    legal_basis: str
    channels: list[str]
    locations: list[str]
    source_updated_at: datetime | None
    synced_at: datetime


def search_services(conn: Connection, where: CatalogFilter, *, limit: int,
                    offset: int) -> tuple[int, list[CatalogService]]:
    """Services on offer (not withdrawn) matching ``where``, with the total count: best match first when there is
    text to search for (see ``mpp_bus.store.search``), otherwise ordered by agency and code."""
    conditions = _conditions(where)
    joined = services.join(agencies, agencies.c.id == services.c.agency_id)
    stmt = _service_select()
    order: list[Any] = [services.c.agency_id, services.c.code]
    hits = ranked(conn, where.text) if where.text else None
    if hits is not None:
        on = and_(hits.c.agency_id == services.c.agency_id, hits.c.code == services.c.code)
        joined = joined.join(hits, on)
        stmt = stmt.join(hits, on)
        order.insert(0, hits.c.score.desc())
    total = conn.execute(select(func.count()).select_from(joined).where(*conditions)).scalar_one()
    rows = conn.execute(stmt.where(*conditions).order_by(*order).limit(limit).offset(offset))
    return int(total), [_service(r) for r in rows]


def service_detail(conn: Connection, agency_id: str, code: str) -> CatalogService | None:
    """One service on offer, or None when the agency offers no such service (or withdrew it)."""
    row = conn.execute(
        _service_select().where(services.c.agency_id == agency_id, services.c.code == code,
                                services.c.withdrawn_at.is_(None))
    ).one_or_none()
    return None if row is None else _service(row)


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
        services.c.agency_id,
        agencies.c.name.label("agency_name"),
        agencies.c.level.label("agency_level"),
        agencies.c.region_code.label("agency_region_code"),
        services.c.code, services.c.name, services.c.description, services.c.category, services.c.requirements,
        services.c.output_document, services.c.sla_working_days, services.c.fee_idr, services.c.legal_basis,
        services.c.channels, services.c.locations, services.c.source_updated_at, services.c.synced_at,
    ).join(agencies, agencies.c.id == services.c.agency_id)


def _service(row: Any) -> CatalogService:
    values = row._asdict()
    for name in ("requirements", "channels", "locations"):
        values[name] = list(values[name] or [])
    return CatalogService(**values)


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
